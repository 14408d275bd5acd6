using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods.Internal;

/// <summary>
/// A built-in <see cref="INoiseTunnelable"/> method's attributions at the clean input, bit for bit what
/// <see cref="INoiseTunnelable.AttributeWithNoise"/> gives with the identity as the perturbation, but taken from the
/// batch's first pass where the context ran the method's <see cref="TextAttributor.SharedFirstPass"/> (Gradient and
/// Gradient × Input: that pass's graph; Integrated Gradients: the path's input end it kept). Max-sensitivity's reference
/// explanation uses it, so the text's prediction and its reference are one forward pass instead of two.
/// </summary>
internal interface IUnperturbedAttribution
{
    /// <summary>Per-dimension attributions [batch, length, …] at the unperturbed input of <paramref name="context"/>.</summary>
    Tensor AttributeUnperturbed(AttributionContext context);
}
