using System.Collections.Immutable;

namespace Attribution.Methods;

/// <summary>One interpretable feature of a text: a span that a perturbation method switches on and off.</summary>
/// <param name="Text">The feature as written in the text.</param>
/// <param name="Start">UTF-16 index of its first character.</param>
/// <param name="End">UTF-16 index just past its last character.</param>
public sealed record TextFeature(string Text, int Start, int End)
{
    /// <summary>Which text of a pair the feature is in (0 the text, 1 the second text); its offsets index into that text.</summary>
    public int Segment { get; init; }
}

/// <summary>
/// The local linear surrogate a perturbation method fitted (LIME): target-class probability ≈
/// <see cref="Intercept"/> + Σ <see cref="Coefficients"/>[i] · (feature i present).
/// </summary>
/// <param name="Features">The features, in text order.</param>
/// <param name="Coefficients">One coefficient per feature, as fitted (never normalized).</param>
/// <param name="Intercept">The fitted intercept.</param>
/// <param name="RSquared">
/// R² of the surrogate on the samples, weighted by the kernel (what the <c>lime</c> package reports as its score).
/// </param>
/// <param name="UnweightedRSquared">R² on the samples without weights (what LIT's <c>return_score</c> reports).</param>
/// <param name="Samples">How many samples the fit used (for the LIT preset, the unperturbed text included).</param>
public sealed record SurrogateModel(
    IReadOnlyList<TextFeature> Features,
    ImmutableArray<double> Coefficients,
    double Intercept,
    double RSquared,
    double UnweightedRSquared,
    int Samples)
{
    /// <summary>The surrogate's value with every feature present: <see cref="Intercept"/> + Σ coefficients.</summary>
    public double LocalPrediction => Intercept + Coefficients.Sum();
}

/// <summary>The weighted fit of <see cref="Lime.Fit"/>: every intermediate figure, for inspection and tests.</summary>
/// <param name="Distances">Per sample, the distance of its mask to the all-on mask (scaled as the preset says).</param>
/// <param name="Weights">Per sample, the kernel weight.</param>
/// <param name="Coefficients">One coefficient per feature.</param>
/// <param name="Intercept">The intercept (fitted, not penalised).</param>
/// <param name="RSquared">Kernel-weighted R² on the samples.</param>
/// <param name="UnweightedRSquared">Unweighted R² on the samples.</param>
/// <param name="Converged">False only when the Lasso's coordinate descent hit its sweep limit.</param>
public sealed record LimeFit(
    double[] Distances,
    double[] Weights,
    double[] Coefficients,
    double Intercept,
    double RSquared,
    double UnweightedRSquared,
    bool Converged);

/// <summary>Everything one LIME explanation computed, from <see cref="Lime.Run"/>.</summary>
/// <param name="Features">The features of the text.</param>
/// <param name="Masks">The masks sent to the model (true = feature kept), in order.</param>
/// <param name="PerturbedTexts">The text built from each mask.</param>
/// <param name="TargetProbabilities">The model's probability of the target class for each perturbed text.</param>
/// <param name="Fit">The surrogate fit on those samples.</param>
/// <param name="Dropped">
/// Masks left out because their text was empty (only when features are removed); they are not in
/// <see cref="Masks"/>.
/// </param>
public sealed record LimeRun(
    IReadOnlyList<TextFeature> Features,
    bool[][] Masks,
    string[] PerturbedTexts,
    double[] TargetProbabilities,
    LimeFit Fit,
    int Dropped);
