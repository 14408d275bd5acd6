using StringBuilder = System.Text.StringBuilder;
using Attribution.Text.Tokenizers;

namespace Attribution.Methods.LimeParts;

/// <summary>Splitting a text into LIME features and rebuilding it from a mask.</summary>
internal static class LimeText
{
    /// <summary>Whitespace-delimited words (<c>str.split</c>), or words split further at punctuation.</summary>
    public static List<TextFeature> Split(string text, bool punctuation)
    {
        var features = new List<TextFeature>();
        foreach (var (start, end) in Attribution.Text.WordSpans.Of(text))
        {
            if (!punctuation)
            {
                features.Add(new TextFeature(text[start..end], start, end));
                continue;
            }

            var i = start;
            while (i < end)
            {
                if (IsPunctuation(text[i]))
                {
                    features.Add(new TextFeature(text.Substring(i, 1), i, i + 1));
                    i++;
                    continue;
                }

                var runStart = i;
                while (i < end && !IsPunctuation(text[i]))
                {
                    i++;
                }

                features.Add(new TextFeature(text[runStart..i], runStart, i));
            }
        }

        return features;
    }

    /// <summary>
    /// The non-special tokens of an encoding as features; tokens whose spans overlap (several tokens from one
    /// character) form one feature. Also returns, per token, its feature index (−1 for special tokens).
    /// </summary>
    public static (List<TextFeature> Features, int[] TokenFeature) FromTokens(string text, Encoding encoding)
    {
        var tokenFeature = new int[encoding.Length];
        Array.Fill(tokenFeature, -1);
        var order = Enumerable.Range(0, encoding.Length)
            .Where(t => !encoding.SpecialTokensMask[t] && encoding.Offsets[t] is { } o && o.End > o.Start)
            .OrderBy(t => encoding.Offsets[t]!.Value.Start).ThenBy(t => t)
            .ToArray();
        var spans = new List<(int Start, int End)>();
        foreach (var t in order)
        {
            var (start, end) = encoding.Offsets[t]!.Value;
            if (spans.Count > 0 && start < spans[^1].End)
            {
                spans[^1] = (spans[^1].Start, Math.Max(spans[^1].End, end));
            }
            else
            {
                spans.Add((start, end));
            }

            tokenFeature[t] = spans.Count - 1;
        }

        return (spans.Select(s => new TextFeature(text[s.Start..s.End], s.Start, s.End)).ToList(), tokenFeature);
    }

    /// <summary>
    /// The text with the features whose mask entry is false replaced by <paramref name="replacement"/> (or removed
    /// when it is null). With <paramref name="join"/>, the kept words and replacements are joined by single spaces
    /// (LIT); otherwise the original text between features is kept.
    /// </summary>
    public static string Rebuild(string text, IReadOnlyList<TextFeature> features, IReadOnlyList<bool> mask, bool join, string? replacement)
    {
        var builder = new StringBuilder(text.Length + 16);
        if (join)
        {
            var first = true;
            for (var i = 0; i < features.Count; i++)
            {
                var part = mask[i] ? features[i].Text : replacement;
                if (part is null)
                {
                    continue;
                }

                if (!first)
                {
                    builder.Append(' ');
                }

                builder.Append(part);
                first = false;
            }

            return builder.ToString();
        }

        var position = 0;
        for (var i = 0; i < features.Count; i++)
        {
            builder.Append(text, position, features[i].Start - position);
            builder.Append(mask[i] ? features[i].Text : replacement ?? string.Empty);
            position = features[i].End;
        }

        builder.Append(text, position, text.Length - position);
        return builder.ToString();
    }

    /// <summary>
    /// The words of <paramref name="text"/> and, for a pair, of <paramref name="pair"/> (features of segment 1, offsets
    /// into the pair's own text), the first text's first; and per token of the encoding (of the text, or of both), the
    /// index of its word in that list: −1 for special tokens (separators are never features) and tokens of no
    /// character. A word that produced no token (dropped by the tokenizer, or cut by truncation) is in the list but no
    /// token points to it. Written once for LIME and the perturbation methods.
    /// </summary>
    public static (List<TextFeature> Words, int[] TokenWord) PairWords(string text, string? pair, Encoding encoding, bool punctuation)
    {
        var first = Split(text, punctuation);
        var second = pair is null ? [] : Split(pair, punctuation).Select(f => f with { Segment = 1 }).ToList();
        var (firstSpans, secondSpans) = (Spans(first), Spans(second));
        var tokenWord = Enumerable.Range(0, encoding.Length)
            .Select(t => encoding.SpecialTokensMask[t] || encoding.Offsets[t] is not { } o || o.End <= o.Start ? -1
                : encoding.SequenceOf(t) == 1 ? Shifted(Attribution.Text.WordSpans.OfToken(secondSpans, o), first.Count) : Attribution.Text.WordSpans.OfToken(firstSpans, o))
            .ToArray();
        return ([.. first, .. second], tokenWord);
    }

