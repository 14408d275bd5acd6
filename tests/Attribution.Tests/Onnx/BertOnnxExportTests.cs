using Attribution.Benchmarks.Onnx;
using Attribution.Engine;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Onnx;
using Attribution.Tests.Methods;
using Attribution.Text.Tokenizers;
using TorchSharp;
using Xunit.Abstractions;

namespace Attribution.Tests.Onnx;

/// <summary>
/// The benchmarks' hand-written ONNX export of <see cref="BertForSequenceClassification"/> (BertOnnxExport, linked from
/// benchmarks/Attribution.Benchmarks/Onnx) on a small random BERT (2 layers, hidden 32, 2 heads, 3 labels): ONNX
/// Runtime must give the TorchSharp model's logits to 1e-4 on padded batches of SST-2 dev sentences and sentence pairs
/// (token types 0 and 1), and a graph that drops the attention mask must be caught by the same comparison.
/// </summary>
public sealed class BertOnnxExportTests(ITestOutputHelper output) : IDisposable
{
    private const double Tolerance = 1e-4;

    private readonly string folder = Directory.CreateTempSubdirectory("attribution-bert-onnx-export-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [SkippableFact]
    public void The_export_gives_the_torchsharp_models_logits_on_padded_batches_of_sentences_and_pairs()
    {
        using var reference = SmallBert();
        BertOnnxExport.Write(reference, folder, SharedData.Require("tokenizers/bert-base-uncased"));
        using var onnx = OnnxTextClassifier.Load(folder, new OnnxSessionSettings { BatchSize = 8 });
        onnx.Labels.Should().Equal(reference.Labels);
        onnx.MaxLength.Should().Be(reference.MaxLength);
        onnx.UsesTokenTypes.Should().BeTrue();

        var sequences = Sequences(reference.Tokenizer);
        sequences.Select(s => s.Ids.Length).Distinct().Count().Should().BeGreaterThan(10, "the batches must mix lengths, so padding is exercised");
        sequences.Should().Contain(s => s.TypeIds!.Contains(1L), "token type 1 must be exercised");
        var torchLogits = ((ITokenClassifier)reference).PredictLogits(sequences);
        var worst = MaxDifference(torchLogits, onnx.PredictLogits(sequences));
        var spread = torchLogits.SelectMany(l => l).ToArray();
        output.WriteLine($"{sequences.Length} sequences of {sequences.Min(s => s.Ids.Length)}..{sequences.Max(s => s.Ids.Length)} tokens, " +
            $"logits {spread.Min():F3}..{spread.Max():F3}, max |logit difference| = {worst:E2}");
        (spread.Max() - spread.Min()).Should().BeGreaterThan(0.1, "logits that barely move would make the comparison weak");
        worst.Should().BeLessThan(Tolerance);

        // Predict (texts, tokenized by the copied tokenizer files) agrees too.
        var texts = Sst2Dev.Load().Take(20).Select(s => s.Sentence).ToArray();
        var expected = reference.Predict(texts);
        var actual = onnx.Predict(texts);
        for (var i = 0; i < texts.Length; i++)
        {
            actual[i].Logits.Zip(expected[i].Logits, (a, b) => Math.Abs(a - b)).Max().Should().BeLessThan(Tolerance);
        }
    }

    /// <summary>
    /// The small BERT's weights come from its own generator: draws from the global one between two builds (as the tests
    /// running alongside make) change nothing. (Reseeding the global generator, as before, gave this too when nothing
    /// ran alongside; what it broke, the other tests' draws and its own under interleaving, no single-threaded test shows.)
    /// </summary>
    [SkippableFact]
    public void The_small_bert_is_the_same_whatever_the_global_generator_draws()
    {
        using var first = SmallBert();
        using (torch.rand(1000))
        {
        }

        using var second = SmallBert();
        var a = first.Module.state_dict();
        var b = second.Module.state_dict();
        a.Keys.Should().Equal(b.Keys);
        foreach (var key in a.Keys)
        {
            a[key].allclose(b[key], rtol: 0, atol: 0).Should().BeTrue(key);
        }

        a["bert.embeddings.LayerNorm.weight"].mean().ItemAsDouble().Should().BeApproximately(1.0, 0.2, "LayerNorm weights are 1 + 0.2·N(0, 1)");
    }

    [SkippableFact]
    public void The_comparison_catches_an_export_that_ignores_the_attention_mask()
    {
        using var reference = SmallBert();
        BertOnnxExport.Write(reference, folder, SharedData.Require("tokenizers/bert-base-uncased"), ignoreAttentionMask: true);
        using var onnx = OnnxTextClassifier.Load(folder, new OnnxSessionSettings { BatchSize = 8 });
        var sequences = Sequences(reference.Tokenizer);
        var worst = MaxDifference(((ITokenClassifier)reference).PredictLogits(sequences), onnx.PredictLogits(sequences));
        output.WriteLine($"without the attention mask: max |logit difference| = {worst:E2}");
        worst.Should().BeGreaterThan(100 * Tolerance);

        // One sequence alone has no padding, so there the broken graph is still right: the difference is the padding's.
        var alone = onnx.PredictLogits([sequences[0]])[0].Zip(((ITokenClassifier)reference).PredictLogits([sequences[0]])[0], (a, b) => Math.Abs(a - b)).Max();
        alone.Should().BeLessThan(Tolerance);
    }

    /// <summary>
    /// A small random BERT (bert-base-uncased vocabulary, 2 layers, hidden 32, 2 heads, intermediate 64, 3 labels) in
    /// eval mode, its LayerNorm weights and biases randomized too (defaults of 1 and 0 would hide a swapped pair).
    /// Every parameter is drawn from a generator of this test's own (PyTorch's default initialization, as
    /// <see cref="ParameterInit"/> draws it; the word embedding's padding row zero, as the constructor leaves it): before,
    /// <c>torch.manual_seed</c> reseeded the global generator, which the tests running at the same time share, so their
    /// draws in between changed these weights from run to run, and this test's reseeding changed theirs.
    /// </summary>
    private static TextClassifier SmallBert()
    {
        var config = new TransformerConfig
        {
            ModelType = "bert", VocabSize = 30522, HiddenSize = 32, NumHiddenLayers = 2, NumAttentionHeads = 2,
            IntermediateSize = 64, MaxPositionEmbeddings = 128, TypeVocabSize = 2, NumLabels = 3,
        };
        var module = new BertForSequenceClassification(config);
        using var generator = new torch.Generator(20261203);
        ParameterInit.Reset(module, generator, paddingIndex: null);
        using (torch.no_grad())
        {
            ((TorchSharp.Modules.Embedding)module.Submodule(module.WordEmbeddingPath)).weight![config.PadTokenId].zero_();
            foreach (var (name, parameter) in module.named_parameters())
            {
                if (name.Contains("LayerNorm", StringComparison.Ordinal))
                {
                    // Weight 1 + 0.2·N(0, 1), bias 0.2·N(0, 1), as before, drawn from the test's generator.
                    using var draw = torch.randn(parameter.shape, generator: generator);
                    using var noise = draw.Times(0.2);
                    using var value = name.EndsWith("weight", StringComparison.Ordinal) ? noise.Plus(1.0) : noise.clone();
                    parameter.copy_(value);
                }
            }
        }

        var tokenizer = TokenizerLoader.FromDirectory(SharedData.Require("tokenizers/bert-base-uncased"));
        return new TextClassifier("bert-small-random", tokenizer, module, ["negative", "neutral", "positive"], module.WordEmbeddingPath,
            config.MaxSequenceLength, usesTokenTypes: true);
    }

    /// <summary>Every 9th SST-2 dev sentence (97, 3 to ~60 tokens) and 24 pairs of consecutive ones (token types 0 and 1).</summary>
    private static TokenSequence[] Sequences(ITokenizer tokenizer)
    {
        var dev = Sst2Dev.Load().Select(s => s.Sentence).ToArray();
        var singles = dev.Where((_, i) => i % 9 == 0).Select(s => tokenizer.Encode(s));
        var pairs = Enumerable.Range(0, 24).Select(i => tokenizer.Encode(dev[2 * i + 1], dev[2 * i + 2])).Where(e => e.Length <= 128);
        return singles.Concat(pairs).Select(e => new TokenSequence(e.Ids, e.TypeIds)).ToArray();
    }

    private static double MaxDifference(double[][] a, double[][] b) =>
        a.Zip(b, (x, y) => x.Zip(y, (u, v) => Math.Abs(u - v)).Max()).Max();
}
