using System.Globalization;
using Attribution.Methods.Internal;
using Attribution.Models;
using Attribution.Torch;
using static Attribution.Torch.torch;

namespace Attribution.Methods;

/// <summary>
/// Layer Integrated Gradients, exactly as Captum's <c>LayerIntegratedGradients</c>: the layer's activation a is moved
/// along the straight path from the baseline's activation a′, the gradients of the scored output along the path are
/// integrated with the chosen rule, and multiplied by (a − a′). Per token the attributions are summed over the hidden
/// dimension. The convergence delta is Σ attributions − (F(input) − F(baseline)).
/// </summary>
public sealed class IntegratedGradients : LayerMethod, INoiseTunnelable
{
    /// <summary>Number of integration points (default 50).</summary>
    public int Steps { get; init; } = 50;

    /// <summary>Integration rule (default Gauss–Legendre).</summary>
    public IntegrationRule Rule { get; init; } = IntegrationRule.GaussLegendre;

    /// <summary>The baseline (default <c>[CLS] [PAD] … [SEP]</c>).</summary>
    public Baseline Baseline { get; init; } = Baseline.Pad;

    /// <summary>
    /// Rows (texts × integration points) per forward pass; bounds memory without changing the result. Default 64.
    /// </summary>
    public int InternalBatchSize { get; init; } = 64;

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
        if (InternalBatchSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(InternalBatchSize), InternalBatchSize, "internal batch size must be at least 1");
        }
    }

    private protected override IEnumerable<KeyValuePair<string, string>> DescribeSettings() =>
        LayerSettings().Concat(
        [
            new("steps", Steps.ToString(CultureInfo.InvariantCulture)),
            new("integration", Rule.CaptumName()),
            new("baseline", Baseline.Name),
            new("internal-batch-size", InternalBatchSize.ToString(CultureInfo.InvariantCulture)),
        ]);

    private protected override MethodOutput Attribute(AttributionContext context)
    {
        var (attributions, deltas) = Integrate(context, null);
        return new MethodOutput(attributions, PerDimension: true, deltas);
    }

    Tensor INoiseTunnelable.AttributeWithNoise(AttributionContext context, Func<Tensor, Tensor> perturb) => Integrate(context, perturb).Attributions;

    bool INoiseTunnelable.Signed => Signed;

    HiddenReduction INoiseTunnelable.Reduction => Reduction;

    string INoiseTunnelable.LayerPath(ITextClassifier model) => LayerName(model);

    LayerSide INoiseTunnelable.Side => Side;

    int INoiseTunnelable.TensorIndex => TensorIndex;

    private (Tensor Attributions, double[] Deltas) Integrate(AttributionContext context, Func<Tensor, Tensor>? perturbInput)
    {
        var layer = context.Layer(Layer);
        var path = PathInputs.Compute(context, layer, Side, TensorIndex, Baseline, perturbInput);
        var difference = path.Input - path.Baseline;
        var alphas = IntegrationRules.Alphas(Rule, Steps);
        var stepSizes = IntegrationRules.StepSizes(Rule, Steps);
        var batch = context.Size;
        var stepsPerPass = Math.Max(1, InternalBatchSize / batch);

        // Σ_k w_k ∂F/∂a at a′ + α_k (a − a′), accumulated step by step in order, so the sum does not depend on
        // how the steps were split into passes.
        var total = zeros_like(path.Input);
        for (var first = 0; first < Steps; first += stepsPerPass)
        {
            var count = Math.Min(stepsPerPass, Steps - first);
            using var scope = NewDisposeScope();
            var gradients = PathGradients(context, layer, path.Baseline, difference, alphas.AsSpan(first, count));
            for (var k = 0; k < count; k++)
            {
                // Captum multiplies by the step sizes as a float32 tensor.
                using var _ = no_grad();
                var weighted = gradients.narrow(0, k * batch, batch) * (double)(float)stepSizes[first + k];
                total.add_(weighted);
            }
        }

        Tensor attributions;
        using (no_grad())
        {
            attributions = total * difference;
        }

        var sums = attributions.to(ScalarType.Float64).flatten(1).sum(1).data<double>();
        var deltas = sums.Select((s, b) => s - (path.InputScores[b] - path.BaselineScores[b])).ToArray();
        return (attributions, deltas);
    }

    /// <summary>Gradients of the scored output at a′ + α (a − a′) for each α, stacked alpha-major: [α·batch, …].</summary>
    private Tensor PathGradients(AttributionContext context, nn.Module layer, Tensor baseline, Tensor difference, ReadOnlySpan<double> alphas)
    {
        using var grad = enable_grad();
        Tensor scaled;
        using (no_grad())
        {
            var points = new List<Tensor>(alphas.Length);
            foreach (var alpha in alphas)
            {
                points.Add(baseline + (difference * alpha));
            }

            scaled = (points.Count == 1 ? points[0] : cat(points)).requires_grad_();
        }

        using var tap = new LayerTap(layer, Side, TensorIndex, _ => scaled);
        var logits = context.Model.Module.call(context.Repeat(alphas.Length));
        PathInputs.EnsureRanOnce(tap, context);
        var score = context.Score(logits, alphas.Length).sum();
        return autograd.grad([score], [scaled], allow_unused: true)[0] ?? zeros_like(scaled);
    }
}
