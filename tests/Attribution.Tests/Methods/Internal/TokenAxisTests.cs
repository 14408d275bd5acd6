using Attribution.Methods;
using Attribution.Pipeline;
using Attribution.Tests.Models;

namespace Attribution.Tests.Methods.Internal;

/// <summary>
/// A layer whose tensor has no [batch, tokens, …] layout (the classifier's logits, the pooler's output) gives no
/// per-token scores. Every method that takes a layer refuses it as a bad Layer setting after its first forward pass,
/// not after all its path points: the forward passes run before the error are counted by a module in front of the model
/// (<see cref="ForwardCountingModule"/>; layer paths under <c>inner.</c>). They were counted with a hook on the model,
/// which gives conductance's input end a pass of its own that an unhooked run takes from the prediction's pass: 4 passes
/// where a run makes 3.
/// </summary>
public sealed class TokenAxisTests
{
    /// <summary>Method, layer, the forward passes before the error (and the passes a full run would take).</summary>
    public static TheoryData<string, string, int> Cases => new()
    {
        // The predicted class comes from the first pass of the shared gradient pass, whose backward then runs: 1 pass.
        { "gradient", "classifier", 1 },
        { "gradient-x-input", "bert.pooler", 1 },
        // The prediction's pass, then the input's activation: refused before the baseline's pass and the path's
        // (50 steps of 2 texts would add 1 + 2 passes; GradientSHAP 1 + 5 draws; adaptive up to 256 points).
        { "integrated-gradients-50", "classifier", 2 },
        { "integrated-gradients", "bert.pooler", 2 },
        { "gradient-shap", "classifier", 2 },
        { "smoothgrad-integrated-gradients", "bert.pooler", 2 },
        // Conductance: the prediction, which keeps the input layer's input end, its baseline end, then the first path
        // pass at the layer.
        { "conductance", "classifier", 3 },
        { "conductance-50", "bert.pooler", 3 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_layer_without_a_token_axis_is_refused_naming_the_layer_and_its_shape_after_the_first_pass(string method, string layer, int passes)
    {
        var (model, forwards) = ForwardCountingModule.TinyBert(5);
        using var _ = model;
        layer = "inner." + layer;
        IAttributor attributor = method switch
        {
            "gradient" => new Gradient { Layer = layer },
            "gradient-x-input" => new GradientXInput { Layer = layer },
            "integrated-gradients-50" => new IntegratedGradients { Layer = layer, Steps = 50 },
            "integrated-gradients" => new IntegratedGradients { Layer = layer },
            "gradient-shap" => new GradientShap { Layer = layer },
            "smoothgrad-integrated-gradients" => new NoiseTunnel(new IntegratedGradients { Layer = layer }),
            "conductance" => new LayerConductance { Layer = layer },
            _ => new LayerConductance { Layer = layer, Steps = 50 },
        };

        // Two texts of 5 and 3 tokens ([CLS] = 2 and [SEP] = 3 included): padded to 5, which neither the 3 classes nor
        // the 16 hidden units equal (a tensor of [rows, length] would pass for one with a token axis).
        var act = () => attributor.Explain(model, ["2 5 9 12 3", "2 7 3"], new ExplainOptions());
        var width = layer == "inner.classifier" ? 3 : 16;
        var error = act.Should().Throw<ArgumentException>()
            .WithMessage($"the layer '{layer}' (*) has an output of shape [*, {width}] in a pass of * rows of 5 tokens: it has no [batch, tokens, …] layout*attribute to a layer whose output is [batch, tokens, …]*").Which;
        error.ParamName.Should().Be("Layer");
        forwards.Calls.Should().Be(passes, "the layout is checked on the first pass at the layer, before the rest of the method's passes");
    }

    [Theory]
    [InlineData("integrated-gradients")]
    [InlineData("conductance")]
    public void Every_class_at_once_refuses_the_layer_the_same_way(string method)
    {
        using var model = TransformerTestKit.RandomTinyBertClassifier(5);
        IAttributor attributor = method == "conductance" ? new LayerConductance { Layer = "bert.pooler" } : new IntegratedGradients { Layer = "bert.pooler" };
        var act = () => MethodRunner.AttributeClasses(model, ["2 5 9 12 3"], [attributor], [0, 1, 2]);
        act.Should().Throw<ArgumentException>().WithMessage("the layer 'bert.pooler' (*) has an output of shape [*, 16] in a pass of * rows of 5 tokens*")
            .Which.ParamName.Should().Be("Layer");
    }

    [Fact]
    public void A_layer_with_a_token_axis_still_explains()
    {
        using var model = TransformerTestKit.RandomTinyBertClassifier(5);
        var explanation = new LayerConductance { Layer = "bert.encoder.layer.0", Steps = 4 }.Explain(model, "2 5 9 12 3");
        explanation.Scores.Should().HaveCount(3, "[CLS] and [SEP] are dropped from the results").And.OnlyContain(s => double.IsFinite(s));
    }
}
