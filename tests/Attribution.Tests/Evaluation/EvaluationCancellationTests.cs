using Attribution.Engine;
using Attribution.Evaluation;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Pipeline;
using Attribution.Tests.Methods;
using Attribution.Tests.Models.Small;

namespace Attribution.Tests.Evaluation;

/// <summary>
/// A service cancels a scorecard (every method on every text, then each metric's own model passes: minutes on a big
/// model) or a max-sensitivity call (one run of the method per sample) with a token: the call stops at the next
/// check, throws <see cref="OperationCanceledException"/>, frees every tensor it made, leaves no hook, and the model
/// gives the same report afterwards. Promptness is counted in forward passes after the one that cancelled, never timed.
/// Runs alone: the live tensor count is process-wide.
/// </summary>
[Collection(LiveTensorCollection.Name)]
public sealed class EvaluationCancellationTests : IDisposable
{
    private static readonly string[] Texts = ["the plot was dull but the cast was superb", "a sometimes tedious film"];

    private static readonly ScorecardSettings Settings = new()
    {
        Infidelity = new InfidelitySettings { Samples = 3 },
        Sensitivity = new SensitivitySettings { Samples = 3 },
    };

    private readonly string root = Directory.CreateTempSubdirectory("attribution-evaluation-cancel-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    /// <summary>
    /// Cancelled at every forward pass of a whole run but the last in turn (43 on this model: inside either method's explanations,
    /// inside each metric of each text): at most one forward pass follows the cancelling one. The token is checked
    /// before every model call but one: reading the word-embedding output for infidelity is two passes (the context's
    /// prediction, then the capture), not split. Before ScorecardSettings.Cancellation nothing could stop a run: it went
    /// on to the end and returned (a cancelled one, 42 passes more).
    /// </summary>
    [Fact]
    public void A_scorecard_cancelled_at_any_pass_stops_there_and_leaves_the_model_as_it_was()
    {
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
        IAttributor[] methods = [new GradientXInput(), new Occlusion()];
        var expected = Scorecard.Run(model, Texts, methods, settings: Settings);
        int total;
        using (var counter = new ForwardCounter(model))
        {
            Scorecard.Run(model, Texts, methods, settings: Settings);
            total = counter.Calls;
        }

        total.Should().BeGreaterThan(10, "the run has passes in both methods and in every metric to cancel at");
        var before = LiveTensors.Settled();
        // Cancelled during the last pass, nothing is left to stop: the run may return its report.
        CancelAtPass.AtEveryPassButTheLast(model.Module, total, token => Scorecard.Run(model, Texts, methods, settings: Settings with { Cancellation = token }), allowedAfter: 1);

        LiveTensors.Settled().Should().Be(before, "a cancelled run frees every tensor it made");
        model.Module.SelfAndDescendants().Should().OnlyContain(m => ModuleHooks.Count(m.Module) == 0, "a cancelled run removes its hooks");
        var after = Scorecard.Run(model, Texts, methods, settings: Settings);
        after.Rows.Select(r => r.Metrics).Should().BeEquivalentTo(expected.Rows.Select(r => r.Metrics), "the model answers as before (bit for bit)");
        after.Rows.Select(r => r.Agreement).Should().Equal(expected.Rows.Select(r => r.Agreement));
    }

    /// <summary>
    /// Occlusion on two texts of a TorchSharp model runs each text's unperturbed input, then its coalitions (one batch
    /// each here). Cancelled during the first text's coalitions, the second text's unperturbed input must not run:
    /// before, only the coalition scorer checked the token, so one pass (2 of 4) followed the cancelling one.
    /// </summary>
    [Fact]
    public void Occlusion_cancelled_in_one_text_runs_nothing_of_the_next()
    {
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
        int total;
        using (var counter = new ForwardCounter(model))
        {
            new Occlusion().Attribute(model, Texts);
            total = counter.Calls;
        }

        total.Should().Be(4, "per text one unperturbed pass and one batch of its 9 or 4 occluded inputs");
        using var cancel = new CancelAtPass(model.Module, 2);
        FluentActions.Invoking(() => new Occlusion().Attribute(model, Texts, new AttributionOptions { Cancellation = cancel.Token }))
            .Should().Throw<OperationCanceledException>();
        cancel.Passes.Should().Be(2, "the second text's unperturbed input does not run after a cancellation in the first text's coalitions");
    }

    /// <summary>
    /// Max-sensitivity of the gradient runs the gradient once at the text, then once per sample: cancelled during the
    /// reference pass, no sample runs. Before, the loop over samples never looked at the token (the gradient itself has
    /// no batches to check between), so all 5 samples ran and the call returned a value.
    /// </summary>
    [Fact]
    public void Max_sensitivity_cancelled_during_its_reference_pass_runs_no_sample()
    {
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
        var settings = new SensitivitySettings { Samples = 5 };
        var expected = MaxSensitivity.Compute(model, new Gradient(), Texts[0], settings: settings);
        var before = LiveTensors.Settled();
        using (var cancel = new CancelAtPass(model.Module, 1))
        {
            FluentActions.Invoking(() => MaxSensitivity.Compute(model, new Gradient(), Texts[0], new ExplainOptions { Cancellation = cancel.Token }, settings))
                .Should().Throw<OperationCanceledException>();
            cancel.Passes.Should().Be(1, "no sample runs after the reference pass that cancelled");
        }

        LiveTensors.Settled().Should().Be(before);
        MaxSensitivity.Compute(model, new Gradient(), Texts[0], settings: settings).Value.Should().Be(expected.Value, "the model answers as before (bit for bit)");
    }

    /// <summary>
    /// Infidelity reads the word-embedding output (the prediction's pass, then the capture: two passes, not split), then
    /// runs its perturbed inputs. Cancelled during the capture, no perturbed input runs. Before, the public call took no
    /// token (only the scorecard's internal one did): it ran to the end and returned.
    /// </summary>
    [Fact]
    public void Infidelity_cancelled_while_reading_the_embeddings_runs_no_perturbed_input()
    {
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
        var explanation = new GradientXInput().Explain(model, Texts[0], new ExplainOptions { KeepRawAttributions = true, Salience = new() { KeepSpecialTokens = true } });
        var settings = new InfidelitySettings { Samples = 3 };
        var expected = Infidelity.Compute(model, explanation, settings);
        var before = LiveTensors.Settled();
        using (var cancel = new CancelAtPass(model.Module, 2))
        {
            FluentActions.Invoking(() => Infidelity.Compute(model, explanation, settings, cancel.Token)).Should().Throw<OperationCanceledException>();
            cancel.Passes.Should().Be(2, "no perturbed input runs after the capture that cancelled");
        }

        LiveTensors.Settled().Should().Be(before);
        Infidelity.Compute(model, explanation, settings).Value.Should().Be(expected.Value, "the model answers as before (bit for bit)");
    }

    /// <summary>
    /// τ-LOO occludes each word: the text's own pass, then the texts without one word. Cancelled during the first, none
    /// of the others runs. Before, the public call took no token: it ran to the end and returned.
    /// </summary>
    [Fact]
    public void Leave_one_out_cancelled_during_the_texts_own_pass_runs_no_occluded_text()
    {
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
        var explanation = new GradientXInput().Explain(model, Texts[0]);
        var expected = LeaveOneOutCorrelation.Compute(model, explanation);
        var before = LiveTensors.Settled();
        using (var cancel = new CancelAtPass(model.Module, 1))
        {
            FluentActions.Invoking(() => LeaveOneOutCorrelation.Compute(model, explanation, cancel.Token)).Should().Throw<OperationCanceledException>();
            cancel.Passes.Should().Be(1, "no occluded text runs after the text's own pass that cancelled");
        }

        LiveTensors.Settled().Should().Be(before);
        LeaveOneOutCorrelation.Compute(model, explanation).Value.Should().Be(expected.Value, "the model answers as before (bit for bit)");
    }

    /// <summary>
    /// HotFlip predicts the text, takes the gradient, then predicts every edit. Cancelled during the prediction, neither
    /// the gradient nor the edits run. Before, Generate took no token: it ran to the end and returned.
    /// </summary>
    [Fact]
    public void HotFlip_cancelled_during_its_prediction_runs_no_further_pass()
    {
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
        var flip = new HotFlip { CandidatesPerPosition = 3 };
        var expected = flip.Generate(model, Texts[1], maxEdits: 3);
        var before = LiveTensors.Settled();
        using (var cancel = new CancelAtPass(model.Module, 1))
        {
            FluentActions.Invoking(() => flip.Generate(model, Texts[1], maxEdits: 3, cancel.Token)).Should().Throw<OperationCanceledException>();
            cancel.Passes.Should().Be(1, "neither the gradient nor the edits run after the prediction that cancelled");
        }

        LiveTensors.Settled().Should().Be(before);
        flip.Generate(model, Texts[1], maxEdits: 3).Should().BeEquivalentTo(expected, o => o.WithStrictOrdering(), "the model answers as before");
    }
}
