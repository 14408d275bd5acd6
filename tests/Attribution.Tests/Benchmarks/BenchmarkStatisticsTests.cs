using Attribution.Benchmarks;

namespace Attribution.Tests.Benchmarks;

/// <summary>
/// The statistics behind the published benchmark reports (BenchmarkStatistics, linked from
/// benchmarks/Attribution.Benchmarks), against values worked out by hand from the definitions: the median (mean of the
/// two middle values for an even count), the nearest-rank quantile (the ⌈q·n⌉-th value), the relative L2 difference and
/// |delta| / |F(x) − F(x′)| with a zero denominator, and alternating best-of-N timing. Exact comparisons, except where
/// a square root is taken (1e-15: one rounding of a double).
/// </summary>
public sealed class BenchmarkStatisticsTests
{
    [Fact]
    public void The_median_of_an_odd_count_is_the_middle_value()
    {
        BenchmarkStatistics.Median([1.0, 2.0, 9.0]).Should().Be(2.0);
    }

    [Fact]
    public void The_median_of_an_even_count_is_the_mean_of_the_two_middle_values()
    {
        // 1, 2 | 4, 10: (2 + 4) / 2 = 3 (the upper middle value, 4, is not the median).
        BenchmarkStatistics.Median([1.0, 2.0, 4.0, 10.0]).Should().Be(3.0);
        // Steps used by six texts: (8 + 16) / 2 = 12.
        BenchmarkStatistics.Median(new[] { 8, 8, 8, 16, 16, 16 }).Should().Be(12.0);
    }

    [Fact]
    public void The_95th_percentile_of_twenty_values_is_the_19th_not_the_maximum()
    {
        var sorted = Enumerable.Range(1, 20).Select(i => (double)i).ToArray();

        // Nearest rank: ⌈0.95 · 20⌉ = 19, the 19th value.
        BenchmarkStatistics.Quantile(sorted, 0.95).Should().Be(19.0);
        // ⌈0.5 · 20⌉ = 10; ⌈0 · 20⌉ = 0, the first value; ⌈1 · 20⌉ = 20.
        BenchmarkStatistics.Quantile(sorted, 0.5).Should().Be(10.0);
        BenchmarkStatistics.Quantile(sorted, 0).Should().Be(1.0);
        BenchmarkStatistics.Quantile(sorted, 1).Should().Be(20.0);
    }

    [Fact]
    public void A_quantile_between_ranks_takes_the_next_rank_up()
    {
        // ⌈0.95 · 10⌉ = ⌈9.5⌉ = 10; ⌈0.95 · 872⌉ = ⌈828.4⌉ = 829.
        BenchmarkStatistics.Quantile(Enumerable.Range(1, 10).Select(i => (double)i).ToArray(), 0.95).Should().Be(10.0);
        BenchmarkStatistics.Quantile(Enumerable.Range(1, 872).Select(i => (double)i).ToArray(), 0.95).Should().Be(829.0);
    }

    [Fact]
    public void Unsorted_values_NaN_an_empty_list_and_a_quantile_outside_0_to_1_are_refused()
    {
        FluentActions.Invoking(() => BenchmarkStatistics.Median([2.0, 1.0])).Should().Throw<ArgumentException>()
            .Which.Message.Should().Contain("sorted[0] = 2").And.Contain("sort the values first");
        FluentActions.Invoking(() => BenchmarkStatistics.Median([1.0, double.NaN])).Should().Throw<ArgumentException>()
            .Which.Message.Should().Contain("NaN");
        FluentActions.Invoking(() => BenchmarkStatistics.Median(Array.Empty<double>())).Should().Throw<ArgumentException>()
            .Which.Message.Should().Contain("empty");
        FluentActions.Invoking(() => BenchmarkStatistics.Quantile([1.0], 95)).Should().Throw<ArgumentOutOfRangeException>()
            .Which.Message.Should().Contain("0.95");
    }

    [Fact]
    public void The_relative_L2_difference_divides_by_the_references_norm()
    {
        // a − r = (0, 1): ‖·‖² = 1; ‖r‖² = 2; √(1/2).
        BenchmarkStatistics.RelativeL2([1.0, 2.0], [1.0, 1.0]).Should().BeApproximately(Math.Sqrt(0.5), 1e-15);
    }

    [Fact]
    public void An_all_zero_reference_gives_zero_when_equal_and_infinity_otherwise_never_NaN()
    {
        BenchmarkStatistics.RelativeL2([0.0, 0.0], [0.0, 0.0]).Should().Be(0.0);
        BenchmarkStatistics.RelativeL2([3.0, 4.0], [0.0, 0.0]).Should().Be(double.PositiveInfinity);
    }

    [Fact]
    public void Scores_of_different_lengths_are_refused_not_compared_on_the_shorter()
    {
        FluentActions.Invoking(() => BenchmarkStatistics.RelativeL2([1.0], [1.0, 5.0])).Should().Throw<ArgumentException>()
            .Which.Message.Should().Contain("a has 1 scores and reference 2");
    }

