namespace Attribution.Models;

/// <summary>The one check of text pairs: one non-empty second text per text.</summary>
public static class TextPairs
{
    /// <summary>Throws a typed error naming the pair when <paramref name="pairs"/> does not give one non-empty second text per text.</summary>
    /// <param name="texts">The first texts.</param>
    /// <param name="pairs">The second texts, or null (single texts).</param>
    public static void Check(IReadOnlyList<string> texts, IReadOnlyList<string>? pairs)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (pairs is null)
        {
            return;
        }

        if (pairs.Count != texts.Count)
        {
            throw new ArgumentException($"{pairs.Count} second texts for {texts.Count} texts: give one pair per text", nameof(pairs));
        }

        for (var i = 0; i < pairs.Count; i++)
        {
            if (pairs[i] is null)
            {
                throw new ArgumentNullException(nameof(pairs), $"pairs[{i}] is null: give the second text of every pair");
            }

            if (string.IsNullOrWhiteSpace(pairs[i]))
            {
                throw new ArgumentException($"pairs[{i}] is empty or whitespace: a pair needs two texts (leave pairs out for single texts)", nameof(pairs));
            }
        }
    }
}
