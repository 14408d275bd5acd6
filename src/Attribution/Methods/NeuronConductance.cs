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
/// Default rule (<see cref="PathMethod.Rule"/> null): trapezoid, and 50 steps where none is given (Captum's
/// <c>NeuronConductance.attribute</c> defaults, <c>method="riemann_trapezoid"</c>): a neuron's conductance has no
/// completeness check to stop adaptive integration on, so it is not integrated adaptively. The layer's output must be
/// [batch, positions, units] (one number per neuron and text); another shape is refused naming <see cref="LayerMethod.Layer"/>.
/// </summary>
public sealed class NeuronConductance : ConductanceMethod
{
    /// <summary>Position (token index) of the neuron in the layer's output.</summary>
    public required int Position { get; init; }

    /// <summary>Unit (hidden index) of the neuron.</summary>
    public required int Unit { get; init; }

    /// <inheritdoc />
    /// <remarks>The trapezoid rule, Captum's <c>NeuronConductance</c> default (unlike its <c>LayerConductance</c>'s).</remarks>
    private protected override IntegrationRule DefaultRule => IntegrationRule.RiemannTrapezoid;

    /// <inheritdoc />
    public override string Name => "neuron-conductance";

    /// <inheritdoc />
    public override MethodKind Kind => MethodKind.NeuronConductance;

    /// <inheritdoc />
    public override Signedness Signedness => Signedness.Signed;

    /// <inheritdoc />
    public override HiddenReduction Reduction => HiddenReduction.Sum;

    /// <inheritdoc />
    protected override void Validate(ITextClassifier model)
    {
        base.Validate(model);
        IntegrationRules.ValidateSteps(EffectiveRule, Steps ?? CaptumSteps, nameof(Steps));
        if (Position < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Position), Position, $"neuron ({Position}, {Unit}): the position must be non-negative (0 is the first token)");
        }

        if (Unit < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Unit), Unit, $"neuron ({Position}, {Unit}): the unit must be non-negative (0 is the layer's first hidden unit)");
        }
    }

    /// <inheritdoc />
    internal override bool SharesPathsAcrossClasses => true;

    /// <inheritdoc />
    protected override IEnumerable<KeyValuePair<string, string>> DescribeSettings() =>
        ConductanceSettings().Prepend(new("neuron", string.Create(CultureInfo.InvariantCulture, $"{Position},{Unit}")));

    /// <inheritdoc />
    protected override MethodOutput Attribute(AttributionContext context)
    {
        for (var i = 0; i < context.Size; i++)
        {
            // Beyond a text's own tokens the position is padding, which exists only because a longer text shares
            // the batch: its conductance would depend on the batching and mean nothing.
            var tokens = context.Batch.Lengths[i];
            if (Position >= tokens)
            {
                throw new ArgumentOutOfRangeException(nameof(Position), Position,
                    $"neuron ({Position}, {Unit}) is past the end of \"{NonFiniteValueException.Shorten(context.Batch.Texts[i])}\", which has {tokens} tokens (positions 0..{tokens - 1}, special tokens included): choose a position every text has, or explain this text with a position within it");
            }
        }

        var inputLayer = context.Layer(InputLayer);
        var layer = context.Layer(Layer);
        var path = PathInputs.Compute(context, inputLayer, LayerSide.Output, 0, Baseline);
        var difference = path.Input - path.Baseline;
        var total = WeightedGradientSum(context, path.Input, Steps ?? CaptumSteps, alphas => NeuronPathGradients(context, inputLayer, layer, path.Baseline, difference, alphas));

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
        var scaled = PathInputs.Interpolate(baseline, difference, alphas);
        var repeats = alphas.Length;

        // d/d(input) of y_neuron · stop-gradient(∂score/∂y_neuron): the gradient through the neuron times the
        // neuron's own gradient with respect to the input, as Captum's neuron conductance defines it.
        return PathPass.Run(context, new LayerSite(inputLayer), repeats, _ => scaled, observe: new LayerSite(layer, Side, TensorIndex),
            objective: (score, observed) =>
            {
                var y = observed!;
                // The first dimension is the pass's rows (texts × path points), not the user's concern. Each error
                // names the setting that is wrong: the layer, the position or the unit.
                // (Position, Unit) picks one number per row only from [rows, positions, units]; from a 4-D output
                // (attention probabilities [rows, heads, queries, keys]) it would pick a whole slice and differentiate
                // its sum, which is no neuron (Captum refuses a selector that leaves more than one value per example).
                if (y.dim() != 3)
                {
                    throw new ArgumentException(
                        $"neuron ({Position}, {Unit}) needs a layer whose output is [batch, positions, units], but the output of '{Layer}' is [{string.Join(", ", y.shape)}]: choose a layer whose output has one token axis and one hidden axis",
                        nameof(Layer));
                }

                if (Position >= y.size(1))
                {
                    throw new ArgumentOutOfRangeException(nameof(Position), Position,
                        $"neuron ({Position}, {Unit}) is outside the layer's output for this batch: positions 0..{y.size(1) - 1} (padded), units 0..{y.size(2) - 1}; choose a position in 0..{y.size(1) - 1}");
                }

                if (Unit >= y.size(2))
                {
                    throw new ArgumentOutOfRangeException(nameof(Unit), Unit,
                        $"neuron ({Position}, {Unit}) is outside the layer's output for this batch: positions 0..{y.size(1) - 1} (padded), units 0..{y.size(2) - 1}; choose a unit in 0..{y.size(2) - 1}");
                }

                // The score not depending on the layer's output at all (no gradient, not a zero one) means the layer is not
                // between the path and the output: run before InputLayer, it sees none of the path, and the neuron's
                // conductance came out as zeros without a word. (A layer beside InputLayer that still reaches the score has a
                // gradient and is not caught here: its conductance is 0 because the path does not move it.)
                var outer = Gradients.Of([score], [y], retainGraph: true)[0]
                    ?? throw new ArgumentException(
                        $"neuron ({Position}, {Unit}): the score does not depend on the output of '{Layer}' once InputLayer '{InputLayer ?? context.Model.WordEmbeddingPath}' is moved along the path, so no conductance flows through it: give an InputLayer that runs before Layer (or leave it null for the word embeddings), and a Layer the output depends on",
                        nameof(InputLayer));
                var throughNeuron = outer.select(1, Position).select(1, Unit).detach();
                var neuron = y.select(1, Position).select(1, Unit);
                return (neuron * throughNeuron).sum();
            }).Gradient;
    }
}
