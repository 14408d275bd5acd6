using Attribution.Models;

namespace Attribution.Tests.Models;

/// <summary>
/// <see cref="LogitMath.LookLikeProbabilities"/>: rows that are all probability distributions (every value in (0, 1],
/// at least two per row, summing to 1 within 1e-5), by hand-made rows on either side of each condition.
/// </summary>
public sealed class LogitMathTests
{
    [Theory]
    [InlineData(true, new[] { 0.3, 0.7 })]
    [InlineData(true, new[] { 0.2, 0.3, 0.5 })]
    [InlineData(true, new[] { 0.5, 0.500004 })]
    [InlineData(false, new[] { 0.5, 0.51 })]
    [InlineData(false, new[] { 0.0, 1.0 })]
    [InlineData(false, new[] { -0.2, 1.2 })]
    [InlineData(false, new[] { 1.0 })]
    [InlineData(false, new[] { 0.6, 0.6 })]
    [InlineData(false, new[] { 2.0, -1.0 })]
    public void One_row(bool expected, double[] row) => LogitMath.LookLikeProbabilities([row]).Should().Be(expected);

    [Fact]
    public void Every_row_must_be_a_distribution_and_there_must_be_one()
    {
        LogitMath.LookLikeProbabilities([[0.3, 0.7], [0.4, 0.6]]).Should().BeTrue();
        LogitMath.LookLikeProbabilities([[0.3, 0.7], [2.0, -1.0]]).Should().BeFalse("one row of logits is enough to show logits");
        LogitMath.LookLikeProbabilities([]).Should().BeFalse("no row shows nothing");
    }
}
