namespace Attribution.Methods.Perturbation;

/// <summary>
/// Weighted least squares of y(S) ≈ Σ_{i∈S} φᵢ subject to Σφᵢ = <c>total</c>, accumulated one coalition at a time
/// (memory O(n²) whatever the number of coalitions). The constraint is imposed by eliminating the last score:
/// φₙ = total − Σ_{i&lt;n} φᵢ, so y − zₙ·total ≈ Σ_{i&lt;n} (zᵢ − zₙ) φᵢ, solved by Cholesky on the normal equations.
/// </summary>
internal sealed class ConstrainedLeastSquares
{
    private readonly int n;
    private readonly double total;
    private readonly double[,] normal;
    private readonly double[] rhs;

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
        var trace = 0.0;
        for (var i = 0; i < m; i++)
        {
            trace += normal[i, i];
        }

        var ridge = 0.0;
        double[]? solution = Cholesky(normal, rhs, 0);
        if (solution is null)
        {
            ridge = Math.Max(trace / Math.Max(m, 1), 1.0) * 1e-8;
            solution = Cholesky(normal, rhs, ridge) ?? throw new InvalidOperationException("the KernelSHAP least squares could not be solved");
        }

        var scores = new double[n];
        Array.Copy(solution, scores, m);
        scores[n - 1] = total - solution.Sum();
        return (scores, ridge);
    }

    /// <summary>Solves (A + ridge·I) x = b; null when the matrix is not (numerically) positive definite.</summary>
    private static double[]? Cholesky(double[,] a, double[] b, double ridge)
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
                var sum = a[i, j] + (i == j ? ridge : 0);
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
