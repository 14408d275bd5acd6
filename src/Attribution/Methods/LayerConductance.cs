using Attribution.Methods.Internal;
using Attribution.Models;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods;

/// <summary>
/// Layer conductance, as Captum's <c>LayerConductance</c>: the input (word embeddings, by default) moves along the
/// straight path from the baseline; at n + 1 points of the chosen rule the attributed layer's activation y and the
/// gradient g of the scored output with respect to it are taken, and conductance = Σ_k (y_{k+1} − y_k) · g_k, per
/// token and unit of the layer's output. Per token the units are summed. Works on any module whose output (or the
/// <see cref="LayerMethod.TensorIndex"/>-th tensor of a tuple output) is laid out [batch, tokens, …]: a BERT layer, an
/// LSTM, a Linear applied per token. Without <see cref="PathMethod.Steps"/> the grid is refined per text until the
/// result settles (<see cref="AdaptiveIntegration"/>) on the nested trapezoid grid (the only rule adaptive conductance
/// takes). With <c>Steps = 50</c> and no <see cref="PathMethod.Rule"/> it reproduces Captum's default,
/// <c>LayerConductance.attribute(n_steps=50)</c>, whose <c>method</c> is <c>"gausslegendre"</c> (51 points);
/// <c>Steps = 50, Rule = IntegrationRule.RiemannTrapezoid</c> reproduces <c>method="riemann_trapezoid"</c>.
/// </summary>
public sealed class LayerConductance : ConductanceMethod
{
    /// <inheritdoc />
    /// <remarks>
    /// Gauss–Legendre where <see cref="PathMethod.Steps"/> is given (Captum's <c>LayerConductance</c> default); the
    /// trapezoid rule, whose grids nest, for adaptive integration.
    /// </remarks>
    private protected override IntegrationRule DefaultRule => Steps is null ? IntegrationRule.RiemannTrapezoid : IntegrationRule.GaussLegendre;

    /// <inheritdoc />
    public override string Name => "conductance";

    /// <inheritdoc />
    public override MethodKind Kind => MethodKind.LayerConductance;

    /// <inheritdoc />
    public override Signedness Signedness => Signedness.Signed;

    /// <inheritdoc />
    public override HiddenReduction Reduction => HiddenReduction.Sum;

    /// <inheritdoc />
    protected override void Validate(ITextClassifier model)
    {
        base.Validate(model);
        if (Steps is not { } steps)
        {
            if (Rule is { } rule && rule != IntegrationRule.RiemannTrapezoid)
            {
                throw new ArgumentException(
                    $"adaptive conductance refines the trapezoid grid, not the {rule.CaptumName()} rule: give a step count (Steps / --steps) to use {rule.CaptumName()}, or leave Rule unset (null) or set it to RiemannTrapezoid",
                    nameof(Rule));
            }

            return;
        }

        if (steps < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(Steps), steps, "conductance needs at least 1 step");
        }

        // n steps are the intervals between n + 1 path points, and the points are what the limit counts: checked here
        // so the message names the user's value, not n + 1.
        if (steps >= IntegrationRules.MaxSteps)
        {
            throw new ArgumentOutOfRangeException(nameof(Steps), steps,
                $"at most {IntegrationRules.MaxSteps - 1} conductance steps, got {steps}: n steps take n + 1 path points (at most {IntegrationRules.MaxSteps}), each a forward and backward pass; more do not make the result more exact");
        }

