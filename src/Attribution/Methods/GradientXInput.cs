using Attribution.Methods.Internal;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods;

/// <summary>
/// Gradient × Input: the layer's activation times the gradient of the scored output with respect to it, summed over
/// the hidden dimension (Captum's LayerGradientXActivation at the word embeddings by default).
/// </summary>
public sealed class GradientXInput : LayerMethod, INoiseTunnelable, IUnperturbedAttribution
{
    /// <summary>Per-token reduction (default: signed sum).</summary>
    public HiddenReduction Reduce { get; init; } = HiddenReduction.Sum;

    /// <inheritdoc />
    public override string Name => "gradient-x-input";

    /// <inheritdoc />
    public override MethodKind Kind => MethodKind.GradientXInput;

    /// <inheritdoc />
    public override Signedness Signedness => Reduce.IsSigned() ? Signedness.Signed : Signedness.Unsigned;

    /// <inheritdoc />
    public override HiddenReduction Reduction => Reduce;

    /// <inheritdoc />
    protected override void Validate(Models.ITextClassifier model)
    {
        base.Validate(model);
        EnumSettings.Check(Reduce, nameof(Reduce));
    }

    /// <inheritdoc />
    protected override IEnumerable<KeyValuePair<string, string>> DescribeSettings() => LayerSettings();

    /// <inheritdoc />
    internal override FirstPass? SharedFirstPass(Models.ITextClassifier model) => new FirstPass.PlainGradient(SiteIn(model));

    /// <inheritdoc />
    protected override MethodOutput Attribute(AttributionContext context)
    {
        var pass = context.GradientAt(SiteIn(context));
        return new MethodOutput(pass.Gradient * pass.Activation, PerDimension: true);
    }

    Tensor INoiseTunnelable.AttributeWithNoise(AttributionContext context, Func<Tensor, Tensor> perturb)
    {
        var pass = context.GradientAt(SiteIn(context), perturb);
        return pass.Gradient * pass.Activation;
    }

    // Without a replacement the gradient is the batch's shared pass (its first pass's graph where it ran one): the same
    // tap, forward, score and backward as a pass with the identity as replacement.
    Tensor IUnperturbedAttribution.AttributeUnperturbed(AttributionContext context)
    {
        var pass = context.GradientAt(SiteIn(context));
        return pass.Gradient * pass.Activation;
    }
}
