using Attribution.Methods;

namespace Attribution.Evaluation;

/// <summary>
/// Agreement of an explanation's word ranking with words a human highlighted (ferret's plausibility, on words):
/// <b>AUPRC</b> (average precision of the scores as a ranking of the highlighted words), <b>token-F1</b> and <b>IOU</b>
/// between the top-k words and the highlighted ones (k = the number of highlighted words in the text, each occurrence
/// counted, unless given), and <b>precision@1</b> / <b>mean reciprocal rank</b> of the highlighted word(s). Words are
/// ranked by score, largest first: signed scores towards the explained class, magnitudes for unsigned methods.
/// </summary>
/// <remarks>
/// <para>
/// Ties never favour the explanation (an all-zero explanation scores what a random ranking does). AUPRC is
/// scikit-learn's <c>average_precision_score</c>: Σ over the distinct scores t, largest first, of (recall at t − recall at
/// the previous threshold) × precision at t, where a threshold takes every word scoring at least t, so tied words enter
/// together. Precision@1, MRR, token-F1 and IOU are expected values over a uniformly random order of each block of tied
/// words (the order of the blocks being fixed by their scores): an all-zero explanation of n words with one highlighted
/// word gets precision@1 = 1/n, MRR = (1 + 1/2 + … + 1/n)/n. A word with a NaN score has no rank: every figure is
/// then NaN, with a note naming the word.
/// </para>
/// <para>
/// ferret and ERASER compute AUPRC as the trapezoidal area under scikit-learn's precision-recall curve
/// (<c>auc(recall, precision)</c>), which interpolates linearly to the point (recall 0, precision 1) and so gives an
/// all-zero explanation (1 + r/n)/2 for r highlighted words of n; average precision gives it r/n. Without ties and with
/// one highlighted word the two can differ as well; compare figures with theirs knowing this.
/// </para>
/// <para>
/// ferret's defaults differ in two more ways (<c>only_pos</c>, <c>top_k_rationale = 5</c>): its AUPRC sets negative
/// scores to 0 first (tying them), where here they are ranked as they are; its token-F1 and IOU take the top 5 tokens
/// with a positive score (fewer when fewer are positive), where here the top k are the k highest-ranked words whatever
/// their sign, k being the number of highlighted words unless given.
/// </para>
/// </remarks>
public static class Plausibility
{
    private const string AuprcDefinition = "average precision of the word ranking against the highlighted words (sklearn average_precision_score)";

    private const string TokenF1Definition = "F1 of the top-k words against the highlighted words";

    private const string IouDefinition = "|top-k words and highlighted| / |top-k words or highlighted|";

    private const string PrecisionAt1Definition = "1 when the top-ranked word is highlighted, else 0 (with tied top words: the share of them highlighted)";

    private const string MrrDefinition = "1 / rank of the first highlighted word (expected over the order of tied words)";

    /// <summary>All five figures for an explanation and the highlighted words (whole words, compared case-insensitively).</summary>
    /// <param name="explanation">The explanation.</param>
    /// <param name="highlighted">The highlighted words; every one must be a word of the text.</param>
    /// <param name="topK">The k of token-F1 and IOU; null for the number of words of the text that are highlighted (a highlighted word written twice counts twice).</param>
    /// <returns>auprc, token-f1, iou, precision-at-1 and mrr, in that order; each NaN (with a note) when a word's score is NaN.</returns>
    /// <exception cref="ArgumentException">The explanation has no words (<paramref name="explanation"/>), or no highlighted
    /// word is given, one is null or blank, or one is not a word of the text (<paramref name="highlighted"/>).</exception>
    /// <exception cref="ArgumentOutOfRangeException">k is not between 1 and the number of words (<paramref name="topK"/>).</exception>
    public static IReadOnlyList<MetricResult> Compute(Explanation explanation, IReadOnlyCollection<string> highlighted, int? topK = null)
    {
        ArgumentNullException.ThrowIfNull(explanation);
        ArgumentNullException.ThrowIfNull(highlighted);
        var words = explanation.Words;
        if (words.Count == 0)
        {
            throw new ArgumentException("the explanation has no words to rank", nameof(explanation));
        }

        var wanted = Highlighted(highlighted, explanation.Text, words.Select(w => w.Text).ToList());
        var relevant = words.Select(w => wanted.Contains(w.Text)).ToArray();
        var relevantCount = relevant.Count(x => x);

        // Every occurrence is a relevant word, so a ranking that puts them all first must fill k with them.
        var k = topK ?? relevantCount;
        if (k < 1 || k > words.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(topK), k, $"k must be between 1 and the number of words ({words.Count})");
        }

