using Attribution.Methods.Perturbation;

namespace Attribution.Tests.Methods.Perturbation;

/// <summary>
/// KernelSHAP's constrained weighted least squares against the definition: minimise Σ wₛ (yₛ − Σ_{i∈S} φᵢ)² subject
/// to Σφᵢ = total, solved here from its Lagrange (KKT) system [2ZᵀWZ 1; 1ᵀ 0][φ; λ] = [2ZᵀWy; total] by Gaussian
/// elimination — not by the elimination of the last score and the Cholesky factorization the class uses.
/// </summary>
public class ConstrainedLeastSquaresTests
{
    private static readonly (bool[] Present, double Y, double Weight)[] FourFeatureSamples =
    [
        ([true, false, false, false], 1.5, 2.0),
        ([false, true, false, false], -0.5, 1.0),
        ([false, false, true, false], 0.25, 3.0),
        ([false, false, false, true], 2.0, 0.5),
        ([true, true, false, false], 0.75, 1.5),
        ([false, true, true, true], 1.0, 0.7),
        ([true, false, true, false], -1.25, 1.2),
        ([true, true, true, false], 3.0, 0.4),
        ([false, false, true, true], 0.5, 2.5),
    ];

    [Theory]
    [InlineData(0.0)]
    [InlineData(3.5)]
    [InlineData(-2.0)]
    public void Scores_solve_the_constrained_weighted_least_squares(double total)
    {
        var solver = new ConstrainedLeastSquares(4, total);
        foreach (var (present, y, weight) in FourFeatureSamples)
        {
            solver.Add(present, y, weight);
        }

        var (scores, ridge) = solver.Solve();
        ridge.Should().Be(0, "the samples determine every score");
        var expected = Kkt(FourFeatureSamples, 4, total);
        scores.Should().Equal(expected, (a, e) => Math.Abs(a - e) <= 1e-12);
        scores.Sum().Should().BeApproximately(total, 1e-12);
    }

    [Fact]
    public void Coalitions_with_every_or_no_feature_add_nothing_to_the_fit()
    {
        // Their rows (zᵢ − zₙ) are zero; only the constraint pins such a coalition, so the result is unchanged.
        var samples = FourFeatureSamples.Take(5).ToArray();
        var plain = new ConstrainedLeastSquares(4, 1.0);
        var padded = new ConstrainedLeastSquares(4, 1.0);
        foreach (var (present, y, weight) in samples)
        {
            plain.Add(present, y, weight);
            padded.Add(present, y, weight);
        }

        padded.Add([true, true, true, true], 40.0, 3.0);
        padded.Add([false, false, false, false], -7.0, 2.0);
        padded.Solve().Scores.Should().Equal(plain.Solve().Scores, (a, e) => Math.Abs(a - e) <= 1e-12);
        padded.Solve().Scores.Should().Equal(Kkt(samples, 4, 1.0), (a, e) => Math.Abs(a - e) <= 1e-12);
    }

    // Undetermined systems: the ridge r·Σᵢ φᵢ² is on all n scores, so a feature no coalition told apart from another
    // gets the same score as it. Closed forms below from the Lagrangian of Σ wₛ(yₛ − Σ_{i∈S} φᵢ)² + r·Σφᵢ²
    // subject to Σφᵢ = total, for one sample {j} (weight w, value y) and k features never seen: each unseen score is
    // s = (total·(w + r) − w·y) / (k·w + (k + 1)·r) and φⱼ = (w·y + r·s) / (w + r). Tolerance 1e-14: a few roundings
    // of numbers of order 1 (the Cholesky of a 2×2 or 3×3 matrix).
    [Fact]
    public void An_undetermined_system_gets_the_documented_ridge()
    {
        // Only feature 0 alone was seen (weight 10, |S| = 1 of n = 3): the order-free trace is 10·2·1·2/3 = 40/3, over
        // m = 2 unknowns, so the ridge is max(20/3, 1)·1e-8. Features 1 and 2 were never seen: they share what the
        // constraint leaves (≈ (2 − 4)/2 each), instead of 0 for one and −2 for the last.
        const double w = 10, y = 4, t = 2, r = 20.0 / 3 * 1e-8;
        var solver = new ConstrainedLeastSquares(3, t);
        solver.Add([true, false, false], y, w);
        var (scores, ridge) = solver.Solve();
        ridge.Should().BeApproximately(r, 1e-22);
        var unseen = ((t * (w + r)) - (w * y)) / ((2 * w) + (3 * r));
        scores.Should().Equal([((w * y) + (r * unseen)) / (w + r), unseen, unseen], (a, e) => Math.Abs(a - e) <= 1e-14);
    }

