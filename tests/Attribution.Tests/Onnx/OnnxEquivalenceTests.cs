using Attribution.Methods;
using Attribution.Models;
using Attribution.Onnx;
using Attribution.Tests.Methods;
using Xunit.Abstractions;

namespace Attribution.Tests.Onnx;

/// <summary>
/// The ONNX exports in ../shared/models/*-onnx against the same models' safetensors weights run by the library's own
/// TorchSharp implementation (independent code: ClassifierLoader builds the network; ONNX Runtime runs PyTorch's
/// traced graph). Tolerance 1e-4 on logits: both sides compute in float32, with different kernels and summation
/// orders (ONNX Runtime fuses attention, GELU and LayerNorm), which moves logits of magnitude ≤ 10 by about 1e-6;
/// a real difference (padding seen as tokens, RoBERTa's position ids, missing token types) moves them by 1e-2 or more.
/// </summary>
public sealed class OnnxEquivalenceTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-4;

    public static TheoryData<string> Models => new() { "sst2-bert-tiny", "distilbert-random", "roberta-random" };

    /// <summary>Every 9th SST-2 dev sentence (97 sentences, 3 to ~60 tokens): padded batches mix lengths.</summary>
    private static string[] Sentences() => Sst2Dev.Load().Where((_, i) => i % 9 == 0).Select(s => s.Sentence).ToArray();

    /// <summary>
    /// Each export against the logits PyTorch recorded for its model (../shared/golden/&lt;name&gt;.captum.json: 40 SST-2
    /// sentences for sst2-bert-tiny, 12 for the random ones), run on the recorded ids in padded batches: the exports'
    /// own reference, independent of the library's TorchSharp models. 1e-5 absolute: ONNX Runtime and PyTorch both
    /// compute in float32 (measured: at most 1.3e-6 here) on logits below 10 in magnitude. The export folder's own
    /// tokenizer files give the recorded ids for the recorded texts, exactly.
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(Models))]
    public void Onnx_logits_equal_the_recorded_pytorch_logits(string name)
    {
        using var golden = System.Text.Json.JsonDocument.Parse(File.ReadAllText(SharedData.Require($"golden/{name}.captum.json")));
        using var onnx = OnnxTextClassifier.Load(SharedData.Require($"models/{name}-onnx"));
        var cases = golden.RootElement.GetProperty("cases").EnumerateArray().ToArray();
        var sequences = cases.Select(c => new TokenSequence(Golden.Longs(c.GetProperty("input_ids")))).ToArray();
        for (var i = 0; i < cases.Length; i++)
        {
            onnx.Tokenizer.Encode(cases[i].GetProperty("text").GetString()!).Ids.Should().Equal(sequences[i].Ids, $"the {name}-onnx tokenizer on sentence {i}");
        }

        sequences.Select(s => s.Ids.Length).Distinct().Count().Should().BeGreaterThan(1, "the batch must mix lengths, so padding is exercised");
        var actual = onnx.PredictLogits(sequences);
        var worst = 0.0;
        for (var i = 0; i < cases.Length; i++)
        {
            var expected = Golden.Doubles(cases[i].GetProperty("logits"));
            actual[i].Should().HaveCount(expected.Length);
            worst = Math.Max(worst, actual[i].Zip(expected, (a, e) => Math.Abs(a - e)).Max());
        }

        output.WriteLine($"{name}-onnx vs recorded PyTorch logits ({cases.Length} sentences): max |Δlogit| = {worst:E2}");
        worst.Should().BeLessThanOrEqualTo(1e-5);
    }

    [SkippableTheory]
    [MemberData(nameof(Models))]
    public void Onnx_logits_equal_the_safetensors_models_logits_on_padded_mixed_length_batches(string name)
    {
        var sentences = Sentences();
        using var torch = ClassifierLoader.Load(SharedData.Require($"models/{name}"));
        using var onnx = OnnxTextClassifier.Load(SharedData.Require($"models/{name}-onnx"), new OnnxSessionSettings { BatchSize = 8 });
        onnx.Labels.Should().Equal(torch.Labels);
        onnx.MaxLength.Should().Be(torch.MaxLength);
        onnx.UsesTokenTypes.Should().Be(torch.UsesTokenTypes);

        // TextClassifier.Predict batches and pads by its own code (32 texts, sorted by length); ONNX runs batches of 8.
        var expected = torch.Predict(sentences);
        var actual = onnx.Predict(sentences);

        var lengths = sentences.Select(s => onnx.Tokenizer.Encode(s).Length).ToArray();
        lengths.Distinct().Count().Should().BeGreaterThan(10, "the batches must mix lengths, so padding is exercised");
        var worst = 0.0;
        for (var i = 0; i < sentences.Length; i++)
        {
            actual[i].Text.Should().Be(sentences[i]);
            actual[i].Label.Should().Be(expected[i].Label);
            for (var k = 0; k < onnx.Labels.Count; k++)
            {
                worst = Math.Max(worst, Math.Abs(actual[i].Logits[k] - expected[i].Logits[k]));
                actual[i].Probabilities[k].Should().BeApproximately(expected[i].Probabilities[k], Tolerance);
            }
        }

        output.WriteLine($"{name}: {sentences.Length} sentences of {lengths.Min()}..{lengths.Max()} tokens, max |logit difference| = {worst:E2}");
        worst.Should().BeLessThan(Tolerance);

        // The id-level contract (what perturbation methods call) gives the same logits as Predict.
        var ids = sentences.Select(s => onnx.Tokenizer.Encode(s)).Select(e => new TokenSequence(e.Ids, e.TypeIds)).ToArray();
        onnx.PredictLogits(ids).Should().BeEquivalentTo(actual.Select(p => p.Logits), o => o.WithStrictOrdering());
    }

    [SkippableFact]
    public void Concurrent_calls_on_one_classifier_give_the_sequential_results()
    {
        using var onnx = OnnxTextClassifier.Load(SharedData.Require("models/sst2-bert-tiny-onnx"), new OnnxSessionSettings { BatchSize = 4 });

        // Sequences of one length (16 ids, from different sentences), so every call builds tensors of the same shape:
        // state shared between calls (a reused buffer) would mix one thread's ids into another's batch.
        var sequences = Sentences()
            .Select(s => onnx.Tokenizer.Encode(s))
            .Where(e => e.Length >= 16)
            .Select(e => new TokenSequence([.. e.Ids[..15], onnx.Tokenizer.SepId], [.. e.TypeIds[..16]]))
            .Take(32)
            .ToArray();
        sequences.Should().HaveCount(32);
        var sequential = sequences.Select(s => onnx.PredictLogits([s])[0]).ToArray();

        // Four threads of their own (not the thread pool, which may run the parts one after another), started together.
        var parallel = new double[4][][];
        using var start = new Barrier(4);
        var threads = Enumerable.Range(0, 4).Select(part => new Thread(() =>
        {
            var mine = sequences.Where((_, i) => i % 4 == part).ToArray();
            start.SignalAndWait();
            for (var repeat = 0; repeat < 10; repeat++)
            {
                var logits = onnx.PredictLogits(mine);
                if (repeat == 0 || !logits.Zip(parallel[part], (a, b) => a.SequenceEqual(b)).All(x => x))
                {
                    // A repeat that differs from the first is kept, so the comparison below sees it.
                    parallel[part] = logits;
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        for (var i = 0; i < sequences.Length; i++)
        {
            parallel[i % 4][i / 4].Zip(sequential[i], (a, b) => Math.Abs(a - b)).Max()
                .Should().BeLessThan(1e-5, "sequence {0}: batching only changes float32 rounding", i);
        }
    }

    public static TheoryData<string> PerturbationMethods => new() { "occlusion", "shapley", "shapley-sampling", "kernel-shap" };

    [SkippableTheory]
    [MemberData(nameof(PerturbationMethods))]
    public void Every_perturbation_method_gives_the_same_scores_on_the_onnx_model_as_on_the_safetensors_model(string method)
    {
        using var torch = ClassifierLoader.Load(SharedData.Require("models/sst2-bert-tiny"));
        using var onnx = OnnxTextClassifier.Load(SharedData.Require("models/sst2-bert-tiny-onnx"));
        IPerturbationAttributor Create() => method switch
        {
            "occlusion" => new Occlusion(),
            "shapley" => new ShapleyValues(),
            "shapley-sampling" => new ShapleyValueSampling { Seed = 1 },
            _ => new KernelShap { Seed = 1 },
        };

        // 8 words: few enough for exact Shapley values.
        var text = Sst2Dev.Load().Select(s => s.Sentence).First(s => s.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length == 8);
        var expected = Create().Explain((ITokenClassifier)torch, [text])[0];
        var actual = Create().Explain(onnx, [text])[0];

        actual.Tokens.Should().Equal(expected.Tokens);
        var worst = actual.Scores.Zip(expected.Scores, (a, e) => Math.Abs(a - e)).Max();
        output.WriteLine($"{method}: \"{text}\", max |score difference| = {worst:E2}, max |score| = {expected.Scores.Max(s => Math.Abs(s)):F4}");
        expected.Scores.Max(s => Math.Abs(s)).Should().BeGreaterThan(1e-3, "the comparison needs scores that are not all zero");
        worst.Should().BeLessThan(Tolerance);
    }

    [SkippableTheory]
    [MemberData(nameof(Models))]
    public void Lime_gives_the_same_scores_on_the_onnx_model_as_on_the_safetensors_model(string name)
    {
        using var torch = ClassifierLoader.Load(SharedData.Require($"models/{name}"));
        using var onnx = OnnxTextClassifier.Load(SharedData.Require($"models/{name}-onnx"));
        // The first dev sentence of 12+ words: enough features for the surrogate to have something to fit.
        var text = Sst2Dev.Load().Select(s => s.Sentence).First(s => s.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length >= 12);

        var expected = new Lime { Seed = 1 }.Explain((ITokenClassifier)torch, text);
        var actual = new Lime { Seed = 1 }.Explain((ITokenClassifier)onnx, text);

        actual.Tokens.Should().Equal(expected.Tokens);
        actual.Target.Should().Be(expected.Target);
        var worst = actual.Scores.Zip(expected.Scores, (a, e) => Math.Abs(a - e)).Max();
        output.WriteLine($"{name}: LIME on \"{text}\" ({actual.Tokens.Length} tokens), max |score difference| = {worst:E2}, max |score| = {expected.Scores.Max(s => Math.Abs(s)):F4}");
        expected.Scores.Max(s => Math.Abs(s)).Should().BeGreaterThan(1e-3, "the comparison needs scores that are not all zero");
        worst.Should().BeLessThan(Tolerance);
        actual.Surrogate!.Intercept.Should().BeApproximately(expected.Surrogate!.Intercept, Tolerance);
    }
}
