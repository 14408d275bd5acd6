using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using Attribution.Methods;
using Attribution.Text;

namespace Attribution.Salience;

/// <summary>
/// The post-processing every method shares: grouping tokens into words by character offsets, dropping special
/// tokens, and normalizing. Each operation returns a new <see cref="Explanation"/> that records what was done.
/// </summary>
public static class SalienceLayer
{
    /// <summary>Words, special tokens and normalization as <paramref name="options"/> says.</summary>
    /// <exception cref="InvalidOperationException">The explanation is already normalized (its words cannot be regrouped):
    /// apply the options to the original, unnormalized explanation.</exception>
    /// <exception cref="ArgumentException">As for <see cref="AggregateWords"/> and <see cref="Normalize(Explanation, Normalization)"/>.</exception>
    public static Explanation Apply(Explanation explanation, SalienceOptions options)
    {
        ArgumentNullException.ThrowIfNull(explanation);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var result = AggregateWords(explanation, options.WordAggregation);
        if (!options.KeepSpecialTokens)
        {
            result = DropSpecialTokens(result);
        }

        return Normalize(result, options.Normalization);
    }

    /// <summary>
    /// Recomputes <see cref="Explanation.Words"/>: each whitespace-delimited span of the text is a word, and a token
    /// belongs to the word its offset starts in (this works for WordPiece and byte-level BPE alike), or, when its offset
    /// starts in whitespace, to the first word its offset reaches into (byte-level BPE without <c>trim_offsets</c>:
    /// <c>Ġbig</c> spans the space before <c>big</c>). Special tokens (and any token without an offset) belong to no word. What
    /// the word scores leave out is said in <see cref="Explanation.Notes"/>: tokens with an offset that lie in no word
    /// (byte-level BPE's whitespace tokens <c>Ċ</c>, <c>ĉ</c>, <c>Ġ</c>), and a word whose tokens stop before its end (truncation cut it).
    /// </summary>
    /// <exception cref="InvalidOperationException">The explanation is already normalized: group the original's words.</exception>
    /// <exception cref="ArgumentException">A per-token array has not one entry per token, or an offset lies outside its text.</exception>
    public static Explanation AggregateWords(Explanation explanation, WordAggregation aggregation)
    {
        ExplanationShape.Check(explanation, nameof(explanation), nameof(explanation), words: false);
        if (explanation.Normalization != Normalization.None)
        {
            // Words rebuilt from normalized token scores are not normalized word scores (a word of two tokens at 1
            // would score 2 under "max-abs"; min-max shifts every token), yet would carry the label.
            throw new InvalidOperationException(
                $"the scores are normalized ({explanation.Normalization.Name()}): group the words of the original, unnormalized explanation, then normalize");
        }

        var words = new List<WordScore>();
        var outside = new List<int>();
        var tokenless = new List<string>();
        var notes = explanation.Notes.Where(n => !n.StartsWith(WordNotePrefix, StringComparison.Ordinal)).ToList();
        var texts = explanation.TextPair is null ? [explanation.Text] : new[] { explanation.Text, explanation.TextPair };
        for (var segment = 0; segment < texts.Length; segment++)
        {
            var text = texts[segment];
            var spans = WordSpans.Of(text);
            var members = new List<int>[spans.Count];
            for (var w = 0; w < members.Length; w++)
            {
                members[w] = [];
            }

            for (var t = 0; t < explanation.Tokens.Length; t++)
            {
                // A special token belongs to no word even when its tokenizer gives it an offset (Hugging Face's give
                // [CLS] and [SEP] the empty span [0, 0), which lies in the first word): as LIME's and the perturbation
                // methods' word features, words hold the tokens of the input only.
                if (explanation.IsSpecial[t] || explanation.Offsets[t] is not { } offset || explanation.SegmentOf(t) != segment)
                {
                    continue;
                }

                var w = WordSpans.OfToken(spans, offset);
                if (w >= 0)
                {
                    members[w].Add(t);
                }
                else
                {
                    outside.Add(t);
                }
            }

            // Words past the last token were cut by truncation, which the explanation's own note reports.
            var lastEnd = members.SelectMany(m => m).Select(t => explanation.Offsets[t]!.Value.End).DefaultIfEmpty(0).Max();
            for (var w = 0; w < spans.Count; w++)
            {
                if (members[w].Count == 0)
                {
                    // A visible word before the cut with no token of its own: another word's token covers it (an added
                    // token holding a space, "new york") or the tokenizer dropped it. Its score is in no word's.
                    if (spans[w].Start < lastEnd && HasVisible(text[spans[w].Start..spans[w].End]))
                    {
                        tokenless.Add(text[spans[w].Start..spans[w].End]);
                    }

                    continue;
                }

                var (start, end) = spans[w];
                var scores = members[w].Select(t => explanation.Scores[t]).ToArray();
                words.Add(new WordScore(text[start..end], start, end, Aggregate(scores, aggregation), [.. members[w]]) { Segment = segment });

                // A word whose tokens stop before its end, with a visible character after them: truncation cut it
                // (tokenizers drop only invisible characters, such as a zero-width space or a combining accent).
                var covered = Math.Max(start, members[w].Max(t => explanation.Offsets[t]!.Value.End));
                if (covered < end && HasVisible(text[covered..end]))
                {
                    notes.Add($"{WordNotePrefix}'{text[start..end]}' only in part: its tokens cover '{text[start..covered]}', not '{text[covered..end]}' (the text was cut there)");
                }
            }
        }

        if (outside.Any(t => explanation.Scores[t] != 0))
        {
            // Their scores are real (a newline or a double space can matter to the model) but are in no word's score.
            // (All zero, as with the word features of LIME and the perturbation methods, nothing is left out.)
            var sum = outside.Sum(t => explanation.Scores[t]);
            var shown = string.Join(" ", outside.Take(8).Select(t => explanation.Tokens[t])) + (outside.Count > 8 ? " …" : string.Empty);
            notes.Add($"{WordNotePrefix}no token that lies outside every word: {outside.Count} such token(s) ({shown}), "
                + $"whitespace or past the last word, with scores summing to {sum.ToString("G4", CultureInfo.InvariantCulture)}; the token scores have them");
        }

        if (tokenless.Count > 0)
        {
            var shown = string.Join(", ", tokenless.Take(8).Select(w => $"'{w}'")) + (tokenless.Count > 8 ? ", …" : string.Empty);
            notes.Add($"{WordNotePrefix}no word for {tokenless.Count} word(s) of the text without a token of their own ({shown}): "
                + "a token of another word covers them, or the tokenizer dropped them");
        }

        return explanation with { Words = words, WordAggregation = aggregation, Notes = notes };
    }

