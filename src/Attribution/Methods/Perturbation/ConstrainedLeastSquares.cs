namespace Attribution.Methods.Perturbation;

/// <summary>
/// Weighted least squares of y(S) ≈ Σ_{i∈S} φᵢ subject to Σφᵢ = <c>total</c>, accumulated one coalition at a time
/// (memory O(n²) whatever the number of coalitions). The constraint is imposed by eliminating the last score:
/// φₙ = total − Σ_{i&lt;n} φᵢ, so y − zₙ·total ≈ Σ_{i&lt;n} (zᵢ − zₙ) φᵢ, solved by Cholesky on the normal equations.
/// When the coalitions do not determine every score, a small ridge r·Σᵢ φᵢ² on all n scores (the eliminated one
/// included) picks the solution: in the eliminated variables it adds r·(I + 11ᵀ) to the normal matrix and r·total to
/// each right-hand side. The penalty is the same for every feature, so the result does not depend on which score was
/// eliminated (nor on the features' order), and what the data leave open is shared out evenly (with no information at
/// all, every score is total / n), not left to the last feature. Its size r = max(t̄ / (n − 1), 1)·1e-8 is set by t̄, the
/// trace of the eliminated normal matrix averaged over which score is eliminated (Σ wₛ·2|S|(n − |S|)/n), so it too
/// does not depend on the order.
/// </summary>
internal sealed class ConstrainedLeastSquares
{
    private readonly int n;
    private readonly double total;
    private readonly double[,] normal;
    private readonly double[] rhs;

    // Σ w·2|S|(n − |S|)/n: the trace of the eliminated normal matrix, averaged over which score is eliminated.
    private double symmetricTrace;

    public ConstrainedLeastSquares(int features, double total)
    {
        n = features;
        this.total = total;
        normal = new double[n - 1, n - 1];
        rhs = new double[n - 1];
    }

    public void Add(bool[] present, double y, double weight)
    {
        var last = present[n - 1] ? 1.0 : 0.0;
        var row = new double[n - 1];
        for (var i = 0; i < n - 1; i++)
        {
            row[i] = (present[i] ? 1.0 : 0.0) - last;
        }

        var size = present.Count(p => p);
        symmetricTrace += weight * 2.0 * size * (n - size) / n;
        var target = y - (last * total);
        for (var i = 0; i < n - 1; i++)
        {
            if (row[i] == 0)
            {
                continue;
            }

            rhs[i] += weight * row[i] * target;
            for (var j = 0; j < n - 1; j++)
            {
                normal[i, j] += weight * row[i] * row[j];
            }
        }
    }

    /// <summary>The scores, and the ridge that had to be added (0 when the system was determined).</summary>
    public (double[] Scores, double Ridge) Solve()
    {
        var m = n - 1;
        var ridge = 0.0;
        double[]? solution = Cholesky(normal, rhs);
        if (solution is null)
        {
            // The ridge on all n scores: r·(Σ_{i<n} xᵢ² + (total − Σ xᵢ)²), whose gradient adds r·(I + 11ᵀ)x − r·total·1.
            ridge = Math.Max(symmetricTrace / Math.Max(m, 1), 1.0) * 1e-8;
            var penalised = new double[m, m];
            var shifted = new double[m];
            for (var i = 0; i < m; i++)
            {
                shifted[i] = rhs[i] + (ridge * total);
                for (var j = 0; j < m; j++)
                {
                    penalised[i, j] = normal[i, j] + ridge + (i == j ? ridge : 0);
                }
            }

            solution = Cholesky(penalised, shifted) ?? throw new InvalidOperationException("the KernelSHAP least squares could not be solved");
        }

        var scores = new double[n];
        Array.Copy(solution, scores, m);
        scores[n - 1] = total - solution.Sum();
        return (scores, ridge);
    }

    /// <summary>Solves A x = b; null when the matrix is not (numerically) positive definite.</summary>
    private static double[]? Cholesky(double[,] a, double[] b)
    {
        var m = b.Length;
        var l = new double[m, m];
        var scale = 0.0;
        for (var i = 0; i < m; i++)
        {
            scale = Math.Max(scale, a[i, i]);
        }

        for (var i = 0; i < m; i++)
        {
            for (var j = 0; j <= i; j++)
            {
                var sum = a[i, j];
                for (var k = 0; k < j; k++)
                {
                    sum -= l[i, k] * l[j, k];
                }

                if (i == j)
                {
                    // A pivot this small relative to the largest diagonal entry means a direction the data do not fix.
                    if (sum <= scale * 1e-12)
                    {
                        return null;
                    }

                    l[i, i] = Math.Sqrt(sum);
                }
                else
                {
                    l[i, j] = sum / l[j, j];
                }
            }
        }

        var y = new double[m];
        for (var i = 0; i < m; i++)
        {
            var sum = b[i];
            for (var k = 0; k < i; k++)
            {
                sum -= l[i, k] * y[k];
            }

            y[i] = sum / l[i, i];
        }

        var x = new double[m];
        for (var i = m - 1; i >= 0; i--)
        {
            var sum = y[i];
            for (var k = i + 1; k < m; k++)
            {
                sum -= l[k, i] * x[k];
            }

            x[i] = sum / l[i, i];
        }

        return x;
    }
}
