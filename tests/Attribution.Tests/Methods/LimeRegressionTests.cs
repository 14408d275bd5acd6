using Attribution.Methods.LimeParts;
using Attribution.Tests.Methods.Perturbation;

namespace Attribution.Tests.Methods;

/// <summary>
/// LIME's distances, kernels and fits against their definitions, with expected values computed here: the ridge from
/// the normal equations of the uncentred problem with an explicit intercept column (solved by Gaussian elimination,
/// not by centring and Cholesky as the class does), the Lasso by its optimality (KKT) conditions, R² by its formula.
/// </summary>
public class LimeRegressionTests
{
    // All 8 masks of 3 features: with the intercept the design has full rank.
    private static readonly bool[][] Masks = Enumerable.Range(0, 8).Select(k => new[] { (k & 1) != 0, (k & 2) != 0, (k & 4) != 0 }).ToArray();

    private static readonly double[] Targets = [0.1, 0.9, -0.3, 0.4, 1.7, 0.8, 0.2, 1.1];

    // Weights that do not sum to 1 (the Lasso's penalty scales with their sum).
    private static readonly double[] Weights = [1.0, 0.5, 2.0, 0.25, 1.5, 0.75, 3.0, 0.6];

    [Fact]
    public void Cosine_distance_is_one_minus_k_over_root_n_root_k_times_the_scale()
    {
        bool[][] masks = [[false, false, false, false], [true, false, false, false], [false, true, true, false], [true, true, true, true]];
        var distances = LimeRegression.CosineDistances(masks, 4, 100);
        distances.Should().Equal([100.0, 50.0, 100 * (1 - (2 / (2 * Math.Sqrt(2)))), 0.0], (a, e) => Math.Abs(a - e) <= 1e-12);

        // 3/(√3·√3) rounds to 1 + 2⁻⁵²: the distance is clipped at 0, never negative.
        LimeRegression.CosineDistances([[true, true, true]], 3, 1.0).Should().Equal(0.0);
    }

