namespace Attribution.Methods;

// The vocabulary of an explanation: what was scored, how per-dimension attributions became token scores, whether
// scores carry a sign, and how the salience layer normalized and aggregated them. These types sit with the methods
// (the floor that makes explanations) so that the salience layer and everything above it can read them without the
// methods depending on anything above.

/// <summary>What a method scores: the raw logit of the target class, its softmax probability, or its log-probability.</summary>
public enum ScoreOutput
{
    /// <summary>The target class's logit (Captum's default when the model returns logits).</summary>
    Logit,

    /// <summary>The target class's softmax probability.</summary>
    Probability,

    /// <summary>The target class's log-softmax.</summary>
    LogProbability,
}

/// <summary>Whether an explanation's scores carry a sign.</summary>
public enum Signedness
{
    /// <summary>Positive scores are evidence for the target, negative against (Gradient × Input, IG, LIME, …).</summary>
    Signed,

    /// <summary>Magnitudes only, never negative (gradient norms, SmoothGrad², VarGrad).</summary>
    Unsigned,
}

/// <summary>How an explanation's per-token scores were obtained from what its method computed.</summary>
public enum ScoreReduction
{
    /// <summary>Sum over the hidden dimensions (signed).</summary>
    Sum,

    /// <summary>Euclidean norm over the hidden dimensions (unsigned).</summary>
    L2,

    /// <summary>Sum of absolute values over the hidden dimensions (unsigned).</summary>
    L1,

    /// <summary>A surrogate's coefficient per feature, shared equally by the feature's tokens (LIME).</summary>
    FeatureCoefficient,

    /// <summary>A perturbation method's score per feature, shared equally by the feature's tokens.</summary>
    FeatureScore,

    /// <summary>The method computed one score per token directly (no hidden dimensions to reduce).</summary>
    PerToken,
}

/// <summary>Which method made an explanation. <see cref="Custom"/> for methods written outside the library.</summary>
public enum MethodKind
{
    /// <summary>A method written outside the library (its <see cref="IAttributor.Name"/> says which).</summary>
    Custom,

    /// <summary>Vanilla gradient (saliency).</summary>
    Gradient,

    /// <summary>Gradient × Input.</summary>
    GradientXInput,

    /// <summary>(Layer) Integrated Gradients.</summary>
    IntegratedGradients,

    /// <summary>Layer conductance.</summary>
    LayerConductance,

    /// <summary>Neuron conductance.</summary>
    NeuronConductance,

    /// <summary>SmoothGrad / SmoothGrad² / VarGrad around another method.</summary>
    NoiseTunnel,

    /// <summary>Gradient SHAP.</summary>
    GradientShap,

    /// <summary>LRP with the ε-rule.</summary>
    LrpEpsilon,

    /// <summary>LIME.</summary>
    Lime,

    /// <summary>Occlusion / feature ablation.</summary>
    Occlusion,

    /// <summary>Exact Shapley values.</summary>
    ShapleyValues,

    /// <summary>Shapley value sampling.</summary>
    ShapleyValueSampling,

    /// <summary>KernelSHAP.</summary>
    KernelShap,

    /// <summary>Attention rollout (Abnar and Zuidema 2020): an attention view, not a faithful attribution.</summary>
    AttentionRollout,

    /// <summary>Gradient-weighted attention rollout (Chefer et al. 2021): an attention view, not a faithful attribution.</summary>
    GradientWeightedAttentionRollout,
}

/// <summary>How token scores are scaled for display and comparison.</summary>
public enum Normalization
{
    /// <summary>Scores as computed.</summary>
    None,

    /// <summary>Divide by Σ|s| so absolute values sum to 1, signs kept (LIT's convention).</summary>
    L1,

    /// <summary>Divide by the Euclidean norm (transformers-interpret's convention).</summary>
    L2,

    /// <summary>Divide by max|s|, mapping into [−1, 1].</summary>
    MaxAbs,

    /// <summary>(s − min)/(max − min), mapping into [0, 1]; only for unsigned scores.</summary>
    MinMax,
}

/// <summary>How the scores of a word's tokens combine into the word's score.</summary>
public enum WordAggregation
{
    /// <summary>Sum (keeps completeness: word scores add up to the token total).</summary>
    Sum,

    /// <summary>Mean.</summary>
    Mean,

    /// <summary>The token score of largest magnitude, sign kept.</summary>
    AbsMax,

    /// <summary>Euclidean norm (unsigned).</summary>
    L2,

    /// <summary>The first token's score.</summary>
    First,
}

/// <summary>Names used in results, settings, JSON and on the command line.</summary>
public static class ResultNames
{
    /// <summary>The name of a normalization: none, l1, l2, max-abs, min-max.</summary>
    public static string Name(this Normalization value) => value switch
    {
        Normalization.None => "none",
        Normalization.L1 => "l1",
        Normalization.L2 => "l2",
        Normalization.MaxAbs => "max-abs",
        Normalization.MinMax => "min-max",
        _ => throw new ArgumentOutOfRangeException(nameof(value), value, null),
    };

    /// <summary>The name of a word aggregation: sum, mean, absmax, l2, first.</summary>
    public static string Name(this WordAggregation value) => value switch
    {
        WordAggregation.Sum => "sum",
        WordAggregation.Mean => "mean",
        WordAggregation.AbsMax => "absmax",
        WordAggregation.L2 => "l2",
        WordAggregation.First => "first",
        _ => throw new ArgumentOutOfRangeException(nameof(value), value, null),
    };

