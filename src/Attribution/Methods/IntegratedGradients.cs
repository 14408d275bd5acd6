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
/// dimension. The convergence delta is Σ attributions − (F(input) − F(baseline)). With
/// <see cref="MultiplyByInputs"/> false the method returns the integrated gradients alone (Captum's
/// <c>multiply_by_inputs=False</c>, the "local" variant), for which completeness does not hold and no delta is reported.
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

    /// <summary>
    /// Whether the integrated gradients are multiplied by (a − a′) (default true: the "global" attribution, Captum's
    /// default). False returns the path-averaged gradients alone ("local"; Captum's <c>multiply_by_inputs=False</c>);
    /// the settings then record <c>multiply-by-inputs: false</c> and the explanations carry no convergence delta.
    /// </summary>
    public bool MultiplyByInputs { get => multiplyByInputs; init => multiplyByInputs = value; }

    private bool multiplyByInputs = true;

    /// <inheritdoc />
    public override string Name => "integrated-gradients";

    /// <inheritdoc />
    public override MethodKind Kind => MethodKind.IntegratedGradients;

    /// <summary>A copy of this method with <see cref="MultiplyByInputs"/> set to <paramref name="value"/> and every other setting kept.</summary>
    public IntegratedGradients WithMultiplyByInputs(bool value)
    {
        var copy = (IntegratedGradients)MemberwiseClone();
        copy.multiplyByInputs = value;
        return copy;
    }

    /// <inheritdoc />
    public override Signedness Signedness => Reduce.IsSigned() ? Signedness.Signed : Signedness.Unsigned;

    /// <inheritdoc />
    public override HiddenReduction Reduction => Reduce;

    /// <inheritdoc />
    protected override void Validate(ITextClassifier model)
    {
        base.Validate(model);
        IntegrationRules.ValidateSteps(Rule, Steps, nameof(Steps));
    }

    /// <inheritdoc />
    protected override IEnumerable<KeyValuePair<string, string>> DescribeSettings() =>
        MultiplyByInputs ? LayerSettings().Concat(PathSettings()) : LayerSettings().Concat(PathSettings()).Append(new("multiply-by-inputs", "false"));

    /// <inheritdoc />
    protected override MethodOutput Attribute(AttributionContext context)
    {
        var (attributions, deltas) = Integrate(context, null);
        return new MethodOutput(attributions, PerDimension: true, MultiplyByInputs ? deltas : null);
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
            attributions = MultiplyByInputs ? total * difference : total.alias();
        }

        if (!MultiplyByInputs)
        {
            return (attributions, []);
        }

        var deltas = path.Deltas(attributions);
        return (attributions, deltas);
    }

    /// <summary>Gradients of the scored output at a′ + α (a − a′) for each α, stacked alpha-major: [α·batch, …].</summary>
    private Tensor PathGradients(AttributionContext context, nn.Module layer, Tensor baseline, Tensor difference, ReadOnlySpan<double> alphas)
    {
        var scaled = PathInputs.Interpolate(baseline, difference, alphas);
        return PathPass.Run(context, new LayerSite(layer, Side, TensorIndex), alphas.Length, _ => scaled).Gradient;
    }
}
