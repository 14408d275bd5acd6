using Attribution.Engine;
using Attribution.Methods;
using Attribution.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace CustomMethod;

/// <summary>
/// A user-written method: the first-order Taylor term of the scored output around a baseline at the word embeddings,
/// ∂F/∂e(x) · (e(x) − e(baseline)), per hidden dimension. With a zero baseline it is Gradient × Input; with the
/// padding token's embedding as baseline it says how the score moves when a token is swapped for padding, to first
/// order. Written only against the library's public API (<see cref="TextAttributor"/>, <see cref="AttributionContext"/>),
/// and wrappable by <see cref="NoiseTunnel"/> because it implements <see cref="INoiseTunnelable"/>.
/// </summary>
public sealed class EmbeddingTaylor : TextAttributor, INoiseTunnelable
{
    /// <summary>Subtract the padding token's embedding from each token's (true, default) or nothing (Gradient × Input).</summary>
    public bool PadBaseline { get; init; } = true;

    /// <inheritdoc />
    public override string Name => "embedding-taylor";

    /// <inheritdoc />
    public override Signedness Signedness => Signedness.Signed;

    /// <inheritdoc />
    public override HiddenReduction Reduction => HiddenReduction.Sum;

    /// <inheritdoc />
    protected override IEnumerable<KeyValuePair<string, string>> DescribeSettings()
    {
        yield return new("baseline", PadBaseline ? "pad-embedding" : "zero");
    }

    /// <inheritdoc />
    protected override void Validate(ITextClassifier model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (PadBaseline && model.Module.Submodule(model.WordEmbeddingPath) is not TorchSharp.Modules.Embedding)
        {
            throw new ArgumentException(
                $"{Name} with a padding baseline needs an nn.Embedding at '{model.WordEmbeddingPath}' of {model.Name}; set PadBaseline = false",
                nameof(model));
        }
    }

    /// <inheritdoc />
    protected override MethodOutput Attribute(AttributionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var pass = context.GradientAt(context.Site(null));
        return new MethodOutput(Taylor(context, pass), PerDimension: true);
    }

    /// <inheritdoc />
    public Tensor AttributeWithNoise(AttributionContext context, Func<Tensor, Tensor> perturb)
    {
        ArgumentNullException.ThrowIfNull(context);
        return Taylor(context, context.GradientAt(context.Site(null), perturb));
    }

    private Tensor Taylor(AttributionContext context, LayerGradient pass)
    {
        if (!PadBaseline)
        {
            return pass.Gradient * pass.Activation;
        }

        var embedding = (TorchSharp.Modules.Embedding)context.Layer(null);
        using var noGrad = no_grad();
        var pad = embedding.weight![context.Model.Tokenizer.PadId].detach();
        return pass.Gradient * (pass.Activation - pad);
    }
}
