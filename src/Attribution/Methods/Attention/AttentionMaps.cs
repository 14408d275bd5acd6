using System.Collections.Immutable;
using Attribution.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods.Attention;

/// <summary>
/// Per-layer, per-head attention matrices of one text (LIT's attention view). Attention shows where the model looked,
/// not why it decided: it is not a faithful attribution (Bastings and Filippova 2020; Jain and Wallace 2019).
/// </summary>
/// <param name="Text">The text.</param>
/// <param name="Tokens">Its tokens, special tokens included.</param>
/// <param name="Layers">[layer][head][query][key] attention probabilities (rows sum to 1 over the text's tokens).</param>
public sealed record AttentionMaps(string Text, ImmutableArray<string> Tokens, IReadOnlyList<IReadOnlyList<double[][]>> Layers)
{
    /// <summary>The attention matrices of every layer and head for <paramref name="text"/>.</summary>
    /// <param name="model">A classifier whose attention uses <see cref="AttentionSoftmax"/> modules.</param>
    /// <param name="text">A non-empty text.</param>
    /// <param name="pair">The second text of a pair, or null.</param>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> or <paramref name="text"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="text"/> or <paramref name="pair"/> is empty or whitespace; the
    /// model has no <see cref="AttentionSoftmax"/> module (<paramref name="model"/>); or the text (with its pair) is longer
    /// than the model accepts (no truncation here; <paramref name="text"/>, or <paramref name="pair"/> when the text alone fits).</exception>
    /// <exception cref="InvalidOperationException">The model is in training mode (dropout would change the attention): call eval() first.</exception>
    public static AttentionMaps Of(ITextClassifier model, string text, string? pair = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var lease = ModelLease.Enter(model);
        Internal.TextArguments.CheckOne(text, nameof(text), "there is nothing to show attention for");
        if (pair is not null)
        {
            Internal.TextArguments.CheckOne(pair, nameof(pair), "give the pair's second text, or null for a single text");
        }

        var modules = AttentionCapture.Modules(model, "attention maps");

        // Refused here, naming this method's parameters: the encoder's refusal named "texts" and offered truncation,
        // which this method does not take.
        if (model.MaxLength is { } max && model.Tokenizer.Encode(text, pair).Length is var length && length > max)
        {
            var alone = pair is null ? length : model.Tokenizer.Encode(text).Length;
            throw new ArgumentException(
                $"the text{(pair is null ? string.Empty : " with its pair")} has {length} tokens but {model.Name} accepts at most {max}: attention maps show the whole input (no truncation), so shorten {(alone > max || pair is null ? "the text" : "the pair")}",
                alone > max || pair is null ? nameof(text) : nameof(pair));
        }

        // As in AttributionContext: every hook dispatcher is installed before this forward pass, never during another's.
        ModelReadiness.Prepare(model.Name, model.Module);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var batch = model.Encode([text], false, pair is null ? null : [pair]);
        var (_, attention) = AttentionCapture.Run(model, modules, batch.Input);
        var layers = attention.Select(a =>
        {
            var heads = (int)a.size(1);
            var n = (int)a.size(2);
            var values = a.to(ScalarType.Float64).contiguous().data<double>().ToArray();
            return (IReadOnlyList<double[][]>)Enumerable.Range(0, heads)
                .Select(h => Enumerable.Range(0, n).Select(q => values.AsSpan(((h * n) + q) * n, n).ToArray()).ToArray())
                .ToArray();
        }).ToArray();
        return new AttentionMaps(text, [.. batch.Encodings[0].Tokens], layers);
    }
}
