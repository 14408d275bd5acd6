using Attribution.Methods.Perturbation;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods;

/// <summary>
/// Shapley value sampling (Castro et al. 2009; Captum's <c>ShapleyValueSampling</c>): for each of
/// <see cref="Samples"/> random orders of the features, starting from the empty coalition, the features are added
/// one at a time and each gets the change of the scored output its addition caused; scores are the means over
/// orders. Each order's changes add up to f(x) − f(no feature), so the scores do too (the convergence delta is the
/// rounding residual). Orders come from libtorch's generator seeded with <see cref="Seed"/> for each text, so a
/// seed fixes the result; they converge to <see cref="ShapleyValues"/> as samples grow.
/// </summary>
public sealed class ShapleyValueSampling : PerturbationMethod
{
    /// <summary>The most orders per text.</summary>
    public const int MaxSamples = 100_000;

    /// <summary>Random orders per text (default 25, Captum's).</summary>
    public int Samples { get; init; } = 25;

    /// <summary>Seed of the orders (default 0).</summary>
    public ulong Seed { get; init; }

    /// <inheritdoc />
    public override string Name => "shapley-sampling";

    /// <inheritdoc />
    public override MethodKind Kind => MethodKind.ShapleyValueSampling;

    private protected override IEnumerable<KeyValuePair<string, string>> MethodSettings() =>
    [
        new("samples", Format(Samples)),
        new("seed", Seed.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("definition", "mean over random feature orders of f(S+i) - f(S), S = the features before i"),
    ];

    private protected override void ValidateMethod()
    {
        if (Samples < 1 || Samples > MaxSamples)
        {
            throw new ArgumentOutOfRangeException(nameof(Samples), Samples, $"Shapley value sampling needs between 1 and {MaxSamples} samples (random orders)");
        }
    }

    private protected override FeatureScores Attribute(CoalitionScorer scorer)
    {
        var n = scorer.FeatureCount;
        var phi = new double[n];
        using var generator = new Generator(Seed);

        // Orders are drawn in order and processed a few at a time, so memory does not grow with Samples.
        var perPass = Math.Max(1, 4096 / (n + 1));
        double full = 0, empty = 0;
        for (var first = 0; first < Samples; first += perPass)
        {
            var orders = new List<long[]>();
            using (var scope = NewDisposeScope())
            {
                for (var s = first; s < Math.Min(Samples, first + perPass); s++)
                {
                    orders.Add(randperm(n, generator: generator).data<long>().ToArray());
                }
            }

            var coalitions = new List<bool[]>(orders.Count * (n + 1));
            foreach (var order in orders)
            {
                var present = new bool[n];
                coalitions.Add((bool[])present.Clone());
                foreach (var i in order)
                {
                    present[i] = true;
                    coalitions.Add((bool[])present.Clone());
                }
            }

            var values = scorer.Values(coalitions);
            for (var o = 0; o < orders.Count; o++)
            {
                var at = o * (n + 1);
                empty = values[at];
                full = values[at + n];
                for (var j = 0; j < n; j++)
                {
                    phi[orders[o][j]] += values[at + j + 1] - values[at + j];
                }
            }
        }

        var scores = phi.Select(p => p / Samples).ToArray();
        return new FeatureScores(scores, full, empty, scores.Sum() - (full - empty), []);
    }
}
