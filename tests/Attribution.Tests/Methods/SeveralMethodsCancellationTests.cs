using Attribution.Methods;
using Attribution.Tests.Models;

namespace Attribution.Tests.Methods;

/// <summary>
/// Several gradient methods on one batch share its first forward pass, then each runs its own (LRP's relevance pass
/// where a gradient took the first, a gradient's where LRP or attention rollout took it). Cancelled at any pass but the
/// last, the call throws <see cref="OperationCanceledException"/> and no further forward pass runs. Counted in forward
/// passes, never timed. Runs alone: the live tensor count is process-wide.
/// </summary>
[Collection(LiveTensorCollection.Name)]
public sealed class SeveralMethodsCancellationTests
{
    private static readonly string[] Texts = ["2 7 9 11 3", "2 40 3", "2 5 6 7 8 9 10 3", "2 31 17 3"];

    /// <summary>
    /// Before, only the path methods' loops and the batch loop checked the token: cancelled during a batch's first pass
    /// (LRP's), the gradient's pass ran after it; cancelled during the last batch's first pass the call even returned.
    /// </summary>
    [Fact]
    public void Cancelled_at_any_pass_but_the_last_runs_no_other_methods_pass()
    {
        using var model = TransformerTestKit.RandomTinyBertClassifier(2);
        IAttributor[] methods = [new LrpEpsilon(), new Gradient(), new GradientXInput()];
        var options = new AttributionOptions { BatchSize = 2 };
        var expected = MethodRunner.AttributeAll(model, Texts, methods, options);
        var total = ForwardCounter.Count(model, () => MethodRunner.AttributeAll(model, Texts, methods, options));

        total.Should().Be(4, "per batch of two texts LRP's first pass and one gradient pass that Gradient and Gradient × Input share");
        var before = LiveTensors.Settled();
        CancelAtPass.AtEveryPassButTheLast(model.Module, total, token => MethodRunner.AttributeAll(model, Texts, methods, options with { Cancellation = token }));

        LiveTensors.Settled().Should().Be(before, "a cancelled call frees every tensor it made");
        var after = MethodRunner.AttributeAll(model, Texts, methods, options);
        after.SelectMany(e => e).Select(e => e.Scores).Should().BeEquivalentTo(expected.SelectMany(e => e).Select(e => e.Scores),
            o => o.WithStrictOrdering(), "the model and the methods answer as before (bit for bit)");
    }
}
