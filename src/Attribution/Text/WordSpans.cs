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

    /// <summary>
    /// The span (index into <paramref name="spans"/>, sorted and disjoint) a token belongs to: the one its offset starts
    /// in, else the first one its offset overlaps, or −1. A tokenizer without trim_offsets gives <c>Ġbig</c> of "a big"
    /// the offset [1, 5), which starts in the space: by its start alone every word after the first would lose its
    /// tokens (and vanish from word scores and from the perturbation methods' features).
    /// </summary>
    internal static int OfToken(IReadOnlyList<(int Start, int End)> spans, (int Start, int End) offset)
    {
        var w = Find(spans, offset.Start);
        if (w >= 0 || offset.End <= offset.Start)
        {
            return w;
        }

        // The first span that starts after offset.Start (none contains it).
        int lo = 0, hi = spans.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (spans[mid].Start <= offset.Start)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo < spans.Count && spans[lo].Start < offset.End ? lo : -1;
    }
}
