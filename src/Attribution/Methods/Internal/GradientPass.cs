using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods.Internal;

/// <summary>
/// One forward/backward pass that yields a layer's activation and the gradient of the scored output with respect
/// to it. The activation is swapped for a detached leaf (same values) so the gradient is taken exactly there,
/// whether or not the model's parameters require gradients.
/// </summary>
internal sealed record GradientPass(Tensor Activation, Tensor Gradient)
{
    /// <param name="context">The batch.</param>
    /// <param name="layer">The layer.</param>
    /// <param name="side">Output or input of the layer.</param>
    /// <param name="index">Which tensor of a tuple.</param>
    /// <param name="perturb">Optional change to the activation before the rest of the forward pass (SmoothGrad noise).</param>
    public static GradientPass Compute(AttributionContext context, nn.Module layer, LayerSide side, int index, Func<Tensor, Tensor>? perturb = null)
    {
        using var grad = enable_grad();
        Tensor? leaf = null;
        using var tap = new LayerTap(layer, side, index, value =>
        {
            var used = perturb is null ? value.detach() : perturb(value.detach());
            leaf = used.detach().requires_grad_();
            return leaf;
        });
        var logits = context.Model.Module.call(context.Batch.Input);
        PathInputs.EnsureRanOnce(tap, context);
        var score = context.Score(logits).sum();
        var gradient = Gradients.OfOrZeros(score, leaf!);
        return new GradientPass(leaf!.detach(), gradient);
    }

    /// <summary>The pass for a method without noise, shared by every method on the batch that asks for the same layer.</summary>
    public static GradientPass Shared(AttributionContext context, string? layerPath, LayerSide side, int index) =>
        context.Shared(("gradient-pass", layerPath ?? context.Model.WordEmbeddingPath, side, index),
            () => Compute(context, context.Layer(layerPath), side, index));
}
