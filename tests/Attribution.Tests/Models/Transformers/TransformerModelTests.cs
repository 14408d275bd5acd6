using Attribution.Models;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;
using Xunit.Abstractions;

namespace Attribution.Tests.Models;

/// <summary>The three architectures built in code: an independent forward pass, padding, hooks, leaks, limits.</summary>
public class TransformerModelTests(ITestOutputHelper output)
{
    public static TheoryData<string> ModelTypes => new() { "bert", "distilbert", "roberta" };

    internal static TransformerConfig ConfigFor(string type) => type switch
    {
        "bert" => TransformerTestKit.TinyBert,
        "distilbert" => TransformerTestKit.TinyDistilBert,
        _ => TransformerTestKit.TinyRoberta,
    };

    // Right-padded batch; ids avoid the pad id (0 for BERT/DistilBERT, 1 for RoBERTa) except as padding.
    internal static readonly long[][] Sequences = [[2, 7, 9, 13, 4, 3], [2, 21, 3], [2, 5, 44, 17, 3]];

    [Theory]
    [MemberData(nameof(ModelTypes))]
    public void Logits_match_an_op_by_op_float64_forward_of_the_same_weights(string type)
    {
        foreach (var act in new[] { "gelu", "gelu_new", "gelu_pytorch_tanh", "relu" })
        {
            using var model = TransformerTestKit.RandomModel(ConfigFor(type) with { HiddenAct = act }, seed: 11);
            using var scope = NewDisposeScope();
            var (ids, mask) = TransformerTestKit.Pad(Sequences, model.Config.PadTokenId);
            var actual = model.call(new ModelInput(ids, mask)).data<float>().ToArray();
            var expected = TransformerTestKit.ReferenceLogits(model.Config, model.state_dict(), TransformerGoldenTests.ToArray2(ids), TransformerGoldenTests.ToArray2(mask));
            var worst = TransformerTestKit.MaxAbsDiff(actual, expected);
            output.WriteLine($"{type}/{act}: max |Δlogit| vs reference = {worst:E2} (logit scale {expected.Max(Math.Abs):F2})");
            worst.Should().BeLessThan(1e-5);
        }
    }

    [Theory]
    [MemberData(nameof(ModelTypes))]
    public void Padded_rows_give_the_logits_of_the_unpadded_inputs(string type)
    {
        using var model = TransformerTestKit.RandomModel(ConfigFor(type), seed: 3);
        using var scope = NewDisposeScope();
        var (ids, mask) = TransformerTestKit.Pad(Sequences, model.Config.PadTokenId);
        var batched = model.call(new ModelInput(ids, mask)).data<float>().ToArray();
        var labels = model.Config.NumLabels;
        for (var b = 0; b < Sequences.Length; b++)
        {
            var single = model.call(new ModelInput(tensor(Sequences[b], [1, Sequences[b].Length]))).data<float>().ToArray().Select(v => (double)v).ToArray();
            TransformerTestKit.MaxAbsDiff(batched[(b * labels)..((b + 1) * labels)], single).Should().BeLessThan(1e-5);
        }

        // A float mask and explicit zero token types are the same input.
        var types = type == "distilbert" ? null : zeros(ids.shape, ScalarType.Int64);
        var again = model.call(new ModelInput(ids, mask.@float(), types)).data<float>().ToArray();
        again.Should().Equal(batched);
    }

    [Fact]
    public void Parameter_names_are_hugging_faces()
    {
        using var bert = new BertForSequenceClassification(TransformerTestKit.TinyBert);
        var names = bert.state_dict().Keys.ToList();
        names.Should().Contain([
            "bert.embeddings.word_embeddings.weight", "bert.embeddings.position_embeddings.weight",
            "bert.embeddings.token_type_embeddings.weight", "bert.embeddings.LayerNorm.weight",
            "bert.encoder.layer.1.attention.self.query.weight", "bert.encoder.layer.1.attention.self.key.bias",
            "bert.encoder.layer.1.attention.self.value.weight", "bert.encoder.layer.1.attention.output.dense.weight",
            "bert.encoder.layer.1.attention.output.LayerNorm.bias", "bert.encoder.layer.1.intermediate.dense.weight",
            "bert.encoder.layer.1.output.dense.weight", "bert.encoder.layer.1.output.LayerNorm.weight",
            "bert.pooler.dense.weight", "classifier.weight", "classifier.bias",
        ]);
        names.Should().HaveCount(5 + (2 * 16) + 2 + 2);

        using var distil = new DistilBertForSequenceClassification(TransformerTestKit.TinyDistilBert);
        distil.state_dict().Keys.Should().Contain([
            "distilbert.embeddings.word_embeddings.weight", "distilbert.embeddings.position_embeddings.weight",
            "distilbert.transformer.layer.0.attention.q_lin.weight", "distilbert.transformer.layer.0.attention.out_lin.bias",
            "distilbert.transformer.layer.0.sa_layer_norm.weight", "distilbert.transformer.layer.0.ffn.lin1.weight",
            "distilbert.transformer.layer.0.ffn.lin2.bias", "distilbert.transformer.layer.0.output_layer_norm.bias",
            "pre_classifier.weight", "classifier.bias",
        ]).And.HaveCount(4 + (2 * 16) + 4);

        using var roberta = new RobertaForSequenceClassification(TransformerTestKit.TinyRoberta);
        roberta.state_dict().Keys.Should().Contain(["roberta.embeddings.token_type_embeddings.weight", "classifier.dense.weight", "classifier.out_proj.bias"])
            .And.NotContain(k => k.Contains("pooler", StringComparison.Ordinal)).And.HaveCount(5 + (2 * 16) + 4);
    }

