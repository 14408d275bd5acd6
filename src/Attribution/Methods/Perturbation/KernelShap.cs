using Attribution.Methods.Perturbation;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods;

/// <summary>
/// KernelSHAP (Lundberg and Lee 2017; Captum's <c>KernelShap</c>): coalitions are drawn from the Shapley kernel
/// (a coalition size k in 1..n−1 with probability ∝ (n − 1)/(k(n − k)), then k features uniformly), and the scores
/// are the least-squares fit of f(S) − f(no feature) ≈ Σ_{i∈S} φᵢ under the efficiency constraint
/// Σφᵢ = f(x) − f(no feature), which is imposed exactly (by eliminating one score) rather than approximated with
/// large weights as Captum does. Repeated draws count once each. When <see cref="Samples"/> reaches the number of
/// coalitions (2ⁿ − 2), every coalition is enumerated with its kernel weight (n − 1)/(C(n, k)·k·(n − k)) instead,
/// and the fit gives the exact Shapley values. The convergence delta is the residual of the constraint.
/// Draws come from libtorch's generator seeded with <see cref="Seed"/> for each text.
/// </summary>
public sealed class KernelShap : PerturbationMethod
{
    /// <summary>The most coalitions per text.</summary>
    public const int MaxSamples = 100_000;

    /// <summary>Coalitions drawn per text, besides the full and the empty one (default 256).</summary>
    public int Samples { get; init; } = 256;

    /// <summary>Seed of the draws (default 0).</summary>
    public ulong Seed { get; init; }

    /// <inheritdoc />
    public override string Name => "kernel-shap";

    /// <inheritdoc />
    public override MethodKind Kind => MethodKind.KernelShap;

    private protected override IEnumerable<KeyValuePair<string, string>> MethodSettings() =>
    [
        new("samples", Format(Samples)),
        new("seed", Seed.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("definition", "least squares on Shapley-kernel coalitions with sum of scores = f(x) - f(empty)"),
    ];

    private protected override void ValidateMethod()
    {
        if (Samples < 1 || Samples > MaxSamples)
        {
            throw new ArgumentOutOfRangeException(nameof(Samples), Samples, $"KernelSHAP needs between 1 and {MaxSamples} samples (coalitions)");
        }
    }

    private protected override FeatureScores Attribute(CoalitionScorer scorer)
    {
        var n = scorer.FeatureCount;
        var ends = scorer.Values([Enumerable.Repeat(true, n).ToArray(), new bool[n]]);
        var (full, empty) = (ends[0], ends[1]);
        var change = full - empty;
        var notes = new List<string>();
        if (n == 1)
        {
            return new FeatureScores([change], full, empty, 0, notes);
        }

        var system = new ConstrainedLeastSquares(n, change);
        var enumerate = n < 31 && Samples >= (1L << n) - 2;
        if (enumerate)
        {
            notes.Add($"all {(1L << n) - 2} coalitions of the {n} features were enumerated with their kernel weights: the scores are exact Shapley values");
            var sizeWeight = new double[n];
            for (var k = 1; k < n; k++)
            {
                sizeWeight[k] = (n - 1) / (Binomial(n, k) * k * (n - k));
            }

            for (long first = 1; first < (1L << n) - 1; first += 4096)
            {
                var coalitions = new List<bool[]>();
                for (var bits = first; bits < Math.Min(first + 4096, (1L << n) - 1); bits++)
                {
                    coalitions.Add(Enumerable.Range(0, n).Select(i => ((bits >> i) & 1) == 1).ToArray());
                }

                var values = scorer.Values(coalitions);
                for (var j = 0; j < coalitions.Count; j++)
                {
                    system.Add(coalitions[j], values[j] - empty, sizeWeight[coalitions[j].Count(p => p)]);
                }
            }
        }
        else
        {
            // P(k) ∝ (n − 1)/(k(n − k)) for k = 1..n−1, then k present features chosen uniformly.
            var cumulative = new double[n];
            for (var k = 1; k < n; k++)
            {
                cumulative[k] = cumulative[k - 1] + ((n - 1.0) / (k * (n - k)));
            }

            using var generator = new Generator(Seed);
            var counts = new Dictionary<string, (bool[] Coalition, int Count)>(StringComparer.Ordinal);
            for (var first = 0; first < Samples; first += 4096)
            {
                var draws = Math.Min(4096, Samples - first);
                using var scope = NewDisposeScope();
                var uniforms = rand([draws], dtype: ScalarType.Float64, generator: generator).data<double>().ToArray();
                for (var d = 0; d < draws; d++)
                {
                    var u = uniforms[d] * cumulative[n - 1];
                    var k = 1;
                    while (k < n - 1 && cumulative[k] <= u)
                    {
                        k++;
                    }

                    var order = randperm(n, generator: generator).data<long>().ToArray();
                    var present = new bool[n];
                    for (var j = 0; j < k; j++)
                    {
                        present[order[j]] = true;
                    }

                    var key = new string(present.Select(p => p ? '1' : '0').ToArray());
                    counts[key] = counts.TryGetValue(key, out var seen) ? (seen.Coalition, seen.Count + 1) : (present, 1);
                }
            }

            var distinct = counts.Values.ToArray();
            var values = scorer.Values(distinct.Select(c => c.Coalition).ToArray());
            for (var j = 0; j < distinct.Length; j++)
            {
                system.Add(distinct[j].Coalition, values[j] - empty, distinct[j].Count);
            }

            if (distinct.Length < n - 1)
            {
                notes.Add($"only {distinct.Length} distinct coalitions were drawn for {n} features: the fit is underdetermined; raise the samples");
            }
        }

        var (scores, ridge) = system.Solve();
        if (ridge > 0)
        {
            notes.Add($"the sampled coalitions do not determine every score; a ridge of {ridge:G3} was added to solve the least squares: raise the samples");
        }

        return new FeatureScores(scores, full, empty, scores.Sum() - change, notes);
    }

    private static double Binomial(int n, int k)
    {
        var result = 1.0;
        for (var j = 1; j <= k; j++)
        {
            result *= (n - k + j) / (double)j;
        }

        return result;
    }
}
