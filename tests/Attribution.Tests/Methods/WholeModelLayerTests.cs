using Attribution.Methods;

namespace Attribution.Tests.Methods;

/// <summary>
/// Layer "" names the whole model (its output the logits, its input the token ids), which no layer method can attribute
/// to: refused before any forward pass naming Layer, as InputLayer "" is. Before, with as many tokens as the model has
/// labels, the logits passed the token-axis check and the "attributions" were the score's gradient with respect to the logits.
/// </summary>
public sealed class WholeModelLayerTests
{
    [Fact]
    public void An_empty_layer_path_is_refused_naming_layer_before_any_forward_pass()
    {
        var (model, module) = PowerOfSum.Counted(1);
        using (model)
        {
            // "3 4": two tokens for PowerOfSum's two labels, the case that went through.
            foreach (IAttributor method in new IAttributor[] { new LayerConductance { Layer = "", Steps = 4 }, new Gradient { Layer = "" }, new GradientXInput { Layer = "", Side = LayerSide.Input } })
            {
                var error = FluentActions.Invoking(() => method.Explain(model, "3 4")).Should().Throw<ArgumentException>().Which;
                error.ParamName.Should().Be("Layer", method.Name);
                error.Message.Should().StartWith("Layer \"\" is the root module (the model), whose output is the logits and whose input the token ids", method.Name);
                // The fix names what an attributable layer is; it pointed to SanityCheck.DefaultOrder, whose list starts with the classifier.
                error.Message.Should().Contain("give the dotted path of a layer whose output has a token axis ([batch, tokens, …], e.g. an encoder layer)", method.Name);
            }

            module.ForwardCalls.Should().Be(0);
        }
    }
}