    [Fact]
    public void A_small_trace_takes_the_ridge_floor_of_1e_minus_8()
    {
        // Order-free trace 0.5·2·1·3/4 = 0.75 over m = 3: max(0.25, 1)·1e-8 = 1e-8. Features 0, 2 and 3 were never seen (k = 3).
        const double w = 0.5, y = 1, t = 0, r = 1e-8;
        var solver = new ConstrainedLeastSquares(4, t);
        solver.Add([false, true, false, false], y, w);
        var (scores, ridge) = solver.Solve();
        ridge.Should().Be(r);
        var unseen = ((t * (w + r)) - (w * y)) / ((3 * w) + (4 * r));
        scores.Should().Equal([unseen, ((w * y) + (r * unseen)) / (w + r), unseen, unseen], (a, e) => Math.Abs(a - e) <= 1e-14);
    }

    [Fact]
    public void A_pivot_tiny_relative_to_the_largest_diagonal_entry_counts_as_undetermined()
    {
        // Normal matrix diag(1e6, 1e-7): the second pivot 1e-7 is below 1e-12 × 1e6, so the plain solve is refused and
        // the ridge max((1e6 + 1e-7)·(4/3)/2, 1)·1e-8 ≈ 6.7e-3 (two singletons of n = 3: 2·1·2/3 each) is added on every
        // score; expected from the Lagrange system with 2r added to its diagonal (Gaussian elimination, not the class's
        // Cholesky). Tolerance 1e-12: elimination on entries up to 2e6, whose rounding is ~1e-16 × 2e6 / 1e6.
        (bool[], double, double)[] samples = [([true, false, false], 1.0, 1e6), ([false, true, false], 1.0, 1e-7)];
        var solver = new ConstrainedLeastSquares(3, 1.0);
        foreach (var (present, y, weight) in samples)
        {
            solver.Add(present, y, weight);
        }

        var (scores, ridge) = solver.Solve();
        var r = (1e6 + 1e-7) * (4.0 / 3) / 2 * 1e-8;
        ridge.Should().BeApproximately(r, 1e-18);
        scores.Should().Equal(Kkt(samples, 3, 1.0, r), (a, e) => Math.Abs(a - e) <= 1e-12);
    }

    [Fact]
    public void No_information_at_all_shares_the_total_evenly()
    {
        // An all-zero normal matrix: the plain Cholesky must refuse it (pivot 0 ≤ 0); with the ridge on every score the
        // only thing left is the constraint, whose smallest-norm solution is total / n each (the old ridge on the
        // eliminated scores alone gave 0, 0 and the whole 1.25 to the last feature).
        var solver = new ConstrainedLeastSquares(3, 1.25);
        solver.Add([true, true, true], 5.0, 1.0);
        var (scores, ridge) = solver.Solve();
        ridge.Should().Be(1e-8);
        scores.Should().Equal([1.25 / 3, 1.25 / 3, 1.25 / 3], (a, e) => Math.Abs(a - e) <= 1e-15);
    }

