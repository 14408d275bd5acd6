using Attribution.Methods;

namespace Attribution.Salience;

/// <summary>Post-processing shared by every method.</summary>
public sealed record SalienceOptions
{
    /// <summary>Keep <c>[CLS]</c>, <c>[SEP]</c> and other added tokens in the result (default: drop them).</summary>
    public bool KeepSpecialTokens { get; init; }

    /// <summary>Normalization of token and word scores (default: none).</summary>
    public Normalization Normalization { get; init; } = Normalization.None;

    /// <summary>Aggregation of token scores into word scores (default: sum).</summary>
    public WordAggregation WordAggregation { get; init; } = WordAggregation.Sum;

    /// <summary>Throws for an undefined <see cref="Normalization"/> or <see cref="WordAggregation"/>, naming the setting.</summary>
    internal void Validate()
    {
        Methods.Internal.EnumSettings.Check(Normalization, nameof(Normalization));
        Methods.Internal.EnumSettings.Check(WordAggregation, nameof(WordAggregation));
    }
}
