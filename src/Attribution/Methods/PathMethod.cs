using System.Globalization;
using Attribution.Methods.Internal;
using Attribution.Models;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods;

/// <summary>Settings shared by the methods that integrate along a straight path from a baseline to the input.</summary>
public abstract class PathMethod : LayerMethod
{
    private protected PathMethod()
    {
    }

    /// <summary>
    /// Number of integration steps. Null (the default) integrates adaptively as <see cref="Adaptive"/> says, where the
    /// method defines a completeness check (Integrated Gradients, layer conductance); a number runs exactly that many
    /// steps with <see cref="Rule"/> (unset: Captum's default rule for the method), reproducing Captum (whose default
    /// step count is 50).
    /// </summary>
    public int? Steps { get; init; }

    /// <summary>Tolerance, first rule and step cap of adaptive integration, used when <see cref="Steps"/> is null.</summary>
    public AdaptiveIntegration Adaptive { get; init; } = AdaptiveIntegration.Default;

    /// <summary>Captum's step count, used where a method cannot integrate adaptively and no step count is given.</summary>
    public const int CaptumSteps = 50;

    /// <summary>
    /// Integration rule; null (the default) takes the method's default, Captum's for a given <see cref="Steps"/>:
    /// Gauss–Legendre for Integrated Gradients and layer conductance, the trapezoid rule for neuron conductance. Without
    /// <see cref="Steps"/>, Integrated Gradients refines Gauss–Legendre rules and layer conductance the nested trapezoid
    /// grid. The settings record the rule used (<c>integration</c>).
    /// </summary>
    public IntegrationRule? Rule { get; init; }

    /// <summary>The method's rule where <see cref="Rule"/> is null (it may depend on whether <see cref="Steps"/> is given).</summary>
    private protected abstract IntegrationRule DefaultRule { get; }

    /// <summary>The rule in use: <see cref="Rule"/>, or <see cref="DefaultRule"/> where it is null.</summary>
    private protected IntegrationRule EffectiveRule => Rule ?? DefaultRule;

    /// <summary>The baseline (default <c>[CLS] [PAD] … [SEP]</c>).</summary>
    public Baseline Baseline { get; init; } = Baseline.Pad;

    /// <summary>The largest <see cref="InternalBatchSize"/> (4,096 rows per pass).</summary>
    public const int MaxInternalBatchSize = 4096;

    /// <summary>The most rows (texts × path points) per forward pass; bounds memory without changing the result. Default 64.</summary>
    public int InternalBatchSize { get; init; } = 64;

    /// <summary>
    /// The default <see cref="TokenBudget"/> (2,048 padded tokens per pass, as text batches): on the BERT-base shape it
    /// holds 2.75 GiB at 64 tokens against 3.8 GiB for 64 rows, and small models' short texts still fill 64-row passes
    /// (benchmarks/results/2026-12-04-speed/path-passes.md, adaptive-integration.md).
    /// </summary>
    public const int DefaultTokenBudget = 2048;

    /// <summary>
    /// The most padded tokens (rows × padded length) per forward pass along the path (default 2048), so long texts
    /// take fewer points per pass and memory stays bounded (a BERT-base backward pass holds about 1 MiB per token).
    /// A pass holds at least one point of every text in the batch. Results do not depend on it.
    /// </summary>
    public int TokenBudget { get; init; } = DefaultTokenBudget;

    /// <summary>Path points per forward pass for this batch (its distinct texts), within <see cref="InternalBatchSize"/> and <see cref="TokenBudget"/>.</summary>
    private protected int PointsPerPass(AttributionContext context) => PathPass.PointsPerPass(context.PassRows, context.Length, InternalBatchSize, TokenBudget);

    /// <inheritdoc />
    protected override void Validate(ITextClassifier model)
    {
        base.Validate(model);
        if (Rule is { } rule)
        {
            EnumSettings.Check(rule, nameof(Rule));
        }

        if (InternalBatchSize < 1 || InternalBatchSize > MaxInternalBatchSize)
        {
            throw new ArgumentOutOfRangeException(nameof(InternalBatchSize), InternalBatchSize, $"the internal batch size must be between 1 and {MaxInternalBatchSize}");
        }

        TokenBudgetBatches.Validate(TokenBudget, nameof(TokenBudget));
        PathInputs.CheckBaseline(model, Baseline, nameof(Baseline));

        ArgumentNullException.ThrowIfNull(Adaptive, nameof(Adaptive));
        Adaptive.Validate();
    }

