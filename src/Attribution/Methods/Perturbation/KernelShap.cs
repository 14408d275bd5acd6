using System.Globalization;
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
        bool[][] ends = [Enumerable.Repeat(true, n).ToArray(), new bool[n]];
        var notes = new List<string>();
        if (n == 1)
        {
            var both = scorer.Values(ends);
            return new FeatureScores([both[0] - both[1]], both[0], both[1], 0, notes);
        }

        // The coalitions with their kernel weights: every one (exact Shapley values) or the distinct ones drawn.
        var enumerate = n < 31 && Samples >= (1L << n) - 2;
        var weighted = enumerate ? Enumerated(n) : Drawn(n);
        if (enumerate)
        {
            notes.Add($"all {(1L << n) - 2} coalitions of the {n} features were enumerated with their kernel weights: the scores are exact Shapley values");
        }
        else if (weighted.Count < n - 1)
        {
            notes.Add($"only {weighted.Count} distinct coalitions were drawn for {n} features: the fit is underdetermined; raise the samples");
        }

        // The two ends go to the model with the first coalitions: one call fewer per text (a round trip for a remote
        // black box). The scorer keeps each call within its batch limits.
        double full = 0, empty = 0;
        ConstrainedLeastSquares? system = null;
        foreach (var chunk in weighted.Chunk(4096))
        {
            var coalitions = chunk.Select(c => c.Coalition).ToArray();
            var values = scorer.Values(system is null ? [.. ends, .. coalitions] : coalitions);
            if (system is null)
            {
                (full, empty) = (values[0], values[1]);
                values = values[2..];
                system = new ConstrainedLeastSquares(n, full - empty);
            }

            for (var j = 0; j < chunk.Length; j++)
            {
                system.Add(chunk[j].Coalition, values[j] - empty, chunk[j].Weight);
            }
        }

        var change = full - empty;
        var (scores, ridge) = system!.Solve();
        if (ridge > 0)
        {
            notes.Add(string.Create(CultureInfo.InvariantCulture, $"the sampled coalitions do not determine every score; a ridge of {ridge:G3} on every score was added to solve the least squares (what the coalitions leave open is shared evenly): raise the samples"));
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

    /// <summary>Every coalition but the two ends, weighted by the Shapley kernel (n − 1) / (C(n, k) k (n − k)).</summary>
    private static List<(bool[] Coalition, double Weight)> Enumerated(int n)
    {
        var sizeWeight = new double[n];
        for (var k = 1; k < n; k++)
        {
            sizeWeight[k] = (n - 1) / (Binomial(n, k) * k * (n - k));
        }

        var coalitions = new List<(bool[] Coalition, double Weight)>();
        for (long bits = 1; bits < (1L << n) - 1; bits++)
        {
            var present = Enumerable.Range(0, n).Select(i => ((bits >> i) & 1) == 1).ToArray();
            coalitions.Add((present, sizeWeight[present.Count(p => p)]));
        }

        return coalitions;
    }

    /// <summary>
    /// <see cref="Samples"/> coalitions drawn with P(k) ∝ (n − 1)/(k(n − k)) for k = 1..n−1 present features, chosen
    /// uniformly; each distinct one weighted by how often it was drawn.
    /// </summary>
    internal List<(bool[] Coalition, double Weight)> Drawn(int n)
    {
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

        return counts.Values.Select(c => (c.Coalition, (double)c.Count)).ToList();
    }
}
