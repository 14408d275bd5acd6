using Attribution.Methods;

namespace Attribution.Evaluation;

/// <summary>
/// Agreement of an explanation's word ranking with words a human highlighted (ferret's plausibility, on words):
/// <b>AUPRC</b> (average precision of the scores as a ranking of the highlighted words), <b>token-F1</b> and <b>IOU</b>
/// between the top-k words and the highlighted ones (k = the number highlighted unless given), and
/// <b>precision@1</b> / <b>mean reciprocal rank</b> of the highlighted word(s). Words are ranked by score, largest first:
/// signed scores towards the explained class, magnitudes for unsigned methods; ties keep text order.
/// </summary>
public static class Plausibility
{
    /// <summary>All five figures for an explanation and the highlighted words (whole words, compared case-insensitively).</summary>
    /// <param name="explanation">The explanation.</param>
    /// <param name="highlighted">The highlighted words; every one must be a word of the text.</param>
    /// <param name="topK">The k of token-F1 and IOU; null for the number of highlighted words.</param>
    public static IReadOnlyList<MetricResult> Compute(Explanation explanation, IReadOnlyCollection<string> highlighted, int? topK = null)
    {
        ArgumentNullException.ThrowIfNull(explanation);
        ArgumentNullException.ThrowIfNull(highlighted);
        var words = explanation.Words;
        if (words.Count == 0)
        {
            throw new ArgumentException("the explanation has no words to rank", nameof(explanation));
        }

        var wanted = highlighted.Select(h => h?.Trim() ?? string.Empty).Where(h => h.Length > 0).ToHashSet(StringComparer.OrdinalIgnoreCase);
        if (wanted.Count == 0)
        {
            throw new ArgumentException("no highlighted word given: plausibility needs at least one", nameof(highlighted));
        }

        var missing = wanted.Where(h => !words.Any(w => string.Equals(w.Text, h, StringComparison.OrdinalIgnoreCase))).ToList();
        if (missing.Count > 0)
        {
            throw new ArgumentException(
                $"highlighted word(s) {string.Join(", ", missing.Select(m => $"'{m}'"))} are not words of \"{explanation.Text}\" (its words: {string.Join(", ", words.Select(w => w.Text))})",
                nameof(highlighted));
        }

        var k = topK ?? wanted.Count;
        if (k < 1 || k > words.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(topK), k, $"k must be between 1 and the number of words ({words.Count})");
        }

        var relevant = words.Select(w => wanted.Contains(w.Text)).ToArray();
        var ranking = Enumerable.Range(0, words.Count)
            .OrderByDescending(i => explanation.Signed ? words[i].Score : Math.Abs(words[i].Score)).ThenBy(i => i).ToArray();
        var parameters = new List<KeyValuePair<string, string>>
        {
            new("highlighted", string.Join(",", wanted.Order(StringComparer.OrdinalIgnoreCase))),
            new("ranking", explanation.Signed ? "signed score, largest first" : "score magnitude, largest first"),
        };

        // Average precision: mean over the relevant positions of the precision at that rank.
        double hits = 0, precisionSum = 0;
        for (var r = 0; r < ranking.Length; r++)
        {
            if (relevant[ranking[r]])
            {
                hits++;
                precisionSum += hits / (r + 1);
            }
        }

        var relevantCount = relevant.Count(x => x);
        var auprc = precisionSum / relevantCount;
        var top = ranking.Take(k).ToHashSet();
        var truePositives = top.Count(i => relevant[i]);
        var precision = truePositives / (double)k;
        var recall = truePositives / (double)relevantCount;
        var f1 = truePositives == 0 ? 0 : 2 * precision * recall / (precision + recall);
        var union = top.Union(Enumerable.Range(0, words.Count).Where(i => relevant[i])).Count();
        var iou = truePositives / (double)union;
        var firstRelevant = Array.FindIndex(ranking, i => relevant[i]);
        var reciprocalRanks = Enumerable.Range(0, ranking.Length).Where(r => relevant[ranking[r]]).Select(r => 1.0 / (r + 1)).ToArray();
        var withK = parameters.Append(new("k", k.ToString(System.Globalization.CultureInfo.InvariantCulture))).ToList();
        return
        [
            new("auprc", auprc, "average precision of the word ranking against the highlighted words", parameters, []),
            new("token-f1", f1, "F1 of the top-k words against the highlighted words", withK, []),
            new("iou", iou, "|top-k words and highlighted| / |top-k words or highlighted|", withK, []),
            new("precision-at-1", relevant[ranking[0]] ? 1 : 0, "1 when the top-ranked word is highlighted, else 0", parameters, []),
            new("mrr", firstRelevant < 0 ? 0 : 1.0 / (firstRelevant + 1),
                "1 / rank of the first highlighted word", parameters,
                reciprocalRanks.Select((rr, i) => new MetricStep($"highlighted word {i + 1}", rr, "1 / its rank")).ToList()),
        ];
    }
}
