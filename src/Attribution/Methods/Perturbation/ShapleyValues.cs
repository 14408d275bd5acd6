using Attribution.Methods.Perturbation;

namespace Attribution.Methods;

/// <summary>
/// Exact Shapley values of the text's features (Captum's <c>ShapleyValues</c>): φᵢ is the mean, over every order in
/// which the features can be added to the empty coalition, of f(S ∪ {i}) − f(S). It is computed from the 2ⁿ
/// coalitions as φᵢ = Σ_{S ∌ i} |S|!(n − |S| − 1)!/n! · (f(S ∪ {i}) − f(S)), which is the same number with 2ⁿ model
/// inputs instead of n!·n. The scores add up to f(x) − f(no feature) (the convergence delta is that sum's rounding
/// residual). Refused above <see cref="MaxFeatures"/> features: use <see cref="ShapleyValueSampling"/> or
/// <see cref="KernelShap"/> there.
/// </summary>
public sealed class ShapleyValues : PerturbationMethod
{
    /// <summary>The largest <see cref="MaxFeatures"/> allowed (2²⁰ ≈ 10⁶ model inputs per text).</summary>
    public const int FeatureLimit = 20;

    /// <summary>Texts with more features are refused (default 12, i.e. at most 4,096 model inputs; at most <see cref="FeatureLimit"/>).</summary>
    public int MaxFeatures { get; init; } = 12;

    /// <inheritdoc />
    public override string Name => "shapley";

    /// <inheritdoc />
    public override MethodKind Kind => MethodKind.ShapleyValues;

    private protected override IEnumerable<KeyValuePair<string, string>> MethodSettings() =>
    [
        new("max-features", Format(MaxFeatures)),
        new("definition", "exact: sum over coalitions S without i of |S|!(n-|S|-1)!/n! (f(S+i) - f(S))"),
    ];

    private protected override void ValidateMethod()
    {
        if (MaxFeatures < 1 || MaxFeatures > FeatureLimit)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxFeatures), MaxFeatures, $"the feature limit of exact Shapley values must be between 1 and {FeatureLimit}");
        }
    }

    private protected override void CheckFeatureCount(int features, string text)
    {
        if (features > MaxFeatures)
        {
            // Only fixes that can work are named: raising the limit helps up to FeatureLimit, coarser features only
            // where the features are not already whole words.
            var fixes = new List<string> { "use shapley-sampling or kernel-shap, which sample the coalitions" };
            if (features <= FeatureLimit)
            {
                fixes.Add($"raise MaxFeatures / --max-features from {MaxFeatures} to {features} (2^{features} model inputs per text)");
            }

            if (Features != LimeFeatures.Words)
            {
                fixes.Add("take whole words as features (Features = Words, --features words)");
            }

            fixes.Add("shorten the text");
            var beyond = features > FeatureLimit
                ? $"; {features} is more than exact Shapley values take at all ({FeatureLimit}, the largest MaxFeatures / --max-features)"
                : string.Empty;
            throw new ArgumentException(
                $"exact Shapley values need all 2^{features} coalitions of the text's {features} features, more than the limit of {MaxFeatures} features (2^{MaxFeatures} model inputs) allows{beyond}: "
                + string.Join(", ", fixes.Take(fixes.Count - 1)) + ", or " + fixes[^1],
                nameof(text));
        }
    }

    private protected override FeatureScores Attribute(CoalitionScorer scorer)
    {
        var n = scorer.FeatureCount;

        // weight[s] = s!(n−s−1)!/n!, built as a product so that no factorial overflows.
        var weight = new double[n];
        for (var s = 0; s < n; s++)
        {
            var w = 1.0 / n;
            for (var j = 1; j <= s; j++)
            {
                w *= (double)j / (n - j);
            }

            weight[s] = w;
        }

        var phi = new double[n];
        double full = 0, empty = 0;
        var count = 1L << n;
        const int chunk = 4096;
        for (long first = 0; first < count; first += chunk)
        {
            var size = (int)Math.Min(chunk, count - first);
            var coalitions = new bool[size][];
            for (var j = 0; j < size; j++)
            {
                var bits = first + j;
                coalitions[j] = Enumerable.Range(0, n).Select(i => ((bits >> i) & 1) == 1).ToArray();
            }

            var values = scorer.Values(coalitions);
            for (var j = 0; j < size; j++)
            {
                var present = coalitions[j];
                var k = present.Count(p => p);
                if (k == n)
                {
                    full = values[j];
                }

                if (k == 0)
                {
                    empty = values[j];
                }

                // f(S) enters φᵢ with +weight[|S|−1] when i ∈ S (as f(S′ ∪ {i})) and −weight[|S|] when i ∉ S.
                for (var i = 0; i < n; i++)
                {
                    phi[i] += present[i] ? weight[k - 1] * values[j] : -(k < n ? weight[k] : 0) * values[j];
                }
            }
        }

        return new FeatureScores(phi, full, empty, phi.Sum() - (full - empty), []);
    }
}