        var blocks = TieBlocks(words.Select(w => explanation.Signed ? w.Score : Math.Abs(w.Score)).ToArray(), relevant);
        var parameters = new List<KeyValuePair<string, string>>
        {
            new("highlighted", string.Join(",", wanted.Order(StringComparer.OrdinalIgnoreCase))),
            new("ranking", explanation.Signed ? "signed score, largest first" : "score magnitude, largest first"),
            new("ties", "auprc: tied words form one threshold (sklearn average_precision_score); others: expected value over a random order of tied words"),
        };

        // A NaN score has no place in the ranking (sorted, it came last, as if the word were the least important): every
        // figure is undefined, as a rank correlation with a NaN is (MethodAgreement.Spearman, RankCorrelation.KendallTauB).
        if (words.FirstOrDefault(w => double.IsNaN(w.Score)) is { } unranked)
        {
            var note = $"the word '{unranked.Text}' (characters {unranked.Start}-{unranked.End}) has a NaN score, which has no rank";
            return
            [
                new("auprc", double.NaN, AuprcDefinition, parameters, [], note),
                new("token-f1", double.NaN, TokenF1Definition, parameters, [], note),
                new("iou", double.NaN, IouDefinition, parameters, [], note),
                new("precision-at-1", double.NaN, PrecisionAt1Definition, parameters, [], note),
                new("mrr", double.NaN, MrrDefinition, parameters, [], note),
            ];
        }

        // Average precision: one threshold per distinct score, precision counted over everything scoring at least that.
        double auprc = 0, hits = 0;
        foreach (var block in blocks)
        {
            hits += block.Relevant;
            auprc += block.Relevant / (double)relevantCount * (hits / (block.Start + block.Size));
        }

