using Attribution.Engine;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Text.Tokenizers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Attribution.Tests.Methods;

/// <summary>
/// <see cref="LayerMethod.Side"/> and <see cref="LayerMethod.TensorIndex"/> on a model whose layer returns a tuple,
/// against Gradient × Input worked out in the test (float64) from the closed form
/// p = W_p e + b_p per token, (a, b) = (p, tanh p), F = w · mean over the real tokens of (a + b²) + c:
/// ∂F/∂a = w/n, ∂F/∂b = 2 b ⊙ w/n, ∂F/∂p = (1 + 2 tanh p (1 − tanh² p)) ⊙ w/n and ∂F/∂e = W_pᵀ ∂F/∂p.
/// Tolerance 1e-5 relative: the model runs in float32.
/// </summary>
public sealed class LayerSideTests : IDisposable
{
    private const int Dim = 3, Target = 1;
    private const string Text = "a dull film";
    private readonly string root = Directory.CreateTempSubdirectory("attribution-layer-side-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    /// <summary>(p, tanh p): a layer with two outputs.</summary>
    public sealed class WithTanh() : nn.Module<Tensor, (Tensor, Tensor)>(nameof(WithTanh))
    {
        public override (Tensor, Tensor) forward(Tensor input) => (input.alias(), input.tanh());
    }

    /// <summary>ids, mask → w · mean over real tokens of (a + b²) + c, with (a, b) = split(proj(embedding(ids))).</summary>
    public sealed class TupleModel : nn.Module<Tensor, Tensor, Tensor>
    {
        public readonly Embedding embedding;
        public readonly Linear proj;
        public readonly WithTanh split;
        public readonly Linear output;

        public TupleModel(long vocabulary)
            : base(nameof(TupleModel))
        {
            embedding = nn.Embedding(vocabulary, Dim);
            proj = nn.Linear(Dim, Dim);
            split = new WithTanh();
            output = nn.Linear(Dim, 2);
            RegisterComponents();
        }

        public override Tensor forward(Tensor ids, Tensor mask)
        {
            var (a, b) = split.call(proj.call(embedding.call(ids)));
            var weights = mask.to(a.dtype).unsqueeze(-1);
            var mean = (a.Plus(b * b) * weights).sum(1) / weights.sum(1);
            return output.call(mean);
        }
    }

    [Theory]
    [InlineData("proj", LayerSide.Input, 0)]
    [InlineData("proj", LayerSide.Output, 0)]
    [InlineData("split", LayerSide.Output, 0)]
    [InlineData("split", LayerSide.Output, 1)]
    public void Gradient_x_input_at_a_side_and_tensor_of_a_layer_is_its_closed_form(string layer, LayerSide side, int index)
    {
        var vocab = Path.Combine(root, "vocab.txt");
        File.WriteAllLines(vocab, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "dull", "film"]);
        var tokenizer = TokenizerLoader.FromWordPieceVocab(vocab);
        var module = new TupleModel(tokenizer.VocabularySize);
        using (var generator = new Generator(7))
        using (no_grad())
        {
            foreach (var (_, p) in module.named_parameters())
            {
                using var values = randn(p.shape, p.dtype, generator: generator);
                p.copy_(values);
            }
        }

        using var model = TextClassifier.FromTorchSharp(module, tokenizer, "embedding", ["negative", "positive"], maxLength: 16, ownsModel: true);
        double[] Flat(Tensor t) => t.to(ScalarType.Float64).data<double>().ToArray();
        var table = Flat(module.embedding.weight!);
        var wp = Flat(module.proj.weight!);
        var bp = Flat(module.proj.bias!);
        var w = Flat(module.output.weight!).Skip(Target * Dim).Take(Dim).ToArray();
        var ids = tokenizer.Encode(Text).Ids;
        var n = ids.Length;

        var expected = ids.Select(id =>
        {
            var e = Enumerable.Range(0, Dim).Select(d => table[(id * Dim) + d]).ToArray();
            var p = Enumerable.Range(0, Dim).Select(i => bp[i] + Enumerable.Range(0, Dim).Sum(d => wp[(i * Dim) + d] * e[d])).ToArray();
            var t = p.Select(Math.Tanh).ToArray();
            var dp = Enumerable.Range(0, Dim).Select(i => (1 + (2 * t[i] * (1 - (t[i] * t[i])))) * w[i] / n).ToArray();
            return (layer, side, index) switch
            {
                ("proj", LayerSide.Input, _) => Enumerable.Range(0, Dim).Sum(d => e[d] * Enumerable.Range(0, Dim).Sum(i => wp[(i * Dim) + d] * dp[i])),
                ("proj", LayerSide.Output, _) => Enumerable.Range(0, Dim).Sum(i => p[i] * dp[i]),
                (_, _, 0) => Enumerable.Range(0, Dim).Sum(i => p[i] * w[i] / n),
                _ => Enumerable.Range(0, Dim).Sum(i => t[i] * 2 * t[i] * w[i] / n),
            };
        }).ToArray();

        var method = new GradientXInput { Layer = layer, Side = side, TensorIndex = index };
        var result = method.Attribute(model, [Text], new AttributionOptions { Target = Attribution.Methods.Target.Class(Target) })[0];
        var scale = expected.Max(Math.Abs);
        result.Scores.Should().Equal(expected, (a, b) => Math.Abs(a - b) <= 1e-5 * scale,
            $"{layer} {side} [{index}]: [{string.Join(", ", result.Scores)}] vs [{string.Join(", ", expected)}]");
    }
}