    /// <summary>How the notes about what the word scores leave out begin (replaced when the words are recomputed).</summary>
    private const string WordNotePrefix = "word scores include ";

    /// <summary>
    /// Whether <paramref name="text"/> has a character a tokenizer keeps: not a control or format character (zero-width
    /// space, soft hyphen, tag characters), not a combining mark (BERT strips accents) and not U+FFFD (BERT drops it).
    /// </summary>
    private static bool HasVisible(string text)
    {
        foreach (var rune in text.EnumerateRunes())
        {
            if (!Rune.IsWhiteSpace(rune) && rune.Value != 0xFFFD && Rune.GetUnicodeCategory(rune) is not (UnicodeCategory.Control
                    or UnicodeCategory.Format or UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Removes the special tokens (those <see cref="Explanation.IsSpecial"/> marks: the tokenizer added them, with or
    /// without an offset), keeping the words' token indices consistent; one whose <see cref="Explanation.SpecialTokensKept"/>
    /// is false is returned as it is.
    /// </summary>
    /// <exception cref="ArgumentException">A per-token array has not one entry per token, or a span lies outside its text.</exception>
    public static Explanation DropSpecialTokens(Explanation explanation)
    {
        ExplanationShape.Check(explanation, nameof(explanation), nameof(explanation));
        if (!explanation.SpecialTokensKept)
        {
            return explanation;
        }

        var keep = Enumerable.Range(0, explanation.Tokens.Length).Where(i => !explanation.IsSpecial[i]).ToArray();
        var newIndex = new int[explanation.Tokens.Length];
        Array.Fill(newIndex, -1);
        for (var i = 0; i < keep.Length; i++)
        {
            newIndex[keep[i]] = i;
        }

        ImmutableArray<T> Pick<T>(IReadOnlyList<T> values) => [.. keep.Select(i => values[i])];
        return explanation with
        {
            Tokens = Pick(explanation.Tokens),
            TokenIds = Pick(explanation.TokenIds),
            Offsets = Pick(explanation.Offsets),
            IsSpecial = Pick(explanation.IsSpecial),
            TokenTypeIds = explanation.TokenTypeIds.IsDefaultOrEmpty ? explanation.TokenTypeIds : Pick(explanation.TokenTypeIds),
            Segments = explanation.Segments.IsDefaultOrEmpty ? explanation.Segments : Pick(explanation.Segments),
            Scores = Pick(explanation.Scores),
            RawAttributions = explanation.RawAttributions is null ? null : Pick(explanation.RawAttributions),
            Words = explanation.Words.Select(w => w with { TokenIndices = [.. w.TokenIndices.Select(i => newIndex[i]).Where(i => i >= 0)] }).ToList(),
            SpecialTokensKept = false,
        };
    }

    /// <summary>Normalizes token scores and, separately, word scores. Applying a normalization twice is an error.</summary>
    /// <exception cref="InvalidOperationException">The explanation is already normalized (and <paramref name="normalization"/>
    /// is not <see cref="Normalization.None"/>): normalize the original explanation.</exception>
    /// <exception cref="ArgumentException">A score is NaN or infinite, min-max is asked of signed scores, or a per-token
    /// array has not one entry per token.</exception>
    public static Explanation Normalize(Explanation explanation, Normalization normalization)
    {
        ExplanationShape.Check(explanation, nameof(explanation), nameof(explanation));
        if (normalization == Normalization.None)
        {
            return explanation;
        }

        if (explanation.Normalization != Normalization.None)
        {
            throw new InvalidOperationException($"the scores are already normalized ({explanation.Normalization.Name()}); normalize the original explanation instead");
        }

        if (normalization == Normalization.MinMax && explanation.Signed)
        {
            throw new ArgumentException(
                $"min-max normalization is for unsigned scores, but {explanation.Method} scores are signed (it would map 0 to a colour that reads as evidence); use max-abs or l1",
                nameof(normalization));
        }

        // A NaN or infinite score would make every normalized score NaN or 0 (min-max's range, l1's sum, l2's norm):
        // refuse it here, naming the token or word, instead of handing on scores that no longer mean anything.
        for (var i = 0; i < explanation.Scores.Length; i++)
        {
            if (!double.IsFinite(explanation.Scores[i]))
            {
                throw NonFinite($"the score of token {i} ('{explanation.Tokens[i]}')", explanation.Scores[i], normalization, nameof(explanation));
            }
        }

        for (var w = 0; w < explanation.Words.Count; w++)
        {
            if (!double.IsFinite(explanation.Words[w].Score))
            {
                throw NonFinite($"the score of word {w} ('{explanation.Words[w].Text}')", explanation.Words[w].Score, normalization, nameof(explanation));
            }
        }

        var notes = explanation.Notes.ToList();
        var tokenScores = Normalize(explanation.Scores, normalization, out var degenerate);
        var wordScores = Normalize(explanation.Words.Select(w => w.Score).ToArray(), normalization, out var wordsDegenerate);
        if (degenerate || wordsDegenerate)
        {
            // Tokens and words are normalized separately, so one can be left as it was while the other is scaled (a
            // one-word text under min-max): the note names which.
            var which = degenerate && wordsDegenerate ? "token and word" : degenerate ? "token" : "word";
            var other = degenerate && wordsDegenerate ? string.Empty : degenerate ? " (the word scores are normalized)" : " (the token scores are normalized)";
            notes.Add($"{normalization.Name()} normalization left the {which} scores unchanged: their {(normalization == Normalization.MinMax ? "range" : "norm")} is zero{other}");
        }

        return explanation with
        {
            Scores = [.. tokenScores],
            Words = explanation.Words.Select((w, i) => w with { Score = wordScores[i] }).ToList(),
            Normalization = normalization,
            Notes = notes,
        };
    }

    /// <summary>Normalizes a vector; <paramref name="degenerate"/> is set (and values kept) when the divisor is zero.</summary>
    /// <exception cref="ArgumentException">A score is NaN or infinite (its normalization is undefined).</exception>
    public static double[] Normalize(IReadOnlyList<double> scores, Normalization normalization, out bool degenerate)
    {
        ArgumentNullException.ThrowIfNull(scores);
        degenerate = false;
        if (scores.Count == 0 || normalization == Normalization.None)
        {
            return scores.ToArray();
        }

        for (var i = 0; i < scores.Count; i++)
        {
            if (!double.IsFinite(scores[i]))
            {
                throw NonFinite($"scores[{i}]", scores[i], normalization, nameof(scores));
            }
        }

        if (normalization == Normalization.MinMax)
        {
            var min = scores.Min();
            var max = scores.Max();
            var range = max - min;
            if (range == 0)
            {
                degenerate = true;
                return scores.ToArray();
            }

            // max − min of finite scores can overflow (−1e308 and 1e308): halved, it cannot, and the ratio is the same.
            return double.IsFinite(range)
                ? scores.Select(s => (s - min) / range).ToArray()
                : scores.Select(s => ((s / 2) - (min / 2)) / ((max / 2) - (min / 2))).ToArray();
        }

        var largest = scores.Max(Math.Abs);
        if (largest == 0)
        {
            degenerate = true;
            return scores.ToArray();
        }

        // Σ|s| and Σs² overflow for huge finite scores (s² for |s| > 1.3e154) and Σs² underflows to 0 for tiny ones
        // (|s| < 1.5e-162), which would turn every score into 0 or leave them "unchanged, norm zero". l1 and l2
        // normalization do not change when all scores are scaled alike, so outside a safe range they are computed on
        // scores / largest |score|; inside it the direct formula keeps the usual results bit for bit.
        var scaled = largest is > 1e-150 and < 1e150 ? scores : scores.Select(s => s / largest).ToArray();
        var divisor = normalization switch
        {
            Normalization.L1 => scaled.Sum(Math.Abs),
            Normalization.L2 => Math.Sqrt(scaled.Sum(s => s * s)),
            Normalization.MaxAbs => largest,
            _ => throw new ArgumentOutOfRangeException(nameof(normalization), normalization, null),
        };
        return normalization == Normalization.MaxAbs
            ? scores.Select(s => s / divisor).ToArray()
            : scaled.Select(s => s / divisor).ToArray();
    }

    private static ArgumentException NonFinite(string what, double value, Normalization normalization, string parameter) =>
        new($"{what} is {value.ToString(CultureInfo.InvariantCulture)}: {normalization.Name()} normalization needs finite scores "
            + "(a NaN or infinite score makes every normalized score meaningless); fix the method or model that produced it, or do not normalize", parameter);

    /// <summary>
    /// Combines the scores of one word's tokens. A NaN token score makes the word's score NaN (with
    /// <see cref="WordAggregation.First"/>, only the first token's), so the renderers and normalization see it.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="scores"/> is empty (a word has at least one token).</exception>
    public static double Aggregate(IReadOnlyList<double> scores, WordAggregation aggregation)
    {
        ArgumentNullException.ThrowIfNull(scores);
        if (scores.Count == 0)
        {
            throw new ArgumentException("a word has at least one token", nameof(scores));
        }

        return aggregation switch
        {
            WordAggregation.Sum => scores.Sum(),
            WordAggregation.Mean => Mean(scores),
            // MaxBy ranks NaN below every number, so a NaN token would vanish from its word's score: it stays NaN,
            // as it does for every other aggregation.
            WordAggregation.AbsMax => scores.Any(double.IsNaN) ? double.NaN : scores.MaxBy(Math.Abs),
            WordAggregation.L2 => Norm(scores),
            WordAggregation.First => scores[0],
            _ => throw new ArgumentOutOfRangeException(nameof(aggregation), aggregation, null),
        };
    }

    /// <summary>The mean; when the sum of finite scores overflows, the sum of score / n (which cannot).</summary>
    private static double Mean(IReadOnlyList<double> scores)
    {
        var mean = scores.Average();
        return double.IsInfinity(mean) && scores.All(double.IsFinite) ? scores.Sum(s => s / scores.Count) : mean;
    }

    /// <summary>√Σs², scaled by the largest |s| outside a safe range so squares neither overflow nor underflow.</summary>
    private static double Norm(IReadOnlyList<double> scores)
    {
        var largest = scores.Max(Math.Abs);
        if (largest is > 1e-150 and < 1e150 || largest == 0 || !double.IsFinite(largest))
        {
            return Math.Sqrt(scores.Sum(s => s * s));
        }

        return largest * Math.Sqrt(scores.Sum(s => (s / largest) * (s / largest)));
    }
}
