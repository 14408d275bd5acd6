using Attribution.Engine;
using Attribution.Methods;
using Attribution.Methods.Attention;
using Attribution.Models;
using Attribution.Salience;
using Attribution.Text.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Methods.Attention;

/// <summary>
/// Attention maps and rollout on small BERTs with random weights whose attention is computed here by hand from the
/// parameters (embeddings, LayerNorm, Q, K, softmax), not through the library's hooks. Tolerance 1e-5: float32 model,
/// float64 hand computation of the same operations.
/// </summary>
public sealed class AttentionRolloutTests : IDisposable
{
    private static readonly string[] Vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "dull", "film", "superb", "cast"];

    private readonly string root = Directory.CreateTempSubdirectory("attribution-rollout-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private TextClassifier Bert(int layers, int heads, ulong seed)
    {
        var vocab = Path.Combine(root, "vocab.txt");
        File.WriteAllLines(vocab, Vocabulary);
        var tokenizer = TokenizerLoader.FromWordPieceVocab(vocab);
        var config = new TransformerConfig
        {
            ModelType = "bert", VocabSize = Vocabulary.Length, HiddenSize = 8, NumHiddenLayers = layers, NumAttentionHeads = heads,
            IntermediateSize = 16, MaxPositionEmbeddings = 16,
        };
        var module = new BertForSequenceClassification(config);
        using (var generator = new Generator(seed))
        using (no_grad())
        {
            foreach (var (_, p) in module.named_parameters())
            {
                using var drawn = randn(p.shape, p.dtype, generator: generator);
                using var values = drawn.Times(0.8);
                p.copy_(values);
            }
        }

        return new TextClassifier("tiny-bert", tokenizer, module, ["negative", "positive"], module.WordEmbeddingPath, 16, usesTokenTypes: true);
    }

    private static Tensor Parameter(TextClassifier model, string suffix) =>
        model.Module.named_parameters().Single(p => p.name.EndsWith(suffix, StringComparison.Ordinal)).parameter.detach().to(ScalarType.Float64);

    /// <summary>Layer 0's attention of a one-head BERT, written out: LayerNorm(word + position + type) → Q, K → softmax(QKᵀ/√d).</summary>
    private static double[][] HandAttention(TextClassifier model, long[] ids)
    {
        using var scope = NewDisposeScope();
        var idTensor = tensor(ids);
        var embedded = Parameter(model, "word_embeddings.weight").index_select(0, idTensor)
            .Plus(Parameter(model, "position_embeddings.weight").narrow(0, 0, ids.Length))
            .Plus(Parameter(model, "token_type_embeddings.weight")[0]);
        var mean = embedded.mean([-1L], keepdim: true);
        var variance = (embedded - mean).Squared().mean([-1L], keepdim: true);
        var h = ((embedded - mean) / variance.Plus(1e-12).sqrt() * Parameter(model, "embeddings.LayerNorm.weight")).Plus(Parameter(model, "embeddings.LayerNorm.bias"));
        var q = h.matmul(Parameter(model, "layer.0.attention.self.query.weight").t()).Plus(Parameter(model, "layer.0.attention.self.query.bias"));
        var k = h.matmul(Parameter(model, "layer.0.attention.self.key.weight").t()).Plus(Parameter(model, "layer.0.attention.self.key.bias"));
        var a = q.matmul(k.t()).DividedBy(Math.Sqrt(q.size(1))).softmax(-1);
        var values = a.contiguous().data<double>().ToArray();
        return Enumerable.Range(0, ids.Length).Select(r => values.AsSpan(r * ids.Length, ids.Length).ToArray()).ToArray();
    }

    [Fact]
    public void Rollout_of_one_layer_and_one_head_is_the_hand_computation()
    {
        using var model = Bert(layers: 1, heads: 1, seed: 5);
        const string text = "a dull film superb cast";
        var ids = model.Tokenizer.Encode(text).Ids;
        var a = HandAttention(model, ids);

        var maps = AttentionMaps.Of(model, text);
        maps.Layers.Should().HaveCount(1);
        maps.Layers[0].Should().HaveCount(1);
        for (var q = 0; q < ids.Length; q++)
        {
            maps.Layers[0][0][q].Should().Equal(a[q], (x, y) => Math.Abs(x - y) <= 1e-5);
        }

        // (A + I) / 2, row of the first position.
        var expected = Enumerable.Range(0, ids.Length).Select(j => (a[0][j] + (j == 0 ? 1 : 0)) / 2).ToArray();
        var e = new AttentionRollout().Explain(model, text, new ExplainOptions { Salience = new SalienceOptions { KeepSpecialTokens = true } });
        e.Scores.Should().Equal(expected, (x, y) => Math.Abs(x - y) <= 1e-5);
        e.Scores.Sum().Should().BeApproximately(1, 1e-5, "rows of the rollout stay distributions");
        e.Notes.Should().Contain(AttentionRollout.NotFaithful);
        e.Signedness.Should().Be(Signedness.Unsigned);
    }

    /// <summary>Two layers, two heads: the head mean with the residual, multiplied in layer order (Â₂·Â₁), from the maps.</summary>
    [Fact]
    public void Rollout_multiplies_the_head_averaged_layers_in_order()
    {
        using var model = Bert(layers: 2, heads: 2, seed: 9);
        const string text = "superb cast a dull film";
        var maps = AttentionMaps.Of(model, text);
        var n = maps.Tokens.Length;
        double[][] Layer(int l) => Enumerable.Range(0, n).Select(q => Enumerable.Range(0, n)
            .Select(k => ((maps.Layers[l][0][q][k] + maps.Layers[l][1][q][k]) / 2 + (q == k ? 1 : 0)) / 2).ToArray()).ToArray();
        var (first, second) = (Layer(0), Layer(1));
        var expected = Enumerable.Range(0, n).Select(j => Enumerable.Range(0, n).Sum(m => second[0][m] * first[m][j])).ToArray();
        var e = new AttentionRollout().Explain(model, text, new ExplainOptions { Salience = new SalienceOptions { KeepSpecialTokens = true } });
        e.Scores.Should().Equal(expected, (x, y) => Math.Abs(x - y) <= 1e-6);

        // Batched with a longer text (so this one is padded), the scores do not change.
        var batched = new AttentionRollout().Explain(model, [text, text + " a dull film"], new ExplainOptions { Salience = new SalienceOptions { KeepSpecialTokens = true } });
        batched[0].Scores.Should().Equal(e.Scores, (x, y) => Math.Abs(x - y) <= 1e-6);
    }

    /// <summary>
    /// Gradient-weighted rollout on one layer: I + max(0, ∇A ⊙ A), row 0, with ∇A the gradient of the target logit
    /// taken here by a leaf the test puts at the attention softmax's output.
    /// </summary>
    [Fact]
    public void Gradient_weighted_rollout_of_one_layer_is_its_definition()
    {
        using var model = Bert(layers: 1, heads: 1, seed: 13);
        const string text = "a superb film";
        var e = new AttentionRollout { GradientWeighted = true }.Explain(model, text, new ExplainOptions { Target = Target.Class(1), Salience = new SalienceOptions { KeepSpecialTokens = true } });
        using var scope = NewDisposeScope();
        var batch = model.Encode([text]);
        var softmax = model.Module.SelfAndDescendants().Select(m => m.Module).OfType<AttentionSoftmax>().Single();
        Tensor? leaf = null;
        using (ModuleHooks.AddForwardHook(softmax, (_, _, output) => leaf = ((Tensor)output).detach().requires_grad_()))
        using (enable_grad())
        {
            var logit = model.Module.call(batch.Input)[0, 1];
            var gradient = autograd.grad([logit], [leaf!])[0];
            using var zero = 0.ToScalar();
            var relevance = (gradient * leaf!.detach()).clamp_min(zero)[0, 0].to(ScalarType.Float64);
            var n = (int)relevance.size(0);
            var row = relevance[0].contiguous().data<double>().ToArray();
            var expected = Enumerable.Range(0, n).Select(j => row[j] + (j == 0 ? 1 : 0)).ToArray();
            e.Scores.Should().Equal(expected, (x, y) => Math.Abs(x - y) <= 1e-5 * Math.Max(1, Math.Abs(y)));
        }

        e.Method.Should().Be("grad-attention-rollout");
    }

    /// <summary>
    /// Gradient-weighted rollout over two layers of two heads, in Chefer et al.'s order: R₁ = I + Ā₁, R₂ = R₁ + Ā₂·R₁
    /// with Ā_l = mean over heads of max(0, ∇A_l ⊙ A_l), row 0, the gradients of the target logit taken here at both
    /// softmax outputs. Ā₁·Ā₂ ≠ Ā₂·Ā₁, so the order shows (R₁·Ā₂ misses by a few percent, far above the 1e-5 tolerance).
    /// </summary>
    [Fact]
    public void Gradient_weighted_rollout_adds_each_layer_on_the_left_in_order()
    {
        using var model = Bert(layers: 2, heads: 2, seed: 21);
        const string text = "superb cast a dull film";
        var e = new AttentionRollout { GradientWeighted = true }.Explain(model, text, new ExplainOptions { Target = Target.Class(0), Salience = new SalienceOptions { KeepSpecialTokens = true } });
        using var scope = NewDisposeScope();
        var batch = model.Encode([text]);
        var softmaxes = model.Module.SelfAndDescendants().Select(m => m.Module).OfType<AttentionSoftmax>().ToArray();
        softmaxes.Should().HaveCount(2);
        var leaves = new Tensor?[2];
        var hooks = softmaxes.Select((m, l) => ModuleHooks.AddForwardHook(m, (_, _, output) =>
        {
            // Kept in the graph (not a detached leaf): ∇A₁ includes the path through layer 2's attention, as autograd
            // gives Chefer et al.'s attention gradients.
            leaves[l] = ((Tensor)output).alias();
            return null;
        })).ToArray();
        double[,] product;
        try
        {
            using var grad = enable_grad();
            var logit = model.Module.call(batch.Input)[0, 0];
            var gradients = autograd.grad([logit], [leaves[0]!, leaves[1]!]);
            var n = (int)leaves[0]!.size(-1);
            double[,] Averaged(int l)
            {
                using var zero = 0.ToScalar();
                var heads = (gradients[l] * leaves[l]!.detach()).clamp_min(zero)[0].to(ScalarType.Float64);
                var values = heads.contiguous().data<double>().ToArray();
                var m = new double[n, n];
                for (var q = 0; q < n; q++)
                {
                    for (var k = 0; k < n; k++)
                    {
                        m[q, k] = (values[(q * n) + k] + values[(n * n) + (q * n) + k]) / 2;
                    }
                }

                return m;
            }

            var (a1, a2) = (Averaged(0), Averaged(1));
            var r1 = new double[n, n];
            for (var q = 0; q < n; q++)
            {
                for (var k = 0; k < n; k++)
                {
                    r1[q, k] = (q == k ? 1 : 0) + a1[q, k];
                }
            }

            product = new double[n, n];
            for (var q = 0; q < n; q++)
            {
                for (var k = 0; k < n; k++)
                {
                    var left = 0.0;
                    for (var m = 0; m < n; m++)
                    {
                        left += a2[q, m] * r1[m, k];
                    }

                    product[q, k] = r1[q, k] + left;
                }
            }
        }
        finally
        {
            foreach (var hook in hooks)
            {
                hook.Dispose();
            }
        }

        var expected = Enumerable.Range(0, product.GetLength(1)).Select(j => product[0, j]).ToArray();
        e.Scores.Should().Equal(expected, (x, y) => Math.Abs(x - y) <= 1e-5 * Math.Max(1, Math.Abs(y)),
            $"[{string.Join(", ", e.Scores)}] vs [{string.Join(", ", expected)}]");
    }

    /// <summary>
    /// A model switched back to training mode would drop random attention probabilities (attention dropout 0.1 by
    /// default): the maps are refused, naming the module in training mode, as every explanation is.
    /// </summary>
    /// <summary>
    /// Every class at once: each batch runs forward once, rollout's pass making the prediction, whatever the number of
    /// classes (a call per class ran rollout's pass per class), with one backward per class for the gradient-weighted
    /// rule; each class's scores equal its own call's bit for bit (the same pass on the same rows; plain rollout does
    /// not depend on the class at all).
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Rollout_for_every_class_runs_each_text_forward_once_and_equals_a_call_per_class(bool gradientWeighted)
    {
        using var model = Bert(layers: 2, heads: 2, seed: 5);
        string[] texts = ["a dull film", "superb cast", "a superb film a dull cast"];
        var options = new AttributionOptions { BatchSize = 8 };
        var rollout = new AttentionRollout { GradientWeighted = gradientWeighted };
        using var forwards = new Attribution.Tests.Methods.ForwardCounter(model);
        var all = MethodRunner.AttributeClasses(model, texts, [rollout], [1, 0], options);

        forwards.Calls.Should().Be(1, "one batch: rollout's pass makes the prediction, for both classes");
        for (var c = 0; c < 2; c++)
        {
            var alone = rollout.Attribute(model, texts, options with { Target = Target.Class(c == 0 ? 1 : 0) });
            for (var t = 0; t < texts.Length; t++)
            {
                all[0][t][c].Target.Should().Be(alone[t].Target);
                all[0][t][c].Scores.Should().Equal(alone[t].Scores);
                all[0][t][c].Notes.Should().Equal(alone[t].Notes);
            }
        }

        // The gradient weights make the classes differ, so a row given another class's rollout would fail above.
        texts.Select((_, t) => all[0][t][0].Scores.SequenceEqual(all[0][t][1].Scores)).Should().AllBeEquivalentTo(!gradientWeighted);
    }

    /// <summary>
    /// Rollout's pass is the batch's first: one forward pass per batch (before, a logits-only pass made the prediction
    /// and rollout ran its own), with the scores rollout gives when another method took the first pass and rollout ran
    /// its own (Gradient first), bit for bit: the same pass over the same rows. Two batches of two texts: two passes.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Rollout_runs_each_batch_forward_once_its_pass_making_the_prediction(bool gradientWeighted)
    {
        using var model = Bert(layers: 2, heads: 2, seed: 9);
        string[] texts = ["a dull film", "superb cast", "a superb film a dull cast", "dull"];
        var options = new AttributionOptions { BatchSize = 2 };
        var rollout = new AttentionRollout { GradientWeighted = gradientWeighted };
        using var forwards = new Attribution.Tests.Methods.ForwardCounter(model);
        var alone = rollout.Attribute(model, texts, options);

        forwards.Calls.Should().Be(2, "two batches, one pass each");
        forwards.Reset();
        var afterGradient = MethodRunner.AttributeAll(model, texts, [new Gradient(), rollout], options)[1];
        forwards.Calls.Should().Be(4, "Gradient's pass makes each batch's prediction, and rollout runs its own");
        for (var t = 0; t < texts.Length; t++)
        {
            alone[t].Target.Should().Be(afterGradient[t].Target);
            alone[t].Scores.Should().Equal(afterGradient[t].Scores);
            alone[t].Probabilities.Should().Equal(afterGradient[t].Probabilities, (a, b) => Math.Abs(a - b) <= 1e-6,
                "the prediction from rollout's full pass and from Gradient's logits-only one agree to float32 rounding");
        }
    }

    [Fact]
    public void Attention_maps_of_a_model_in_training_mode_are_refused()
    {
        using var model = Bert(layers: 1, heads: 2, seed: 3);
        model.Module.train();
        var act = () => AttentionMaps.Of(model, "a dull film");
        act.Should().Throw<InvalidOperationException>().WithMessage("*training mode*eval()*");
        model.Module.eval();
        AttentionMaps.Of(model, "a dull film").Layers.Should().HaveCount(1);
    }

    /// <summary>
    /// Each rollout says which it is in <see cref="Explanation.Kind"/>, and the JSON round trip keeps it (without a
    /// kind, the result was written as version 1 and read back as <see cref="MethodKind.Custom"/>).
    /// </summary>
    [Theory]
    [InlineData(false, MethodKind.AttentionRollout, "attention-rollout")]
    [InlineData(true, MethodKind.GradientWeightedAttentionRollout, "grad-attention-rollout")]
    public void Each_rollout_has_its_kind_and_keeps_it_through_json(bool gradientWeighted, MethodKind kind, string name)
    {
        using var model = Bert(layers: 1, heads: 2, seed: 3);
        var e = new AttentionRollout { GradientWeighted = gradientWeighted }.Explain(model, "a dull film");
        (e.Method, e.Kind).Should().Be((name, kind));
        var back = ExplanationJson.Parse(ExplanationJson.Serialize(ExplanationDocument.For([e], model.Labels)));
        back.Version.Should().Be(ExplanationDocument.RolloutKindVersion);
        back.Results.Single().Kind.Should().Be(kind);
    }

    /// <summary>An empty text or pair was refused naming <c>texts</c> or <c>pairs</c>, no parameters of Of: now <c>text</c> and <c>pair</c>.</summary>
    [Fact]
    public void An_empty_text_or_pair_is_refused_naming_it()
    {
        using var model = Bert(layers: 1, heads: 2, seed: 3);
        FluentActions.Invoking(() => AttentionMaps.Of(model, "")).Should().Throw<ArgumentException>()
            .Where(e => e.ParamName == "text").WithMessage("text is empty or whitespace*");
        FluentActions.Invoking(() => AttentionMaps.Of(model, null!)).Should().Throw<ArgumentNullException>().Where(e => e.ParamName == "text");
        FluentActions.Invoking(() => AttentionMaps.Of(model, "a film", " ")).Should().Throw<ArgumentException>()
            .Where(e => e.ParamName == "pair").WithMessage("pair is empty or whitespace: give the pair's second text, or null for a single text*");
    }

    /// <summary>A model without attention modules is refused, naming what it needs.</summary>
    [Fact]
    public void A_model_without_attention_modules_is_refused()
    {
        using var classifier = Models.MaskedMeanKit.Create(root, ["a", "film"], 4, 3, 1, 0.5, 16).Classifier;
        var act = () => AttentionMaps.Of(classifier, "a film");
        act.Should().Throw<ArgumentException>().WithMessage("*AttentionSoftmax*");
    }
}
