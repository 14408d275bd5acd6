using Attribution.Methods;

namespace Attribution.Tests.Methods;

/// <summary>
/// A layer method's TensorIndex past the layer's tensors is refused naming TensorIndex, the value and the positions that
/// hold tensors; it was refused naming "index" (ModuleIO.TensorAt's own parameter), no setting of any method.
/// </summary>
public sealed class TensorIndexRangeTests
{
    [Fact]
    public void A_tensor_index_past_the_layer_output_names_the_setting()
    {
        using var model = PowerOfSum.Classifier(1);
        foreach (IAttributor method in new IAttributor[] { new LayerConductance { Layer = "embeddings", TensorIndex = 5, Steps = 4 }, new Gradient { Layer = "embeddings", TensorIndex = 1 } })
        {
            var error = FluentActions.Invoking(() => method.Explain(model, "3 4")).Should().Throw<ArgumentOutOfRangeException>().Which;
            error.ParamName.Should().Be("TensorIndex", method.Name);
            error.Message.Should().StartWith("the layer's output has 1 item(s), with tensors at [0], and none at", method.Name);
            error.Message.Should().Contain("set TensorIndex to one of those positions (e.g. 0)", method.Name);
        }
    }
}
