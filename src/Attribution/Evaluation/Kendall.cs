namespace Attribution.Evaluation;

/// <summary>Rank correlations shared by the metrics.</summary>
public static class RankCorrelation
{
    /// <summary>
    /// Kendall's τ-b (what <c>scipy.stats.kendalltau</c> returns by default): (concordant − discordant) /
    /// √((n₀ − n₁)(n₀ − n₂)) with n₀ = n(n − 1)/2 and n₁, n₂ the pairs tied in x and in y. NaN when either side is
    /// constant (no order to correlate), there are fewer than two values, or a value is NaN (which has no place in an
    /// order; <see cref="Salience.MethodAgreement.Spearman"/> is undefined there too). Infinite values are ranked as
    /// scipy ranks them: above (or below) every finite value, tied with an equal infinity.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="x"/> and <paramref name="y"/> have different lengths.</exception>
    public static double KendallTauB(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Count != y.Count)
        {
            throw new ArgumentException($"the two rankings have {x.Count} and {y.Count} values: give one pair per item", nameof(y));
        }

        // Math.Sign(NaN) throws an ArithmeticException, which named neither the value nor the fix.
        if (x.Any(double.IsNaN) || y.Any(double.IsNaN))
        {
            return double.NaN;
        }

        long concordant = 0, discordant = 0, tiedX = 0, tiedY = 0, pairs = 0;
        for (var i = 0; i < x.Count; i++)
        {
            for (var j = i + 1; j < x.Count; j++)
            {
                pairs++;
                // Compared, not subtracted: two equal infinities differ by NaN, whose Math.Sign threw an ArithmeticException
                // (an infinite score is still ranked, as scipy ranks it, and ties with an equal one).
                var dx = Math.Sign(x[i].CompareTo(x[j]));
                var dy = Math.Sign(y[i].CompareTo(y[j]));
                if (dx == 0)
                {
                    tiedX++;
                }

                if (dy == 0)
                {
                    tiedY++;
                }

                if (dx != 0 && dy != 0)
                {
                    if (dx == dy)
                    {
                        concordant++;
                    }
                    else
                    {
                        discordant++;
                    }
                }
            }
        }

        var denominator = Math.Sqrt((double)(pairs - tiedX) * (pairs - tiedY));
        return denominator == 0 ? double.NaN : (concordant - discordant) / denominator;
    }
}
