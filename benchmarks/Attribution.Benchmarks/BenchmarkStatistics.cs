namespace Attribution.Benchmarks;

/// <summary>
/// The statistics the benchmark reports print, kept free of models and timing so the test project can compile this
/// file by link and check them against hand-computed values.
/// </summary>
internal static class BenchmarkStatistics
{
    /// <summary>
    /// The median of values sorted ascending: the middle value for an odd count, the mean of the two middle values for
    /// an even count.
    /// </summary>
    public static double Median(IReadOnlyList<double> sorted)
    {
        CheckSorted(sorted, nameof(sorted));
        var middle = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    /// <summary>The median of integers sorted ascending (see <see cref="Median(IReadOnlyList{double})"/>).</summary>
    public static double Median(IReadOnlyList<int> sorted) => Median(sorted.Select(s => (double)s).ToArray());

    /// <summary>
    /// The q-quantile of values sorted ascending by the nearest-rank definition: the smallest value with at least
    /// q·n of the n values at or below it, i.e. the ⌈q·n⌉-th value (1-based; the first for q = 0).
    /// </summary>
    public static double Quantile(IReadOnlyList<double> sorted, double q)
    {
        CheckSorted(sorted, nameof(sorted));
        if (!(q >= 0 && q <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(q), q, $"a quantile is between 0 and 1, got {q}: pass e.g. 0.95 for the 95th percentile");
        }

        // q·n rounded to 9 decimals first: 0.95 · 20 must be rank 19, not 20 through a last-bit rounding error.
        var rank = (int)Math.Ceiling(Math.Round(q * sorted.Count, 9));
        return sorted[Math.Max(rank, 1) - 1];
    }

    /// <summary>
    /// ‖a − reference‖₂ / ‖reference‖₂. A reference of all zeros has no scale: the result is 0 when
    /// <paramref name="a"/> is all zeros too and +∞ otherwise (never NaN, so the report's counts and quantiles stay
    /// defined and such a text shows up as far from its reference).
    /// </summary>
    public static double RelativeL2(IReadOnlyList<double> a, IReadOnlyList<double> reference)
    {
        if (a.Count != reference.Count)
        {
            throw new ArgumentException(
                $"a has {a.Count} scores and reference {reference.Count}: a relative L2 difference compares the scores of one text at the same positions",
                nameof(a));
        }

        double difference = 0, norm = 0;
        for (var i = 0; i < a.Count; i++)
        {
            difference += (a[i] - reference[i]) * (a[i] - reference[i]);
            norm += reference[i] * reference[i];
        }

        return norm > 0 ? Math.Sqrt(difference / norm) : difference == 0 ? 0 : double.PositiveInfinity;
    }

    /// <summary>
    /// |delta| / |F(x) − F(x′)| for an explanation whose scores sum to <paramref name="scoreSum"/> and whose convergence
    /// delta is Σ scores − (F(x) − F(x′)) (Captum's sign), so F(x) − F(x′) = <paramref name="scoreSum"/> − delta. When
    /// F(x) = F(x′) the ratio has no scale: 0 for a zero delta, +∞ otherwise.
    /// </summary>
    public static double RelativeDelta(double delta, double scoreSum)
    {
        var change = Math.Abs(scoreSum - delta);
        return change > 0 ? Math.Abs(delta) / change : delta == 0 ? 0 : double.PositiveInfinity;
    }

    /// <summary>
    /// The order of a fair timing of <paramref name="sides"/> runs on a shared machine: with <paramref name="warm"/>,
    /// every side once, untimed (first-call costs such as JIT, hooks and the allocator's first large blocks then fall on
    /// no side's timing, not only on the first side's); then <paramref name="rounds"/> timed rounds, each running every
    /// side once in the given order (so drifting load hits all sides alike).
    /// </summary>
    public static IReadOnlyList<(int Side, bool Timed)> Schedule(int sides, int rounds, bool warm)
    {
        if (sides < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(sides), sides, $"at least one side is needed to time anything, got {sides}");
        }

        if (rounds < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(rounds), rounds, $"at least one round is needed to time anything, got {rounds}");
        }