    [Fact]
    public void The_relative_delta_divides_by_F_of_x_minus_F_of_the_baseline()
    {
        // delta = Σ − (F(x) − F(x′)): Σ = 1.25, delta = 0.25, so F(x) − F(x′) = 1 and the ratio is 0.25.
        BenchmarkStatistics.RelativeDelta(0.25, 1.25).Should().Be(0.25);
        // A negative delta: Σ = 0.5, delta = −0.5, F(x) − F(x′) = 1.
        BenchmarkStatistics.RelativeDelta(-0.5, 0.5).Should().Be(0.5);
        // F(x) = F(x′): 0 when the scores sum to 0 too, ∞ otherwise.
        BenchmarkStatistics.RelativeDelta(0, 0).Should().Be(0.0);
        BenchmarkStatistics.RelativeDelta(0.5, 0.5).Should().Be(double.PositiveInfinity);
    }

    [Fact]
    public void Alternating_timing_runs_every_side_the_same_number_of_times_in_turn_and_keeps_each_ones_best()
    {
        var order = new List<string>();
        var aTimes = new Queue<double>([5.0, 3.0, 4.0]);
        var bTimes = new Queue<double>([7.0, 8.0, 6.0]);

        var best = BenchmarkStatistics.BestOfAlternating(
            3,
            () =>
            {
                order.Add("a");
                return aTimes.Dequeue();
            },
            () =>
            {
                order.Add("b");
                return bTimes.Dequeue();
            });

        best.Should().Equal(3.0, 6.0);
        order.Should().Equal("a", "b", "a", "b", "a", "b");
        FluentActions.Invoking(() => BenchmarkStatistics.BestOfAlternating(0, () => 1.0)).Should().Throw<ArgumentOutOfRangeException>()
            .Which.ParamName.Should().Be("rounds");
    }

    [Fact]
    public void Warmed_alternating_timing_warms_every_side_so_no_sides_first_call_is_timed()
    {
        // Each side's first call is "cold" (100 time units), later calls take 1: with one timed round, a side that was
        // not warmed would report 100.
        var calls = new Dictionary<string, int> { ["library"] = 0, ["captum"] = 0 };
        var lastRun = "";
        double Time(Action run)
        {
            run();
            return calls[lastRun] == 1 ? 100.0 : 1.0;
        }

        var best = BenchmarkStatistics.WarmedBestOfAlternating(
            1,
            Time,
            () => calls[lastRun = "library"]++,
            () => calls[lastRun = "captum"]++);

        best.Should().Equal(1.0, 1.0);
        calls["library"].Should().Be(2);
        calls["captum"].Should().Be(2);
    }

    [Fact]
    public void The_schedule_warms_every_side_once_then_alternates_the_timed_rounds()
    {
        BenchmarkStatistics.Schedule(3, 2, warm: true).Should().Equal(
            (0, false), (1, false), (2, false), (0, true), (1, true), (2, true), (0, true), (1, true), (2, true));
        BenchmarkStatistics.Schedule(2, 1, warm: false).Should().Equal((0, true), (1, true));
        FluentActions.Invoking(() => BenchmarkStatistics.Schedule(0, 1, warm: true)).Should().Throw<ArgumentOutOfRangeException>()
            .Which.ParamName.Should().Be("sides");
        FluentActions.Invoking(() => BenchmarkStatistics.Schedule(2, 0, warm: true)).Should().Throw<ArgumentOutOfRangeException>()
            .Which.ParamName.Should().Be("rounds");
    }

    /// <summary>
    /// The speed report's texts-per-batch sweep ran each size once, while its other tables take the better of two runs:
    /// it now runs every size twice, the sizes alternating (1, 4, 16, 64, 1, 4, 16, 64), and keeps each size's best.
    /// </summary>
    [Fact]
    public void The_batch_size_sweep_takes_the_best_of_two_runs_per_size_the_sizes_alternating()
    {
        int[] sizes = [1, 4, 16, 64];
        var times = new Dictionary<int, Queue<double>>
        {
            [1] = new([9.0, 8.0]),
            [4] = new([3.0, 5.0]),
            [16] = new([2.0, 1.5]),
            [64] = new([4.0, 4.0]),
        };
        var order = new List<int>();

        var best = BenchmarkStatistics.SweepBest(2, sizes, size =>
        {
            order.Add(size);
            return times[size].Dequeue();
        });

        order.Should().Equal(1, 4, 16, 64, 1, 4, 16, 64);
        best.Should().Equal(8.0, 3.0, 1.5, 4.0);
    }

    [Fact]
    public void A_mean_of_agreements_says_how_many_texts_it_covers_when_some_are_undefined()
    {
        // (0.5 + 1.0) / 2 = 0.75 over 2 of the 3 texts (one NaN: a one-word text has no rank correlation).
        var mean = BenchmarkStatistics.MeanOfDefined([0.5, double.NaN, 1.0]);

        mean.Should().Be((0.75, 2));
        BenchmarkStatistics.MeanCell(mean, 3).Should().Be("0.75 (2 of 3 texts)");
        BenchmarkStatistics.MeanCell(BenchmarkStatistics.MeanOfDefined([0.5, 1.0]), 2).Should().Be("0.75");
        BenchmarkStatistics.MeanOfDefined([double.NaN]).Defined.Should().Be(0);
    }
}
