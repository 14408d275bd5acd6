namespace Attribution.Text;

/// <summary>
/// The one definition of a "word" the library uses everywhere (word scores, LIME's and the perturbation methods'
/// word features, the demo): a maximal run of non-whitespace characters, by UTF-16 index.
/// </summary>
public static class WordSpans
{
    /// <summary>[start, end) spans of the maximal runs of non-whitespace characters, in order.</summary>
    public static IReadOnlyList<(int Start, int End)> Of(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var spans = new List<(int, int)>();
        var i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            var start = i;
            while (i < text.Length && !char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            if (i > start)
            {
                spans.Add((start, i));
            }
        }

        return spans;
    }

    /// <summary>The index of the span (from <see cref="Of"/>, so sorted and disjoint) that contains <paramref name="position"/>, or −1.</summary>
    public static int Find(IReadOnlyList<(int Start, int End)> spans, int position)
    {
        ArgumentNullException.ThrowIfNull(spans);
        int lo = 0, hi = spans.Count - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) / 2;
            if (position < spans[mid].Start)
            {
                hi = mid - 1;
            }
            else if (position >= spans[mid].End)
            {
                lo = mid + 1;
            }
            else
            {
                return mid;
            }
        }

        return -1;
    }
}
