using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Engine;

/// <summary>
/// <c>torch.autograd.grad</c> with PyTorch's contract for inputs the outputs do not depend on: null. TorchSharp's
/// <c>autograd.grad(..., allow_unused: true)</c> returns an empty (invalid) tensor there instead, which fails on first
/// use ("Tensor invalid -- empty handle") and slips past a <c>?? zeros_like(x)</c> fallback. TorchSharp 0.107 also counts
/// that empty tensor in its live-tensor statistics when it wraps it and never uncounts it (Dispose skips a zero handle):
/// each unused input raises the count by one, though no native memory is held.
/// </summary>
internal static class Gradients
{
    /// <summary>The gradients of <paramref name="outputs"/> (weighted by <paramref name="gradOutputs"/>) with respect to each input; null where an input is unused.</summary>
    /// <exception cref="InvalidOperationException">An output has no autograd graph, or an input needs no gradient: the
    /// output has no graph to the attributed tensor (a model that detaches it, or a conductance input layer that runs
    /// after the layer with nothing needing a gradient after it).</exception>
    public static Tensor?[] Of(IList<Tensor> outputs, IList<Tensor> inputs, IList<Tensor>? gradOutputs = null, bool retainGraph = false)
    {
        // libtorch refuses both ("element 0 of tensors does not require grad and does not have a grad_fn", "One of the
        // differentiated Tensors does not require grad") with a C++ error that TorchSharp 0.107's THSAutograd_grad does
        // not catch: std::terminate ended the whole process. Refused here as a managed exception instead.
        if (outputs.Any(o => !o.requires_grad) || inputs.Any(i => !i.requires_grad))
        {
            throw new InvalidOperationException(Disconnected);
        }

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

    /// <summary>Why a gradient cannot be taken when no autograd graph joins the model's output and the attributed tensor.</summary>
    internal const string Disconnected =
        "the model's output has no gradient with respect to the tensor being attributed: no autograd graph joins them. Either the model's " +
        "forward pass cuts it (it runs without gradients, under no_grad or inference mode, or detaches its input), or a conductance's " +
        "InputLayer runs after its Layer with nothing that needs a gradient after it. Gradient methods need gradients from the " +
        "attributed layer to the output: give conductance an InputLayer that runs before Layer, or explain such a model with a perturbation " +
        "method (occlusion, lime, kernel-shap)";

    /// <summary>The gradient of <paramref name="output"/> with respect to <paramref name="input"/>; zeros where it does not depend on it.</summary>
    public static Tensor OfOrZeros(Tensor output, Tensor input, bool retainGraph = false) =>
        Of([output], [input], retainGraph: retainGraph)[0] ?? zeros_like(input);
}
