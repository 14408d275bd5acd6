using Attribution.Methods;
using Attribution.Methods.Lrp;
using Attribution.Pipeline;
using Attribution.Tests.Models;

namespace Attribution.Tests.Methods;

/// <summary>
/// An enum setting outside its defined values (a cast integer, a value from a newer version) is refused before any
/// forward pass with an <see cref="ArgumentOutOfRangeException"/> naming the setting and the value, instead of being
/// taken for another value (a side of 7 was the input side, a noise-tunnel type of 7 was VarGrad's label with no
/// VarGrad computed, an attention rule of 7 was neither rule) or failing after the work with another name.
/// </summary>
public sealed class EnumSettingsTests
{
    private static readonly string[] Texts = ["5 9 12", "20 21"];

    public static TheoryData<string> Invalid() =>
        ["ig-rule", "ig-reduce", "ig-side", "conductance-rule", "conductance-side", "gradient-shap-side", "noise-tunnel-type", "lrp-attention", "gradient-reduce", "gradient-x-input-reduce"];

    private static (IAttributor Method, string Setting) Method(string name) => name switch
    {
        "ig-rule" => (new IntegratedGradients { Steps = 8, Rule = (IntegrationRule)7 }, "Rule"),
        "ig-reduce" => (new IntegratedGradients { Steps = 8, Reduce = (HiddenReduction)7 }, "Reduce"),
        "ig-side" => (new IntegratedGradients { Steps = 8, Side = (LayerSide)7 }, "Side"),
        "conductance-rule" => (new LayerConductance { Layer = "bert.encoder.layer.0", Steps = 8, Rule = (IntegrationRule)7 }, "Rule"),
        "conductance-side" => (new LayerConductance { Layer = "bert.encoder.layer.0", Steps = 8, Side = (LayerSide)7 }, "Side"),
        "gradient-shap-side" => (new GradientShap { Side = (LayerSide)7 }, "Side"),
        "noise-tunnel-type" => (new NoiseTunnel(new Gradient()) { Samples = 2, Type = (NoiseTunnelType)7 }, "Type"),
        "lrp-attention" => (new LrpEpsilon { Attention = (AttentionRule)7 }, "Attention"),
        "gradient-reduce" => (new Gradient { Reduce = (HiddenReduction)7 }, "Reduce"),
        _ => (new GradientXInput { Reduce = (HiddenReduction)7 }, "Reduce"),
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void An_undefined_enum_setting_is_refused_before_any_forward_pass(string name)
    {
        using var model = TransformerTestKit.RandomTinyBertClassifier(7);
        using var forwards = new ForwardCounter(model);
        var (method, setting) = Method(name);

        var refused = FluentActions.Invoking(() => method.Explain(model, Texts)).Should().Throw<ArgumentOutOfRangeException>().Which;
        refused.ParamName.Should().Be(setting);
        refused.Message.Should().Contain("7");
        forwards.Calls.Should().Be(0, "settings are checked before the first batch runs");
    }
}
