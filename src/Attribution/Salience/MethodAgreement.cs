using Attribution.Methods;

namespace Attribution.Salience;

/// <summary>How much two methods agree on one text: Spearman's ρ over the units (words or tokens) both scored.</summary>
/// <param name="First">The first method.</param>
/// <param name="Second">The second method.</param>
/// <param name="PerText">ρ for each text (NaN where undefined: fewer than two units, constant scores, or a NaN score).</param>
public sealed record PairAgreement(string First, string Second, double[] PerText)
{
    /// <summary>The mean of the defined per-text values, or NaN when none is.</summary>
    public double Mean
    {
        get
        {
            var defined = PerText.Where(double.IsFinite).ToArray();
            return defined.Length == 0 ? double.NaN : defined.Average();
        }
    }
}

/// <summary>
/// Rank agreement between methods. Signed methods are compared on their signed scores; when either method of a pair
/// is unsigned (a gradient norm), both are compared on magnitudes |score|, since an unsigned method only ranks
/// importance. Ties get their average rank.
/// </summary>
public static class MethodAgreement
{
    /// <summary>Every pair of methods (in order) over every text; <paramref name="resultsByMethod"/>[m][t].</summary>
    /// <exception cref="ArgumentException">Of two or more methods, one's list is null or empty, they explain different
    /// numbers of texts, or their explanations at one index are of different texts.</exception>
    public static IReadOnlyList<PairAgreement> Pairs(IReadOnlyList<IReadOnlyList<Explanation>> resultsByMethod, Granularity granularity)
    {
        ArgumentNullException.ThrowIfNull(resultsByMethod);

        // Text t of one method is compared with text t of the other: a longer list had its extra texts ignored without a
        // word, a shorter one failed with an index out of range, and an empty one (which names no method) likewise.
        for (var m = 0; m < resultsByMethod.Count && resultsByMethod.Count > 1; m++)
        {
            var results = resultsByMethod[m];
            if (results is null || results.Count == 0)
            {
                throw new ArgumentException(
                    $"resultsByMethod[{m}] is {(results is null ? "null" : "empty")}: give each method's explanations of the same texts, at least one", nameof(resultsByMethod));
            }

            if (results.Count != resultsByMethod[0].Count)
            {
                throw new ArgumentException(
                    $"{results[0].Method} (resultsByMethod[{m}]) explains {results.Count} text(s) but {resultsByMethod[0][0].Method} (resultsByMethod[0]) {resultsByMethod[0].Count}: give every method the same texts, in the same order",
                    nameof(resultsByMethod));
            }
        }

        var pairs = new List<PairAgreement>();
        for (var a = 0; a < resultsByMethod.Count; a++)
        {
            for (var b = a + 1; b < resultsByMethod.Count; b++)
            {
                var texts = resultsByMethod[a].Count;
                var values = new double[texts];
                for (var t = 0; t < texts; t++)
                {
                    // Between refuses different texts naming its own parameter ("second"), which Pairs does not have.
                    var (x, y) = (resultsByMethod[a][t], resultsByMethod[b][t]);
                    if (x is not null && y is not null && (x.Text != y.Text || x.TextPair != y.TextPair))
                    {
                        throw new ArgumentException(
                            $"resultsByMethod[{a}][{t}] ({x.Method}) explains '{x.Text}' but resultsByMethod[{b}][{t}] ({y.Method}) '{y.Text}': give every method the same texts, in the same order",
                            nameof(resultsByMethod));
                    }

                    values[t] = Between(x!, y!, granularity); // a null one: Between's ArgumentNullException
                }

                pairs.Add(new PairAgreement(resultsByMethod[a][0].Method, resultsByMethod[b][0].Method, values));
            }
        }

        return pairs;
    }

    /// <summary>
    /// Spearman's ρ between two explanations of the same text, over the units both have. At word granularity, an
    /// explanation without words gets them from its token scores when the other has words; when neither has, tokens
    /// are compared.
    /// </summary>
    /// <exception cref="ArgumentException">The explanations are of different texts.</exception>
    public static double Between(Explanation first, Explanation second, Granularity granularity)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        if (first.Text != second.Text || first.TextPair != second.TextPair)
        {
            // Units are keyed by their character spans: spans of two different texts would be matched as if equal.
            throw new ArgumentException(
                $"{first.Method} and {second.Method} explain different texts ('{first.Text}' and '{second.Text}'): compare explanations of the same text",
                nameof(second));
        }

