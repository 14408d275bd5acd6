using System.Collections.Immutable;
using Attribution.Methods;
using Attribution.Models;

namespace Attribution.Salience;

/// <summary>
/// What the salience layer and the renderers need of an <see cref="Explanation"/> before they index it: one entry per
/// token in every per-token array, and token and word spans that lie in the text they index. An explanation built by
/// hand (a method written outside the library) can break these; without the check it failed with an
/// <see cref="IndexOutOfRangeException"/> naming nothing, or was grouped and rendered from spans outside its text.
/// </summary>
internal static class ExplanationShape
{
    /// <summary>Throws an <see cref="ArgumentException"/> for <paramref name="parameter"/> naming the field and the fix.</summary>
    /// <param name="e">The explanation.</param>
    /// <param name="parameter">The argument it came in (for the exception's <see cref="ArgumentException.ParamName"/>).</param>
    /// <param name="at">How the message names it, e.g. <c>explanation</c> or <c>explanations[2]</c>.</param>
    /// <param name="words">Check <see cref="Explanation.Words"/> too (not when they are about to be recomputed).</param>
    public static void Check(Explanation e, string parameter, string at, bool words = true)
    {
        ArgumentNullException.ThrowIfNull(e, parameter);
        var n = Present(e.Tokens, parameter, at, nameof(Explanation.Tokens)).Length;
        PerToken(e.TokenIds, n, parameter, at, nameof(Explanation.TokenIds), required: true);
        PerToken(e.Offsets, n, parameter, at, nameof(Explanation.Offsets), required: true);
        PerToken(e.IsSpecial, n, parameter, at, nameof(Explanation.IsSpecial), required: true);
        PerToken(e.Scores, n, parameter, at, nameof(Explanation.Scores), required: true);
        PerToken(e.Segments, n, parameter, at, nameof(Explanation.Segments), required: false);
        PerToken(e.TokenTypeIds, n, parameter, at, nameof(Explanation.TokenTypeIds), required: false);
        if (e.RawAttributions is { } raw && raw.Count != n)
        {
            throw new ArgumentException($"{at}.RawAttributions has {raw.Count} rows for {n} tokens: give one row per token, or none", parameter);
        }

        for (var t = 0; t < n; t++)
        {
            if (e.Offsets[t] is not { } span)
            {
                continue;
            }

            var segment = e.SegmentOf(t);
            if (segment is not (0 or 1) || (segment == 1 && e.TextPair is null))
            {
                throw new ArgumentException($"{at}.Segments[{t}] is {segment}: 0 (the text) or, for a pair, 1 (the pair's second text)", parameter);
            }

            var text = segment == 1 ? e.TextPair! : e.Text;
            if (span.Start < 0 || span.Start > span.End || span.End > text.Length)
            {
                throw new ArgumentException(
                    $"{at}.Offsets[{t}] ('{e.Tokens[t]}') is [{span.Start}, {span.End}), not a span of its {text.Length}-character text: "
                    + "offsets are UTF-16 [start, end) indices into the text the token came from (null for an added token)", parameter);
            }
        }

        for (var w = 0; words && w < e.Words.Count; w++)
        {
            var word = e.Words[w] ?? throw new ArgumentException($"{at}.Words[{w}] is null", parameter);
            var text = word.Segment == 1 ? e.TextPair : word.Segment == 0 ? e.Text : null;
            if (text is null || word.Start < 0 || word.Start > word.End || word.End > text.Length)
            {
                throw new ArgumentException(
                    $"{at}.Words[{w}] ('{word.Text}') is [{word.Start}, {word.End}) of segment {word.Segment}, not a span of its text: recompute the words with SalienceLayer.AggregateWords",
                    parameter);
            }

            if (word.TokenIndices.IsDefault || word.TokenIndices.Any(i => i < 0 || i >= n))
            {
                throw new ArgumentException(
                    $"{at}.Words[{w}] ('{word.Text}') has token indices [{(word.TokenIndices.IsDefault ? string.Empty : string.Join(", ", word.TokenIndices))}], not all among the {n} tokens: recompute the words with SalienceLayer.AggregateWords",
                    parameter);
            }
        }
    }

    /// <summary>
    /// Refuses model outputs a renderer cannot show: logits unset or empty, probabilities unset or neither one per logit
    /// nor none (always none for a regression head), or a target that is not one of the logits' classes. The HTML report failed with
    /// an IndexOutOfRangeException reading the target's logit, the console and Markdown wrote "class 2, p = ?" for a target past the classes,
    /// and unset arrays were a NullReferenceException in all three.
    /// </summary>
    /// <exception cref="ArgumentException">The outputs are malformed, as above.</exception>
    public static void CheckOutputs(Explanation e, string parameter, string at)
    {
        var logits = Present(e.Logits, parameter, at, nameof(Explanation.Logits));
        var probabilities = Present(e.Probabilities, parameter, at, nameof(Explanation.Probabilities));
        if (logits.Length == 0)
        {
            throw new ArgumentException($"{at}.Logits is empty: give the model's outputs for the text, at least one", parameter);
        }

        // None at all is allowed for a classifier (attributions made elsewhere, without the model's probabilities): the
        // renderers show "p = ?" for them. Some but not one per logit cannot be matched to the classes.
        var expected = e.Head == Models.OutputHead.Regression ? 0 : logits.Length;
        if (probabilities.Length != expected && probabilities.Length != 0)
        {
            throw new ArgumentException(
                $"{at}.Probabilities has {probabilities.Length} entries for {logits.Length} logits: a {e.Head.Name()} head has {(expected == 0 ? "none" : "one per logit, or none when they are unknown")}",
                parameter);
        }

        if (e.Target < 0 || e.Target >= logits.Length)
        {
            throw new ArgumentException(
                $"{at}.Target is {e.Target}, not a class of its {logits.Length} logits (0..{logits.Length - 1}): give the index of the class explained",
                parameter);
        }
    }

    private static ImmutableArray<T> Present<T>(ImmutableArray<T> values, string parameter, string at, string field) =>
        values.IsDefault ? throw new ArgumentException($"{at}.{field} is not set (a default ImmutableArray)", parameter) : values;

    private static void PerToken<T>(ImmutableArray<T> values, int tokens, string parameter, string at, string field, bool required)
    {
        if (!required && values.IsDefaultOrEmpty)
        {
            return;
        }

        if (Present(values, parameter, at, field).Length != tokens)
        {
            throw new ArgumentException(
                $"{at}.{field} has {values.Length} entries for {tokens} tokens: every per-token array has one entry per token, in the order of {nameof(Explanation.Tokens)}",
                parameter);
        }
    }
}
