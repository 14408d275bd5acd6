using Attribution.Models;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Models;

[Collection(LiveTensorCollection.Name)]
public sealed class TransformerLeakTests : IDisposable
{
    private readonly string root = Path.Combine(Path.GetTempPath(), "attribution-leak-tests-" + Guid.NewGuid().ToString("N"));

    public TransformerLeakTests() => Directory.CreateDirectory(root);

    public void Dispose() => Directory.Delete(root, recursive: true);

    /// <summary>Finalizes what earlier tests left to the garbage collector, so the count only moves with this test.</summary>
    private static long Settled()
    {
        for (var i = 0; i < 2; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        return LiveTensors.Count;
    }

    [Theory]
    [InlineData("bert")]
    [InlineData("distilbert")]
    [InlineData("roberta")]
    public void A_forward_pass_inside_a_dispose_scope_leaves_no_tensor_behind(string type)
    {
        using var model = TransformerTestKit.RandomModel(TransformerModelTests.ConfigFor(type), seed: 9);
        var start = Settled();
        using (var scope = NewDisposeScope())
        {
            var (ids, mask) = TransformerTestKit.Pad(TransformerModelTests.Sequences, model.Config.PadTokenId);
            model.call(new ModelInput(ids, mask)).data<float>().ToArray();
            using (enable_grad())
            {
                model.call(new ModelInput(ids)).sum().backward();
            }
        }

        // backward filled the parameters' .grad, which libtorch holds; clearing them returns the count to its start.
        model.zero_grad();
        LiveTensors.Count.Should().Be(start);
    }

    [Fact(Skip = "Known gap of the TorchSharp port (see the engine note): a disposed TorchSharp module leaves some tensors counted live (38 for the tiny RoBERTa, 2 for the LSTM), so the exact count cannot be asserted yet")]
    public void Loading_keeps_only_the_model_parameters_alive()
    {
        using var original = TransformerTestKit.RandomModel(TransformerTestKit.TinyRoberta, seed: 21);
        var dir = TransformerTestKit.WriteFolder(root, TransformerTestKit.ConfigJson(original.Config), original.state_dict());
        var before = Settled();

        // What a model of this config holds by itself (TorchSharp's layers keep a few tensors besides the state
        // dict), measured on a freshly built one.
        long footprint;
        using (TransformerTestKit.RandomModel(TransformerTestKit.TinyRoberta, seed: 22))
        {
            footprint = LiveTensors.Count - before;
        }

        Settled().Should().Be(before);
        footprint.Should().BeGreaterThanOrEqualTo(original.state_dict().Count);
        using (var loaded = TransformerLoader.Load(dir))
        {
            // The checkpoint's tensors were disposed after copying.
            (Settled() - before).Should().Be(footprint);
        }

        LiveTensors.Count.Should().Be(before);
    }
}
