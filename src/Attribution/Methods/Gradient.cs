using Attribution.Methods.Internal;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods;

/// <summary>
/// Vanilla gradient (saliency): the gradient of the scored output with respect to a layer's activation (the word
/// embeddings by default), reduced per token by its L2 norm (LIT's "Grad L2 Norm"), L1 norm, or signed sum.
/// </summary>
public sealed class Gradient : LayerMethod, INoiseTunnelable, IUnperturbedAttribution
{
    /// <summary>Per-token reduction of the gradient (default L2).</summary>
    public HiddenReduction Reduce { get; init; } = HiddenReduction.L2;

    /// <inheritdoc />
    public override string Name => "gradient";

    /// <inheritdoc />
    public override MethodKind Kind => MethodKind.Gradient;

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
    protected override MethodOutput Attribute(AttributionContext context) =>
        new(context.GradientAt(SiteIn(context)).Gradient, PerDimension: true);

    Tensor INoiseTunnelable.AttributeWithNoise(AttributionContext context, Func<Tensor, Tensor> perturb) =>
        context.GradientAt(SiteIn(context), perturb).Gradient;

    // Without a replacement the gradient is the batch's shared pass (its first pass's graph where it ran one): the same
    // tap, forward, score and backward as a pass with the identity as replacement.
    Tensor IUnperturbedAttribution.AttributeUnperturbed(AttributionContext context) => context.GradientAt(SiteIn(context)).Gradient;
}
