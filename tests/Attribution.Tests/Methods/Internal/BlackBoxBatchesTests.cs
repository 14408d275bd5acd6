using Attribution.Methods;
using Attribution.Methods.Internal;
using Attribution.Models;
using Attribution.Tests.Salience;

namespace Attribution.Tests.Methods.Internal;

/// <summary>
/// The shared calls of black boxes, with explain functions written here: one that asks for texts the recorder could
/// not foresee (it looks at the answers) and texts that overflow a small limit.
/// </summary>
public sealed class BlackBoxBatchesTests
{
    // p("a") = 0.9 for a text starting with "hot", 0.5 otherwise.
    private static BlackBoxClassifier Predictor(List<string[]> calls) => new(texts =>
    {
        calls.Add(texts.ToArray());
        return texts.Select(t => t.StartsWith("hot", StringComparison.Ordinal) ? new[] { 0.9, 0.1 } : [0.5, 0.5]).ToArray();
    }, ["a", "b"]);

    /// <summary>
    /// Asks for "text+1" and "text+2"; then, only when the predictor's first answer is above 0.5 (never under the
    /// recorder's uniform answers), for "text+again". The scores are the answers, so what each text saw is visible; the
    /// explanation carries a note of its own, which the shared calls' notes follow.
    /// </summary>
    private static Explanation Adaptive(ITextPredictor predictor, string text, double[] own)
    {
        var rows = predictor.PredictProbabilities([text + "+1", text + "+2"]);
        double[] scores = [own[0], rows[0][0], rows[1][0]];
        if (rows[0][0] > 0.5)
        {
            scores[2] = predictor.PredictProbabilities([text + "+again"])[0][0] + 10;
        }

        return SalienceSamples.Make("p q r", [0, .. scores, 0], method: "adaptive") with { Notes = ["the method's own note"] };
    }

    [Fact]
    public void A_text_no_recorder_foresaw_gets_a_call_of_its_own_and_a_note()
    {
        var calls = new List<string[]>();
        var results = BlackBoxBatches.Explain(Predictor(calls), ["hot", "cold"], batchSize: 100, CancellationToken.None, Adaptive);

        calls.Should().HaveCount(2);
        calls[0].Should().Equal(["hot", "cold", "hot+1", "hot+2", "cold+1", "cold+2"], "the foreseen texts in one call, by length, then ordinally");
        calls[1].Should().Equal(["hot+again"], "the one text the recorder could not foresee");
        results[0].Scores.Should().Equal([0, 0.9, 0.9, 10.9, 0]);
        results[1].Scores.Should().Equal([0, 0.5, 0.5, 0.5, 0]);
        const string Shared = "explained together with the call's other 1 text(s): the predictor scored their 6 distinct texts (the texts themselves and their perturbed texts, each once) in 1 call(s) of at most 100; the time shown includes an equal share of those calls";
        results[0].Notes.Should().Equal("the method's own note", Shared, "1 perturbed text(s) of this text were not foreseen and took 1 call(s) of their own");
        results[1].Notes.Should().Equal("the method's own note", Shared);
    }

    /// <summary>
    /// Each explanation's time is its recorder run, its real run and an equal share of the shared calls: the explain
    /// function sleeps 40 ms per run and the predictor 60 ms per call, so each of the two texts took at least
    /// 40 + 40 + 60 / 2 ms (a lower bound on measured time, which no load can break).
    /// </summary>
    [Fact]
    public void The_time_of_each_explanation_holds_its_runs_and_its_share_of_the_shared_calls()
    {
        var predictor = new BlackBoxClassifier(texts =>
        {
            Thread.Sleep(60);
            return texts.Select(_ => new[] { 0.5, 0.5 }).ToArray();
        }, ["a", "b"]);
        var results = BlackBoxBatches.Explain(predictor, ["p", "q"], batchSize: 100, CancellationToken.None, (view, text, own) =>
        {
            Thread.Sleep(40);
            return Adaptive(view, text, own);
        });

        results.Should().OnlyContain(r => r.Elapsed >= TimeSpan.FromMilliseconds(40 + 40 + 30));
    }

