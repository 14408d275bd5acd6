using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods.LimeParts;

/// <summary>Distances, kernels and the weighted linear fits of LIME, in double precision.</summary>
internal static class LimeRegression
{
    /// <summary>Coordinate-descent sweeps before the Lasso gives up (it converges in far fewer on LIME problems).</summary>
    private const int MaxSweeps = 100_000;

    /// <summary>
    /// Cosine distance of each mask to the all-on mask, times <paramref name="scale"/>, as scikit-learn's
    /// <c>pairwise_distances(metric="cosine")</c>: 1 − k/(√n·√k) for k features on, 1 for an all-off mask (its
    /// normalized vector is zero), clipped to [0, 2].
    /// </summary>
    public static double[] CosineDistances(IReadOnlyList<IReadOnlyList<bool>> masks, int features, double scale)
    {
        var distances = new double[masks.Count];
        var rootN = Math.Sqrt(features);
        for (var s = 0; s < masks.Count; s++)
        {
            var on = masks[s].Count(v => v);
            var similarity = on == 0 ? 0.0 : on / (rootN * Math.Sqrt(on));
            distances[s] = Math.Clamp(1.0 - similarity, 0.0, 2.0) * scale;
        }

        return distances;
    }

    /// <summary>LIT's kernel √exp(−d²/w²).</summary>
    public static double LitKernel(double distance, double width) => Math.Sqrt(Math.Exp(-(distance * distance) / (width * width)));

    /// <summary>Captum's kernel exp(−d²/(2w²)).</summary>
    public static double CaptumKernel(double distance, double width) => Math.Exp(-(distance * distance) / (2 * width * width));

    /// <summary>
    /// Weighted ridge regression with an unpenalised intercept, as scikit-learn's <c>Ridge(alpha).fit(X, y,
    /// sample_weight=w)</c>: X and y are centred on their weighted means and scaled by √w, the normal equations
    /// (X̃ᵀX̃ + αI) c = X̃ᵀỹ are solved by Cholesky factorization in libtorch (when α = 0, the minimum-norm least-squares
    /// solution through the pseudo-inverse), and the intercept is ȳ − x̄·c. This minimises Σ wᵢ (yᵢ − b − xᵢ·c)² + α‖c‖².
    /// </summary>
    public static (double[] Coefficients, double Intercept) Ridge(IReadOnlyList<IReadOnlyList<bool>> masks, double[] targets, double[] weights, int features, double alpha)
    {
        var (columns, centred, xMean, yMean) = Centre(masks, targets, weights, features);
        var m = masks.Count;
        var flat = new double[m * features];
        for (var j = 0; j < features; j++)
        {
            for (var i = 0; i < m; i++)
            {
                flat[(i * features) + j] = columns[j][i];
            }
        }

        double[] coefficients;
        using (var scope = NewDisposeScope())
        {
            var x = tensor(flat, [m, features]);
            var y = tensor(centred, [m, 1]);
            Tensor solution;
            if (alpha > 0)
            {
                var xt = x.t();
                using var identity = eye(features, dtype: ScalarType.Float64);
                using var ridge = identity.Times(alpha);
                var gram = xt.mm(x).Plus(ridge);
                var factor = linalg.cholesky(gram);
                solution = cholesky_solve(xt.mm(y), factor);
            }
            else
            {
                // The minimum-norm solution through the SVD-based pseudo-inverse (scipy's gelsd, with numpy's default
                // cut-off eps·max(m, n)·σ₁). Not linalg.lstsq: on the CPU it runs LAPACK's gelsy, whose rank decision for
                // a zero column (a feature present in every sample) depends on uninitialised memory (PyTorch issues
                // 71222, 92537), so the same call returned different coefficients from run to run.
                const double machineEpsilon = 2.220446049250313e-16; // 2⁻⁵², numpy's finfo(float64).eps
                solution = linalg.pinv(x, rtol: Math.Max(m, features) * machineEpsilon).mm(y);
            }

            coefficients = solution.reshape([features]).contiguous().data<double>().ToArray();
        }

        return (coefficients, Intercept(xMean, yMean, coefficients));
    }

