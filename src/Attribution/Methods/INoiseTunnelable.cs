using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods;

/// <summary>
/// A <see cref="TextAttributor"/> whose input activation <see cref="NoiseTunnel"/> can perturb (SmoothGrad, VarGrad):
/// it attributes with a change applied to the activation it attributes to. Built-in: <see cref="Gradient"/>,
/// <see cref="GradientXInput"/>, <see cref="IntegratedGradients"/>; a user-written method implements it to be wrapped too.
/// </summary>
public interface INoiseTunnelable
{
    /// <summary>
    /// Per-dimension attributions [batch, length, …] with <paramref name="perturb"/> applied to the input's activation
    /// (for example through <see cref="AttributionContext.GradientAt"/>'s <c>replace</c>).
    /// </summary>
    /// <param name="context">The batch.</param>
    /// <param name="perturb">Adds one draw of noise to an activation (returns a new tensor).</param>
    Tensor AttributeWithNoise(AttributionContext context, Func<Tensor, Tensor> perturb);
}