    private static int Shifted(int index, int by) => index < 0 ? index : index + by;

    /// <summary>
    /// The features of a text (or a pair) as LIME's and the perturbation methods' explanations of a model take them, with
    /// each token's feature (−1 for special tokens and tokens of no feature) and the words left out for having no token:
    /// the tokens themselves for <see cref="LimeFeatures.Tokens"/> (no pairs), else the words of both texts, the first
    /// text's then the second's (separators are never features), without the words that produced no token (dropped by
    /// the tokenizer's normalization, or cut by truncation), which cannot be perturbed (<see cref="WithTokens"/>).
    /// </summary>
    /// <exception cref="ArgumentException"><see cref="LimeFeatures.Tokens"/> with a pair.</exception>
    public static (List<TextFeature> Features, int[] TokenFeature, List<TextFeature> Dropped) ModelFeatures(string text, string? pair, Encoding encoding, LimeFeatures features)
    {
        if (features == LimeFeatures.Tokens)
        {
            var (tokens, tokenFeature) = pair is null
                ? FromTokens(text, encoding)
                : throw Internal.TextPairResults.TokenFeaturesTakeNoPairs();
            return (tokens, tokenFeature, []);
        }

        var (words, tokenWord) = PairWords(text, pair, encoding, features == LimeFeatures.WordsAndPunctuation);
        return WithTokens(words, tokenWord);
    }

    /// <summary>
    /// The words of <see cref="PairWords"/> that have a token, renumbered, with each token's new index (−1 as before);
    /// and the words that have none (dropped by the tokenizer, or cut by truncation). Such a word is not a feature of
    /// LIME or of the perturbation methods: the model's input never holds it, so switching it off could only remove
    /// nothing (a coefficient fitted on noise) or insert a mask (an effect of the mask, not of the word).
    /// </summary>
    public static (List<TextFeature> Features, int[] TokenFeature, List<TextFeature> Dropped) WithTokens(IReadOnlyList<TextFeature> words, int[] tokenWord)
    {
        var used = tokenWord.Where(w => w >= 0).Distinct().Order().ToArray();
        var renumber = used.Select((w, i) => (w, i)).ToDictionary(x => x.w, x => x.i);
        var dropped = Enumerable.Range(0, words.Count).Where(w => !renumber.ContainsKey(w)).Select(w => words[w]).ToList();
        return (used.Select(w => words[w]).ToList(), tokenWord.Select(w => w < 0 ? -1 : renumber[w]).ToArray(), dropped);
    }

    /// <summary>
    /// A note naming the dropped words (from <see cref="WithTokens"/>) that the tokenizer drops on their own (every
    /// character: zero-width, format or control characters); null when there are none. Words cut by truncation have
    /// tokens of their own and are left to the truncation note.
    /// </summary>
    public static string? TokenlessNote(IReadOnlyList<TextFeature> dropped, ITokenizer tokenizer, string model)
    {
        var tokenless = dropped.Where(w => tokenizer.Encode(w.Text).SpecialTokensMask.All(special => special)).ToArray();
        if (tokenless.Length == 0)
        {
            return null;
        }

        var words = string.Join(", ", tokenless.Take(5).Select(w => $"'{Attribution.Models.TokenizedTexts.Shown(w.Text)}' ({(w.Segment == 0 ? "text" : "pair")}, characters {w.Start}-{w.End})"))
            + (tokenless.Length > 5 ? $" and {tokenless.Length - 5} more" : string.Empty);
        return tokenless.Length == 1
            ? $"{words} has no token in {model}'s encoding (the tokenizer drops every character): it is not a feature, since the model's input never holds it and switching it off would change nothing there (or only insert a mask); it gets no score"
            : $"{words} have no token in {model}'s encoding (the tokenizer drops every character): they are not features, since the model's input never holds them and switching one off would change nothing there (or only insert a mask); they get no score";
    }

    /// <summary>The features' [start, end) spans, sorted and disjoint as <see cref="Text.WordSpans.OfToken"/> needs them.</summary>
    public static (int Start, int End)[] Spans(IReadOnlyList<TextFeature> features) => features.Select(f => (f.Start, f.End)).ToArray();

    private static bool IsPunctuation(char c) => char.IsPunctuation(c) || char.IsSymbol(c);
}