        if (granularity == Granularity.Words && (first.Words.Count > 0) != (second.Words.Count > 0))
        {
            // Only one has words: give the other its words from its own token scores (aggregated as the first's are),
            // rather than matching word keys against token keys, which share none and gave NaN silently.
            var aggregation = first.Words.Count > 0 ? first.WordAggregation : second.WordAggregation;
            first = first.Words.Count > 0 ? first : SalienceLayer.AggregateWords(first, aggregation);
            second = second.Words.Count > 0 ? second : SalienceLayer.AggregateWords(second, aggregation);
        }

        var x = Units(first, granularity);
        var y = Units(second, granularity);
        var keys = x.Keys.Where(y.ContainsKey).ToArray();
        var magnitudes = !first.Signed || !second.Signed;
        double Value(double v) => magnitudes ? Math.Abs(v) : v;
        return Spearman(keys.Select(k => Value(x[k])).ToArray(), keys.Select(k => Value(y[k])).ToArray());
    }

    /// <summary>
    /// Spearman's rank correlation (Pearson's r of the average ranks); NaN for fewer than 2 values, constant ranks, or a
    /// NaN value (which has no rank).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="x"/> and <paramref name="y"/> have different lengths.</exception>
    public static double Spearman(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Count != y.Count)
        {
            throw new ArgumentException($"{x.Count} values against {y.Count}", nameof(y));
        }

        // A NaN has no place in an order: sorting puts it below every number, which made a NaN score the least
        // important unit and gave a ρ that looked defined.
        if (x.Count < 2 || x.Any(double.IsNaN) || y.Any(double.IsNaN))
        {
            return double.NaN;
        }

        var rx = Ranks(x);
        var ry = Ranks(y);
        var mx = rx.Average();
        var my = ry.Average();
        double sxy = 0, sxx = 0, syy = 0;
        for (var i = 0; i < rx.Length; i++)
        {
            sxy += (rx[i] - mx) * (ry[i] - my);
            sxx += (rx[i] - mx) * (rx[i] - mx);
            syy += (ry[i] - my) * (ry[i] - my);
        }

        return sxx == 0 || syy == 0 ? double.NaN : Math.Clamp(sxy / Math.Sqrt(sxx * syy), -1, 1);
    }

    /// <summary>
    /// 1-based ranks, ties sharing their average rank. A NaN value has no rank: its rank is NaN and the other values are
    /// ranked among themselves (pandas' <c>rank(na_option="keep")</c>), as <see cref="Spearman"/> and
    /// Kendall's τ-b (<c>RankCorrelation.KendallTauB</c>) call a correlation with a NaN value undefined.
    /// </summary>
    public static double[] Ranks(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);

        // Sorted, a NaN came first and got rank 1, as if it were the smallest value.
        var order = Enumerable.Range(0, values.Count).Where(i => !double.IsNaN(values[i])).OrderBy(i => values[i]).ToArray();
        var ranks = new double[values.Count];
        Array.Fill(ranks, double.NaN);
        var start = 0;
        while (start < order.Length)
        {
            var end = start;
            while (end + 1 < order.Length && values[order[end + 1]] == values[order[start]])
            {
                end++;
            }

            var rank = ((start + end) / 2.0) + 1;
            for (var k = start; k <= end; k++)
            {
                ranks[order[k]] = rank;
            }

            start = end + 1;
        }

        return ranks;
    }

    private static Dictionary<string, double> Units(Explanation e, Granularity granularity)
    {
        var units = new Dictionary<string, double>(StringComparer.Ordinal);
        if (granularity == Granularity.Words && e.Words.Count > 0)
        {
            foreach (var word in e.Words)
            {
                units[$"{word.Segment}:{word.Start}:{word.End}"] = word.Score;
            }

            return units;
        }

        // Tokens with equal span and text (byte-level pieces of one character, repeated pieces) are distinct units:
        // the k-th of them is matched with the other explanation's k-th, instead of all but the first being dropped.
        var special = 0;
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var t = 0; t < e.Tokens.Length; t++)
        {
            var key = e.Offsets[t] is { } o ? $"{e.SegmentOf(t)}:{o.Start}:{o.End}:{e.Tokens[t]}" : $"special:{special++}:{e.Tokens[t]}";
            var occurrence = seen.GetValueOrDefault(key);
            seen[key] = occurrence + 1;
            units.Add($"{key}#{occurrence}", e.Scores[t]);
        }

        return units;
    }
}
