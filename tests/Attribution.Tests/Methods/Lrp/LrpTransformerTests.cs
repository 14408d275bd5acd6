using Attribution.Methods;
using Attribution.Methods.Lrp;
using Attribution.Models;
using Attribution.Salience;
using Attribution.Engine;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Xunit.Abstractions;

namespace Attribution.Tests.Methods.Lrp;

/// <summary>
/// LRP on the transformers: the relevance budget on the golden random BERT in float64 (CP-LRP exact, AttnLRP off by
/// exactly the softmax leak), the forward output untouched, and the text attributor on BERT, DistilBERT, RoBERTa
/// and convolutional / recurrent classifiers.
/// </summary>
public sealed class LrpTransformerTests(ITestOutputHelper output)
{
    private static readonly ExplainOptions AllTokens = new() { Salience = new SalienceOptions { KeepSpecialTokens = true } };

    private static readonly string[] Sentences =
    [
        "a gripping , beautifully made film .",
        "it 's a bad , bad movie .",
        "not without its charms , but mostly tedious",
        "great",
        "the plot is thin and the acting is worse , yet i could not look away from the screen .",
    ];

    /// <summary>The terms of the relevance budget for one text (float64), computed with taps of the test's own.</summary>
    private sealed record Budget(double Logit, double Tokens, double Biases, double Leak)
    {
        public double Gap => Logit - Tokens - Biases;
    }

    /// <summary>
    /// Attaches the rules, replaces every embedding output by a leaf (relevance = leaf ⊙ gradient), and in AttnLRP
    /// mode puts a zero leaf before and after each attention softmax to read its leak Σ A⊙g_A − Σ x⊙g_x; takes
    /// gradients of the target logit for all of them and for every Linear/LayerNorm bias in one backward.
    /// </summary>
    private static Budget Measure(TransformerClassifier model, long[] ids, int target, AttentionRule rule)
    {
        using var scope = NewDisposeScope();
        var leaves = new List<Tensor>();
        var softmax = new List<(Tensor Input, Tensor InputDelta, Tensor Output, Tensor OutputDelta)>();
        var pendingInput = new Stack<(Tensor, Tensor)>();
        var hooks = new List<IDisposable>();
        using var rules = LrpPropagation.Attach(model, new LrpSettings { Epsilon = 0, Attention = rule });
        try
        {
            foreach (var (_, module) in model.SelfAndDescendants())
            {
                if (module is Embedding)
                {
                    hooks.Add(ModuleHooks.AddForwardHook(module, (_, _, o) =>
                    {
                        var leaf = ((Tensor)o).detach().requires_grad_();
                        leaves.Add(leaf);
                        return leaf;
                    }));
                }

                if (module is AttentionSoftmax && rule == AttentionRule.AttnLrp)
                {
                    hooks.Add(ModuleHooks.AddForwardPreHook(module, (_, i) =>
                    {
                        var x = (Tensor)i;
                        var delta = zeros_like(x).requires_grad_();
                        pendingInput.Push((x.detach(), delta));
                        return x.Plus(delta);
                    }));
                    hooks.Add(ModuleHooks.AddForwardHook(module, (_, _, o) =>
                    {
                        var a = (Tensor)o;
                        var delta = zeros_like(a).requires_grad_();
                        var (x, inputDelta) = pendingInput.Pop();
                        softmax.Add((x, inputDelta, a.detach(), delta));
                        return a.Plus(delta);
                    }));
                }
            }

            using var grad = enable_grad();
            var logit = model.call(new ModelInput(tensor(ids, [1, ids.Length])))[0, target];
            var biases = LrpTestModels.Biases(model).ToList();
            var inputs = leaves.Concat(biases).Concat(softmax.Select(s => s.InputDelta)).Concat(softmax.Select(s => s.OutputDelta)).ToList();
            var grads = Gradients.Of([logit], inputs);
            double Dot(Tensor value, Tensor? gradient) => gradient is null ? 0 : (value.detach() * gradient).sum().ItemAsDouble();
            var tokens = leaves.Select((l, k) => Dot(l, grads[k])).Sum();
            var biasShare = biases.Select((b, k) => Dot(b, grads[leaves.Count + k])).Sum();
            var offset = leaves.Count + biases.Count;
            var leak = softmax.Select((s, k) => Dot(s.Output, grads[offset + softmax.Count + k]) - Dot(s.Input, grads[offset + k])).Sum();
            return new Budget(logit.ItemAsDouble(), tokens, biasShare, leak);
        }
        finally
        {
            foreach (var h in hooks)
            {
                h.Dispose();
            }
        }
    }