        var (f1, iou) = ExpectedTopK(blocks, k, relevantCount);
        var first = blocks.First(b => b.Relevant > 0);
        var withK = parameters.Append(new("k", k.ToString(System.Globalization.CultureInfo.InvariantCulture))).ToList();
        var steps = blocks.SelectMany(b => Enumerable.Repeat(b, b.Relevant)).Select((b, i) => new MetricStep(
            $"highlighted word {i + 1}",
            Enumerable.Range(b.Start + 1, b.Size).Average(r => 1.0 / r),
            b.Size == 1 ? $"1 / its rank ({b.Start + 1})" : $"mean of 1 / rank over ranks {b.Start + 1}-{b.Start + b.Size}, tied with {b.Size - 1} other word(s)")).ToList();
        return
        [
            new("auprc", auprc, AuprcDefinition, parameters, []),
            new("token-f1", f1, TokenF1Definition, withK, []),
            new("iou", iou, IouDefinition, withK, []),
            new("precision-at-1", blocks[0].Relevant / (double)blocks[0].Size,
                PrecisionAt1Definition, parameters, []),
            new("mrr", FirstReciprocalRank(first), MrrDefinition, parameters, steps),
        ];
    }

    /// <summary>
    /// Checks highlighted words against the words of each text before any method runs, by the rule of
    /// <see cref="Compute"/> and with its message: every highlighted word is a whitespace-delimited word of its text
    /// (<see cref="Text.WordSpans"/>, the words explanations are made of), or of its pair's second text, whose words a
    /// pair's explanation also has. An explanation may still lose a word the text has (truncation); <see cref="Compute"/>
    /// then refuses it.
    /// </summary>
    /// <param name="texts">The texts.</param>
    /// <param name="highlights">Per text, its highlighted words.</param>
    /// <param name="pairs">Per text, the second text of its pair, or null without pairs.</param>
    /// <param name="parameter">The caller's parameter holding <paramref name="highlights"/>, named by the refusal with the
    /// text's index (<c>highlights[2]: </c>); null to name <c>highlighted</c>, as <see cref="Compute"/> does.</param>
    /// <exception cref="ArgumentException">A text's highlighted word is not one of its words, or none is given (parameter
    /// <paramref name="parameter"/>, or <c>highlighted</c> as from <see cref="Compute"/>).</exception>
    internal static void CheckHighlighted(IReadOnlyList<string> texts, IReadOnlyList<IReadOnlyCollection<string>> highlights, IReadOnlyList<string>? pairs = null,
        string? parameter = null)
    {
        static IEnumerable<string> WordsOf(string text) => Text.WordSpans.Of(text).Select(s => text[s.Start..s.End]);
        for (var t = 0; t < texts.Count && t < highlights.Count; t++)
        {
            var words = (IReadOnlyList<string>)[.. WordsOf(texts[t]), .. pairs is null ? [] : WordsOf(pairs[t])];
            _ = parameter is null
                ? Highlighted(highlights[t], texts[t], words)
                : Highlighted(highlights[t], texts[t], words, parameter, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{parameter}[{t}]: "));
        }
    }

    /// <summary>
    /// Refuses what <see cref="Compute"/> refuses of <paramref name="highlighted"/> for <paramref name="explanation"/>
    /// (which has words), with its message after <paramref name="at"/> (e.g. <c>highlights[2]: </c>) and naming
    /// <paramref name="parameter"/>: for callers whose argument is a list of highlight sets, not <c>highlighted</c>.
    /// </summary>
    internal static void CheckHighlighted(Explanation explanation, IReadOnlyCollection<string> highlighted, string parameter, string at) =>
        _ = Highlighted(highlighted, explanation.Text, explanation.Words.Select(w => w.Text).ToList(), parameter, at);

    /// <summary>
    /// The highlighted words (trimmed, compared case-insensitively), refused when none is given, one is null or blank, or
    /// one is not among <paramref name="words"/>, the words of <paramref name="text"/>; the refusal names
    /// <paramref name="parameter"/> and its message starts with <paramref name="at"/>.
    /// </summary>
    private static HashSet<string> Highlighted(IReadOnlyCollection<string> highlighted, string text, IReadOnlyList<string> words,
        string parameter = "highlighted", string at = "")
    {
        // A null list in a list of highlight sets said only "Value cannot be null", not which text's list it was.
        if (highlighted is null)
        {
            throw new ArgumentNullException(parameter,
                $"{at}the highlighted words are null: give a list of the text's highlighted words, or no highlight lists at all to leave plausibility out");
        }

        // A null or blank entry was dropped without a word, so ["dull", ""] scored as ["dull"]: the caller's list was
        // not what was measured.
        var position = 0;
        foreach (var h in highlighted)
        {
            position++;
            if (string.IsNullOrWhiteSpace(h))
            {
                throw new ArgumentException(
                    $"{at}highlighted word {position} of {highlighted.Count} is {(h is null ? "null" : "blank")}: give each highlighted word as a word of the text, or leave it out of the list",
                    parameter);
            }
        }

        var wanted = highlighted.Select(h => h.Trim()).ToHashSet(StringComparer.OrdinalIgnoreCase);
        if (wanted.Count == 0)
        {
            throw new ArgumentException($"{at}no highlighted word given: plausibility needs at least one", parameter);
        }

        var missing = wanted.Where(h => !words.Any(w => string.Equals(w, h, StringComparison.OrdinalIgnoreCase))).ToList();
        if (missing.Count > 0)
        {
            throw new ArgumentException(
                $"{at}highlighted word(s) {string.Join(", ", missing.Select(m => $"'{m}'"))} are not words of \"{text}\" (its words: {string.Join(", ", words)})",
                parameter);
        }

        return wanted;
    }

    /// <summary>Words with equal ranking keys, largest key first: where each block starts, its size, its highlighted words.</summary>
    private readonly record struct TieBlock(int Start, int Size, int Relevant);

    private static List<TieBlock> TieBlocks(double[] keys, bool[] relevant)
    {
        var order = Enumerable.Range(0, keys.Length).OrderByDescending(i => keys[i]).ToArray();
        var blocks = new List<TieBlock>();
        for (var start = 0; start < order.Length;)
        {
            var end = start + 1;
            while (end < order.Length && keys[order[end]] == keys[order[start]])
            {
                end++;
            }

            blocks.Add(new TieBlock(start, end - start, Enumerable.Range(start, end - start).Count(r => relevant[order[r]])));
            start = end;
        }

        return blocks;
    }

    /// <summary>
    /// Expected token-F1 and IOU of the top k: the blocks wholly inside the top k count all their highlighted words; the
    /// block that k cuts adds a hypergeometric number of its own (k − its start drawn at random from its words).
    /// </summary>
    private static (double F1, double Iou) ExpectedTopK(List<TieBlock> blocks, int k, int relevantCount)
    {
        var found = 0;
        foreach (var block in blocks.TakeWhile(b => b.Start < k))
        {
            if (block.Start + block.Size <= k)
            {
                found += block.Relevant;
                continue;
            }

            double f1 = 0, iou = 0;
            foreach (var (drawnRelevant, probability) in Hypergeometric(block.Size, block.Relevant, k - block.Start))
            {
                var figures = TopKFigures(found + drawnRelevant, k, relevantCount);
                f1 += probability * figures.F1;
                iou += probability * figures.Iou;
            }

            return (f1, iou);
        }

        return TopKFigures(found, k, relevantCount);
    }

    /// <summary>F1 (2·tp / (k + r), since k words are predicted) and IOU (tp / (k + r − tp)) of tp hits among the top k.</summary>
    private static (double F1, double Iou) TopKFigures(int truePositives, int k, int relevantCount) =>
        (2.0 * truePositives / (k + relevantCount), truePositives / (double)(k + relevantCount - truePositives));

    /// <summary>
    /// E[1 / rank of the first highlighted word] when it lies in <paramref name="block"/>: in a random order of the
    /// block's m words, r of them highlighted, the first highlighted one is at j with probability C(m − j, r − 1) / C(m, r).
    /// </summary>
    private static double FirstReciprocalRank(TieBlock block)
    {
        var (m, r) = (block.Size, block.Relevant);
        double probability = r / (double)m, expected = 0;
        for (var j = 1; j <= m - r + 1; j++)
        {
            expected += probability / (block.Start + j);
            probability *= (m - j - r + 1) / (double)(m - j);
        }

        return expected;
    }

    /// <summary>The hypergeometric distribution: x highlighted among <paramref name="drawn"/> of <paramref name="size"/> words, <paramref name="relevant"/> of them highlighted.</summary>
    private static IEnumerable<(int Found, double Probability)> Hypergeometric(int size, int relevant, int drawn)
    {
        for (var x = Math.Max(0, drawn - (size - relevant)); x <= Math.Min(relevant, drawn); x++)
        {
            yield return (x, Math.Exp(LogChoose(relevant, x) + LogChoose(size - relevant, drawn - x) - LogChoose(size, drawn)));
        }
    }

    private static double LogChoose(int n, int k) => Enumerable.Range(1, k).Sum(i => Math.Log((n - k + i) / (double)i));
}