    /// <summary>Parses a normalization name (<see cref="Name(Normalization)"/>).</summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not one of the names (the message lists them).</exception>
    public static Normalization ParseNormalization(string name) => name switch
    {
        "none" => Normalization.None,
        "l1" => Normalization.L1,
        "l2" => Normalization.L2,
        "max-abs" => Normalization.MaxAbs,
        "min-max" => Normalization.MinMax,
        _ => throw new ArgumentException($"unknown normalization '{name}': use none, l1, l2, max-abs or min-max", nameof(name)),
    };

    /// <summary>Parses a word aggregation name (<see cref="Name(WordAggregation)"/>).</summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not one of the names (the message lists them).</exception>
    public static WordAggregation ParseWordAggregation(string name) => name switch
    {
        "sum" => WordAggregation.Sum,
        "mean" => WordAggregation.Mean,
        "absmax" => WordAggregation.AbsMax,
        "l2" => WordAggregation.L2,
        "first" => WordAggregation.First,
        _ => throw new ArgumentException($"unknown word aggregation '{name}': use sum, mean, absmax, l2 or first", nameof(name)),
    };

    /// <summary>The name of a scored output: <c>logit</c>, <c>probability</c>, <c>log-probability</c>.</summary>
    public static string Name(this ScoreOutput value) => value switch
    {
        ScoreOutput.Logit => "logit",
        ScoreOutput.Probability => "probability",
        ScoreOutput.LogProbability => "log-probability",
        _ => throw new ArgumentOutOfRangeException(nameof(value), value, null),
    };

    /// <summary>Parses <c>logit</c>, <c>probability</c> or <c>log-probability</c>.</summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not one of the names (the message lists them).</exception>
    public static ScoreOutput ParseScoreOutput(string name) => name switch
    {
        "logit" => ScoreOutput.Logit,
        "probability" => ScoreOutput.Probability,
        "log-probability" => ScoreOutput.LogProbability,
        _ => throw new ArgumentException($"unknown score output '{name}': use logit, probability or log-probability", nameof(name)),
    };

    /// <summary>The name of a per-token reduction: sum, l2, l1, feature-coefficient, feature-score, per-token.</summary>
    public static string Name(this ScoreReduction value) => value switch
    {
        ScoreReduction.Sum => "sum",
        ScoreReduction.L2 => "l2",
        ScoreReduction.L1 => "l1",
        ScoreReduction.FeatureCoefficient => "feature-coefficient",
        ScoreReduction.FeatureScore => "feature-score",
        ScoreReduction.PerToken => "per-token",
        _ => throw new ArgumentOutOfRangeException(nameof(value), value, null),
    };

    /// <summary>Parses a per-token reduction name (<see cref="Name(ScoreReduction)"/>).</summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not one of the names (the message lists them).</exception>
    public static ScoreReduction ParseScoreReduction(string name) => name switch
    {
        "sum" => ScoreReduction.Sum,
        "l2" => ScoreReduction.L2,
        "l1" => ScoreReduction.L1,
        "feature-coefficient" => ScoreReduction.FeatureCoefficient,
        "feature-score" => ScoreReduction.FeatureScore,
        "per-token" => ScoreReduction.PerToken,
        _ => throw new ArgumentException($"unknown reduction '{name}': use sum, l2, l1, feature-coefficient, feature-score or per-token", nameof(name)),
    };

    /// <summary>
    /// The name of a method kind: custom, gradient, gradient-x-input, integrated-gradients, layer-conductance,
    /// neuron-conductance, noise-tunnel, gradient-shap, lrp-epsilon, lime, occlusion, shapley-values,
    /// shapley-value-sampling, kernel-shap, attention-rollout, grad-attention-rollout.
    /// </summary>
    public static string Name(this MethodKind value) => value switch
    {
        MethodKind.Custom => "custom",
        MethodKind.Gradient => "gradient",
        MethodKind.GradientXInput => "gradient-x-input",
        MethodKind.IntegratedGradients => "integrated-gradients",
        MethodKind.LayerConductance => "layer-conductance",
        MethodKind.NeuronConductance => "neuron-conductance",
        MethodKind.NoiseTunnel => "noise-tunnel",
        MethodKind.GradientShap => "gradient-shap",
        MethodKind.LrpEpsilon => "lrp-epsilon",
        MethodKind.Lime => "lime",
        MethodKind.Occlusion => "occlusion",
        MethodKind.ShapleyValues => "shapley-values",
        MethodKind.ShapleyValueSampling => "shapley-value-sampling",
        MethodKind.KernelShap => "kernel-shap",
        MethodKind.AttentionRollout => "attention-rollout",
        MethodKind.GradientWeightedAttentionRollout => "grad-attention-rollout",
        _ => throw new ArgumentOutOfRangeException(nameof(value), value, null),
    };

    /// <summary>Parses a method kind name (<see cref="Name(MethodKind)"/>).</summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not one of the names (the message lists them).</exception>
    public static MethodKind ParseMethodKind(string name) =>
        Enum.GetValues<MethodKind>().Where(k => k.Name() == name).Select(k => (MethodKind?)k).FirstOrDefault()
        ?? throw new ArgumentException(
            $"unknown method kind '{name}': use {string.Join(", ", Enum.GetValues<MethodKind>().Select(k => k.Name()))}", nameof(name));

    /// <summary>The reduction an explanation records for a method's per-dimension reduction.</summary>
    public static ScoreReduction ToScoreReduction(this HiddenReduction value) => value switch
    {
        HiddenReduction.Sum => ScoreReduction.Sum,
        HiddenReduction.L2 => ScoreReduction.L2,
        HiddenReduction.L1 => ScoreReduction.L1,
        _ => throw new ArgumentOutOfRangeException(nameof(value), value, null),
    };
}