    /// <summary>
    /// CP-LRP, ε = 0, float64, golden random BERT: target logit = Σ token relevance (word + position + token type) +
    /// Σ b · ∂logit/∂b over every Linear and LayerNorm bias, to 1e-9 relative; with all biases zeroed, Σ relevance =
    /// logit. AttnLRP: the gap equals the softmax leak to 1e-6.
    /// </summary>
    [SkippableFact]
    public void Relevance_budget_on_the_golden_bert_in_float64()
    {
        var cases = LrpTestModels.GoldenBertCases();
        using var model = LrpTestModels.GoldenBert();
        model.to(ScalarType.Float64);
        using var zeroed = LrpTestModels.GoldenBert();
        zeroed.to(ScalarType.Float64);
        LrpTestModels.ZeroBiases(zeroed);

        double worstCp = 0, worstZero = 0, worstAttn = 0, worstAttnZero = 0, largestLeak = 0;
        foreach (var (ids, target) in cases)
        {
            var cp = Measure(model, ids, target, AttentionRule.CpLrp);
            var scale = Math.Max(1, Math.Abs(cp.Logit));
            worstCp = Math.Max(worstCp, Math.Abs(cp.Gap) / scale);
            cp.Leak.Should().Be(0);

            var cpZero = Measure(zeroed, ids, target, AttentionRule.CpLrp);
            cpZero.Biases.Should().Be(0);
            worstZero = Math.Max(worstZero, Math.Abs(cpZero.Logit - cpZero.Tokens) / Math.Max(1, Math.Abs(cpZero.Logit)));

            var attn = Measure(model, ids, target, AttentionRule.AttnLrp);
            attn.Logit.Should().BeApproximately(cp.Logit, 1e-12 * scale, "the rules do not change the forward value");
            worstAttn = Math.Max(worstAttn, Math.Abs(attn.Gap - attn.Leak));
            largestLeak = Math.Max(largestLeak, Math.Abs(attn.Leak));
            var attnZero = Measure(zeroed, ids, target, AttentionRule.AttnLrp);
            worstAttnZero = Math.Max(worstAttnZero, Math.Abs(attnZero.Logit - attnZero.Tokens - attnZero.Leak));
            output.WriteLine($"ids[{ids.Length}] target {target}: logit {cp.Logit:F6}; CP tokens {cp.Tokens:F6} biases {cp.Biases:F6} gap {cp.Gap:E2}; " +
                             $"AttnLRP tokens {attn.Tokens:F6} biases {attn.Biases:F6} gap {attn.Gap:E3} leak {attn.Leak:E3}");
        }

        output.WriteLine($"CP-LRP relative gap ≤ {worstCp:E2}; zero biases ≤ {worstZero:E2}; AttnLRP |gap − leak| ≤ {worstAttn:E2} (zero biases {worstAttnZero:E2}); largest leak {largestLeak:E2}");
        worstCp.Should().BeLessThanOrEqualTo(1e-9);
        worstZero.Should().BeLessThanOrEqualTo(1e-9);
        worstAttn.Should().BeLessThanOrEqualTo(1e-6);
        worstAttnZero.Should().BeLessThanOrEqualTo(1e-6);
    }

    /// <summary>
    /// The library's token relevance (the path the attributor uses) gives the same word, position and token-type
    /// totals as the test's own taps, and the shares are reported per embedding (float64, 1e-10).
    /// </summary>
    [SkippableTheory]
    [InlineData(AttentionRule.CpLrp)]
    [InlineData(AttentionRule.AttnLrp)]
    public void Token_relevance_agrees_with_independent_taps(AttentionRule rule)
    {
        var (ids, target) = LrpTestModels.GoldenBertCases()[0];
        using var model = LrpTestModels.GoldenBert();
        model.to(ScalarType.Float64);
        var budget = Measure(model, ids, target, rule);
        using var scope = NewDisposeScope();
        var result = LrpPropagation.TokenRelevance(model, new ModelInput(tensor(ids, [1, ids.Length])), [target], model.WordEmbeddingPath,
            new LrpSettings { Epsilon = 0, Attention = rule });
        result.Embeddings.Keys.Should().BeEquivalentTo("bert.embeddings.position_embeddings", "bert.embeddings.token_type_embeddings");
        result.Word.shape.Should().Equal(1, ids.Length, 64);
        result.Embeddings.Values.Should().OnlyContain(t => t.shape.SequenceEqual(new long[] { 1, ids.Length }));
        var total = result.Word.sum().ItemAsDouble() + result.Embeddings.Values.Sum(t => t.sum().ItemAsDouble());
        total.Should().BeApproximately(budget.Tokens, 1e-10 * Math.Max(1, Math.Abs(budget.Tokens)));
        result.TargetLogits.ItemAsDouble().Should().BeApproximately(budget.Logit, 1e-12);
    }

