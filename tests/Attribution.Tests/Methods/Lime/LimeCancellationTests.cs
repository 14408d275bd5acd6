using Attribution.Methods;
using Attribution.Models;
using Attribution.Tests.Models.Small;

namespace Attribution.Tests.Methods;

/// <summary>
/// LIME on several texts of a TorchSharp model runs, per text, its unperturbed input and then its perturbed texts in
/// batches. Cancelled during the last batch of the first text, nothing of the second runs: before, the batch loop was
/// the only check, so the second text's unperturbed pass ran first. Counted in forward passes, never timed; the model
/// gives the same explanation afterwards and the live tensor count is back. Runs alone: that count is process-wide.
/// </summary>
[Collection(LiveTensorCollection.Name)]
public sealed class LimeCancellationTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("attribution-lime-cancel-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Fact]
    public void Cancelled_in_the_first_texts_last_batch_runs_nothing_of_the_second()
    {
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
        string[] texts = [SmallModelKit.Texts[3], SmallModelKit.Texts[1]];
        var lime = new Lime { Samples = 60, BatchSize = 8 };
        var expected = lime.Attribute(model, texts);
        int first;
        using (var counter = new ForwardCounter(model))
        {
            lime.Attribute(model, [texts[0]]);
            first = counter.Calls;
        }

        first.Should().BeGreaterThan(2, "the first text's perturbed texts take several batches of 8");
        var before = LiveTensors.Settled();
        using (var cancel = new CancelAtPass(model.Module, first))
        {
            FluentActions.Invoking(() => lime.Attribute(model, texts, new AttributionOptions { Cancellation = cancel.Token }))
                .Should().Throw<OperationCanceledException>();
            cancel.Passes.Should().Be(first, "no pass of the second text runs after the first text's last batch cancelled");
        }

        LiveTensors.Settled().Should().Be(before);
        var after = lime.Attribute(model, texts);
        after.Select(e => e.Scores).Should().BeEquivalentTo(expected.Select(e => e.Scores), o => o.WithStrictOrdering(), "the model and the method answer as before (bit for bit)");
    }
}
