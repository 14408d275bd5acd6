using System.Globalization;
using Attribution.Methods.Internal;
using Attribution.Models;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods;

/// <summary>
/// Neuron conductance, as Captum's <c>NeuronConductance</c>: how much each input dimension (word embeddings by
/// default) contributes to the scored output through one neuron (token position, unit) of a layer. Along the path
/// from the baseline, Σ_k w_k (∂F/∂y_n)(∂y_n/∂x) is multiplied by (x − x′); per token the dimensions are summed.
/// Default rule: trapezoid (Captum's default).
/// </summary>
public sealed class NeuronConductance : ConductanceMethod
{
    /// <summary>Position (token index) of the neuron in the layer's output.</summary>
    public required int Position { get; init; }

    /// <summary>Unit (hidden index) of the neuron.</summary>
    public required int Unit { get; init; }

    /// <inheritdoc />
    public override string Name => "neuron-conductance";

    private protected override bool Signed => true;

    private protected override HiddenReduction Reduction => HiddenReduction.Sum;

    private protected override void Validate(ITextClassifier model)
    {
        base.Validate(model);
        IntegrationRules.ValidateSteps(Rule, Steps, nameof(Steps));
        if (Position < 0 || Unit < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Position), $"neuron ({Position}, {Unit}): position and unit must be non-negative");
        }
    }

    private protected override IEnumerable<KeyValuePair<string, string>> DescribeSettings() =>
        ConductanceSettings().Prepend(new("neuron", string.Create(CultureInfo.InvariantCulture, $"{Position},{Unit}")));

    private protected override MethodOutput Attribute(AttributionContext context)
    {
        var inputLayer = context.Layer(InputLayer);
        var layer = context.Layer(Layer);
        var path = PathInputs.Compute(context, inputLayer, LayerSide.Output, 0, Baseline);
        var difference = path.Input - path.Baseline;
        var total = WeightedGradientSum(context, path.Input, alphas => NeuronPathGradients(context, inputLayer, layer, path.Baseline, difference, alphas));

        Tensor attributions;
        using (no_grad())
        {
            attributions = total * difference;
        }

        return new MethodOutput(attributions, PerDimension: true);
    }

    /// <summary>(∂F/∂y_n) · (∂y_n/∂x) at each path point, alpha-major.</summary>
    private Tensor NeuronPathGradients(AttributionContext context, nn.Module inputLayer, nn.Module layer, Tensor baseline, Tensor difference, ReadOnlySpan<double> alphas)
    {
        using var grad = enable_grad();
        var scaled = PathInputs.Interpolate(baseline, difference, alphas).requires_grad_();

        Tensor? activation = null;
        using var inputTap = new LayerTap(inputLayer, LayerSide.Output, 0, _ => scaled);
        using var layerTap = new LayerTap(layer, Side, TensorIndex, value =>
        {
            // An own handle: the model may dispose the layer's output once used (TorchSharp's Sequential does).
            activation = value.alias();
            return null;
        });
        var logits = context.Model.Module.call(context.Repeat(alphas.Length));
        PathInputs.EnsureRanOnce(inputTap, context);
        PathInputs.EnsureRanOnce(layerTap, context);
        var y = activation!;
        if (y.dim() < 3 || Position >= y.size(1) || Unit >= y.size(2))
        {
            throw new ArgumentOutOfRangeException(nameof(Position),
                $"neuron ({Position}, {Unit}) is outside the layer's output of shape [{string.Join(", ", y.shape)}] (batch, positions, units)");
        }

        var score = context.Score(logits, alphas.Length).sum();
        var neuron = y.select(1, Position).select(1, Unit);
        var outer = Gradients.OfOrZeros(score, y, retainGraph: true);
        var throughNeuron = outer.select(1, Position).select(1, Unit);
        var inner = Gradients.OfOrZeros(neuron.sum(), scaled);
        using var noGrad = no_grad();
        var shape = new long[inner.dim()];
        Array.Fill(shape, 1L);
        shape[0] = inner.size(0);
        return inner * throughNeuron.reshape(shape);
    }
}
