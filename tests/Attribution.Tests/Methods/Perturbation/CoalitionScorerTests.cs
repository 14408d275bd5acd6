using Attribution.Methods.Internal;
using Attribution.Methods;
using Attribution.Methods.LimeParts;
using Attribution.Methods.Perturbation;
using Attribution.Models;

namespace Attribution.Tests.Methods.Perturbation;

/// <summary>
/// The coalition scorer every perturbation method shares, on a black box that records what it is asked: each
/// distinct perturbed text is scored once, in batches of at most the batch size, shortest first; repeats and
/// remembered values cost nothing; the cache starts afresh beyond 65,536 entries.
/// </summary>
public class CoalitionScorerTests
{
    private sealed class Recorder
    {
        public List<string[]> Batches { get; } = [];

        // p(positive) = (1 + number of words kept) / 100: the value says which coalition was scored.
        public BlackBoxClassifier Predictor => new(texts =>
        {
            Batches.Add([.. texts]);
            return texts.Select(t =>
            {
                var p = (1 + t.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length) / 100.0;
                return new[] { 1 - p, p };
            }).ToArray();
        }, ["negative", "positive"]);
    }

    private static bool[] Mask(int bits, int features) => Enumerable.Range(0, features).Select(i => (bits & (1 << i)) != 0).ToArray();

    private static CoalitionScorer Scorer(Recorder recorder, int features, int batchSize, out string text)
    {
        text = string.Join(' ', Enumerable.Range(0, features).Select(i => new string((char)('a' + (i % 26)), 1 + (i / 26))));
        return CoalitionScorer.ForText(recorder.Predictor, text, LimeText.Split(text, punctuation: false), joinWords: false, replacement: null, target: 1, batchSize);
    }

    [Fact]
    public void Distinct_coalitions_are_scored_once_in_batches_shortest_first()
    {
        var recorder = new Recorder();
        var scorer = Scorer(recorder, 4, batchSize: 2, out _);
        bool[][] coalitions = [Mask(0b1111, 4), Mask(0b0001, 4), Mask(0b1111, 4), Mask(0b0110, 4), Mask(0b0000, 4), Mask(0b0001, 4)];
        var values = scorer.Values(coalitions);
        values.Should().Equal(0.05, 0.02, 0.05, 0.03, 0.01, 0.02);
        scorer.FeatureCount.Should().Be(4);
        scorer.Requests.Should().Be(6);
        scorer.Evaluations.Should().Be(4);
        scorer.ModelCalls.Should().Be(2);
        recorder.Batches.Should().HaveCount(2);
        recorder.Batches.SelectMany(b => b).Should().Equal("   ", "a   ", " b c ", "a b c d");
        recorder.Batches.Should().OnlyContain(b => b.Length <= 2);

        // Seen before: no model call at all, repeats still counted as requests.
        scorer.Value(Mask(0b0110, 4)).Should().Be(0.03);
        scorer.Values([Mask(0b1111, 4), Mask(0b0000, 4)]).Should().Equal(0.05, 0.01);
        scorer.ModelCalls.Should().Be(2);
        scorer.Evaluations.Should().Be(4);
        scorer.Requests.Should().Be(9);
    }

    [Fact]
    public void Equal_lengths_keep_the_order_asked_and_remembered_values_cost_no_call()
    {
        var recorder = new Recorder();
        var scorer = Scorer(recorder, 3, batchSize: 8, out _);
        scorer.Remember(Mask(0b111, 3), 0.75);
        var values = scorer.Values([Mask(0b100, 3), Mask(0b111, 3), Mask(0b010, 3), Mask(0b001, 3)]);
        values.Should().Equal(0.02, 0.75, 0.02, 0.02);
        recorder.Batches.Should().ContainSingle().Which.Should().Equal("  c", " b ", "a  ");
        scorer.Evaluations.Should().Be(3);
        scorer.ModelCalls.Should().Be(1);
    }

    [Fact]
    public void The_cache_starts_afresh_beyond_65536_entries()
    {
        // 17 features: 131,072 coalitions. 10 first, then 65,536 distinct of which those 10 are cached: 10 + 65,526
        // new = 65,536 entries, not beyond the limit, so no reset and only the new ones are scored.
        var recorder = new Recorder();
        var scorer = Scorer(recorder, 17, batchSize: 1024, out _);
        scorer.Values([.. Enumerable.Range(0, 10).Select(k => Mask(k, 17))]);
        scorer.Evaluations.Should().Be(10);
        scorer.Values([.. Enumerable.Range(0, 65_536).Select(k => Mask(k, 17))]);
        scorer.Evaluations.Should().Be(65_536);

        // One more new coalition goes beyond the limit: the cache is cleared, so a coalition known before is scored again.
        scorer.Value(Mask(100_000, 17)).Should().Be((1 + 6) / 100.0);
        scorer.Evaluations.Should().Be(65_537);
        scorer.Value(Mask(3, 17)).Should().Be(0.03);
        scorer.Evaluations.Should().Be(65_538);
        scorer.Value(Mask(100_000, 17)).Should().Be(0.07);
        scorer.Evaluations.Should().Be(65_538);
    }

    [Fact]
    public void A_cancelled_run_stops_before_calling_the_model()
    {
        var recorder = new Recorder();
        var scorer = Scorer(recorder, 3, batchSize: 4, out _);
        scorer.Cancellation = new CancellationToken(canceled: true);
        var act = () => scorer.Values([Mask(1, 3)]);
        act.Should().Throw<OperationCanceledException>();
        recorder.Batches.Should().BeEmpty();
        scorer.Values([]).Should().BeEmpty("nothing to score needs no model call");
    }

    [Fact]
    public void Scores_are_the_logit_the_probability_or_the_log_probability_of_the_target()
    {
        double[] logits = [1.0, 2.0, 3.0];
        var z = Math.Exp(1) + Math.Exp(2) + Math.Exp(3);
        ScoreChecks.Value(OutputHead.SingleLabel, ScoreOutput.Logit, logits, 1).Should().Be(2.0);
        ScoreChecks.Value(OutputHead.SingleLabel, ScoreOutput.Probability, logits, 1).Should().BeApproximately(Math.Exp(2) / z, 1e-15);
        ScoreChecks.Value(OutputHead.SingleLabel, ScoreOutput.LogProbability, logits, 2).Should().BeApproximately(3 - Math.Log(z), 1e-14);

        // A multi-label head scores each label by its own sigmoid; a regression output has no probability.
        ScoreChecks.Value(OutputHead.MultiLabel, ScoreOutput.Probability, logits, 1).Should().BeApproximately(1 / (1 + Math.Exp(-2)), 1e-15);
        ScoreChecks.Value(OutputHead.MultiLabel, ScoreOutput.LogProbability, [-30.0], 0).Should().BeApproximately(-30 - Math.Log(1 + Math.Exp(-30)), 1e-12);
        ScoreChecks.Value(OutputHead.Regression, ScoreOutput.Logit, [0.25], 0).Should().Be(0.25);
        var regression = () => ScoreChecks.Value(OutputHead.Regression, ScoreOutput.Probability, [0.25], 0);
        regression.Should().Throw<ArgumentException>().WithMessage("*regression*no probability*");
        var act = () => ScoreChecks.Value(OutputHead.SingleLabel, (ScoreOutput)7, logits, 1);
        act.Should().Throw<ArgumentOutOfRangeException>();
    }
}
