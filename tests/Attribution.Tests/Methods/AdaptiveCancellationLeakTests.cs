using Attribution.Engine;
using Attribution.Methods;
using Attribution.Pipeline;
using Attribution.Tests.Models;

namespace Attribution.Tests.Methods;

/// <summary>
/// A call cancelled at any forward pass of adaptive integration frees every tensor it made, the rows already accepted at
/// an earlier level (held outside the batch's dispose scope until the last level) included. TorchSharp's live-tensor
/// count is process-wide, so these run alone; counted exactly, before the garbage collector could finalize a leak.
/// </summary>
[Collection(LiveTensorCollection.Name)]
public sealed class AdaptiveCancellationLeakTests
{
    public static TheoryData<string> Methods() => ["integrated-gradients", "conductance"];

    [Theory]
    [MemberData(nameof(Methods))]
    public void A_call_cancelled_at_any_pass_frees_every_tensor(string name)
    {
        using var model = TransformerTestKit.RandomTinyBertClassifier(2);
        IAttributor method = name switch
        {
            "integrated-gradients" => new IntegratedGradients { InternalBatchSize = 4, Adaptive = new AdaptiveIntegration { Tolerance = 0.05 } },
            _ => new LayerConductance { Layer = "bert.encoder.layer.0", InternalBatchSize = 4 },
        };
        string[] texts = ["2 7 9 11 3", "2 40 3", "2 5 6 7 8 9 10 3", "2 31 17 3"];
        var options = new ExplainOptions { BatchSize = 4 };

        // Texts accepted at different levels, so a later level runs while accepted rows are held.
        var whole = method.Attribute(model, texts, options);
        whole.Select(e => e.Setting("steps-used")).Distinct().Should().HaveCountGreaterThan(1);

        var cancelledSomewhere = 0;
        for (var cancelAt = 1; cancelAt < 200; cancelAt++)
        {
            using var cancel = new CancellationTokenSource();
            var passes = 0;
            var before = LiveTensors.Settled();
            using (ModuleHooks.AddForwardHook(model.Module, (_, _, _) =>
                   {
                       if (++passes == cancelAt)
                       {
                           cancel.Cancel();
                       }

                       return null;
                   }))
            {
                try
                {
                    method.Attribute(model, texts, options with { Cancellation = cancel.Token });
                    break;
                }
                catch (OperationCanceledException)
                {
                    cancelledSomewhere++;
                }
            }

            LiveTensors.Count.Should().Be(before, $"cancelled at forward pass {cancelAt}");
        }

        cancelledSomewhere.Should().BeGreaterThan(3);
    }
}
