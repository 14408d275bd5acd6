using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods.Internal;

/// <summary>A method whose input activation <see cref="NoiseTunnel"/> can perturb: it attributes with a perturbation applied.</summary>
internal interface INoiseTunnelable
{
    /// <summary>Per-dimension attributions [batch, length, …] with <paramref name="perturb"/> applied to the input's activation.</summary>
    Tensor AttributeWithNoise(AttributionContext context, Func<Tensor, Tensor> perturb);
}