        IntegrationRules.ValidateSteps(EffectiveRule, steps + 1, nameof(Steps));
    }

    /// <inheritdoc />
    protected override IEnumerable<KeyValuePair<string, string>> DescribeSettings() =>
        ConductanceSettings(AdaptiveRule);

    /// <summary>The rule adaptive conductance uses, as its settings name it.</summary>
    private const string AdaptiveRule = "trapezoid-nested";

    /// <inheritdoc />
    internal override bool SharesPathsAcrossClasses => true;

    /// <inheritdoc />
    protected override MethodOutput Attribute(AttributionContext context)
    {
        var inputLayer = context.Layer(InputLayer);
        var layer = context.Layer(Layer);
        var path = PathInputs.Compute(context, inputLayer, LayerSide.Output, 0, Baseline);
        if (Steps is null)
        {
            return ConductAdaptivelyInGroups(context, inputLayer, layer, path);
        }

        var steps = Steps.Value;
        var difference = path.Input - path.Baseline;
        var alphas = IntegrationRules.Alphas(EffectiveRule, steps + 1);
        var batch = context.Size;
        var pointsPerPass = PointsPerPass(context);

        // Stream over the n + 1 points in order, keeping only the previous activation and gradient.
        Tensor? total = null;
        Tensor? previousActivation = null;
        Tensor? previousGradient = null;
        for (var first = 0; first <= steps; first += pointsPerPass)
        {
            var count = Math.Min(pointsPerPass, steps + 1 - first);
            context.Options.Cancellation.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var (activations, gradients) = LayerAlongPath(context, inputLayer, layer, path.Baseline, difference, alphas.AsSpan(first, count));
            using var noGrad = no_grad();
            var carried = (previousActivation, previousGradient);
            for (var k = 0; k < count; k++)
            {
                var activation = activations.narrow(0, k * batch, batch);
                var gradient = gradients.narrow(0, k * batch, batch);
                if (previousActivation is not null)
                {
                    var term = (activation - previousActivation) * previousGradient!;
                    if (total is null)
                    {
                        total = term.clone();
                        total.MoveToOuterDisposeScope();
                    }
                    else
                    {
                        total.PlusInPlace(term);
                    }
                }

                previousActivation = activation;
                previousGradient = gradient;
            }

            // The last point of this pass is needed by the next one: keep it beyond this scope.
            previousActivation = previousActivation!.clone().MoveToOuterDisposeScope();
            previousGradient = previousGradient!.clone().MoveToOuterDisposeScope();

            // The previous pass's carried point is used up: free it now, so memory does not grow with the steps.
            carried.previousActivation?.Dispose();
            carried.previousGradient?.Dispose();
        }

        var attributions = total!;
        var deltas = path.Deltas(attributions);
        return new MethodOutput(attributions, PerDimension: true, deltas);
    }

    /// <summary>
    /// Memory adaptive conductance may hold for its grid points (1 GiB): the batch is split into groups of texts whose
    /// points at the step cap fit, estimated from the input layer's activation (activation and gradient per point).
    /// A layer wider than the input layer (a transformer's intermediate layer, 4×) holds proportionally more.
    /// </summary>
    public const long AdaptiveMemoryBytes = 1L << 30;

    /// <summary>The budget in use (<see cref="AdaptiveMemoryBytes"/>; tests lower it to exercise the groups).</summary>
    internal long MemoryBudget { get; init; } = AdaptiveMemoryBytes;

    private MethodOutput ConductAdaptivelyInGroups(AttributionContext context, nn.Module inputLayer, nn.Module layer, PathInputs path)
    {
        var bytesPerText = (path.Input.numel() / context.Size) * sizeof(float) * 2L * (Adaptive.MaxSteps + 1);
        var groupSize = (int)Math.Clamp(MemoryBudget / Math.Max(1, bytesPerText), 1, context.Size);
        if (groupSize >= context.Size)
        {
            var (whole, wholeDeltas, wholeSettings, wholeNotes) = ConductAdaptively(context, inputLayer, layer, path);
            return new MethodOutput(whole, PerDimension: true, wholeDeltas) { RowSettings = wholeSettings, Notes = wholeNotes };
        }

        Tensor? attributions = null;
        var deltas = new List<double>();
        var rowSettings = new List<IReadOnlyList<KeyValuePair<string, string>>>();
        var notes = new List<IReadOnlyList<string>>();
        for (var first = 0; first < context.Size; first += groupSize)
        {
            var rows = Enumerable.Range(first, Math.Min(groupSize, context.Size - first)).ToArray();
            using var index = tensor(rows.Select(r => (long)r).ToArray());
            var group = context.Subset(rows);
            var groupPath = new PathInputs(path.Input.index_select(0, index), path.Baseline.index_select(0, index),
                rows.Select(r => path.InputScores[r]).ToArray(), rows.Select(r => path.BaselineScores[r]).ToArray());
            var (part, partDeltas, partSettings, partNotes) = ConductAdaptively(group, inputLayer, layer, groupPath);
            attributions ??= zeros([context.Size, .. part.shape[1..]], part.dtype);
            using (no_grad())
            {
                attributions.index_copy_(0, index, part);
            }

            deltas.AddRange(partDeltas);
            rowSettings.AddRange(partSettings);
            notes.AddRange(partNotes);
        }

        return new MethodOutput(attributions!, PerDimension: true, deltas) { RowSettings = rowSettings, Notes = notes };
    }

    /// <summary>
    /// Conductance on the uniform grid α = j / m for m = <see cref="AdaptiveIntegration.InitialSteps"/>, 2m, …: the
    /// grids are nested, so each level computes only the new midpoints and reuses every earlier point's activation and
    /// gradient. Each interval's gradient is the mean of its two ends (the trapezoid rule in the path parameter,
    /// second-order accurate) where Captum takes the left end (first-order): both converge to the same integral.
    /// </summary>
    private (Tensor Attributions, double[] Deltas, IReadOnlyList<IReadOnlyList<KeyValuePair<string, string>>> RowSettings, IReadOnlyList<IReadOnlyList<string>> Notes) ConductAdaptively(
        AttributionContext context, nn.Module inputLayer, nn.Module layer, PathInputs path)
    {
        using var refinement = new AdaptiveRefinement(context, Adaptive, path, checkCompleteness: true, new LayerSite(inputLayer, LayerSide.Output, 0));
        var levels = Adaptive.Levels();

        // Every point computed so far, in α order, for the active rows: activation and gradient at the layer.
        var activations = new List<Tensor>();
        var gradients = new List<Tensor>();
        try
        {
            for (var level = 0; !refinement.Done; level++)
            {
                using var scope = NewDisposeScope();
                var intervals = levels[level];
                var rows = refinement.Context();
                var baseline = refinement.Rows(path.Baseline);
                var difference = refinement.Rows(path.Input) - baseline;

                // The first level computes all m + 1 points; later ones the m / 2 new midpoints j / m, j odd.
                var newIndices = level == 0 ? Enumerable.Range(0, intervals + 1).ToArray() : Enumerable.Range(0, intervals / 2).Select(j => (2 * j) + 1).ToArray();
                var alphas = newIndices.Select(j => (double)j / intervals).ToArray();
                var (newActivations, newGradients) = PointsAlongPath(rows, inputLayer, layer, baseline, difference, alphas);
                var mergedActivations = level == 0 ? newActivations : Interleave(activations, newActivations);
                var mergedGradients = level == 0 ? newGradients : Interleave(gradients, newGradients);
                foreach (var t in newActivations.Concat(newGradients))
                {
                    t.MoveToOuterDisposeScope();
                }

                activations = mergedActivations;
                gradients = mergedGradients;

                Tensor total;
                using (no_grad())
                {
                    total = zeros_like(activations[0]);
                    for (var j = 0; j < intervals; j++)
                    {
                        using var step = activations[j + 1] - activations[j];
                        using var gradientSum = gradients[j].Plus(gradients[j + 1]);
                        using var meanGradient = gradientSum.Times(0.5);
                        using var term = step * meanGradient;
                        total.PlusInPlace(term);
                    }
                }

                var keep = refinement.Offer(total, intervals, newIndices.Length, lastLevel: level == levels.Count - 1);
                activations = AdaptiveRefinement.Keep(activations, keep);
                gradients = AdaptiveRefinement.Keep(gradients, keep);
            }
        }
        finally
        {
            foreach (var t in activations.Concat(gradients))
            {
                t.Dispose();
            }
        }

        return refinement.Finish(explainDeltas: true);
    }

    /// <summary>The old points at even positions and the new ones at odd positions (the old list is consumed).</summary>
    private static List<Tensor> Interleave(List<Tensor> old, List<Tensor> added)
    {
        var merged = new List<Tensor>(old.Count + added.Count);
        for (var j = 0; j < old.Count; j++)
        {
            merged.Add(old[j]);
            if (j < added.Count)
            {
                merged.Add(added[j]);
            }
        }

        return merged;
    }

    /// <summary>The layer's activation and gradient at each α, one tensor of [rows, …] per α, in passes within <see cref="PathMethod.InternalBatchSize"/> rows and <see cref="PathMethod.TokenBudget"/> tokens.</summary>
    private (List<Tensor> Activations, List<Tensor> Gradients) PointsAlongPath(
        AttributionContext rows, nn.Module inputLayer, nn.Module layer, Tensor baseline, Tensor difference, double[] alphas)
    {
        var batch = rows.Size;
        var pointsPerPass = PointsPerPass(rows);
        var activations = new List<Tensor>(alphas.Length);
        var gradients = new List<Tensor>(alphas.Length);
        for (var first = 0; first < alphas.Length; first += pointsPerPass)
        {
            var count = Math.Min(pointsPerPass, alphas.Length - first);
            rows.Options.Cancellation.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var (a, g) = LayerAlongPath(rows, inputLayer, layer, baseline, difference, alphas.AsSpan(first, count));
            for (var k = 0; k < count; k++)
            {
                activations.Add(a.narrow(0, k * batch, batch).clone().MoveToOuterDisposeScope());
                gradients.Add(g.narrow(0, k * batch, batch).clone().MoveToOuterDisposeScope());
            }
        }

        return (activations, gradients);
    }

    private (Tensor Activations, Tensor Gradients) LayerAlongPath(
        AttributionContext context, nn.Module inputLayer, nn.Module layer, Tensor baseline, Tensor difference, ReadOnlySpan<double> alphas)
    {
        var scaled = PathInputs.Interpolate(baseline, difference, alphas);
        var pass = PathPass.Run(context, new LayerSite(layer, Side, TensorIndex), alphas.Length, null, upstream: (new LayerSite(inputLayer), scaled));
        return (pass.Activation, pass.Gradient);
    }
}
