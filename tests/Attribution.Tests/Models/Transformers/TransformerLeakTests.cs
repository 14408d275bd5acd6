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
    [Theory]
    [InlineData("bert")]
    [InlineData("distilbert")]
    [InlineData("roberta")]
    public void A_forward_pass_inside_a_dispose_scope_leaves_no_tensor_behind(string type)
    {
        using var model = TransformerTestKit.RandomModel(TransformerModelTests.ConfigFor(type), seed: 9);
        var start = LiveTensors.Settled();
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

    [Fact]
    public void Loading_keeps_only_the_model_parameters_alive()
    {
        using var original = TransformerTestKit.RandomModel(TransformerTestKit.TinyRoberta, seed: 21);
        var dir = TransformerTestKit.WriteFolder(root, TransformerTestKit.ConfigJson(original.Config), original.state_dict());
        var (held, residue) = LiveTensors.Footprint(() => TransformerTestKit.RandomModel(TransformerTestKit.TinyRoberta, seed: 22));
        held.Should().BeGreaterThanOrEqualTo(original.state_dict().Count);


        // The checkpoint's tensors were disposed after copying: the loaded model holds what a built one does.
        LiveTensors.Footprint(() => TransformerLoader.Load(dir)).Should().Be((held, residue));
    }
}
