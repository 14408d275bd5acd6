using Attribution.Methods;
using Attribution.Models;
using Attribution.Tests.Methods;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Attribution.Tests.Engine;

/// <summary>
/// A gradient asked where no autograd graph joins the model's output and the attributed tensor is refused as a managed
/// <see cref="InvalidOperationException"/> saying why. Before, libtorch's C++ error went through TorchSharp 0.107's
/// THSAutograd_grad uncaught and std::terminate ended the whole process (the test host here: "Test host process crashed").
/// So, undone, these tests do not fail one by one: they abort the run.
/// </summary>
[Collection(LiveTensorCollection.Name)]
public sealed class DisconnectedGradientTests
{
    /// <summary>Conductance whose InputLayer (the projection) runs after its Layer (the embeddings): the logits depend only on the path's constant points.</summary>
    [Fact]
    public void Conductance_with_an_input_layer_after_the_layer_is_refused_without_ending_the_process()
    {
        using var model = PowerOfSum.Classifier(1);
        var before = LiveTensors.Settled();
        FluentActions.Invoking(() => new LayerConductance { Layer = "embeddings", InputLayer = "projection", Steps = 4 }.Explain(model, "3 4"))
            .Should().Throw<InvalidOperationException>()
            .WithMessage("the model's output has no gradient with respect to the tensor being attributed*InputLayer runs after its Layer*");
        LiveTensors.Settled().Should().Be(before, "a refused call frees what it made");
    }

    /// <summary>A user's module whose forward pass runs under no_grad: every gradient method is refused, a perturbation method still works.</summary>
    [Fact]
    public void A_model_whose_forward_pass_keeps_no_gradients_is_refused_by_gradient_methods()
    {
        using var model = new TextClassifier("no-grad", new IdsTokenizer(-1, -2, 0, 10), new NoGradModel(), ["0", "1"], "embeddings", maxLength: null, usesTokenTypes: false);
        foreach (var method in new IAttributor[] { new Gradient(), new GradientXInput(), new IntegratedGradients { Steps = 4 } })
        {
            FluentActions.Invoking(() => method.Explain(model, "3 4")).Should().Throw<InvalidOperationException>()
                .WithMessage("the model's output has no gradient*it runs without gradients, under no_grad*", method.Name);
        }

        new Occlusion { Perturbation = AbsentFeature.Baseline }.Explain(model, "3 4").Scores.Should().HaveCount(2);
    }

    private sealed class NoGradModel : nn.Module<ModelInput, Tensor>
    {
        private readonly Embedding embeddings = nn.Embedding(10, 3);
        private readonly Linear projection = nn.Linear(3, 2);

        public NoGradModel()
            : base(nameof(NoGradModel)) => RegisterComponents();

        public override Tensor forward(ModelInput input)
        {
            // The mistake under test: the whole forward pass without gradients.
            using var noGrad = no_grad();
            return projection.call(embeddings.call(input.InputIds)).sum(1);
        }
    }

    /// <summary>
    /// Neuron conductance whose Layer (the embeddings) runs before its InputLayer (the projection): the score does not
    /// depend on the neuron's layer, whose gradient is none at all, and every score came out 0 without a word. Refused
    /// naming InputLayer.
    /// </summary>
    [Fact]
    public void Neuron_conductance_through_a_layer_before_its_input_layer_is_refused_naming_input_layer()
    {
        var (model, module) = PowerOfSum.Counted(1);
        using (model)
        {
            var error = FluentActions.Invoking(() => new NeuronConductance { Layer = "embeddings", InputLayer = "projection", Position = 0, Unit = 0, Steps = 4 }.Explain(model, "3 4"))
                .Should().Throw<ArgumentException>().Which;
            error.ParamName.Should().Be("InputLayer");
            error.Message.Should().StartWith("neuron (0, 0): the score does not depend on the output of 'embeddings' once InputLayer 'projection' is moved along the path");

            // The same neuron with the word embeddings as the input layer (InputLayer null) and the projection as the layer still works.
            new NeuronConductance { Layer = "projection", Position = 0, Unit = 0, Steps = 4 }.Explain(model, "3 4").Scores.Should().HaveCount(2);
        }
    }

    /// <summary>
    /// Conductance whose InputLayer ("second") runs after its Layer ("first"), with a trainable layer ("head") after the
    /// input layer: the output has a graph, but not to the layer's activations, and every conductance came out 0 without
    /// a word (fixed steps and adaptive alike). Refused naming InputLayer; the same model with the input layer before the
    /// layer still explains.
    /// </summary>
    [Fact]
    public void Conductance_through_a_layer_before_its_input_layer_is_refused_naming_input_layer()
    {
        using var model = new TextClassifier("two-layers", new IdsTokenizer(-1, -2, 0, 10), new TwoLayerModel(), ["0", "1"], "embeddings", maxLength: null, usesTokenTypes: false);
        // No live-tensor check here: for an input the output never reaches, libtorch's autograd.grad returns an undefined
        // tensor, which TorchSharp 0.107 counts when it wraps it and never uncounts (Dispose skips a zero handle), so its
        // statistics rise by one per refused call though no native memory is held.
        foreach (int? steps in new int?[] { 4, null })
        {
            var error = FluentActions.Invoking(() => new LayerConductance { Layer = "first", InputLayer = "second", Steps = steps }.Explain(model, "3 4"))
                .Should().Throw<ArgumentException>().Which;
            error.ParamName.Should().Be("InputLayer", $"steps {steps}: {error.Message}");
            error.Message.Should().StartWith("the model's output does not depend on the layer 'first' (Linear) once InputLayer 'second' (Linear) is moved along the path", $"steps {steps}");
        }

        new LayerConductance { Layer = "second", InputLayer = "first", Steps = 4 }.Explain(model, "3 4").Scores.Should().HaveCount(2);
    }

    /// <summary>Token-wise embeddings → first → second, summed over tokens, → head: every layer trainable.</summary>
    private sealed class TwoLayerModel : nn.Module<ModelInput, Tensor>
    {
        private readonly Embedding embeddings = nn.Embedding(10, 3);
        private readonly Linear first = nn.Linear(3, 3);
        private readonly Linear second = nn.Linear(3, 3);
        private readonly Linear head = nn.Linear(3, 2);

        public TwoLayerModel()
            : base(nameof(TwoLayerModel)) => RegisterComponents();

        public override Tensor forward(ModelInput input) =>
            head.call(second.call(first.call(embeddings.call(input.InputIds))).sum(1));
    }
}
