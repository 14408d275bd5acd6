namespace Attribution.Models;

/// <summary>The one check of text pairs: one non-empty second text per text.</summary>
public static class TextPairs
{
    /// <summary>Throws a typed error naming the pair when <paramref name="pairs"/> does not give one non-empty second text per text.</summary>
    /// <param name="texts">The first texts.</param>
    /// <param name="pairs">The second texts, or null (single texts).</param>
    public static void Check(IReadOnlyList<string> texts, IReadOnlyList<string>? pairs) => Check(texts, pairs, nameof(pairs));

    /// <summary>
    /// <see cref="Check(IReadOnlyList{string}, IReadOnlyList{string}?)"/>, the refusal naming <paramref name="parameter"/>:
    /// the name the caller gave the pairs (<c>Pairs</c> for <c>AttributionOptions.Pairs</c>, the property they set; the
    /// refusal named <c>pairs</c>, no name of theirs).
    /// </summary>
    internal static void Check(IReadOnlyList<string> texts, IReadOnlyList<string>? pairs, string parameter)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (pairs is null)
        {
            return;
        }

        if (pairs.Count != texts.Count)
        {
            throw new ArgumentException($"{parameter} has {pairs.Count} second texts for {texts.Count} texts: give one pair per text", parameter);
        }

        for (var i = 0; i < pairs.Count; i++)
        {
            if (pairs[i] is null)
            {
                throw new ArgumentNullException(parameter, $"{parameter}[{i}] is null: give the second text of every pair");
            }

            if (string.IsNullOrWhiteSpace(pairs[i]))
            {
                throw new ArgumentException($"{parameter}[{i}] is empty or whitespace: a pair needs two texts (leave {parameter} out for single texts)", parameter);
            }
        }
    }
}