    /// <inheritdoc />
    internal override void CheckTokenized(TokenizedTexts texts) => PathInputs.CheckBaselineLength(Baseline, texts, nameof(Baseline));

    /// <summary>Gradients at the path points for these alphas, stacked alpha-major ([α·batch, …]).</summary>
    private protected delegate Tensor GradientsAlongPath(ReadOnlySpan<double> alphas);

    /// <summary>
    /// Σ_k w_k g(α_k) over the rule's points, computed <see cref="PointsPerPass"/> points per forward pass (each pass in
    /// its own dispose scope) and accumulated step by step in order, so the sum does not depend on the split.
    /// </summary>
    private protected Tensor WeightedGradientSum(AttributionContext context, Tensor like, int steps, GradientsAlongPath gradientsAt)
    {
        var alphas = IntegrationRules.Alphas(EffectiveRule, steps);
        var stepSizes = IntegrationRules.StepSizes(EffectiveRule, steps);
        var batch = context.Size;
        var stepsPerPass = PointsPerPass(context);
        var total = zeros_like(like);
        for (var first = 0; first < steps; first += stepsPerPass)
        {
            var count = Math.Min(stepsPerPass, steps - first);
            context.Options.Cancellation.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var gradients = gradientsAt(alphas.AsSpan(first, count));
            PathInputs.AddWeighted(total, gradients, batch, stepSizes.AsSpan(first, count));
        }

        return total;
    }

    /// <summary>The settings of the path: the step count and rule, or the adaptive settings (whose rule the method names).</summary>
    private protected IEnumerable<KeyValuePair<string, string>> PathSettings(string? adaptiveRule = null) =>
        (Steps is not null || adaptiveRule is null
            ? [new("steps", (Steps ?? CaptumSteps).ToString(CultureInfo.InvariantCulture)), new("integration", EffectiveRule.CaptumName())]
            : Adaptive.Describe().Prepend(new("integration", adaptiveRule)).Prepend(new("steps", "adaptive")))
        .Concat(
        [
            new("baseline", Baseline.Name),
            new("internal-batch-size", InternalBatchSize.ToString(CultureInfo.InvariantCulture)),
            new("token-budget", TokenBudget.ToString(CultureInfo.InvariantCulture)),
        ]);
}

/// <summary>Settings shared by layer and neuron conductance: the attributed layer is required; the path runs at an input layer.</summary>
public abstract class ConductanceMethod : PathMethod
{
    private protected ConductanceMethod()
    {
    }

    /// <summary>Dotted path of the layer whose output is moved along the path (default: the word embeddings).</summary>
    public string? InputLayer { get; init; }

    /// <inheritdoc />
    protected override void Validate(ITextClassifier model)
    {
        if (Layer is null)
        {
            throw new ArgumentException(
                $"{Name} needs the layer to attribute to: set Layer (for {model.Name}, e.g. \"{LayerPaths.DefaultConductanceLayer(model)}\", what the command line " +
                "uses without --layer)", nameof(Layer));
        }

        base.Validate(model);
        if (InputLayer is "")
        {
            // "" resolves to the whole model, whose output is the scored logits: no layer comes after it, and the run
            // failed only after a forward pass, naming Layer.
            throw new ArgumentException(
                $"InputLayer \"\" is the whole model, whose output is the logits, not an input that {Name} can move along a path: give the dotted path " +
                "of a layer before Layer, or leave InputLayer null for the word embeddings", nameof(InputLayer));
        }

        LayerPaths.Resolve(model, InputLayer, nameof(InputLayer));
    }

    /// <inheritdoc />
    /// <remarks>Conductance integrates along the path at <see cref="InputLayer"/>: that tensor of the input is the path's end.</remarks>
    internal override FirstPass? SharedFirstPass(ITextClassifier model) =>
        new FirstPass.PathStart(new LayerSite(LayerPaths.Resolve(model, InputLayer, nameof(InputLayer)), LayerSide.Output, 0));

    private protected IEnumerable<KeyValuePair<string, string>> ConductanceSettings(string? adaptiveRule = null) =>
        LayerSettings().Append(new("input-layer", InputLayer ?? "word-embeddings")).Concat(PathSettings(adaptiveRule));
}
