using Attribution.Evaluation;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Pipeline;
using Attribution.Tests.Models.Small;
using TorchSharp;

namespace Attribution.Tests.Evaluation;

/// <summary>
/// What one infidelity call leaves on its thread and its model, finished or stopped (its passes run in one
/// EmbeddingPerturbationSession: a lease on the model, no_grad, a dispose scope): gradient recording as it was, the
/// model's call lease released, so a Dispose right after closes the module at once; and a non-finite model output at a
/// perturbed input refused, naming the cause. On the MLP, hooked by the pass counter, a call with 3 samples and the pad
/// baseline runs 4 passes: the prediction, the text's capture, the baseline's capture, one batch. Cancelled during pass
/// 1 it stops inside the session's opening; during pass 2 or 3, inside its reads, the session closed by its owner.
/// </summary>
public sealed class InfidelitySessionStateTests : IDisposable
{
    private const string Text = "the plot was dull but the cast was superb";

    private static readonly InfidelitySettings Settings = new() { Samples = 3 };

    private readonly string root = Directory.CreateTempSubdirectory("attribution-infidelity-session-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Fact]
    public void Gradient_recording_is_on_again_after_a_finished_call_and_after_a_call_cancelled_at_any_pass()
    {
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
        var explanation = Explain(model);
        torch.is_grad_enabled().Should().BeTrue("gradient recording is on by default on a thread");

        Infidelity.Compute(model, explanation, Settings);
        torch.is_grad_enabled().Should().BeTrue("a finished call turns gradient recording back on");

        for (var at = 1; at <= 3; at++)
        {
            using var cancel = new CancelAtPass(model.Module, at);
            FluentActions.Invoking(() => Infidelity.Compute(model, explanation, Settings, cancel.Token)).Should().Throw<OperationCanceledException>();
            torch.is_grad_enabled().Should().BeTrue($"a call cancelled during pass {at} turns gradient recording back on");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void A_model_disposed_right_after_a_cancelled_call_closes_at_once(int at)
    {
        var model = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
        var explanation = Explain(model);
        using (var cancel = new CancelAtPass(model.Module, at))
        {
            FluentActions.Invoking(() => Infidelity.Compute(model, explanation, Settings, cancel.Token)).Should().Throw<OperationCanceledException>();
        }

        model.Dispose();

        FluentActions.Invoking(() => model.Module).Should().Throw<ObjectDisposedException>(
            $"the call cancelled during pass {at} released its lease: no call is running, so Dispose closed the model at once");
    }

    [Fact]
    public void A_non_finite_output_at_a_perturbed_input_is_refused_naming_the_cause()
    {
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
        var explanation = Explain(model);
        var raw = explanation.RawAttributions!;
        // x − I with I = −3e38 everywhere: each embedding value near 3e38, finite in float32 (largest 3.4e38), and the
        // MLP's first layer sums many such products, which overflows; the scored probability is then not finite.
        var huge = raw.Select(row => Enumerable.Repeat(-3e38, row.Length).ToArray()).ToArray();
        var settings = new InfidelitySettings { Perturbations = [huge], MultiplyByInputs = false };

        FluentActions.Invoking(() => Infidelity.Compute(model, explanation, settings)).Should().Throw<NonFiniteValueException>()
            .WithMessage("*scored output is not finite for a perturbed embedding*");
    }

    private static Explanation Explain(TextClassifier model) =>
        new IntegratedGradients { Steps = 4 }.Explain(model, Text, new ExplainOptions { KeepRawAttributions = true, Salience = new() { KeepSpecialTokens = true } });
}
