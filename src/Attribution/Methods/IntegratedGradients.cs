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
public sealed class IntegratedGradients : PathMethod, INoiseTunnelable, IUnperturbedAttribution
{
    /// <summary>
    /// Creates the method: Gauss–Legendre, integrated adaptively (see <see cref="AdaptiveIntegration"/>) unless
    /// <see cref="PathMethod.Steps"/> is given; <c>Steps = 50</c> is Captum's default and reproduces it exactly.
    /// </summary>
    public IntegratedGradients()
    {
    }

    /// <inheritdoc />
    /// <remarks>Gauss–Legendre, Captum's <c>LayerIntegratedGradients</c> default, with or without <see cref="PathMethod.Steps"/>.</remarks>
    private protected override IntegrationRule DefaultRule => IntegrationRule.GaussLegendre;

    /// <summary>
    /// Per-token reduction (default: signed sum). With <see cref="MultiplyByInputs"/> false at a layer that feeds a
    /// LayerNorm (a transformer's word embeddings), the signed sum is rounding noise: a LayerNorm's input gradients sum
    /// to zero over the hidden dimension. Use <see cref="HiddenReduction.L2"/> there.
    /// </summary>
    public HiddenReduction Reduce { get => reduce; init => reduce = value; }

    private HiddenReduction reduce = HiddenReduction.Sum;

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

    /// <summary>A copy of this method with <see cref="Reduce"/> set to <paramref name="value"/> and every other setting kept.</summary>
    internal IntegratedGradients WithReduce(HiddenReduction value)
    {
        var copy = (IntegratedGradients)MemberwiseClone();
        copy.reduce = value;
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
        EnumSettings.Check(Reduce, nameof(Reduce));
        if (Steps is { } steps)
        {
            IntegrationRules.ValidateSteps(EffectiveRule, steps, nameof(Steps));
        }
        else
        {
            IntegrationRules.ValidateSteps(EffectiveRule, Adaptive.InitialSteps, nameof(AdaptiveIntegration.InitialSteps));
        }
    }

    /// <inheritdoc />
    protected override IEnumerable<KeyValuePair<string, string>> DescribeSettings() =>
        LayerSettings().Concat(PathSettings(EffectiveRule.CaptumName())).Concat(MultiplyByInputs ? [] : [new("multiply-by-inputs", "false")]);

    /// <inheritdoc />
    internal override FirstPass? SharedFirstPass(ITextClassifier model) => new FirstPass.PathStart(SiteIn(model));

    /// <inheritdoc />
    internal override bool SharesPathsAcrossClasses => true;

    /// <inheritdoc />
    protected override MethodOutput Attribute(AttributionContext context)
    {
        var layer = context.Layer(Layer);
        var path = PathInputs.Compute(context, layer, Side, TensorIndex, Baseline);
        if (Steps is null)
        {
            var (attributions, deltas, rowSettings, notes) = IntegrateAdaptively(context, layer, path, explainDeltas: MultiplyByInputs);
            return new MethodOutput(attributions, PerDimension: true, MultiplyByInputs ? deltas : null) { RowSettings = rowSettings, Notes = notes };
        }

        var fixedSteps = Integrate(context, layer, path.Input, path.Baseline, Steps.Value);
        return new MethodOutput(fixedSteps, PerDimension: true, MultiplyByInputs ? path.Deltas(fixedSteps) : null);
    }

    Tensor INoiseTunnelable.AttributeWithNoise(AttributionContext context, Func<Tensor, Tensor> perturb) => AttributeAt(context, perturb);

    // Unperturbed, the path's input end is the batch's kept one (its first pass's where that pass was the capture):
    // the same activation and F(input) as a capture with the identity as replacement.
    Tensor IUnperturbedAttribution.AttributeUnperturbed(AttributionContext context) => AttributeAt(context, null);

    /// <summary>The attributions with <paramref name="perturb"/> applied to the input's activation (null: none), no deltas.</summary>
    private Tensor AttributeAt(AttributionContext context, Func<Tensor, Tensor>? perturb)
    {
        var layer = context.Layer(Layer);
        var path = PathInputs.Compute(context, layer, Side, TensorIndex, Baseline, perturb);
        return Steps is { } steps ? Integrate(context, layer, path.Input, path.Baseline, steps) : IntegrateAdaptively(context, layer, path, explainDeltas: false).Attributions;
    }

    /// <summary>
    /// Adaptive integration of a perturbed input (no step count set) with what it records per text: the steps used,
    /// the gradient evaluations and a note where the step cap was reached. <see cref="NoiseTunnel"/> reports them.
    /// </summary>
    internal MethodOutput AttributeAdaptivelyWithNoise(AttributionContext context, Func<Tensor, Tensor> perturb)
    {
        var layer = context.Layer(Layer);
        var path = PathInputs.Compute(context, layer, Side, TensorIndex, Baseline, perturb);
        var (attributions, _, rowSettings, notes) = IntegrateAdaptively(context, layer, path, explainDeltas: false);
        return new MethodOutput(attributions, PerDimension: true) { RowSettings = rowSettings, Notes = notes };
    }

    /// <summary>Σ_k w_k ∂F/∂a at a′ + α_k (a − a′) over the rule's <paramref name="steps"/> points, times (a − a′) unless local.</summary>
    private Tensor Integrate(AttributionContext context, nn.Module layer, Tensor input, Tensor baseline, int steps)
    {
        var difference = input - baseline;
        var total = WeightedGradientSum(context, input, steps, alphas => PathGradients(context, layer, baseline, difference, alphas));
        using (no_grad())
        {
            return MultiplyByInputs ? total * difference : total.alias();
        }
    }

    /// <summary>
    /// The rule at <see cref="AdaptiveIntegration.InitialSteps"/>, twice as many, … on the texts not yet accepted. Gauss–Legendre
    /// rules are not nested, so each level recomputes its points; what is reused is the path's two ends (one forward
    /// pass each, for every level) and the previous level's scores, against which the next is checked.
    /// </summary>
    private (Tensor Attributions, double[] Deltas, IReadOnlyList<IReadOnlyList<KeyValuePair<string, string>>> RowSettings, IReadOnlyList<IReadOnlyList<string>> Notes) IntegrateAdaptively(
        AttributionContext context, nn.Module layer, PathInputs path, bool explainDeltas)
    {
        using var refinement = new AdaptiveRefinement(context, Adaptive, path, checkCompleteness: MultiplyByInputs, new LayerSite(layer, Side, TensorIndex));
        var levels = Adaptive.Levels();
        for (var level = 0; !refinement.Done; level++)
        {
            using var scope = NewDisposeScope();
            var rows = refinement.Context();
            var attributions = Integrate(rows, layer, refinement.Rows(path.Input), refinement.Rows(path.Baseline), levels[level]);
            refinement.Offer(attributions, levels[level], levels[level], lastLevel: level == levels.Count - 1);
        }

        return refinement.Finish(explainDeltas);
    }

    /// <summary>Gradients of the scored output at a′ + α (a − a′) for each α, stacked alpha-major: [α·batch, …].</summary>
    private Tensor PathGradients(AttributionContext context, nn.Module layer, Tensor baseline, Tensor difference, ReadOnlySpan<double> alphas)
    {
        var scaled = PathInputs.Interpolate(baseline, difference, alphas);
        return PathPass.Run(context, new LayerSite(layer, Side, TensorIndex), alphas.Length, _ => scaled).Gradient;
    }
}