    /// <summary>
    /// Each text needs 3 texts; a limit of 6 holds two texts' 6 exactly, so four texts go in two groups of two, each
    /// with its own call, and the results stay in the texts' order.
    /// </summary>
    [Fact]
    public void Texts_beyond_the_limit_go_in_groups_with_their_own_calls()
    {
        var calls = new List<string[]>();
        string[] texts = ["w", "x", "y", "z"];
        var results = BlackBoxBatches.Explain(Predictor(calls), texts, batchSize: 100, CancellationToken.None, Adaptive, limit: 6);

        calls.Should().HaveCount(2);
        calls[0].Should().BeEquivalentTo(["w", "x", "w+1", "w+2", "x+1", "x+2"]);
        calls[1].Should().BeEquivalentTo(["y", "z", "y+1", "y+2", "z+1", "z+2"]);
        results.Should().HaveCount(4);
        results.Should().OnlyContain(r => r.Notes.Any(n => n.StartsWith("explained together with the call's other 1 text(s): the predictor scored their 6 distinct texts", StringComparison.Ordinal)));
    }

    /// <summary>
    /// A text that needs more than the limit (3 texts, limit 2) is still foreseen whole and goes alone: two texts, two
    /// calls of 3, nothing unforeseen.
    /// </summary>
    [Fact]
    public void A_text_needing_more_than_the_limit_goes_alone_and_foreseen()
    {
        var calls = new List<string[]>();
        var results = BlackBoxBatches.Explain(Predictor(calls), ["w", "x"], batchSize: 100, CancellationToken.None, Adaptive, limit: 2);

        calls.Should().HaveCount(2);
        calls[0].Should().Equal(["w", "w+1", "w+2"]);
        calls[1].Should().Equal(["x", "x+1", "x+2"]);
        results.Should().OnlyContain(r => r.Notes.SequenceEqual(new[] { "the method's own note", "the predictor scored 3 distinct texts (the text itself and its perturbed texts, each once) in 1 call(s) of at most 100" }));
    }

    /// <summary>
    /// With a plan (a method that lists a text's perturbed texts itself), the recorder run is skipped: each text is
    /// explained once, and what the plan leaves out ("hot+2") is fetched by a call of its own.
    /// </summary>
    [Fact]
    public void A_plan_replaces_the_recorder_run()
    {
        var calls = new List<string[]>();
        var runs = 0;
        var results = BlackBoxBatches.Explain(Predictor(calls), ["hot", "cold"], batchSize: 100, CancellationToken.None, (view, text, own) =>
        {
            runs++;
            return Adaptive(view, text, own);
        }, plan: text => text == "hot" ? ["hot+1"] : ["cold+1", "cold+2"]);

        runs.Should().Be(2);
        calls.Should().HaveCount(3);
        calls[0].Should().Equal(["hot", "cold", "hot+1", "cold+1", "cold+2"]);
        calls[1].Should().Equal(["hot+2"]);
        calls[2].Should().Equal(["hot+again"]);
        results[0].Scores.Should().Equal([0, 0.9, 0.9, 10.9, 0]);
    }

    /// <summary>Cancelled while the first text is planned: the second is never planned, and nothing is sent.</summary>
    [Fact]
    public void Cancelling_during_planning_stops_before_the_next_text()
    {
        var calls = new List<string[]>();
        var planned = new List<string>();
        using var source = new CancellationTokenSource();
        var act = () => BlackBoxBatches.Explain(Predictor(calls), ["a", "b"], 10, source.Token, (view, text, own) =>
        {
            planned.Add(text);
            source.Cancel();
            return Adaptive(view, text, own);
        });

        act.Should().Throw<OperationCanceledException>();
        planned.Should().Equal("a");
        calls.Should().BeEmpty();
    }

    /// <summary>Cancelled by the first of two calls (batch size 4 for 6 texts): the second call is not made.</summary>
    [Fact]
    public void Cancelling_during_the_shared_calls_stops_before_the_next_call()
    {
        var calls = new List<string[]>();
        using var source = new CancellationTokenSource();
        var predictor = new BlackBoxClassifier(texts =>
        {
            calls.Add(texts.ToArray());
            source.Cancel();
            return texts.Select(_ => new[] { 0.5, 0.5 }).ToArray();
        }, ["a", "b"]);
        var act = () => BlackBoxBatches.Explain(predictor, ["a", "b"], 4, source.Token, Adaptive);

        act.Should().Throw<OperationCanceledException>();
        calls.Should().HaveCount(1);
    }

    [Fact]
    public void A_cancelled_token_stops_before_any_call()
    {
        var calls = new List<string[]>();
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var act = () => BlackBoxBatches.Explain(Predictor(calls), ["a"], 10, cancelled.Token, Adaptive);
        act.Should().Throw<OperationCanceledException>();
        calls.Should().BeEmpty();
    }
}
