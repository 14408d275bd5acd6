using Attribution.Methods;
using Attribution.Models;
using Attribution.Pipeline;
using Attribution.Tests.Models;

namespace Attribution.Tests.Methods.Internal;

/// <summary>
/// A layer setting that names a container (a ModuleList of encoder layers) is refused before any work, naming the
/// setting and one of the layers it holds, for every method that takes a layer.
/// </summary>
public sealed class LayerPathsTests
{
    public static TheoryData<string> Methods => ["integrated-gradients", "gradient", "conductance", "conductance-input-layer"];

    [Theory]
    [MemberData(nameof(Methods))]
    public void A_container_layer_is_refused_naming_the_setting_and_a_layer_it_holds(string method)
    {
        using var model = TransformerTestKit.RandomTinyBertClassifier(3);
        using var forwards = new ForwardCounter(model);
        IAttributor attributor = method switch
        {
            "integrated-gradients" => new IntegratedGradients { Layer = "bert.encoder.layer" },
            "gradient" => new Gradient { Layer = "bert.encoder.layer" },
            "conductance" => new LayerConductance { Layer = "bert.encoder.layer" },
            _ => new LayerConductance { Layer = "bert.encoder.layer.0", InputLayer = "bert.encoder.layer" },
        };

        var act = () => attributor.Explain(model, "5 9 12");
        var error = act.Should().Throw<ArgumentException>()
            .WithMessage("the layer 'bert.encoder.layer' (ModuleList<BertLayer>) cannot be attributed to: *choose one of them, e.g. 'bert.encoder.layer.0'*").Which;
        error.ParamName.Should().Be(method == "conductance-input-layer" ? "InputLayer" : "Layer");
        forwards.Calls.Should().Be(0, "the setting is checked before any forward pass");
    }
}
