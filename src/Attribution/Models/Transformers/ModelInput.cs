using System.Runtime.CompilerServices;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Models;

/// <summary>
/// The input of a transformer classifier: token ids with an optional attention mask and token
/// types, each shaped [batch, sequence]. The tensors stay the caller's (the model never disposes them).
/// </summary>
/// <param name="InputIds">Token ids, int64 [batch, sequence].</param>
/// <param name="AttentionMask">
/// 1 for real tokens and 0 for padding, int64, boolean or floating point [batch, sequence]; null means all ones. Any other
/// value is refused (<see cref="ArgumentOutOfRangeException"/>).
/// </param>
/// <param name="TokenTypeIds">Segment ids, int64 [batch, sequence]; null means all zeros. DistilBERT has none.</param>
public sealed record ModelInput(Tensor InputIds, Tensor? AttentionMask = null, Tensor? TokenTypeIds = null) : ITuple
{
    /// <summary>
    /// Only the logits are wanted: no layer's output will be read. The transformer classifiers here, whose heads read
    /// the first token alone, then run their last layer for that token only (keys and values still come from every
    /// token), which gives the same logits for less work (7% of the linear layers' work on BERT-base, 42% on a 2-layer model). Other modules ignore it.
    /// Set by forward-only scoring (<see cref="TextClassifier.Predict"/> and <see cref="ITokenClassifier.PredictLogits"/>:
    /// the perturbation methods, LIME, the evaluation metrics), by a batch's first pass, and by every pass of a gradient
    /// or path method tapped at the word embeddings' output (the gradient and activation there are the full model's);
    /// never where a method reads or hooks another layer, nor while the caller's own hooks (or any registered directly
    /// with TorchSharp) are on the model.
    /// </summary>
    public bool LogitsOnly { get; init; }

    // ITuple lets ModuleIO (and hooks written against it) read the input tensors of the models by
    // position (0 = ids, 1 = mask, 2 = token types) like any other module input.
    int ITuple.Length => 3;

    object? ITuple.this[int index] => index switch
    {
        0 => InputIds,
        1 => AttentionMask,
        2 => TokenTypeIds,
        _ => throw new IndexOutOfRangeException($"a ModelInput has 3 items (ids, mask, token types), not item {index}"),
    };
}
