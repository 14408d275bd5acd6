using Attribution.Methods.Internal;
using Attribution.Models;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods;

/// <summary>
/// Layer conductance, as Captum's <c>LayerConductance</c>: the input (word embeddings, by default) moves along the
/// straight path from the baseline; at n + 1 points of the chosen rule the attributed layer's activation y and the
/// gradient g of the scored output with respect to it are taken, and conductance = Σ_k (y_{k+1} − y_k) · g_k, per
/// token and unit of the layer's output. Per token the units are summed. Works on any module whose output (or the
/// <see cref="LayerMethod.TensorIndex"/>-th tensor of a tuple output) is laid out [batch, tokens, …]: a BERT layer, an
/// LSTM, a Linear applied per token.
/// </summary>
public sealed class LayerConductance : ConductanceMethod
{
    /// <inheritdoc />
    public override string Name => "conductance";

    /// <inheritdoc />
    public override MethodKind Kind => MethodKind.LayerConductance;

    /// <inheritdoc />
    public override Signedness Signedness => Signedness.Signed;

    /// <inheritdoc />
    public override HiddenReduction Reduction => HiddenReduction.Sum;

    /// <inheritdoc />
    protected override void Validate(ITextClassifier model)
    {
        base.Validate(model);
        if (Steps < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(Steps), Steps, "conductance needs at least 1 step");
        }

        IntegrationRules.ValidateSteps(Rule, Steps + 1, nameof(Steps));
    }

    /// <inheritdoc />
    protected override IEnumerable<KeyValuePair<string, string>> DescribeSettings() =>
        ConductanceSettings();

    /// <inheritdoc />
    protected override MethodOutput Attribute(AttributionContext context)
    {
        var inputLayer = context.Layer(InputLayer);
        var layer = context.Layer(Layer);
        var path = PathInputs.Compute(context, inputLayer, LayerSide.Output, 0, Baseline);
        var difference = path.Input - path.Baseline;
        var alphas = IntegrationRules.Alphas(Rule, Steps + 1);
        var batch = context.Size;
        var pointsPerPass = PointsPerPass(batch);

        // Stream over the n + 1 points in order, keeping only the previous activation and gradient.
        Tensor? total = null;
        Tensor? previousActivation = null;
        Tensor? previousGradient = null;
        for (var first = 0; first <= Steps; first += pointsPerPass)
        {
            var count = Math.Min(pointsPerPass, Steps + 1 - first);
            context.Options.Cancellation.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var (activations, gradients) = LayerAlongPath(context, inputLayer, layer, path.Baseline, difference, alphas.AsSpan(first, count));
            using var noGrad = no_grad();
            var carried = (previousActivation, previousGradient);
            for (var k = 0; k < count; k++)
            {
                var activation = activations.narrow(0, k * batch, batch);
                var gradient = gradients.narrow(0, k * batch, batch);
                if (previousActivation is not null)
                {
                    var term = (activation - previousActivation) * previousGradient!;
                    if (total is null)
                    {
                        total = term.clone();
                        total.MoveToOuterDisposeScope();
                    }
                    else
                    {
                        total.PlusInPlace(term);
                    }
                }

                previousActivation = activation;
                previousGradient = gradient;
            }

            // The last point of this pass is needed by the next one: keep it beyond this scope.
            previousActivation = previousActivation!.clone().MoveToOuterDisposeScope();
            previousGradient = previousGradient!.clone().MoveToOuterDisposeScope();

            // The previous pass's carried point is used up: free it now, so memory does not grow with the steps.
            carried.previousActivation?.Dispose();
            carried.previousGradient?.Dispose();
        }

        var attributions = total!;
        var deltas = path.Deltas(attributions);
        return new MethodOutput(attributions, PerDimension: true, deltas);
    }

    private (Tensor Activations, Tensor Gradients) LayerAlongPath(
        AttributionContext context, nn.Module inputLayer, nn.Module layer, Tensor baseline, Tensor difference, ReadOnlySpan<double> alphas)
    {
        var scaled = PathInputs.Interpolate(baseline, difference, alphas);
        var pass = PathPass.Run(context, new LayerSite(layer, Side, TensorIndex), alphas.Length, null, upstream: (new LayerSite(inputLayer), scaled));
        return (pass.Activation, pass.Gradient);
    }
}
