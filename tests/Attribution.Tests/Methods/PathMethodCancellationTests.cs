using Attribution.Engine;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Tests.Models;

namespace Attribution.Tests.Methods;

/// <summary>
/// A path method (Integrated Gradients, layer and neuron conductance, Gradient SHAP) runs, per batch, the prediction,
/// then its setup passes (the path's input end and each baseline), then the path's points. Cancelled at any pass but
/// the last, the call throws <see cref="OperationCanceledException"/> and no further forward pass runs; it frees every
/// tensor it made and the method answers as before. Counted in forward passes with a hook on the model (which makes the
/// input end a pass of its own, as any caller's hook does), never timed. Runs alone: the live tensor count is process-wide.
/// </summary>
[Collection(LiveTensorCollection.Name)]
public sealed class PathMethodCancellationTests
{
    private static readonly string[] Texts = ["2 7 9 11 3", "2 40 3", "2 5 6 7 8 9 10 3", "2 31 17 3"];

    public static TheoryData<string> Methods() =>
        ["integrated-gradients", "adaptive-integrated-gradients", "conductance", "neuron-conductance", "gradient-shap", "gradient-then-gradient-shap"];

    public static TheoryData<string> AdaptiveMethods() => ["integrated-gradients", "conductance"];

    private static IAttributor[] Build(string name) => name switch
    {
        "integrated-gradients" => [new IntegratedGradients { Steps = 8, InternalBatchSize = 8 }],
        "adaptive-integrated-gradients" => [new IntegratedGradients { InternalBatchSize = 4, Adaptive = new AdaptiveIntegration { Tolerance = 0.05 } }],
        "conductance" => [new LayerConductance { Layer = "bert.encoder.layer.0", Steps = 8, InternalBatchSize = 8 }],
        "neuron-conductance" => [new NeuronConductance { Layer = "bert.encoder.layer.0", Position = 1, Unit = 0, Steps = 8, InternalBatchSize = 8 }],
        "gradient-shap" => [new GradientShap { Samples = 4 }],
        // The gradient takes the prediction's pass; Gradient SHAP's input end and two baselines follow it.
        _ => [new Gradient(), new GradientShap { Samples = 4 }],
    };

    /// <summary>
    /// Before, the integration loop held the first check: cancelled during the prediction, the input end's pass and the
    /// baseline's ran (Gradient SHAP: the input end and both baselines, 3 passes), then the call threw.
    /// </summary>
    [Theory]
    [MemberData(nameof(Methods))]
    public void Cancelled_at_any_pass_but_the_last_runs_no_further_pass(string name)
    {
        using var model = TransformerTestKit.RandomTinyBertClassifier(2);
        var methods = Build(name);
        var options = new AttributionOptions { BatchSize = 4 };
        var expected = MethodRunner.AttributeAll(model, Texts, methods, options);
        var total = ForwardCounter.Count(model, () => MethodRunner.AttributeAll(model, Texts, methods, options));

        total.Should().BeGreaterThan(3, "the prediction, the setup passes and at least one pass of path points");
        var before = LiveTensors.Settled();
        // Cancelled during the last pass nothing is left to stop: the call may return its result.
        CancelAtPass.AtEveryPassButTheLast(model.Module, total, token => MethodRunner.AttributeAll(model, Texts, methods, options with { Cancellation = token }));

        LiveTensors.Settled().Should().Be(before, "a cancelled call frees every tensor it made");
        model.Module.SelfAndDescendants().Should().OnlyContain(m => ModuleHooks.Count(m.Module) == 0, "a cancelled call removes its hooks");
        var after = MethodRunner.AttributeAll(model, Texts, methods, options);
        after.SelectMany(e => e).Select(e => e.Scores).Should().BeEquivalentTo(expected.SelectMany(e => e).Select(e => e.Scores),
            o => o.WithStrictOrdering(), "the model and the method answer as before (bit for bit)");
    }

    /// <summary>
    /// On RoBERTa the pad baseline moves the position ids, so adaptive integration that has settled but misses Captum's
    /// completeness test runs one more pass, F at the path's start, after that level's points (once per batch). At the
    /// last level that pass is the call's last: before, it ran unchecked, so a call cancelled during the level's points
    /// (the next-to-last pass) ran it and returned a result. It must throw, and run nothing after the cancelling pass.
    /// </summary>
    [Theory]
    [MemberData(nameof(AdaptiveMethods))]
    public void Adaptive_integration_cancelled_before_its_path_start_pass_throws(string name)
    {
        var module = TransformerTestKit.RandomModel(TransformerTestKit.TinyRoberta, seed: 11);
        using var model = new TextClassifier("tiny-roberta", new IdsTokenizer(0, 2, 1, module.Config.VocabSize), module, ["a", "b"],
            module.WordEmbeddingPath, module.Config.MaxSequenceLength, usesTokenTypes: false);
        IAttributor method = name == "integrated-gradients" ? new IntegratedGradients() : new LayerConductance { Layer = "roberta.encoder.layer.0" };
        string[] texts = ["5 9 12 7 30"];
        var options = new AttributionOptions { Target = Target.Class(0) };
        var expected = method.Attribute(model, texts, options);
        expected[0].Notes.Should().Contain(n => n.Contains("F(path start)"), "the precondition: the path start's pass ran");
        var total = ForwardCounter.Count(model, () => method.Attribute(model, texts, options));

        var before = LiveTensors.Settled();
        CancelAtPass.AtEveryPassButTheLast(model.Module, total, token => method.Attribute(model, texts, options with { Cancellation = token }));

        LiveTensors.Settled().Should().Be(before, "a cancelled call frees every tensor it made, the accepted rows included");
        method.Attribute(model, texts, options)[0].Scores.Should().Equal(expected[0].Scores, "the model and the method answer as before (bit for bit)");
    }
}