    /// <summary>With the rules attached the golden BERT's logits are the stock ones (float32, ≤ 1e-5), in both attention modes and for ε &gt; 0.</summary>
    [SkippableFact]
    public void Rules_leave_the_bert_forward_output_unchanged()
    {
        using var model = LrpTestModels.GoldenBert();
        using var scope = NewDisposeScope();
        var cases = LrpTestModels.GoldenBertCases();
        foreach (var (ids, _) in cases)
        {
            var input = new ModelInput(tensor(ids, [1, ids.Length]));
            var stock = model.call(input);
            foreach (var rule in new[] { AttentionRule.AttnLrp, AttentionRule.CpLrp })
            {
                using (LrpPropagation.Attach(model, new LrpSettings { Epsilon = 0.01, Attention = rule }))
                {
                    (model.call(input) - stock).abs().max().ItemAsSingle().Should().BeLessThanOrEqualTo(1e-5f);
                }
            }
        }

        model.SelfAndDescendants().Should().OnlyContain(m => ModuleHooks.Count(m.Module) == 0);
    }

    /// <summary>
    /// sst2-bert-tiny through the text pipeline: finite scores; the token scores (special tokens kept) sum to the word
    /// share; shares − logit = the convergence delta; a padded batch gives the same result as one text at a time
    /// (float32, 1e-5 of the largest score).
    /// </summary>
    [SkippableTheory]
    [InlineData(AttentionRule.AttnLrp)]
    [InlineData(AttentionRule.CpLrp)]
    public void Sst2_bert_tiny_batched_equals_one_at_a_time(AttentionRule rule)
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/sst2-bert-tiny"));
        var lrp = new LrpEpsilon { Attention = rule };
        var batched = lrp.Explain(model, Sentences, AllTokens with { BatchSize = Sentences.Length });
        var single = lrp.Explain(model, Sentences, AllTokens with { BatchSize = 1 });
        for (var i = 0; i < Sentences.Length; i++)
        {
            var b = batched[i];
            var s = single[i];
            b.Method.Should().Be("lrp-epsilon");
            b.Setting("epsilon").Should().Be("1E-06");
            b.Setting("attention").Should().Be(rule == AttentionRule.AttnLrp ? "attnlrp" : "cp-lrp");
            b.Scores.Should().OnlyContain(v => double.IsFinite(v));
            b.TokenIds.Should().Equal(s.TokenIds);
            var largest = Math.Max(1e-3, s.Scores.Max(Math.Abs));
            b.Scores.Zip(s.Scores, (x, y) => Math.Abs(x - y)).Max().Should().BeLessThanOrEqualTo(1e-5 * largest, $"text {i}");
            b.ConvergenceDelta!.Value.Should().BeApproximately(s.ConvergenceDelta!.Value, 1e-5 * Math.Max(1, Math.Abs(s.Logits[s.Target])));

            var shares = b.RelevanceShares!;
            shares.Keys.Should().BeEquivalentTo("bert.embeddings.word_embeddings", "bert.embeddings.position_embeddings", "bert.embeddings.token_type_embeddings");
            b.Scores.Sum().Should().BeApproximately(shares["bert.embeddings.word_embeddings"], 1e-5 * Math.Max(1, largest));
            (shares.Values.Sum() - b.Logits[b.Target]).Should().BeApproximately(b.ConvergenceDelta!.Value, 1e-4);
            b.Notes.Should().ContainSingle(n => n.Contains("conservation gap", StringComparison.Ordinal));
            output.WriteLine($"{rule} text {i}: logit {b.Logits[b.Target]:F4}, word {shares["bert.embeddings.word_embeddings"]:F4}, " +
                             $"position {shares["bert.embeddings.position_embeddings"]:F4}, type {shares["bert.embeddings.token_type_embeddings"]:F4}, delta {b.ConvergenceDelta:F4}");
        }

