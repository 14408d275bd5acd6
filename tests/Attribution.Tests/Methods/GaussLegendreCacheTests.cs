using Attribution.Methods;

namespace Attribution.Tests.Methods;

/// <summary>
/// The Gauss–Legendre nodes are cached per step count for the whole process. A service whose callers choose the step
/// count must not keep every count ever asked for (unbounded: up to 10,000 arrays, about 800 MB), and what it returns
/// after the cache was emptied must still be the rule. Runs alone: the cache is process-wide, and another test adding
/// counts at the same moment could push it one past the bound.
/// </summary>
[Collection(LiveTensorCollection.Name)]
public sealed class GaussLegendreCacheTests
{
    [Fact]
    public void The_cache_stays_bounded_over_many_step_counts_and_its_nodes_stay_exact()
    {
        // 300 distinct counts (cheap: the nodes are O(n²) to compute), well past the bound of 64.
        for (var n = 1; n <= 300; n++)
        {
            IntegrationRules.Alphas(IntegrationRule.GaussLegendre, n);
            IntegrationRules.CachedGaussLegendreCount.Should().BeLessThanOrEqualTo(IntegrationRules.CachedStepCounts, $"after {n} step counts");
        }

        // Bounded, but still a cache: a few counts asked for after it was emptied are all kept (a clear on every new
        // count would also stay under the bound).
        IntegrationRules.Alphas(IntegrationRule.GaussLegendre, 1);
        var kept = IntegrationRules.CachedGaussLegendreCount;
        kept.Should().BeLessThan(IntegrationRules.CachedStepCounts - 5);
        for (var n = 301; n <= 305; n++)
        {
            IntegrationRules.Alphas(IntegrationRule.GaussLegendre, n);
        }

        IntegrationRules.CachedGaussLegendreCount.Should().Be(kept + 5);

        // By hand, on [0, 1] (nodes (1 + x) / 2, weights w / 2 of the rule on [−1, 1]): 2 points x = ±1/√3, w = 1;
        // 3 points x = 0, ±√(3/5), w = 8/9, 5/9. Tolerance 1e-15: Newton's iteration converges to about one ulp of 1.
        var third = 1 / Math.Sqrt(3);
        IntegrationRules.Alphas(IntegrationRule.GaussLegendre, 2).Should().Equal([(1 - third) / 2, (1 + third) / 2], (a, e) => Math.Abs(a - e) <= 1e-15);
        IntegrationRules.StepSizes(IntegrationRule.GaussLegendre, 2).Should().Equal([0.5, 0.5], (a, e) => Math.Abs(a - e) <= 1e-15);
        var root = Math.Sqrt(0.6);
        IntegrationRules.Alphas(IntegrationRule.GaussLegendre, 3).Should().Equal([(1 - root) / 2, 0.5, (1 + root) / 2], (a, e) => Math.Abs(a - e) <= 1e-15);
        IntegrationRules.StepSizes(IntegrationRule.GaussLegendre, 3).Should().Equal([5.0 / 18, 8.0 / 18, 5.0 / 18], (a, e) => Math.Abs(a - e) <= 1e-15);
    }
}