    [Theory]
    [MemberData(nameof(ModelTypes))]
    public void Every_named_block_is_a_hookable_module(string type)
    {
        using var model = TransformerTestKit.RandomModel(ConfigFor(type), seed: 5);
        var prefix = type == "distilbert" ? "distilbert.transformer.layer." : type + ".encoder.layer.";
        model.WordEmbeddingPath.Should().Be(type + ".embeddings.word_embeddings");
        model.EmbeddingsPath.Should().Be(type + ".embeddings");
        model.EncoderLayerPaths.Should().Equal(prefix + "0", prefix + "1");
        model.Submodule(model.WordEmbeddingPath).Should().BeSameAs(model.WordEmbeddings);

        var attention = prefix + "1.attention" + (type == "distilbert" ? string.Empty : ".self");
        var seen = new Dictionary<string, long[]>();
        var handles = new[] { model.WordEmbeddingPath, model.EmbeddingsPath, model.EncoderLayerPaths[0], model.EncoderLayerPaths[1], attention + ".attention_scores", attention + ".attention_probs", attention + ".context" }
            .Select(path => ModuleHooks.AddForwardHook(model.Submodule(path), (_, _, o) =>
            {
                var t = ModuleIO.TensorAt(o, 0);
                seen[path] = t.shape;
                if (path.EndsWith("attention_probs", StringComparison.Ordinal))
                {
                    using var rows = t.sum(-1);
                    using var ones = ones_like(rows);
                    allclose(rows, ones, atol: 1e-6).Should().BeTrue("attention probabilities sum to 1 over the keys");
                }

                return null;
            }))
            .ToList();

        using var scope = NewDisposeScope();
        var (ids, mask) = TransformerTestKit.Pad(Sequences, model.Config.PadTokenId);
        var plain = model.call(new ModelInput(ids, mask)).data<float>().ToArray();
        var hidden = model.Config.HiddenSize;
        var heads = model.Config.NumAttentionHeads;
        seen[model.WordEmbeddingPath].Should().Equal(3, 6, hidden);
        seen[model.EmbeddingsPath].Should().Equal(3, 6, hidden);
        seen[model.EncoderLayerPaths[1]].Should().Equal(3, 6, hidden);
        seen[attention + ".attention_probs"].Should().Equal(3, heads, 6, 6);
        seen[attention + ".context"].Should().Equal(3, heads, 6, hidden / heads);
        foreach (var h in handles)
        {
            h.Dispose();
        }

        // A hook that replaces the word embeddings changes the logits (attribution methods rely on this path).
        using var zeroing = ModuleHooks.AddForwardHook(model.Submodule(model.WordEmbeddingPath), (_, _, o) => zeros_like((Tensor)o));
        model.call(new ModelInput(ids, mask)).data<float>().ToArray().Should().NotEqual(plain);
    }

    [Theory]
    [MemberData(nameof(ModelTypes))]
    public void A_sequence_longer_than_the_position_table_is_a_typed_error_naming_the_limit(string type)
    {
        using var model = TransformerTestKit.RandomModel(ConfigFor(type), seed: 1);
        var limit = model.Config.MaxSequenceLength;
        limit.Should().Be(type == "roberta" ? 14 - 2 : 12);
        using var scope = NewDisposeScope();
        using var three = 3.ToScalar();

        // The limit itself is fine.
        model.call(new ModelInput(full([1, limit], three, ScalarType.Int64))).shape.Should().Equal(1, model.Config.NumLabels);

        var act = () => model.call(new ModelInput(full([1, limit + 1], three, ScalarType.Int64)));
        act.Should().Throw<ArgumentOutOfRangeException>()
            .WithMessage($"*{limit + 1} tokens*at most {limit}*max_position_embeddings = {model.Config.MaxPositionEmbeddings}*");
    }