        var order = new List<(int Side, bool Timed)>((warm ? sides : 0) + (sides * rounds));
        if (warm)
        {
            order.AddRange(Enumerable.Range(0, sides).Select(side => (side, false)));
        }

        for (var round = 0; round < rounds; round++)
        {
            order.AddRange(Enumerable.Range(0, sides).Select(side => (side, true)));
        }

        return order;
    }

    /// <summary>
    /// Times several runs fairly on a shared machine: <paramref name="rounds"/> rounds in the order of
    /// <see cref="Schedule"/> (no warm-up), and the best (smallest) time of each run. Each <paramref name="runs"/> entry
    /// runs its work once and returns the time it took. Warm-ups are the caller's: run every side once before, not only
    /// one of them, or use <see cref="WarmedBestOfAlternating"/>.
    /// </summary>
    public static double[] BestOfAlternating(int rounds, params Func<double>[] runs) => Timed(Schedule(runs.Length, rounds, warm: false), runs);

    /// <summary>
    /// <see cref="BestOfAlternating"/> after one untimed warm-up call of every run (<see cref="Schedule"/> with warm-up):
    /// each run is called <paramref name="rounds"/> + 1 times, and <paramref name="time"/> measures one call (e.g. its
    /// wall time); the warm-up's measure is dropped.
    /// </summary>
    public static double[] WarmedBestOfAlternating(int rounds, Func<Action, double> time, params Action[] runs) =>
        Timed(Schedule(runs.Length, rounds, warm: true), runs.Select(run => (Func<double>)(() => time(run))).ToArray());

    /// <summary>
    /// The texts-per-batch sweep of the speed report: for each setting, the best of <paramref name="rounds"/> timed
    /// runs, the settings alternating round by round (<see cref="Schedule"/>; the first round runs every batch shape
    /// once, as a warm-up would), as the report's other throughput tables take the better of two runs.
    /// <paramref name="secondsAt"/> runs the work once at a setting and returns its time.
    /// </summary>
    public static double[] SweepBest(int rounds, IReadOnlyList<int> settings, Func<int, double> secondsAt) =>
        BestOfAlternating(rounds, settings.Select(setting => (Func<double>)(() => secondsAt(setting))).ToArray());

    private static double[] Timed(IReadOnlyList<(int Side, bool Timed)> schedule, Func<double>[] runs)
    {
        var best = Enumerable.Repeat(double.PositiveInfinity, runs.Length).ToArray();
        foreach (var (side, timed) in schedule)
        {
            var seconds = runs[side]();
            if (timed)
            {
                best[side] = Math.Min(best[side], seconds);
            }
        }

        return best;
    }

    /// <summary>
    /// The mean of the finite values (per-text agreements are NaN where undefined, e.g. a text with one word) and how
    /// many there were, so a report can say when the mean covers fewer texts than it lists; NaN with 0 when none is.
    /// </summary>
    public static (double Mean, int Defined) MeanOfDefined(IEnumerable<double> values)
    {
        var defined = values.Where(double.IsFinite).ToArray();
        return (defined.Length == 0 ? double.NaN : defined.Average(), defined.Length);
    }

    /// <summary>
    /// A mean as a table cell with two decimals, followed by "(k of n texts)" when only k of the n values were defined.
    /// </summary>
    public static string MeanCell((double Mean, int Defined) mean, int count) =>
        mean.Mean.ToString("F2", System.Globalization.CultureInfo.InvariantCulture) +
        (mean.Defined < count ? $" ({mean.Defined} of {count} texts)" : string.Empty);

    private static void CheckSorted(IReadOnlyList<double> sorted, string name)
    {
        if (sorted.Count == 0)
        {
            throw new ArgumentException($"{name} is empty: a median or quantile needs at least one value", name);
        }

        for (var i = 1; i < sorted.Count; i++)
        {
            if (!(sorted[i - 1] <= sorted[i]))
            {
                throw new ArgumentException(
                    $"{name} is not sorted ascending (or holds NaN): {name}[{i - 1}] = {sorted[i - 1]}, {name}[{i}] = {sorted[i]}; sort the values first",
                    name);
            }
        }
    }
}
