using Attribution.Text.Tokenizers;

namespace Attribution.Methods.Internal;

/// <summary>
/// What the methods that perturb sentence pairs (LIME and the perturbation methods) share about pairs: how a result
/// records both texts, and the refusals of what takes no pairs.
/// </summary>
internal static class TextPairResults
{
    /// <summary>
    /// The explanation of a pair's encoding: its second text, the token type ids and, per token, which text its offsets
    /// index (null for special tokens); unchanged for a single text.
    /// </summary>
    public static Explanation WithPair(this Explanation explanation, string? pair, Encoding encoding) => pair is null
        ? explanation
        : explanation with
        {
            TextPair = pair,
            TokenTypeIds = [.. encoding.TypeIds],
            Segments = [.. Enumerable.Range(0, encoding.Length).Select(encoding.SequenceOf)],
        };

    /// <summary>Token features of a pair, refused naming <c>Features</c>.</summary>
    public static ArgumentException TokenFeaturesTakeNoPairs() =>
        new("token features are for single texts: explain a pair with word features (the default)", "Features");

    /// <summary>A pair for a black-box predictor, refused naming <c>Pairs</c>.</summary>
    public static ArgumentException BlackBoxTakesNoPairs() =>
        new("a black-box predictor takes single texts: explain sentence pairs with a model that has a tokenizer (an ITokenClassifier), or leave Pairs out", nameof(AttributionOptions.Pairs));
}
