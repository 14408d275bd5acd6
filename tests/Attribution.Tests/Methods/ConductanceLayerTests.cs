using Attribution.Methods;
using Attribution.Methods.Internal;
using Attribution.Models;
using Attribution.Pipeline;
using Attribution.Tests.Models;

namespace Attribution.Tests.Methods;

/// <summary>
/// Conductance has no default layer in the library (the settings record the layer by its path, without the model); the
/// refusal suggests the model's own first encoder layer, by the one definition the command line also defaults to
/// (before, it suggested bert.encoder.layer.0 whatever the model, a path DistilBERT does not have).
/// </summary>
public sealed class ConductanceLayerTests
{
    [Theory]
    [InlineData("bert", "bert.encoder.layer.0")]
    [InlineData("distilbert", "distilbert.transformer.layer.0")]
    [InlineData("roberta", "roberta.encoder.layer.0")]
    public void Conductance_without_a_layer_is_refused_suggesting_the_models_first_encoder_layer(string type, string expected)
    {
        var module = TransformerTestKit.RandomModel(type switch
        {
            "bert" => TransformerTestKit.TinyBert,
            "distilbert" => TransformerTestKit.TinyDistilBert,
            _ => TransformerTestKit.TinyRoberta,
        }, seed: 3);
        using var model = new TextClassifier("tiny-" + type, new IdsTokenizer(2, 3, module.Config.PadTokenId, module.Config.VocabSize), module,
            Enumerable.Range(0, module.Config.NumLabels).Select(i => "l" + i).ToArray(), module.WordEmbeddingPath, module.Config.MaxSequenceLength, usesTokenTypes: false);
        LayerPaths.DefaultConductanceLayer(model).Should().Be(expected);

        foreach (var method in new IAttributor[] { new LayerConductance { Steps = 4 }, new NeuronConductance { Position = 0, Unit = 1, Steps = 4 } })
        {
            var error = FluentActions.Invoking(() => method.Explain(model, "5 9")).Should().Throw<ArgumentException>().Which;
            error.ParamName.Should().Be("Layer");
            error.Message.Should().Contain($"needs the layer to attribute to: set Layer (for tiny-{type}, e.g. \"{expected}\"");
        }

        // The suggestion is a layer conductance runs on.
        new LayerConductance { Layer = expected, Steps = 4 }.Explain(model, "5 9").Scores.Should().HaveCount(2).And.OnlyContain(s => double.IsFinite(s));
    }
}