    [Theory]
    [InlineData(0.0, 0.25)]
    [InlineData(0.3, 0.25)]
    [InlineData(2.0, 0.75)]
    public void Both_kernels_are_exp_of_minus_d_squared_over_two_w_squared(double distance, double width)
    {
        // LIT's √exp(−d²/w²) and Captum's exp(−d²/(2w²)) are the same function.
        var expected = Math.Exp(-(distance * distance) / (2 * width * width));
        LimeRegression.LitKernel(distance, width).Should().BeApproximately(expected, 1e-15);
        LimeRegression.CaptumKernel(distance, width).Should().BeApproximately(expected, 1e-15);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.5)]
    [InlineData(3.0)]
    public void Ridge_minimises_the_weighted_squares_plus_alpha_times_the_squared_coefficients(double alpha)
    {
        var (coefficients, intercept) = LimeRegression.Ridge(Masks, Targets, Weights, 3, alpha);
        var expected = RidgeByNormalEquations(alpha);
        intercept.Should().BeApproximately(expected[0], 1e-12);
        coefficients.Should().Equal(expected[1..], (a, e) => Math.Abs(a - e) <= 1e-12);
    }

    [Fact]
    public void Unpenalised_least_squares_handles_a_feature_that_never_changes()
    {
        // Feature 3 is on in every sample: its centred column is zero, XᵀX is singular (no Cholesky), and least squares
        // gives it coefficient 0 (minimum norm) and the other three the full-rank fit.
        var masks = Masks.Select(m => new[] { m[0], m[1], m[2], true }).ToArray();
        var (coefficients, intercept) = LimeRegression.Ridge(masks, Targets, Weights, 4, 0.0);
        var expected = RidgeByNormalEquations(0.0);
        coefficients[3].Should().BeApproximately(0, 1e-12);
        coefficients[..3].Should().Equal(expected[1..], (a, e) => Math.Abs(a - e) <= 1e-10);
        intercept.Should().BeApproximately(expected[0], 1e-10);
    }

    [Fact]
    public void Unpenalised_least_squares_gives_the_same_answer_whatever_memory_it_lands_in()
    {
        // LAPACK's gelsy (linalg.lstsq's CPU default) read uninitialised memory in its rank decision for a zero column:
        // once freed integer tensors had left their contents behind, the fit above returned other coefficients (seen in
        // CI; with lstsq back, 435 of 2,000 calls in a first try here and 29 of this test's 500). Each call must give the
        // full-rank fit.
        var masks = Masks.Select(m => new[] { m[0], m[1], m[2], true }).ToArray();
        var expected = RidgeByNormalEquations(0.0);
        var wrong = 0;
        for (var call = 0; call < 500; call++)
        {
            for (var k = 0; k < 50; k++)
            {
                using var litter = TorchSharp.torch.randint(0, 1000, [97], dtype: TorchSharp.torch.ScalarType.Int64);
            }

            var (coefficients, _) = LimeRegression.Ridge(masks, Targets, Weights, 4, 0.0);
            if (Enumerable.Range(0, 3).Any(j => Math.Abs(coefficients[j] - expected[j + 1]) > 1e-10))
            {
                wrong++;
            }
        }

        wrong.Should().Be(0, "the minimum-norm solution does not depend on what memory held before");
    }

    [Theory]
    [InlineData(0.01, 1.0)]
    [InlineData(0.05, 1.0)]
    [InlineData(0.01, 1e6)]
    public void Lasso_satisfies_the_optimality_conditions(double alpha, double scale)
    {
        // ½·Σ wᵢ rᵢ² / Σw + α‖c‖₁ with rᵢ = yᵢ − b − xᵢ·c is minimal iff Σ wᵢ rᵢ = 0 and, per feature j, the gradient
        // gⱼ = Σ wᵢ xᵢⱼ rᵢ / Σw equals α·sign(cⱼ) where cⱼ ≠ 0 and |gⱼ| ≤ α where cⱼ = 0. Feature 3 is on in every
        // sample (no information: its coefficient is 0). Scaling the targets and α by 1e6 scales the solution.
        var masks = Masks.Select(m => new[] { m[0], m[1], m[2], true }).ToArray();
        var targets = Targets.Select(t => t * scale).ToArray();
        var (c, b, converged) = LimeRegression.Lasso(masks, targets, Weights, 4, alpha * scale);
        converged.Should().BeTrue();
        c[3].Should().Be(0);
        var total = Weights.Sum();
        var residuals = masks.Select((m, i) => targets[i] - b - Enumerable.Range(0, 4).Where(j => m[j]).Sum(j => c[j])).ToArray();
        residuals.Select((r, i) => Weights[i] * r).Sum().Should().BeApproximately(0, 1e-9 * scale);
        for (var j = 0; j < 3; j++)
        {
            var g = masks.Select((m, i) => m[j] ? Weights[i] * residuals[i] : 0).Sum() / total;
            if (c[j] != 0)
            {
                g.Should().BeApproximately(alpha * scale * Math.Sign(c[j]), 1e-9 * scale, $"feature {j}");
            }
            else
            {
                Math.Abs(g).Should().BeLessThanOrEqualTo((alpha * scale) + (1e-9 * scale), $"feature {j}");
            }
        }

        c.Take(3).Count(v => v != 0).Should().BeGreaterThan(0, "the penalty is small enough to keep some features");
    }

    [Fact]
    public void Lasso_with_a_small_penalty_keeps_every_feature_and_one_too_large_keeps_none()
    {
        var (small, _, _) = LimeRegression.Lasso(Masks, Targets, Weights, 3, 1e-4);
        small.Should().OnlyContain(v => v != 0);

        // With every coefficient 0 the intercept is the weighted mean of the targets.
        var (none, intercept, converged) = LimeRegression.Lasso(Masks, Targets, Weights, 3, 10);
        converged.Should().BeTrue();
        none.Should().Equal(0.0, 0.0, 0.0);
        intercept.Should().BeApproximately(Targets.Select((t, i) => Weights[i] * t).Sum() / Weights.Sum(), 1e-15);
    }

    [Fact]
    public void R_squared_is_one_minus_residual_over_spread_weighted_and_not()
    {
        bool[][] masks = [[true, false], [false, true], [true, true], [false, false]];
        double[] targets = [1.0, 2.0, 4.0, 0.5];
        double[] weights = [2.0, 1.0, 0.5, 1.5];
        double[] coefficients = [1.0, 1.5];
        const double intercept = 0.25;
        var predictions = new[] { 1.25, 1.75, 2.75, 0.25 };

        static double R2(double[] y, double[] p, double[] w)
        {
            var mean = y.Select((v, i) => w[i] * v).Sum() / w.Sum();
            var residual = y.Select((v, i) => w[i] * (v - p[i]) * (v - p[i])).Sum();
            var spread = y.Select((v, i) => w[i] * (v - mean) * (v - mean)).Sum();
            return 1 - (residual / spread);
        }

        var (weighted, unweighted) = LimeRegression.RSquared(masks, targets, weights, coefficients, intercept);
        weighted.Should().BeApproximately(R2(targets, predictions, weights), 1e-15);
        unweighted.Should().BeApproximately(R2(targets, predictions, [1, 1, 1, 1]), 1e-15);
        weighted.Should().NotBeApproximately(unweighted, 1e-3);
    }

    [Fact]
    public void R_squared_of_constant_targets_is_one_for_a_perfect_fit_and_zero_otherwise()
    {
        bool[][] masks = [[true], [false], [true]];
        double[] targets = [3.0, 3.0, 3.0];
        double[] weights = [1.0, 2.0, 0.5];
        LimeRegression.RSquared(masks, targets, weights, [0.0], 3.0).Should().Be((1.0, 1.0));
        LimeRegression.RSquared(masks, targets, weights, [0.5], 3.0).Should().Be((0.0, 0.0));
    }

    [Fact]
    public void Zero_kernel_weights_are_refused()
    {
        var zeros = new double[Masks.Length];
        var ridge = () => LimeRegression.Ridge(Masks, Targets, zeros, 3, 1.0);
        ridge.Should().Throw<InvalidOperationException>().WithMessage("every kernel weight is zero*");
        var lasso = () => LimeRegression.Lasso(Masks, Targets, zeros, 3, 0.01);
        lasso.Should().Throw<InvalidOperationException>();
        var nan = () => LimeRegression.Ridge(Masks, Targets, Enumerable.Repeat(double.NaN, Masks.Length).ToArray(), 3, 1.0);
        nan.Should().Throw<InvalidOperationException>();
    }

    /// <summary>[b, c₁, c₂, c₃] from (AᵀWA + diag(0, α, α, α)) θ = AᵀWy with A = [1 | X].</summary>
    private static double[] RidgeByNormalEquations(double alpha)
    {
        const int size = 4;
        var a = new double[size, size + 1];
        for (var s = 0; s < Masks.Length; s++)
        {
            double[] row = [1.0, .. Masks[s].Select(v => v ? 1.0 : 0.0)];
            for (var i = 0; i < size; i++)
            {
                a[i, size] += Weights[s] * row[i] * Targets[s];
                for (var j = 0; j < size; j++)
                {
                    a[i, j] += Weights[s] * row[i] * row[j];
                }
            }
        }

        for (var i = 1; i < size; i++)
        {
            a[i, i] += alpha;
        }

        return ConstrainedLeastSquaresTests.GaussianElimination(a, size);
    }
}
