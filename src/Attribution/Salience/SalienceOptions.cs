namespace Attribution.Salience;

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

/// <summary>Post-processing shared by every method.</summary>
public sealed record SalienceOptions
{
    /// <summary>Keep <c>[CLS]</c>, <c>[SEP]</c> and other added tokens in the result (default: drop them).</summary>
    public bool KeepSpecialTokens { get; init; }

    /// <summary>Normalization of token and word scores (default: none).</summary>
    public Normalization Normalization { get; init; } = Normalization.None;

    /// <summary>Aggregation of token scores into word scores (default: sum).</summary>
    public WordAggregation WordAggregation { get; init; } = WordAggregation.Sum;
}

/// <summary>Names used in results, settings, JSON and on the command line.</summary>
public static class SalienceNames
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

    /// <summary>Parses a normalization name.</summary>
    public static Normalization ParseNormalization(string name) => name switch
    {
        "none" => Normalization.None,
        "l1" => Normalization.L1,
        "l2" => Normalization.L2,
        "max-abs" => Normalization.MaxAbs,
        "min-max" => Normalization.MinMax,
        _ => throw new ArgumentException($"unknown normalization '{name}': use none, l1, l2, max-abs or min-max", nameof(name)),
    };

    /// <summary>Parses a word aggregation name.</summary>
    public static WordAggregation ParseWordAggregation(string name) => name switch
    {
        "sum" => WordAggregation.Sum,
        "mean" => WordAggregation.Mean,
        "absmax" => WordAggregation.AbsMax,
        "l2" => WordAggregation.L2,
        "first" => WordAggregation.First,
        _ => throw new ArgumentException($"unknown word aggregation '{name}': use sum, mean, absmax, l2 or first", nameof(name)),
    };
}