    /// <summary>
    /// Weighted Lasso with an unpenalised intercept, as scikit-learn's <c>Lasso(alpha).fit(X, y, sample_weight=w)</c>
    /// (which rescales the weights to sum to the sample count): minimises ½·Σ wᵢ (yᵢ − b − xᵢ·c)² / Σ wᵢ + α‖c‖₁ by
    /// cyclic coordinate descent on the centred, √w-scaled data, until no coefficient moves by more than 1e-12 (scikit-
    /// learn stops earlier, at a duality gap of 1e-4 × ‖ỹ‖², so its figures are this minimiser's to about that).
    /// </summary>
    public static (double[] Coefficients, double Intercept, bool Converged) Lasso(
        IReadOnlyList<IReadOnlyList<bool>> masks, double[] targets, double[] weights, int features, double alpha)
    {
        var (columns, residual, xMean, yMean) = Centre(masks, targets, weights, features);
        var threshold = alpha * weights.Sum();
        var norms = columns.Select(c => c.Sum(v => v * v)).ToArray();
        var coefficients = new double[features];
        var converged = false;
        for (var sweep = 0; sweep < MaxSweeps && !converged; sweep++)
        {
            var largestChange = 0.0;
            var largestCoefficient = 0.0;
            for (var j = 0; j < features; j++)
            {
                if (norms[j] == 0)
                {
                    continue;
                }

                var column = columns[j];
                var old = coefficients[j];
                var rho = norms[j] * old;
                for (var i = 0; i < column.Length; i++)
                {
                    rho += column[i] * residual[i];
                }

                var updated = Math.Sign(rho) * Math.Max(Math.Abs(rho) - threshold, 0.0) / norms[j];
                var change = updated - old;
                if (change != 0)
                {
                    for (var i = 0; i < column.Length; i++)
                    {
                        residual[i] -= change * column[i];
                    }

                    coefficients[j] = updated;
                }

                largestChange = Math.Max(largestChange, Math.Abs(change));
                largestCoefficient = Math.Max(largestCoefficient, Math.Abs(updated));
            }

            converged = largestChange <= 1e-12 * Math.Max(1.0, largestCoefficient);
        }

        return (coefficients, Intercept(xMean, yMean, coefficients), converged);
    }

    /// <summary>Kernel-weighted and unweighted R² of the surrogate on the samples (scikit-learn's <c>r2_score</c>).</summary>
    public static (double Weighted, double Unweighted) RSquared(
        IReadOnlyList<IReadOnlyList<bool>> masks, double[] targets, double[] weights, double[] coefficients, double intercept)
    {
        var predictions = masks.Select(mask =>
        {
            var value = intercept;
            for (var j = 0; j < coefficients.Length; j++)
            {
                if (mask[j])
                {
                    value += coefficients[j];
                }
            }

            return value;
        }).ToArray();
        return (Score(targets, predictions, weights), Score(targets, predictions, null));
    }

    private static double Score(double[] targets, double[] predictions, double[]? weights)
    {
        double total = 0, mean = 0;
        for (var i = 0; i < targets.Length; i++)
        {
            var w = weights?[i] ?? 1.0;
            total += w;
            mean += w * targets[i];
        }

        mean /= total;
        double residual = 0, spread = 0;
        for (var i = 0; i < targets.Length; i++)
        {
            var w = weights?[i] ?? 1.0;
            residual += w * (targets[i] - predictions[i]) * (targets[i] - predictions[i]);
            spread += w * (targets[i] - mean) * (targets[i] - mean);
        }

        // scikit-learn's convention for constant targets: a perfect fit scores 1, anything else 0.
        if (spread == 0)
        {
            return residual == 0 ? 1.0 : 0.0;
        }

        return 1.0 - (residual / spread);
    }

    /// <summary>Columns of √w·(X − x̄), √w·(y − ȳ), and the weighted means.</summary>
    private static (double[][] Columns, double[] Targets, double[] XMean, double YMean) Centre(
        IReadOnlyList<IReadOnlyList<bool>> masks, double[] targets, double[] weights, int features)
    {
        var m = masks.Count;
        var total = weights.Sum();
        if (!(total > 0))
        {
            throw new InvalidOperationException(
                "every kernel weight is zero, so the samples carry no information: the kernel width is too small for the distances (widen it)");
        }

        var xMean = new double[features];
        var yMean = 0.0;
        for (var i = 0; i < m; i++)
        {
            yMean += weights[i] * targets[i];
            for (var j = 0; j < features; j++)
            {
                if (masks[i][j])
                {
                    xMean[j] += weights[i];
                }
            }
        }

        yMean /= total;
        for (var j = 0; j < features; j++)
        {
            xMean[j] /= total;
        }

        var roots = weights.Select(Math.Sqrt).ToArray();
        var columns = new double[features][];
        for (var j = 0; j < features; j++)
        {
            var column = new double[m];
            for (var i = 0; i < m; i++)
            {
                column[i] = roots[i] * ((masks[i][j] ? 1.0 : 0.0) - xMean[j]);
            }

            columns[j] = column;
        }

        var centred = new double[m];
        for (var i = 0; i < m; i++)
        {
            centred[i] = roots[i] * (targets[i] - yMean);
        }

        return (columns, centred, xMean, yMean);
    }

    private static double Intercept(double[] xMean, double yMean, double[] coefficients)
    {
        var intercept = yMean;
        for (var j = 0; j < coefficients.Length; j++)
        {
            intercept -= xMean[j] * coefficients[j];
        }

        return intercept;
    }
}
