using Attribution.Methods;
using Attribution.Salience;

namespace Attribution.Tests.Salience;

/// <summary>
/// Every normalization and word aggregation against values worked out by hand (not with the library's output):
/// signed and unsigned scores, ties, and the cases where a plausible wrong formula (mean for sum, max for absmax, a
/// signed sum for L1, a signed max for max-abs) gives another number.
/// </summary>
public sealed class SalienceHandComputedTests
{
    [Theory]
    [InlineData(WordAggregation.Sum, -0.5)]
    [InlineData(WordAggregation.Mean, -0.5 / 3)]
    [InlineData(WordAggregation.AbsMax, -2.0)]
    [InlineData(WordAggregation.First, 0.5)]
    public void Aggregations_of_mixed_signs(WordAggregation aggregation, double expected) =>
        SalienceLayer.Aggregate([0.5, -2.0, 1.0], aggregation).Should().BeApproximately(expected, 1e-15);

    [Fact]
    public void L2_aggregation_and_absmax_ties()
    {
        SalienceLayer.Aggregate([0.5, -2.0, 1.0], WordAggregation.L2).Should().BeApproximately(Math.Sqrt(5.25), 1e-15);
        SalienceLayer.Aggregate([3.0, -3.0], WordAggregation.AbsMax).Should().Be(3.0, "a tie keeps the first token's score");
        SalienceLayer.Aggregate([-3.0, 3.0], WordAggregation.AbsMax).Should().Be(-3.0);
        SalienceLayer.Aggregate([-1.0], WordAggregation.Mean).Should().Be(-1.0);
        FluentActions.Invoking(() => SalienceLayer.Aggregate([], WordAggregation.Sum)).Should().Throw<ArgumentException>();
    }

    [Theory]
    [InlineData(Normalization.L1, new[] { 2.0 / 12, -6.0 / 12, 0, 4.0 / 12 })]
    [InlineData(Normalization.MaxAbs, new[] { 2.0 / 6, -1, 0, 4.0 / 6 })]
    [InlineData(Normalization.None, new[] { 2.0, -6, 0, 4 })]
    public void Normalizations_of_signed_scores(Normalization normalization, double[] expected)
    {
        // Σ|s| = 12 (the signed sum is 0), max|s| = 6 (the signed max is 4), ‖s‖₂ = √56.
        SalienceLayer.Normalize([2.0, -6, 0, 4], normalization, out var degenerate).Should().Equal(expected, (a, b) => Math.Abs(a - b) < 1e-15);
        degenerate.Should().BeFalse();
    }

    [Fact]
    public void L2_min_max_and_degenerate_normalizations()
    {
        var root56 = Math.Sqrt(56);
        SalienceLayer.Normalize([2.0, -6, 0, 4], Normalization.L2, out _).Should().Equal([2 / root56, -6 / root56, 0, 4 / root56], (a, b) => Math.Abs(a - b) < 1e-15);
        SalienceLayer.Normalize([1.0, 3, 5], Normalization.MinMax, out _).Should().Equal(0, 0.5, 1);
        SalienceLayer.Normalize([0.0, 0], Normalization.L1, out var zero).Should().Equal(0, 0);
        zero.Should().BeTrue("a zero divisor leaves the scores and says so");
        SalienceLayer.Normalize([2.0, 2], Normalization.MinMax, out var flat).Should().Equal(2, 2);
        flat.Should().BeTrue();
    }

    /// <summary>"un·watch·able film" with tokens [CLS] un ##watch ##able film [SEP] and hand-chosen scores.</summary>
    private static Explanation Sample(bool signed) =>
        SalienceSamples.Hand("unwatchable film", ["[CLS]", "un", "##watch", "##able", "film", "[SEP]"], [101, 4895, 18866, 3085, 2143, 102],
            [null, (0, 2), (2, 7), (7, 11), (12, 16), null], [true, false, false, false, false, true], [0.25, 0.5, -2.0, 1.0, 3.0, -0.25], signed);

    [Theory]
    [InlineData(WordAggregation.Sum, -0.5, 3.0)]
    [InlineData(WordAggregation.Mean, -0.5 / 3, 3.0)]
    [InlineData(WordAggregation.AbsMax, -2.0, 3.0)]
    [InlineData(WordAggregation.First, 0.5, 3.0)]
    public void Words_are_grouped_by_offsets_and_aggregated(WordAggregation aggregation, double unwatchable, double film)
    {
        var e = SalienceLayer.Apply(Sample(signed: true), new SalienceOptions { WordAggregation = aggregation });
        e.Tokens.Should().Equal("un", "##watch", "##able", "film");
        e.Words.Select(w => w.Text).Should().Equal("unwatchable", "film");
        e.Words[0].TokenIndices.Should().Equal(0, 1, 2);
        e.Words[0].Score.Should().BeApproximately(unwatchable, 1e-15);
        e.Words[1].Score.Should().BeApproximately(film, 1e-15);
        e.WordAggregation.Should().Be(aggregation);
    }

    [Fact]
    public void Normalization_scales_tokens_and_words_separately_after_dropping_specials()
    {
        // Content tokens 0.5, −2, 1, 3: Σ|s| = 6.5. Words (sum) −0.5 and 3: Σ|w| = 3.5.
        var e = SalienceLayer.Apply(Sample(signed: true), new SalienceOptions { Normalization = Normalization.L1 });
        e.Scores.Should().Equal([0.5 / 6.5, -2 / 6.5, 1 / 6.5, 3 / 6.5], (a, b) => Math.Abs(a - b) < 1e-15);
        e.Words.Select(w => w.Score).Should().Equal([-0.5 / 3.5, 3 / 3.5], (a, b) => Math.Abs(a - b) < 1e-15);

        // Special tokens kept: they count in the norm (Σ|s| = 7).
        var kept = SalienceLayer.Apply(Sample(signed: true), new SalienceOptions { Normalization = Normalization.MaxAbs, KeepSpecialTokens = true });
        kept.Scores.Should().Equal([0.25 / 3, 0.5 / 3, -2 / 3.0, 1 / 3.0, 1, -0.25 / 3], (a, b) => Math.Abs(a - b) < 1e-15);

        FluentActions.Invoking(() => SalienceLayer.Apply(Sample(signed: true), new SalienceOptions { Normalization = Normalization.MinMax }))
            .Should().Throw<ArgumentException>().WithMessage("*signed*");
        var unsigned = SalienceLayer.Apply(Sample(signed: false) with { Scores = [0, 1, 3, 2, 5, 0] }, new SalienceOptions { Normalization = Normalization.MinMax });
        unsigned.Scores.Should().Equal(0, 0.5, 0.25, 1);
    }
}
