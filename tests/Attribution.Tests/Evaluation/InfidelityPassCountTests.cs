using Attribution.Evaluation;
using Attribution.Methods;
using Attribution.Pipeline;
using Attribution.Salience;
using Attribution.Tests.Methods;

namespace Attribution.Tests.Evaluation;

/// <summary>
/// One infidelity call runs the text once: its capture of the word-embedding output x gives f(x) and serves as the
/// prediction, a token baseline's capture follows in the multiply-by-inputs form, then the perturbed inputs, 32 to a pass.
/// Counted without a hook (<see cref="ForwardCountingModule"/>): a hook of the caller's on the model keeps the capture from
/// serving as the prediction (<see cref="ForwardCounter"/>'s remarks), one pass more. Runs alone: the live tensor count is
/// process-wide.
/// </summary>
[Collection(LiveTensorCollection.Name)]
public sealed class InfidelityPassCountTests
{
    private const string Text = "5 9 12 7";

    private static readonly ExplainOptions Options = new()
    {
        Target = Target.Class(1), KeepRawAttributions = true, Salience = new SalienceOptions { KeepSpecialTokens = true },
    };

    /// <summary>
    /// Passes and rows by hand, for S samples in ⌈S / 32⌉ batches: the text's capture (1 pass, 1 row), the baseline's capture
    /// for a token baseline (1, 1; none for x′ = 0, whose embedding is zeros), the batches (⌈S / 32⌉ passes, S rows).
    /// S = 10: 1 batch; S = 40: 2 (32 and 8). Before, each of the three reads opened its own context: the embedding read
    /// ran the prediction and the capture (2), the scores read the prediction again (1) before its batches, and the
    /// baseline read the prediction, the text's capture and a token baseline's capture (3; 2 for x′ = 0): at S = 10,
    /// 4 passes raw, 7 with the pad baseline, 6 with x′ = 0, where now 2, 3 and 2.
    /// </summary>
    [Theory]
    [InlineData("gradient", 10, 2, 11)]
    [InlineData("gradient", 40, 3, 41)]
    [InlineData("integrated-gradients", 10, 3, 12)]
    [InlineData("integrated-gradients", 40, 4, 42)]
    [InlineData("gradient-x-input", 10, 2, 11)]
    [InlineData("gradient-x-input", 40, 3, 41)]
    public void One_call_runs_the_text_once_then_the_baseline_for_a_token_baseline_then_the_batches(string method, int samples, int passes, long rows)
    {
        var (model, forwards) = ForwardCountingModule.TinyBert(7);
        using var _ = model;
        var attributor = MaxSensitivityPassCountTests.Attributor(method);
        var explanation = attributor.Explain(model, Text, Options);
        var settings = new InfidelitySettings { Samples = samples };
        var before = LiveTensors.Settled();
        forwards.Reset();

        var result = Infidelity.Compute(model, explanation, settings);

        LiveTensors.Count.Should().Be(before, "the call frees every tensor it made, the kept capture of x included");
        result.Parameters.Should().Contain(new KeyValuePair<string, string>("multiply-by-inputs", method == "gradient" ? "false" : "true"));
        result.Parameters.Should().Contain(new KeyValuePair<string, string>("samples", samples.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        forwards.Calls.Should().Be(passes);
        forwards.Rows.Should().Be(rows);
    }
}
