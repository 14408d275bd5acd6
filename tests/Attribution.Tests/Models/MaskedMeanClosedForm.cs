using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Models;

/// <summary>
/// A <see cref="MaskedMeanModel"/> written out in float64 from its float32 weights, for tests that compute expected
/// values independently of the library: on a text's n word embeddings e (no padding),
/// z = W₂·tanh(W₁·mean(e) + c₁) + c₂, and the gradient of Σ_k w_k z_k with respect to any one token's embedding is
/// (1/n)·W₁ᵀ[(1 − h²) ⊙ Σ_k w_k W₂[k]], the same for every token.
/// </summary>
internal sealed class MaskedMeanClosedForm
{
    private readonly double[] table;
    private readonly double[] w1;
    private readonly double[] c1;
    private readonly double[] w2;
    private readonly double[] c2;

    /// <summary>Reads the model's weights as they are now.</summary>
    public MaskedMeanClosedForm(MaskedMeanModel model)
    {
        static double[] Flat(Tensor t) => t.to(ScalarType.Float64).data<double>().ToArray();
        table = Flat(model.embedding.weight!);
        w1 = Flat(model.hidden.weight!);
        c1 = Flat(model.hidden.bias!);
        w2 = Flat(model.output.weight!);
        c2 = Flat(model.output.bias!);
        Dim = (int)model.embedding.weight!.size(1);
        Hidden = (int)model.hidden.weight!.size(0);
        Labels = (int)model.output.weight!.size(0);
    }

    /// <summary>Width of the word embeddings.</summary>
    public int Dim { get; }

    /// <summary>Width of the hidden layer.</summary>
    public int Hidden { get; }

    /// <summary>Number of outputs.</summary>
    public int Labels { get; }

    /// <summary>The word embedding of one id.</summary>
    public double[] Embedding(long id) => Enumerable.Range(0, Dim).Select(d => table[(id * Dim) + d]).ToArray();

    /// <summary>The word embeddings of a text's ids, one row per token.</summary>
    public double[][] Embeddings(IEnumerable<long> ids) => ids.Select(Embedding).ToArray();

    /// <summary>h = tanh(W₁·mean(e) + c₁).</summary>
    public double[] HiddenState(double[][] e)
    {
        var n = e.Length;
        return Enumerable.Range(0, Hidden).Select(j => Math.Tanh(c1[j] + Enumerable.Range(0, Dim).Sum(d => w1[(j * Dim) + d] * e.Sum(row => row[d]) / n))).ToArray();
    }

    /// <summary>The logits z.</summary>
    public double[] Logits(double[][] e)
    {
        var h = HiddenState(e);
        return Enumerable.Range(0, Labels).Select(k => c2[k] + Enumerable.Range(0, Hidden).Sum(j => w2[(k * Hidden) + j] * h[j])).ToArray();
    }

    /// <summary>∂z_label/∂e_t, the same for every token t.</summary>
    public double[] LogitGradient(double[][] e, int label) =>
        LogitGradient(e, Enumerable.Range(0, Labels).Select(k => k == label ? 1.0 : 0.0).ToArray());

    /// <summary>∂(Σ_k weights[k]·z_k)/∂e_t, the same for every token t (weights: ∂score/∂z of a scored output).</summary>
    public double[] LogitGradient(double[][] e, IReadOnlyList<double> weights)
    {
        var h = HiddenState(e);
        var n = e.Length;
        return Enumerable.Range(0, Dim).Select(d => Enumerable.Range(0, Hidden).Sum(j =>
            Enumerable.Range(0, Labels).Sum(k => weights[k] * w2[(k * Hidden) + j]) * (1 - (h[j] * h[j])) * w1[(j * Dim) + d]) / n).ToArray();
    }
}
