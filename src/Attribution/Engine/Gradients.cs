using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Engine;

/// <summary>
/// <c>torch.autograd.grad</c> with PyTorch's contract for inputs the outputs do not depend on: null. TorchSharp's
/// <c>autograd.grad(..., allow_unused: true)</c> returns an empty (invalid) tensor there instead, which fails on first
/// use ("Tensor invalid -- empty handle") and slips past a <c>?? zeros_like(x)</c> fallback.
/// </summary>
internal static class Gradients
{
    /// <summary>The gradients of <paramref name="outputs"/> (weighted by <paramref name="gradOutputs"/>) with respect to each input; null where an input is unused.</summary>
    public static Tensor?[] Of(IList<Tensor> outputs, IList<Tensor> inputs, IList<Tensor>? gradOutputs = null, bool retainGraph = false)
    {
        var raw = autograd.grad(outputs, inputs, gradOutputs, retain_graph: retainGraph, allow_unused: true);
        var result = new Tensor?[raw.Count];
        for (var i = 0; i < raw.Count; i++)
        {
            if (raw[i].IsInvalid)
            {
                raw[i].Dispose();
            }
            else
            {
                result[i] = raw[i];
            }
        }

        return result;
    }

    /// <summary>The gradient of <paramref name="output"/> with respect to <paramref name="input"/>; zeros where it does not depend on it.</summary>
    public static Tensor OfOrZeros(Tensor output, Tensor input, bool retainGraph = false) =>
        Of([output], [input], retainGraph: retainGraph)[0] ?? zeros_like(input);
}
