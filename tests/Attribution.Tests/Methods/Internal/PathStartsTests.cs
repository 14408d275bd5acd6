using Attribution.Methods;
using Attribution.Methods.Internal;
using Attribution.Models;
using Attribution.Pipeline;
using Attribution.Salience;
using static TorchSharp.torch;

namespace Attribution.Tests.Methods.Internal;

/// <summary>
/// The batch's path input ends (<see cref="PathStarts"/>): kept once per site for the batch's own rows and handed to
/// later askers, never to a context over other rows, and freed with the batch.
/// </summary>
[Collection(LiveTensorCollection.Name)]
public sealed class PathStartsTests
{
    private static readonly ExplainOptions Options = new() { Target = Target.Class(0), BatchSize = 8, Salience = new SalienceOptions { KeepSpecialTokens = true } };

    /// <summary>
    /// Kept by the first asker over the batch's rows, reused by the context for another class; a subset in another order
    /// runs a pass of its own and gets its own rows (exactly the batch's rows 2 and 0: the same token rows embedded).
    /// </summary>
    [Fact]
    public void Rows_other_than_the_batchs_own_get_an_input_end_of_their_own()
    {
        using var model = PowerOfSum.Classifier(2);
        using var scope = NewDisposeScope();
        using var starts = new PathStarts();
        var tokenized = TokenizedTexts.Of(model, ["1 2 3", "4 5 6", "7 8 9"], truncate: false);
        var context = new AttributionContext(model, tokenized.Batch([0, 1, 2]), Options, pathStarts: starts);
        var site = context.Site("embeddings");

        var whole = context.PathStart(site, out var wholeLogits);
        starts.Counts.Should().Be((1, 0));
        var again = context.ForClass(1).PathStart(site, out _);
        starts.Counts.Should().Be((1, 1));
        again.data<float>().ToArray().Should().Equal(whole.data<float>().ToArray());

        var subset = context.Subset([2, 0]);
        var own = subset.PathStart(site, out var ownLogits);
        starts.Counts.Should().Be((1, 1), "a subset's input end is neither kept nor taken from the batch's");
        own.shape.Should().Equal(2L, whole.size(1), whole.size(2));
        using var rows = tensor(new long[] { 2, 0 });
        own.data<float>().ToArray().Should().Equal(whole.index_select(0, rows).data<float>().ToArray());
        ownLogits.data<float>().ToArray().Should().Equal(wholeLogits.index_select(0, rows).data<float>().ToArray());
    }

    /// <summary>Kept twice at one site, the first handles are freed; disposed, it frees the rest and hands out nothing.</summary>
    [Fact]
    public void Replaced_and_disposed_input_ends_leave_no_tensor_behind()
    {
        using var model = PowerOfSum.Classifier(2);
        var site = new LayerSite(model.Module);
        using var activation = ones(2, 3);
        using var logits = zeros(2, 2);
        var before = LiveTensors.Settled();
        var starts = new PathStarts();
        starts.Keep(site, activation, logits);
        starts.Keep(site, activation, logits);
        starts.Dispose();

        // Counted without a garbage collection: the kept handles are outside every scope, so only Dispose frees them.
        LiveTensors.Count.Should().Be(before);
        starts.Get(site, out var none).Should().BeNull();
        none.Should().BeNull();
    }
}