    [Fact]
    public void Bad_inputs_are_argument_errors_not_native_failures()
    {
        using var model = TransformerTestKit.RandomModel(TransformerTestKit.TinyBert, seed: 1);
        using var scope = NewDisposeScope();
        FluentActions.Invoking(() => model.call(new ModelInput(tensor(new long[] { 2, 3 }))))
            .Should().Throw<ArgumentException>().WithMessage("*[batch, sequence]*unsqueeze(0)*");
        FluentActions.Invoking(() => model.call(new ModelInput(tensor(new long[] { 2, 50 }, [1, 2]))))
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage("*token id 50*vocab_size = 50*");
        FluentActions.Invoking(() => model.call(new ModelInput(tensor(new long[] { 2, 3 }, [1, 2]), ones([1, 3]))))
            .Should().Throw<ArgumentException>().WithMessage("*AttentionMask has shape [1, 3]*");
        FluentActions.Invoking(() => model.call(new ModelInput(tensor(new long[] { 2, 3 }, [1, 2]), null, tensor(new long[] { 0, 2 }, [1, 2]))))
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage("*token type id 2*type_vocab_size = 2*");

        using var distil = TransformerTestKit.RandomModel(TransformerTestKit.TinyDistilBert, seed: 1);
        FluentActions.Invoking(() => distil.call(new ModelInput(tensor(new long[] { 2, 3 }, [1, 2]), null, zeros([1, 2], ScalarType.Int64))))
            .Should().Throw<ArgumentException>().WithMessage("*no token types*");
    }

    /// <summary>
    /// A mask value other than 0 or 1 is refused by every family, naming the place and the value: BERT and RoBERTa add
    /// (1 − mask) × −10000 (a 2 would add +10000, a 0.5 half-mask the token) while DistilBERT masks only where the mask is
    /// 0 (a 2 is a plain token), so the same input meant three different things and matched no padding.
    /// </summary>
    [Theory]
    [MemberData(nameof(ModelTypes))]
    public void A_mask_value_other_than_0_or_1_is_refused_by_name(string type)
    {
        using var model = TransformerTestKit.RandomModel(ConfigFor(type), seed: 4);
        using var scope = NewDisposeScope();
        var (ids, mask) = TransformerTestKit.Pad(Sequences, model.Config.PadTokenId);
        foreach (var (bad, shown) in new[] { (2.0, "2"), (0.5, "0.5"), (-1.0, "-1"), (double.NaN, "NaN") })
        {
            var edited = mask.to(ScalarType.Float32);
            edited[1, 2] = tensor((float)bad);
            FluentActions.Invoking(() => model.call(new ModelInput(ids, edited)))
                .Should().Throw<ArgumentOutOfRangeException>().WithMessage($"AttentionMask[1, 2] is {shown}; a mask holds 1 for a token and 0 for padding only*")
                .Which.ParamName.Should().Be("input");
        }

        // 0/1 masks of every dtype the library builds or a caller may hold are the same input.
        var expected = model.call(new ModelInput(ids, mask)).data<float>().ToArray();
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.Bool, ScalarType.Int32 })
        {
            model.call(new ModelInput(ids, mask.to(dtype))).data<float>().ToArray().Should().Equal(expected, $"a {dtype} mask");
        }
    }

    /// <summary>
    /// One model, four threads, each with inputs of its own (its own lengths and padding, full and logits-only passes):
    /// every result equals the single-threaded one bit for bit, since nothing but the calling thread differs (the forward
    /// keeps no state on the module, and libtorch splits an operation the same way whichever thread starts it).
    /// </summary>
    [Theory]
    [MemberData(nameof(ModelTypes))]
    public void One_model_gives_single_threaded_logits_from_four_threads(string type)
    {
        using var model = TransformerTestKit.RandomModel(ConfigFor(type), seed: 8);
        long[][][] perThread =
        [
            [Sequences[0]], [Sequences[1], Sequences[2]], Sequences, [[2, 30, 31, 32, 33, 34, 35, 3], Sequences[1]],
        ];

        float[] Run(long[][] sequences, bool logitsOnly)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var (ids, mask) = TransformerTestKit.Pad(sequences, model.Config.PadTokenId);
            return model.call(new ModelInput(ids, mask) { LogitsOnly = logitsOnly }).data<float>().ToArray();
        }

        var expected = perThread.Select(s => (full: Run(s, false), first: Run(s, true))).ToArray();
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var threads = Enumerable.Range(0, perThread.Length).Select(t => new Thread(() =>
        {
            try
            {
                for (var call = 0; call < 25; call++)
                {
                    var logitsOnly = call % 2 == 1;
                    var actual = Run(perThread[t], logitsOnly);
                    if (!actual.SequenceEqual(logitsOnly ? expected[t].first : expected[t].full))
                    {
                        failures.Enqueue($"thread {t}, call {call}: [{string.Join(", ", actual)}]");
                    }
                }
            }
            catch (Exception e)
            {
                failures.Enqueue($"thread {t}: {e}");
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        failures.Should().BeEmpty();
    }

    [Fact]
    public void Eval_mode_is_deterministic_and_train_mode_turns_dropout_on()
    {
        using var model = TransformerTestKit.RandomModel(TransformerTestKit.TinyBert with { HiddenDropoutProb = 0.5 }, seed: 2);
        using var scope = NewDisposeScope();
        var input = new ModelInput(tensor(Sequences[0], [1, 6]));
        model.call(input).data<float>().ToArray().Should().Equal(model.call(input).data<float>().ToArray());
        model.train();
        model.Submodule("bert.embeddings.dropout").training.Should().BeTrue();
        model.call(input).data<float>().ToArray().Should().NotEqual(model.call(input).data<float>().ToArray());
    }
}
