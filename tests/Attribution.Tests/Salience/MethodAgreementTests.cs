using Attribution.Salience;

namespace Attribution.Tests.Salience;

public sealed class MethodAgreementTests
{
    [Fact]
    public void Spearman_matches_hand_computed_values()
    {
        MethodAgreement.Spearman([1, 2, 3, 4], [10, 20, 30, 40]).Should().Be(1);
        MethodAgreement.Spearman([1, 2, 3, 4], [4, 3, 2, 1]).Should().Be(-1);

        // scipy.stats.spearmanr([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) = 0.8207826816681233 (ties share their average rank).
        MethodAgreement.Spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]).Should().BeApproximately(0.8207826816681233, 1e-12);
        MethodAgreement.Ranks([3, 1, 3, 2]).Should().Equal(3.5, 1, 3.5, 2);
    }

    [Fact]
    public void Spearman_is_undefined_for_constant_or_single_values()
    {
        double.IsNaN(MethodAgreement.Spearman([1, 1, 1], [1, 2, 3])).Should().BeTrue();
        double.IsNaN(MethodAgreement.Spearman([1], [2])).Should().BeTrue();
        new PairAgreement("a", "b", [double.NaN, 0.5, 1]).Mean.Should().Be(0.75);
    }
}
