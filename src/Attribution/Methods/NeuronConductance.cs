using System.Globalization;
using Attribution.Methods.Internal;
using Attribution.Models;
using Attribution.Torch;
using static Attribution.Torch.torch;

namespace Attribution.Methods;

/// <summary>
/// Neuron conductance, as Captum's <c>NeuronConductance</c>: how much each input dimension (word embeddings by
/// default) contributes to the scored output through one neuron (token position, unit) of a layer. Along the path
/// from the baseline, Σ_k w_k (∂F/∂y_n)(∂y_n/∂x) is multiplied by (x − x′); per token the dimensions are summed.
/// Default rule: trapezoid (Captum's default).
/// </summary>
public sealed class NeuronConductance : LayerMethod
{
    /// <summary>Position (token index) of the neuron in the layer's output.</summary>
    public required int Position { get; init; }

    /// <summary>Unit (hidden index) of the neuron.</summary>
    public required int Unit { get; init; }

    /// <summary>Number of integration points (default 50).</summary>
    public int Steps { get; init; } = 50;

    /// <summary>Integration rule (default trapezoid).</summary>
    public IntegrationRule Rule { get; init; } = IntegrationRule.RiemannTrapezoid;

    /// <summary>The baseline of the input path (default <c>[CLS] [PAD] … [SEP]</c>).</summary>
    public Baseline Baseline { get; init; } = Baseline.Pad;

    /// <summary>Dotted path of the layer whose output is the input of the path (default: the word embeddings).</summary>
    public string? InputLayer { get; init; }

    /// <summary>Rows (texts × path points) per forward pass (default 64).</summary>
    public int InternalBatchSize { get; init; } = 64;

    /// <inheritdoc />
    public override string Name => "neuron-conductance";

    private protected override bool Signed => true;

    private protected override HiddenReduction Reduction => HiddenReduction.Sum;

    private protected override void Validate(ITextClassifier model)
    {
        if (Layer is null)
        {
            throw new ArgumentException("neuron conductance needs the layer holding the neuron (e.g. bert.encoder.layer.1): set Layer / --layer", nameof(Layer));
        }

        base.Validate(model);
        model.Module.get_submodule(InputLayer ?? model.WordEmbeddingPath);
        IntegrationRules.ValidateSteps(Rule, Steps, nameof(Steps));
        if (Position < 0 || Unit < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Position), $"neuron ({Position}, {Unit}): position and unit must be non-negative");
        }

        if (InternalBatchSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(InternalBatchSize), InternalBatchSize, "internal batch size must be at least 1");
        }
    }

    private protected override IEnumerable<KeyValuePair<string, string>> DescribeSettings() =>
        LayerSettings().Concat(
        [
            new("neuron", string.Create(CultureInfo.InvariantCulture, $"{Position},{Unit}")),
            new("input-layer", InputLayer ?? "word-embeddings"),
            new("steps", Steps.ToString(CultureInfo.InvariantCulture)),
            new("integration", Rule.CaptumName()),
            new("baseline", Baseline.Name),
            new("internal-batch-size", InternalBatchSize.ToString(CultureInfo.InvariantCulture)),
        ]);

    private protected override MethodOutput Attribute(AttributionContext context)
    {
        var inputLayer = context.Layer(InputLayer);
        var layer = context.Layer(Layer);
        var path = PathInputs.Compute(context, inputLayer, LayerSide.Output, 0, Baseline);
        var difference = path.Input - path.Baseline;
        var alphas = IntegrationRules.Alphas(Rule, Steps);
        var stepSizes = IntegrationRules.StepSizes(Rule, Steps);
        var batch = context.Size;
        var stepsPerPass = Math.Max(1, InternalBatchSize / batch);
        var total = zeros_like(path.Input);
        for (var first = 0; first < Steps; first += stepsPerPass)
        {
            var count = Math.Min(stepsPerPass, Steps - first);
            using var scope = NewDisposeScope();
            var gradients = NeuronPathGradients(context, inputLayer, layer, path.Baseline, difference, alphas.AsSpan(first, count));
            using var noGrad = no_grad();
            for (var k = 0; k < count; k++)
            {
                total.add_(gradients.narrow(0, k * batch, batch) * (double)(float)stepSizes[first + k]);
            }
        }

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
        Tensor scaled;
        using (no_grad())
        {
            var points = new List<Tensor>(alphas.Length);
            foreach (var alpha in alphas)
            {
                points.Add(baseline + (difference * alpha));
            }

            scaled = (points.Count == 1 ? points[0] : cat(points)).requires_grad_();
        }

        Tensor? activation = null;
        using var inputTap = new LayerTap(inputLayer, LayerSide.Output, 0, _ => scaled);
        using var layerTap = new LayerTap(layer, Side, TensorIndex, value =>
        {
            activation = value;
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
        var outer = autograd.grad([score], [y], retain_graph: true, allow_unused: true)[0] ?? zeros_like(y);
        var throughNeuron = outer.select(1, Position).select(1, Unit);
        var inner = autograd.grad([neuron.sum()], [scaled], allow_unused: true)[0] ?? zeros_like(scaled);
        using var noGrad = no_grad();
        var shape = new long[inner.dim()];
        Array.Fill(shape, 1L);
        shape[0] = inner.size(0);
        return inner * throughNeuron.reshape(shape);
    }
}
