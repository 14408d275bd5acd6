using Attribution.Methods.Internal;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods;

/// <summary>
/// Gradient × Input: the layer's activation times the gradient of the scored output with respect to it, summed over
/// the hidden dimension (Captum's LayerGradientXActivation at the word embeddings by default).
/// </summary>
public sealed class GradientXInput : LayerMethod, INoiseTunnelable
{
    /// <summary>Per-token reduction (default: signed sum).</summary>
    public HiddenReduction Reduce { get; init; } = HiddenReduction.Sum;

    /// <inheritdoc />
    public override string Name => "gradient-x-input";

    private protected override bool Signed => Reduce.IsSigned();

    private protected override HiddenReduction Reduction => Reduce;

    private protected override IEnumerable<KeyValuePair<string, string>> DescribeSettings() => LayerSettings();

    private protected override MethodOutput Attribute(AttributionContext context)
    {
        var pass = GradientPass.Shared(context, Layer, Side, TensorIndex);
        return new MethodOutput(pass.Gradient * pass.Activation, PerDimension: true);
    }

    Tensor INoiseTunnelable.AttributeWithNoise(AttributionContext context, Func<Tensor, Tensor> perturb)
    {
        var pass = GradientPass.Compute(context, context.Layer(Layer), Side, TensorIndex, perturb);
        return pass.Gradient * pass.Activation;
    }
}
