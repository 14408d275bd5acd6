using Attribution.Methods;
using Attribution.Models;
using Attribution.Text.Tokenizers;

namespace Attribution.Tests.Methods.Perturbation;

/// <summary>
/// Exact Shapley values at their limits: the feature limit at its boundary (the limit itself is taken, one more is
/// refused with exactly the fixes that can work), and a text of more than 4,096 coalitions (two batches of coalitions),
/// whose values are known in closed form: an additive term goes to its word, an interaction of two words is split
/// equally between them.
/// </summary>
public sealed class ShapleyValuesLimitTests
{
    private static readonly ExplainOptions Yes = new() { Target = Target.Class(1) };

    /// <summary>p(class 1) = 0.3 + 0.01·(number of words w0..w12 present) + 0.04·[w0 ∧ w12]; every coalition counted.</summary>
    private static BlackBoxClassifier Additive(List<string> seen) => new(texts =>
    {
        seen.AddRange(texts);
        return texts.Select(t =>
        {
            var present = t.Split(' ').Where(w => w.StartsWith('w')).ToHashSet();
            var p = 0.3 + (0.01 * present.Count) + (present.Contains("w0") && present.Contains("w12") ? 0.04 : 0);
            return new[] { 1 - p, p };
        }).ToArray();
    }, ["no", "yes"]);

    private static string Words(int n) => string.Join(' ', Enumerable.Range(0, n).Select(i => $"w{i}"));

    [Fact]
    public void Thirteen_features_take_all_8192_coalitions_in_two_batches_and_split_the_interaction()
    {
        var seen = new List<string>();
        var e = new ShapleyValues { MaxFeatures = 13 }.Explain(Additive(seen), [Words(13)], Yes)[0];

        // φ = 0.01 for each word, plus half of 0.04 for w0 and w12.
        double[] expected = [0.03, .. Enumerable.Repeat(0.01, 11), 0.03];
        e.Scores.Should().Equal(expected, (a, b) => Math.Abs(a - b) < 1e-12);
        e.ConvergenceDelta!.Value.Should().BeApproximately(0, 1e-12, "the scores add up to f(x) − f(∅) = 0.17");
        seen.Where(t => t.Contains("w12", StringComparison.Ordinal)).Should().HaveCount(4096, "half of the 2^13 coalitions hold the last word");
        seen.Distinct().Should().HaveCount(8192);
        e.Setting("max-features").Should().Be("13");
        e.Setting("definition").Should().Be("exact: sum over coalitions S without i of |S|!(n-|S|-1)!/n! (f(S+i) - f(S))");
    }

    [Fact]
    public void The_limit_itself_is_taken_and_the_bounds_of_the_limit_are_1_and_20()
    {
        var seen = new List<string>();
        new ShapleyValues { MaxFeatures = 5 }.Explain(Additive(seen), [Words(5)], Yes)[0].Scores
            .Should().Equal([0.01, 0.01, 0.01, 0.01, 0.01], (a, b) => Math.Abs(a - b) < 1e-12);
        new ShapleyValues { MaxFeatures = 1 }.Explain(Additive(seen), [Words(1)], Yes)[0].Scores
            .Should().Equal([0.01], (a, b) => Math.Abs(a - b) < 1e-12);
        new ShapleyValues { MaxFeatures = ShapleyValues.FeatureLimit }.Explain(Additive(seen), [Words(2)], Yes)[0].Scores.Should().HaveCount(2);

        foreach (var bad in new[] { 0, -1, ShapleyValues.FeatureLimit + 1 })
        {
            FluentActions.Invoking(() => new ShapleyValues { MaxFeatures = bad }.Explain(Additive(seen), [Words(2)], Yes))
                .Should().Throw<ArgumentOutOfRangeException>().Where(x => x.ParamName == "MaxFeatures")
                .WithMessage("the feature limit of exact Shapley values must be between 1 and 20*");
        }
    }

    [Fact]
    public void A_text_over_the_limit_is_refused_naming_only_fixes_that_can_work()
    {
        var seen = new List<string>();

        // Words already, and within the largest limit: raise the limit.
        FluentActions.Invoking(() => new ShapleyValues { MaxFeatures = 4 }.Explain(Additive(seen), [Words(5)], Yes))
            .Should().Throw<ArgumentException>().Where(x => x.ParamName == "text")
            .WithMessage(
                "exact Shapley values need all 2^5 coalitions of the text's 5 features, more than the limit of 4 features (2^4 model inputs) allows: "
                + "use shapley-sampling or kernel-shap, which sample the coalitions, raise MaxFeatures / --max-features from 4 to 5 (2^5 model inputs per text), "
                + "or shorten the text*");

        // Twenty features: the largest limit still takes them.
        FluentActions.Invoking(() => new ShapleyValues { MaxFeatures = 19 }.Explain(Additive(seen), [Words(20)], Yes))
            .Should().Throw<ArgumentException>().Where(x => x.ParamName == "text")
            .WithMessage("*allows: use shapley-sampling or kernel-shap, which sample the coalitions, raise MaxFeatures / --max-features from 19 to 20 (2^20 model inputs per text), or shorten the text*");

        // Beyond the largest limit: raising it cannot help.
        FluentActions.Invoking(() => new ShapleyValues { MaxFeatures = 20 }.Explain(Additive(seen), [Words(21)], Yes))
            .Should().Throw<ArgumentException>().Where(x => x.ParamName == "text")
            .WithMessage(
                "exact Shapley values need all 2^21 coalitions of the text's 21 features, more than the limit of 20 features (2^20 model inputs) allows; "
                + "21 is more than exact Shapley values take at all (20, the largest MaxFeatures / --max-features): "
                + "use shapley-sampling or kernel-shap, which sample the coalitions, or shorten the text*");
        seen.Should().BeEmpty("the texts are refused before any model call");

        // Token features: whole words are a coarser choice.
        FluentActions.Invoking(() => new ShapleyValues { MaxFeatures = 2, Features = LimeFeatures.Tokens }.Explain(new IdsModel(), ["1 11 12 13 2"]))
            .Should().Throw<ArgumentException>().Where(x => x.ParamName == "text")
            .WithMessage(
                "exact Shapley values need all 2^3 coalitions of the text's 3 features, more than the limit of 2 features (2^2 model inputs) allows: "
                + "use shapley-sampling or kernel-shap, which sample the coalitions, raise MaxFeatures / --max-features from 2 to 3 (2^3 model inputs per text), "
                + "take whole words as features (Features = Words, --features words), or shorten the text*");
    }

    /// <summary>Reads ids (vocabulary 0..99, [CLS] 1, [SEP] 2); logits (Σ ids / 100, 0).</summary>
    private sealed class IdsModel : ITokenClassifier
    {
        public string Name => "ids";

        public ITokenizer Tokenizer { get; } = new IdsTokenizer(1, 2, 0, 100);

        public int? MaxLength => null;

        public bool UsesTokenTypes => false;

        public IReadOnlyList<string> Labels => ["a", "b"];

        public double[][] PredictLogits(IReadOnlyList<TokenSequence> sequences) =>
            sequences.Select(s => new[] { s.Ids.Sum() / 100.0, 0.0 }).ToArray();

        public double[][] PredictProbabilities(IReadOnlyList<string> texts) => throw new NotSupportedException("token ids only");
    }
}
