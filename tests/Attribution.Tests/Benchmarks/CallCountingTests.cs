using Attribution.Benchmarks;
using Attribution.Methods;
using Attribution.Models;

namespace Attribution.Tests.Benchmarks;

/// <summary>
/// The counting wrappers of the benchmarks (CallCounting, linked from benchmarks/Attribution.Benchmarks).
/// perturbation-cost printed LIME's model calls as ⌈distinct perturbed texts / 64⌉, but LIME sends up to 256 texts a call
/// within a token budget of 4096 padded tokens; the calls are now counted through a wrapper. black-box-calls timed its
/// first method cold (JIT, the model's first calls) and the others warm; every method now runs once untimed first.
/// Counts are exact (integers).
/// </summary>
public sealed class CallCountingTests
{
    private static readonly string[] Labels = ["negative", "positive"];

    [SkippableFact]
    public void The_counting_classifier_counts_every_call_and_its_rows_and_passes_the_answers_on_unchanged()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/sst2-bert-tiny"));
        var counting = new CountingClassifier(model);
        var sequences = new[] { "a fine film", "dull", "it is not bad at all" }
            .Select(t => model.Tokenizer.Encode(t)).Select(e => new TokenSequence(e.Ids, e.TypeIds)).ToArray();

        var logits = counting.PredictLogits(sequences);
        (counting.Calls, counting.Rows).Should().Be((1, 3L));
        logits.Should().BeEquivalentTo(((ITokenClassifier)model).PredictLogits(sequences), o => o.WithStrictOrdering());

        var probabilities = counting.PredictProbabilities(["a fine film", "dull"]);
        (counting.Calls, counting.Rows).Should().Be((2, 5L));
        probabilities.Should().BeEquivalentTo(model.PredictProbabilities(["a fine film", "dull"]), o => o.WithStrictOrdering());
        (counting.Name, counting.Tokenizer, counting.MaxLength, counting.UsesTokenTypes, counting.Head)
            .Should().Be((model.Name, model.Tokenizer, model.MaxLength, model.UsesTokenTypes, model.Head));
        counting.Labels.Should().Equal(model.Labels);

        counting.Reset();
        (counting.Calls, counting.Rows).Should().Be((0, 0L));
        FluentActions.Invoking(() => new CountingClassifier(null!)).Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("inner");
        FluentActions.Invoking(() => CountingClassifier.PerText(model, [], (_, _) => { })).Should().Throw<ArgumentException>().Which.ParamName.Should().Be("texts");
    }

    /// <summary>
    /// LIME on one 10-word text: its distinct perturbed texts (more than 128, so ⌈d / 64⌉ would say 3 calls or more) fit
    /// one call of at most 256 texts within 4096 padded tokens (checked here from the texts themselves), so it makes 2
    /// calls: the prediction (1 row) and one call of every distinct perturbed text (d rows).
    /// </summary>
    [SkippableFact]
    public void Limes_calls_are_measured_one_call_for_up_to_256_perturbed_texts_plus_the_prediction()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/sst2-bert-tiny"));
        const string text = "a gorgeous witty seductive movie that is also quite moving";
        var lime = new Lime();
        var distinct = lime.Run(model, text, 0).PerturbedTexts.Distinct(StringComparer.Ordinal).ToArray();
        var longest = distinct.Max(t => model.Tokenizer.Encode(t).Length);
        distinct.Length.Should().BeInRange(129, lime.BatchSize, "more than two calls of 64, at most one call of LIME's");
        (distinct.Length * longest).Should().BeLessThanOrEqualTo(lime.TokenBudget, "the call fits the token budget");

        var (calls, rows) = CountingClassifier.Lime(lime, model, [text, text]);

        calls.Should().Be(2);
        rows.Should().Be(1 + distinct.Length);
    }

    /// <summary>
    /// Each method's first run is "cold" (100 time units), later runs take 1: with a warm-up of every method before the
    /// timed run, every method reports 1 (timed cold, each would report 100). The calls and texts reported are one run's,
    /// as a fresh counter counts them, not the warm-up's added in.
    /// </summary>
    [Fact]
    public void Black_box_timing_warms_every_method_before_any_is_timed_and_counts_the_timed_run()
    {
        string[] texts = ["a fine film", "dull", "not bad at all"];
        static double[][] Instant(IReadOnlyList<string> batch) => batch.Select(t => new[] { 0.3 + (0.01 * (t.Length % 10)), 0.7 - (0.01 * (t.Length % 10)) }).ToArray();
        IPerturbationAttributor[] methods = [new Lime { Samples = 16 }, new Occlusion()];
        var runs = new Dictionary<Action, int>(ReferenceEqualityComparer.Instance);
        double Time(Action run)
        {
            run();
            runs[run] = runs.GetValueOrDefault(run) + 1;
            return runs[run] == 1 ? 100.0 : 1.0;
        }

        var measured = CountingPredictor.Measure(methods, new CountingPredictor(Labels, Instant), texts, Time);

        measured.Select(m => m.Seconds).Should().Equal(1.0, 1.0);
        for (var i = 0; i < methods.Length; i++)
        {
            var fresh = new CountingPredictor(Labels, Instant);
            methods[i].Attribute(fresh, texts);
            (measured[i].Calls, measured[i].Sent).Should().Be((fresh.Calls, fresh.Rows), methods[i].Name);
            fresh.Calls.Should().BeGreaterThan(0);
        }
    }
}
