using Attribution.Methods;
using Attribution.Models;
using Attribution.Pipeline;
using Attribution.Tests.Models;

namespace Attribution.Tests.Methods;

/// <summary>
/// Adaptive integration frees every tensor it made: accepted rows held between levels, the conductance grid, groups
/// split by the memory budget, and the call's baseline cache (TorchSharp's live-tensor count, process-wide, so alone).
/// </summary>
[Collection(LiveTensorCollection.Name)]
public sealed class AdaptiveIntegrationMemoryTests
{
    public static TheoryData<string> Methods() => new() { "integrated-gradients", "conductance", "conductance-in-groups", "gradient-and-gradient-x-input" };

    [Theory]
    [MemberData(nameof(Methods))]
    public void Every_call_frees_every_tensor_it_made(string name)
    {
        using var model = TransformerTestKit.RandomTinyBertClassifier(2);
        IAttributor[] methods = name switch
        {
            "integrated-gradients" => [new IntegratedGradients()],
            "conductance" => [new LayerConductance { Layer = "bert.encoder.layer.0" }],
            "conductance-in-groups" => [new LayerConductance { Layer = "bert.encoder.layer.0", MemoryBudget = 1 }],
            _ => [new Gradient(), new GradientXInput()],
        };
        string[] texts = ["2 7 9 11 3", "2 40 3", "2 5 6 7 8 9 10 3", "2 31 17 3"];
        MethodRunner.AttributeAll(model, texts, methods, new ExplainOptions { BatchSize = 2 });
        var before = LiveTensors.Settled();
        var results = MethodRunner.AttributeAll(model, texts, methods, new ExplainOptions { BatchSize = 2 });
        LiveTensors.Count.Should().Be(before, "read before the garbage collector can finalize a leaked tensor");
        results.SelectMany(r => r).Should().HaveCount(texts.Length * methods.Length);
    }
}
