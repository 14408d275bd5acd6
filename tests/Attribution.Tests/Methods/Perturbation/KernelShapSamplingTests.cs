using Attribution.Methods;

namespace Attribution.Tests.Methods.Perturbation;

/// <summary>
/// KernelSHAP's draws against the Shapley kernel's sampling distribution (Lundberg and Lee 2017; Captum's
/// <c>kernel_shap_perturb_generator</c>): a coalition size k in 1..n−1 with probability ∝ (n − 1)/(k(n − k)), then k
/// features uniformly. The draws are seeded, so each check is deterministic; the thresholds are chi-square quantiles
/// at p = 0.001, which a correct sampler passes for almost every seed and a wrong size law or a biased choice of
/// features fails by orders of magnitude at these sample counts.
/// </summary>
public sealed class KernelShapSamplingTests
{
    private const int Features = 20;
    private const int Draws = 60_000;

    private static (double[] BySize, double[] ByFeature) Tally(ulong seed)
    {
        var drawn = new KernelShap { Samples = Draws, Seed = seed }.Drawn(Features);
        var bySize = new double[Features];
        var byFeature = new double[Features];
        foreach (var (coalition, count) in drawn)
        {
            bySize[coalition.Count(p => p)] += count;
            for (var i = 0; i < Features; i++)
            {
                byFeature[i] += coalition[i] ? count : 0;
            }
        }

        return (bySize, byFeature);
    }

    private static double ChiSquare(IEnumerable<(double Observed, double Expected)> cells) =>
        cells.Sum(c => (c.Observed - c.Expected) * (c.Observed - c.Expected) / c.Expected);

    [Theory]
    [InlineData(0UL)]
    [InlineData(7UL)]
    public void Coalition_sizes_follow_the_Shapley_kernel(ulong seed)
    {
        var (bySize, _) = Tally(seed);
        bySize.Sum().Should().Be(Draws, "every draw counts once, repeats included");
        bySize[0].Should().Be(0, "the empty coalition is not drawn (it is scored apart)");

        // P(k) = (n − 1)/(k(n − k)) / Σ_j (n − 1)/(j(n − j)), written from the definition.
        var kernel = Enumerable.Range(1, Features - 1).Select(k => (Features - 1.0) / (k * (Features - k))).ToArray();
        var total = kernel.Sum();
        var cells = Enumerable.Range(1, Features - 1).Select(k => (bySize[k], Draws * kernel[k - 1] / total));

        // 18 degrees of freedom: the 0.999 quantile is 42.31.
        ChiSquare(cells).Should().BeLessThan(42.31);
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(7UL)]
    public void Within_a_size_every_feature_is_as_likely(ulong seed)
    {
        var (bySize, byFeature) = Tally(seed);

        // Given k, each feature is present with probability k/n, so its expected count is Σ_k N_k k/n, the same for all.
        var expected = Enumerable.Range(1, Features - 1).Sum(k => bySize[k] * k / Features);

        // 19 degrees of freedom (the counts share one total): the 0.999 quantile is 43.82. The variance of a feature's
        // count is below its mean (present or not, with p < 1), so the statistic is conservative.
        ChiSquare(byFeature.Select(o => (o, expected))).Should().BeLessThan(43.82);
    }
}