        model.Module.SelfAndDescendants().Should().OnlyContain(m => ModuleHooks.Count(m.Module) == 0);
    }

    /// <summary>
    /// DistilBERT (dtype-minimum mask) and RoBERTa (position ids from pad + 1, one token type) through the text
    /// pipeline: finite results in float32 padded batches; in float64 with biases zeroed, CP-LRP and ε = 0 the
    /// relevance (word + position [+ type]) equals the logit for every text of a padded batch (1e-9 relative).
    /// </summary>
    [SkippableTheory]
    [InlineData("distilbert-random", "distilbert.embeddings.word_embeddings", "distilbert.embeddings.position_embeddings")]
    [InlineData("roberta-random", "roberta.embeddings.word_embeddings", "roberta.embeddings.position_embeddings")]
    public void DistilBert_and_roberta_are_supported_and_conserve(string name, string word, string position)
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/" + name));
        var options = AllTokens with { BatchSize = Sentences.Length };
        foreach (var rule in new[] { AttentionRule.AttnLrp, AttentionRule.CpLrp })
        {
            var results = new LrpEpsilon { Attention = rule }.Explain(model, Sentences, options);
            results.Should().OnlyContain(e => e.Scores.All(double.IsFinite) && double.IsFinite(e.ConvergenceDelta!.Value));
            results.Should().OnlyContain(e => e.RelevanceShares!.ContainsKey(word) && e.RelevanceShares.ContainsKey(position));
        }

        model.Module.to(ScalarType.Float64);
        LrpTestModels.ZeroBiases(model.Module);
        var exact = new LrpEpsilon { Epsilon = 0, Attention = AttentionRule.CpLrp }.Explain(model, Sentences, options);
        var worst = exact.Max(e => Math.Abs(e.ConvergenceDelta!.Value) / Math.Max(1, Math.Abs(e.Logits[e.Target])));
        output.WriteLine($"{name}: float64, zero biases, CP-LRP, ε = 0: worst |Σ relevance − logit| / |logit| = {worst:E2}");
        worst.Should().BeLessThanOrEqualTo(1e-9);
    }

    /// <summary>A convolutional text classifier built from library layers: finite, and exactly conservative without biases at ε = 0.</summary>
    [SkippableFact]
    public void A_convolutional_classifier_is_supported()
    {
        var tokenizer = LrpTestModels.BertTokenizer();
        using var cnn = new TextClassifier("cnn", tokenizer, new TinyTextCnn(tokenizer.VocabularySize, biases: false, seed: 3), ["neg", "pos"],
            "embeddings", maxLength: 64, usesTokenTypes: false);
        var results = new LrpEpsilon { Epsilon = 0 }.Explain(cnn, Sentences, AllTokens with { BatchSize = 1 });
        foreach (var e in results)
        {
            e.Scores.Should().OnlyContain(v => double.IsFinite(v));
            e.RelevanceShares!.Keys.Should().Equal("embeddings");
            e.ConvergenceDelta!.Value.Should().BeApproximately(0, 1e-5 * Math.Max(1, Math.Abs(e.Logits[e.Target])));
        }

        using var withBiases = new TextClassifier("cnn", tokenizer, new TinyTextCnn(tokenizer.VocabularySize, biases: true, seed: 4), ["neg", "pos"],
            "embeddings", maxLength: 64, usesTokenTypes: false);
        new LrpEpsilon { Epsilon = 0.01 }.Explain(withBiases, Sentences).Should().OnlyContain(e => e.Scores.All(double.IsFinite));
    }

    /// <summary>An LSTM classifier is refused with an error naming the LSTM module, before any work.</summary>
    [SkippableFact]
    public void An_lstm_classifier_is_refused_naming_the_module()
    {
        var tokenizer = LrpTestModels.BertTokenizer();
        using var lstm = new TextClassifier("lstm", tokenizer, new TinyTextLstm(tokenizer.VocabularySize), ["neg", "pos"],
            "embeddings", maxLength: 64, usesTokenTypes: false);
        var run = () => new LrpEpsilon().Explain(lstm, Sentences);
        var error = run.Should().Throw<LrpNotSupportedException>().Which;
        error.ModulePath.Should().Be("lstm");
        error.ModuleType.Should().Be(typeof(LSTM));
        error.Message.Should().Contain("'lstm' (LSTM)");
        lstm.Module.SelfAndDescendants().Should().OnlyContain(m => ModuleHooks.Count(m.Module) == 0);
    }

    /// <summary>LRP is defined from the logit: other scored outputs are refused; empty texts too.</summary>
    [SkippableFact]
    public void Bad_requests_are_refused_with_typed_errors()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/sst2-bert-tiny"));
        var probability = () => new LrpEpsilon().Explain(model, Sentences[..1], new ExplainOptions { Score = ScoreOutput.Probability });
        probability.Should().Throw<ArgumentException>().WithMessage("*logit*");
        var empty = () => new LrpEpsilon().Explain(model, ["  "]);
        empty.Should().Throw<ArgumentException>().WithMessage("*empty*");
        model.Module.SelfAndDescendants().Should().OnlyContain(m => ModuleHooks.Count(m.Module) == 0);
    }
}

[Collection(LiveTensorCollection.Name)]
public sealed class LrpLeakTests
{
    private static long Settled()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        return LiveTensors.Count;
    }

    /// <summary>An Explain call leaves LiveTensors.Count where it found it (both attention modes, a padded batch).</summary>
    [SkippableFact]
    public void Explain_leaves_no_tensor_behind()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/sst2-bert-tiny"));
        string[] texts = ["a gripping , beautifully made film .", "bad", "not without its charms , but mostly tedious"];
        new LrpEpsilon().Explain(model, texts);
        var before = Settled();
        new LrpEpsilon().Explain(model, texts);
        new LrpEpsilon { Attention = AttentionRule.CpLrp, Epsilon = 0 }.Explain(model, texts, new ExplainOptions { BatchSize = 2 });
        Settled().Should().Be(before);
    }
}
