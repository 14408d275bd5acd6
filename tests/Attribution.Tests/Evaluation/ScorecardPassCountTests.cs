using Attribution.Evaluation;
using Attribution.Methods;
using Attribution.Pipeline;
using Attribution.Salience;
using Attribution.Tests.Methods;
using Attribution.Models;
using Attribution.Tests.Models.Small;

namespace Attribution.Tests.Evaluation;

/// <summary>
/// A scorecard runs τ-LOO's leave-one-out drops once per text and explained class, not once per method: they depend on
/// the text and the class only (the method's scores are correlated with them afterwards), and each further method ran the
/// same passes again, bit for bit. Counted with <see cref="ForwardCounter"/>'s hook, as the scorecard cancellation test
/// counts (the hook adds infidelity's prediction pass and a gradient method's prediction pass, see its remarks).
/// </summary>
public sealed class ScorecardPassCountTests : IDisposable
{
    // The scorecard cancellation test's run (EvaluationCancellationTests): texts of 9 and 4 words, 3 samples each.
    private static readonly string[] Texts = EvaluationCancellationTests.Texts;

    private static readonly ScorecardSettings Settings = EvaluationCancellationTests.Settings;

    private readonly string root = Directory.CreateTempSubdirectory("attribution-scorecard-passes-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    /// <summary>
    /// Passes by hand, texts of 9 and 4 words, Gradient × Input then Occlusion (both explain the predicted class):
    /// explaining, Gradient × Input 1 (both texts in one batch), Occlusion 2 per text (the text, one batch of its occluded
    /// inputs): 5. Gradient × Input's metrics per text: comprehensiveness 1 and sufficiency 1 (the text and its removals in
    /// one batch each), τ-LOO 2 (the text, then the 9 or 4 texts without one word), infidelity 3 (the prediction, the
    /// capture, one batch of 3 samples), max-sensitivity 4 (the prediction with the reference gradient, one pass; 3
    /// samples): 11, 22 for two texts. Occlusion's per text: comprehensiveness 1, sufficiency 1, τ-LOO 0 (Gradient × Input's
    /// drops of the same text and class); no infidelity or max-sensitivity (no per-dimension map): 2, 4 for two texts.
    /// 5 + 22 + 4 = 31. Before max-sensitivity's prediction was its reference gradient's pass (MaxSensitivityPassCountTests),
    /// it ran the text twice: 33; before Occlusion's τ-LOO took Gradient × Input's drops, 37.
    /// </summary>
    [Fact]
    public void Two_methods_share_each_texts_leave_one_out_passes()
    {
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
        IAttributor[] methods = [new GradientXInput(), new Occlusion()];

        var passes = ForwardCounter.Count(model, () => Scorecard.Run(model, Texts, methods, settings: Settings));

        passes.Should().Be(31);
    }

    /// <summary>
    /// The shared drops give each method the τ-LOO it has alone: each row's mean equals the mean of the public metric on
    /// that method's explanations (each call running its own drops), exactly — the same passes on the same inputs.
    /// </summary>
    [Fact]
    public void Each_rows_loo_correlation_is_the_metrics_own_on_its_explanations()
    {
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
        IAttributor[] methods = [new GradientXInput(), new Occlusion()];
        var options = new ExplainOptions { KeepRawAttributions = true, Salience = new SalienceOptions { KeepSpecialTokens = true } };

        var report = Scorecard.Run(model, Texts, methods, settings: Settings);

        foreach (var (method, row) in methods.Zip(report.Rows))
        {
            var own = method.Explain(model, Texts, options).Select(e => LeaveOneOutCorrelation.Compute(model, e).Value).Average();
            row.Metrics["loo-correlation"].Should().Be(own, $"{method.Name}'s τ-LOO with the drops shared is its own");
        }
    }

    /// <summary>
    /// The drops are kept by text and explained class: an explanation of the other class of the same text runs its own
    /// (2 passes, the text and its 9 texts without one word), one of a class already run makes no pass, and each value is
    /// the public metric's on that explanation.
    /// </summary>
    [Fact]
    public void Kept_drops_are_per_text_and_class()
    {
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
        var negative = new GradientXInput().Explain(model, Texts[0], new ExplainOptions { Target = Target.Class(0) });
        var positive = new GradientXInput().Explain(model, Texts[0], new ExplainOptions { Target = Target.Class(1) });
        var drops = new Dictionary<(string Text, string? Pair, int Target), PerturbationRun>();

        double first, other, again;
        using (var counter = new ForwardCounter(model))
        {
            first = LeaveOneOutCorrelation.Compute(model, negative, drops, default).Value;
            other = LeaveOneOutCorrelation.Compute(model, positive, drops, default).Value;
            counter.Calls.Should().Be(4, "each class runs its own drops: the text, then one batch of the 9 texts without one word");
            again = LeaveOneOutCorrelation.Compute(model, positive, drops, default).Value;
            counter.Calls.Should().Be(4, "the class's drops are kept");
        }

        drops.Should().HaveCount(2);
        first.Should().Be(LeaveOneOutCorrelation.Compute(model, negative).Value);
        other.Should().Be(LeaveOneOutCorrelation.Compute(model, positive).Value);
        again.Should().Be(other);
    }
}
