using Attribution.Methods.Internal;
using Attribution.Models;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods;

/// <summary>
/// Layer Integrated Gradients, exactly as Captum's <c>LayerIntegratedGradients</c>: the layer's activation a is moved
/// along the straight path from the baseline's activation a′, the gradients of the scored output along the path are
/// integrated with the chosen rule, and multiplied by (a − a′). Per token the attributions are summed over the hidden
/// dimension. The convergence delta is Σ attributions − (F(input) − F(baseline)).
/// </summary>
public sealed class IntegratedGradients : PathMethod, INoiseTunnelable
{
    /// <summary>Creates the method with Captum's defaults (Gauss–Legendre, 50 steps).</summary>
    public IntegratedGradients()
        : base(IntegrationRule.GaussLegendre)
    {
    }

    /// <summary>Per-token reduction (default: signed sum).</summary>
    public HiddenReduction Reduce { get; init; } = HiddenReduction.Sum;

    /// <inheritdoc />
    public override string Name => "integrated-gradients";

    private protected override bool Signed => Reduce.IsSigned();

    private protected override HiddenReduction Reduction => Reduce;

    private protected override void Validate(ITextClassifier model)
    {
        base.Validate(model);
        IntegrationRules.ValidateSteps(Rule, Steps, nameof(Steps));
    }

    private protected override IEnumerable<KeyValuePair<string, string>> DescribeSettings() =>
        LayerSettings().Concat(PathSettings());

    private protected override MethodOutput Attribute(AttributionContext context)
    {
        var (attributions, deltas) = Integrate(context, null);
        return new MethodOutput(attributions, PerDimension: true, deltas);
    }

    Tensor INoiseTunnelable.AttributeWithNoise(AttributionContext context, Func<Tensor, Tensor> perturb) => Integrate(context, perturb).Attributions;

    private (Tensor Attributions, double[] Deltas) Integrate(AttributionContext context, Func<Tensor, Tensor>? perturbInput)
    {
        var layer = context.Layer(Layer);
        var path = PathInputs.Compute(context, layer, Side, TensorIndex, Baseline, perturbInput);
        var difference = path.Input - path.Baseline;

        // Σ_k w_k ∂F/∂a at a′ + α_k (a − a′).
        var total = WeightedGradientSum(context, path.Input, alphas => PathGradients(context, layer, path.Baseline, difference, alphas));

        Tensor attributions;
        using (no_grad())
        {
            attributions = total * difference;
        }

        var deltas = path.Deltas(attributions);
        return (attributions, deltas);
    }

    /// <summary>Gradients of the scored output at a′ + α (a − a′) for each α, stacked alpha-major: [α·batch, …].</summary>
    private Tensor PathGradients(AttributionContext context, nn.Module layer, Tensor baseline, Tensor difference, ReadOnlySpan<double> alphas)
    {
        using var grad = enable_grad();
        var scaled = PathInputs.Interpolate(baseline, difference, alphas).requires_grad_();

        using var tap = new LayerTap(layer, Side, TensorIndex, _ => scaled);
        var logits = context.Model.Module.call(context.Repeat(alphas.Length));
        PathInputs.EnsureRanOnce(tap, context);
        var score = context.Score(logits, alphas.Length).sum();
        return Gradients.OfOrZeros(score, scaled);
    }
}