    [Fact]
    public void An_undetermined_fit_does_not_depend_on_the_order_of_the_features()
    {
        // Five features, three coalitions (not enough for four free scores): reversing the features reverses the scores.
        // Before, the eliminated (last) score took whatever the data left open, so the same coalitions gave the last
        // word a large score in one order and a small one in the other.
        (bool[] Present, double Y, double Weight)[] samples =
        [
            ([true, true, false, false, false], 0.8, 1.0),
            ([false, false, true, false, false], -0.3, 2.0),
            ([true, false, false, false, true], 0.5, 0.5),
        ];
        var forward = new ConstrainedLeastSquares(5, 1.5);
        var reversed = new ConstrainedLeastSquares(5, 1.5);
        foreach (var (present, y, weight) in samples)
        {
            forward.Add(present, y, weight);
            reversed.Add(present.Reverse().ToArray(), y, weight);
        }

        var (a, ridgeA) = forward.Solve();
        var (b, ridgeB) = reversed.Solve();
        ridgeA.Should().BeGreaterThan(0);
        ridgeB.Should().Be(ridgeA);
        // Tolerance 1e-7: the directions the data leave open are fixed by the ridge alone (r = 1e-8 here), so rounding
        // there is amplified by about 1/r (measured: 7e-9); the old, order-dependent answer was off by 0.1 or more.
        b.Reverse().Should().Equal(a, (x, e) => Math.Abs(x - e) <= 1e-7);
        a.Should().Equal(Kkt(samples, 5, 1.5, ridgeA), (x, e) => Math.Abs(x - e) <= 1e-7);
    }

    [Fact]
    public void The_last_feature_present_shifts_the_target_by_the_total()
    {
        // Two features: φ₀ + φ₁ = total. Samples {0}: y = a and {1}: y = b with weights u, v. With φ₁ = t − φ₀ the fit
        // minimises u(a − φ₀)² + v(b − t + φ₀)², so φ₀ = (u·a − v·(b − t))/(u + v).
        const double a = 1.0, b = 3.0, u = 2.0, v = 1.0, t = 5.0;
        var solver = new ConstrainedLeastSquares(2, t);
        solver.Add([true, false], a, u);
        solver.Add([false, true], b, v);
        var phi0 = ((u * a) - (v * (b - t))) / (u + v);
        solver.Solve().Scores.Should().Equal([phi0, t - phi0], (x, e) => Math.Abs(x - e) <= 1e-14);
    }

    /// <summary>
    /// The Lagrange system of the constrained problem (with the penalty <paramref name="ridge"/>·Σφᵢ², i.e. 2·ridge on
    /// the diagonal), solved by Gaussian elimination with partial pivoting.
    /// </summary>
    private static double[] Kkt((bool[] Present, double Y, double Weight)[] samples, int n, double total, double ridge = 0)
    {
        var size = n + 1;
        var a = new double[size, size + 1];
        foreach (var (present, y, w) in samples)
        {
            for (var i = 0; i < n; i++)
            {
                var zi = present[i] ? 1.0 : 0.0;
                a[i, size] += 2 * w * zi * y;
                for (var j = 0; j < n; j++)
                {
                    a[i, j] += 2 * w * zi * (present[j] ? 1.0 : 0.0);
                }
            }
        }

        for (var i = 0; i < n; i++)
        {
            a[i, i] += 2 * ridge;
            a[i, n] = 1;
            a[n, i] = 1;
        }

        a[n, size] = total;
        return GaussianElimination(a, size)[..n];
    }

    internal static double[] GaussianElimination(double[,] a, int size)
    {
        for (var col = 0; col < size; col++)
        {
            var pivot = Enumerable.Range(col, size - col).MaxBy(r => Math.Abs(a[r, col]));
            for (var k = 0; k <= size; k++)
            {
                (a[col, k], a[pivot, k]) = (a[pivot, k], a[col, k]);
            }

            for (var r = 0; r < size; r++)
            {
                if (r == col)
                {
                    continue;
                }

                var factor = a[r, col] / a[col, col];
                for (var k = col; k <= size; k++)
                {
                    a[r, k] -= factor * a[col, k];
                }
            }
        }

        return Enumerable.Range(0, size).Select(i => a[i, size] / a[i, i]).ToArray();
    }
}
