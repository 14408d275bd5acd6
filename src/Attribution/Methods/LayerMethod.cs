using Attribution.Methods.Internal;
using Attribution.Models;

namespace Attribution.Methods;

/// <summary>Settings shared by methods that attribute to one layer of the model.</summary>
public abstract class LayerMethod : TextAttributor
{
    /// <summary>For subclasses.</summary>
    protected LayerMethod()
    {
    }

    /// <summary>Dotted path of the layer (default: the model's word-embedding layer).</summary>
    /// <remarks>
    /// An unknown path is an <see cref="ArgumentException"/> naming this setting and the closest paths. The layer must
    /// run exactly once per forward pass, through <c>.call(x)</c>: one that does not run, or runs several times (a
    /// module reused at several places), makes the call throw an <see cref="InvalidOperationException"/> naming the
    /// layer and how often it ran; attribute to a module that runs once, such as the parent wrapping its uses.
    /// </remarks>
    public string? Layer { get; init; }

    /// <summary>Attribute to the layer's output (default) or input.</summary>
    public LayerSide Side { get; init; } = LayerSide.Output;

    /// <summary>Which tensor of the layer's output (or input) when it is a tuple (default 0).</summary>
    public int TensorIndex { get; init; }

    /// <inheritdoc />
    protected override void Validate(ITextClassifier model)
    {
        if (Layer is "")
        {
            // "" resolves to the whole model: its output is the logits and its input the token ids, neither a layer of token
            // activations. Its logits passed the token-axis check whenever the text had as many tokens as the model has
            // labels, and the "attributions" were the score's gradient with respect to the logits.
            throw new ArgumentException(
                $"Layer \"\" is the root module (the model), whose output is the logits and whose input the token ids, not a layer {Name} can attribute to: " +
                "give the dotted path of a layer whose output has a token axis ([batch, tokens, …], e.g. an encoder layer), or leave Layer null for the word embeddings", nameof(Layer));
        }

        LayerPaths.Resolve(model, Layer, nameof(Layer));
        EnumSettings.Check(Side, nameof(Side));
        if (TensorIndex < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(TensorIndex), TensorIndex, "tensor index must be non-negative");
        }
    }

    /// <summary>The attributed tensor (<see cref="Layer"/>, <see cref="Side"/>, <see cref="TensorIndex"/>) in this batch's model.</summary>
    /// <param name="context">The batch.</param>
    protected LayerSite SiteIn(AttributionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Site(Layer, Side, TensorIndex);
    }

    /// <summary>The site of <see cref="Layer"/>, <see cref="Side"/>, <see cref="TensorIndex"/> in <paramref name="model"/>.</summary>
    private protected LayerSite SiteIn(ITextClassifier model) => new(LayerPaths.Resolve(model, Layer, nameof(Layer)), Side, TensorIndex);

    /// <summary>The layer settings recorded on results: layer, side and, when not 0, the tensor index.</summary>
    protected IEnumerable<KeyValuePair<string, string>> LayerSettings()
    {
        yield return new("layer", Layer ?? "word-embeddings");
        yield return new("side", Side == LayerSide.Output ? "output" : "input");
        if (TensorIndex != 0)
        {
            yield return new("tensor-index", TensorIndex.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }
}
