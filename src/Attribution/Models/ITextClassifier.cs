using Attribution.Text.Tokenizers;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Models;

/// <summary>
/// Anything that maps texts to class probabilities: the only thing perturbation methods (LIME) need.
/// Wrap a plain function with <see cref="BlackBoxClassifier"/>.
/// </summary>
public interface ITextPredictor
{
    /// <summary>Class names, in output order.</summary>
    IReadOnlyList<string> Labels { get; }

    /// <summary>Class probabilities for each text: one row per text, one column per label, rows summing to 1.</summary>
    double[][] PredictProbabilities(IReadOnlyList<string> texts);
}

/// <summary>
/// A classifier that reads token ids: a tokenizer with character offsets, label names, and logits for sequences of
/// ids. This is all perturbation methods (LIME, occlusion, Shapley values, KernelSHAP) need, so they work on models
/// without gradients, such as ONNX classifiers, and perturb ids exactly (a masked token is the mask id, not a string
/// that the tokenizer might split differently).
/// </summary>
public interface ITokenClassifier : ITextPredictor
{
    /// <summary>A short name for reports (e.g. the model folder's name).</summary>
    string Name { get; }

    /// <summary>The tokenizer (ids, tokens and character offsets).</summary>
    ITokenizer Tokenizer { get; }

    /// <summary>The longest input in tokens (special tokens included) the model accepts, or null for no limit.</summary>
    int? MaxLength { get; }

    /// <summary>Whether the model uses token type ids (BERT does, DistilBERT and RoBERTa do not need them).</summary>
    bool UsesTokenTypes { get; }

    /// <summary>
    /// Logits, one row per sequence and one column per label, for unpadded id sequences (special tokens included).
    /// The implementation pads and batches as it needs; no gradients are kept.
    /// </summary>
    /// <param name="sequences">Non-empty sequences of at most <see cref="MaxLength"/> ids.</param>
    /// <exception cref="ArgumentException">A sequence is empty or too long; or (a <see cref="TextClassifier"/> whose word
    /// embedding is an <c>nn.Embedding</c>) an id, or the pad id that fills a shorter sequence, has no row in it (parameter
    /// <c>sequences</c>).</exception>
    double[][] PredictLogits(IReadOnlyList<TokenSequence> sequences);

    /// <summary>What the outputs mean (default <see cref="OutputHead.SingleLabel"/>: softmax over the logits).</summary>
    OutputHead Head => OutputHead.SingleLabel;
}

/// <summary>One unpadded model input: token ids and, for models that use them, token type ids.</summary>
/// <param name="Ids">Token ids, special tokens included.</param>
/// <param name="TypeIds">Token type ids, one per id, or null for all zeros.</param>
public sealed record TokenSequence(long[] Ids, long[]? TypeIds = null);

/// <summary>
/// A text classifier as gradient methods need it: an <see cref="ITokenClassifier"/> whose logits come from a hookable
/// TorchSharp module that maps <see cref="ModelInput"/> to logits, with the dotted path of its word-embedding layer.
/// </summary>
public interface ITextClassifier : ITokenClassifier
{
    /// <summary>The model: <see cref="ModelInput"/> → logits [batch, labels]. Attribution methods hook its submodules.</summary>
    torch.nn.Module<ModelInput, Tensor> Module { get; }

    /// <summary>Dotted path of the word-embedding module (its output is what embedding-space methods attribute to).</summary>
    string WordEmbeddingPath { get; }

    /// <inheritdoc />
    double[][] ITokenClassifier.PredictLogits(IReadOnlyList<TokenSequence> sequences) => TokenBatches.Logits(this, sequences);

    /// <summary>
    /// Tokenizes texts and builds the padded input tensors (in the current dispose scope). An empty text, or one
    /// longer than <see cref="ITokenClassifier.MaxLength"/> without <paramref name="truncate"/>, is an <see cref="ArgumentException"/>.
    /// </summary>
    EncodedBatch Encode(IReadOnlyList<string> texts, bool truncate = false) => Encode(texts, truncate, null);

    /// <summary>
    /// Encodes texts, or text pairs (<c>[CLS] a [SEP] b [SEP]</c>, token types 0/1 where the model uses them), into one
    /// padded batch; the pairs' second texts are in <paramref name="pairs"/>, one per text.
    /// </summary>
    /// <param name="texts">Non-empty texts (the first text of each pair).</param>
    /// <param name="truncate">Cut inputs longer than the model accepts (by <paramref name="strategy"/>) instead of failing.</param>
    /// <param name="pairs">The second text of each pair, or null for single texts.</param>
    /// <param name="strategy">Which text of a pair loses tokens when truncating.</param>
    /// <exception cref="ArgumentException">An empty text, or one too long without <paramref name="truncate"/>; or (a
    /// <see cref="TextClassifier"/> whose word embedding is an <c>nn.Embedding</c>) a token id, or the pad id, that the
    /// embedding has no row for: the tokenizer is not the model's (parameter <c>texts</c>).</exception>
    EncodedBatch Encode(IReadOnlyList<string> texts, bool truncate, IReadOnlyList<string>? pairs, TruncationStrategy strategy = TruncationStrategy.LongestFirst);
}

/// <summary>Tokenized texts and the tensors built from them (padded to the longest).</summary>
/// <param name="Texts">The texts.</param>
/// <param name="Encodings">One encoding per text, padded to the batch length.</param>
/// <param name="Input">Model input tensors [batch, length].</param>
/// <param name="Lengths">Real (unpadded) token count of each text.</param>
public sealed record EncodedBatch(IReadOnlyList<string> Texts, IReadOnlyList<Encoding> Encodings, ModelInput Input, int[] Lengths)
{
    /// <summary>The second text of each pair, or null for single texts.</summary>
    public IReadOnlyList<string>? Pairs { get; init; }
}

/// <summary>One text's prediction.</summary>
/// <param name="Text">The text.</param>
/// <param name="Logits">Raw scores, one per label.</param>
/// <param name="Probabilities">Each label's probability as the <see cref="Prediction.Head"/> defines it: softmax, a sigmoid per label, or empty for regression.</param>
/// <param name="Label">Index of the most probable label (0 for regression).</param>
/// <param name="LabelName">Name of the most probable label.</param>
public sealed record Prediction(string Text, double[] Logits, double[] Probabilities, int Label, string LabelName)
{
    /// <summary>What the outputs mean: for <see cref="OutputHead.Regression"/> <see cref="Probabilities"/> is empty and the score is <c>Logits[0]</c>.</summary>
    public OutputHead Head { get; init; }

    /// <summary>
    /// Every predicted label: the one label (single-label), each label above 0.5 or the top one (multi-label), 0
    /// (regression). A counterfactual comparison's <c>PredictedLabels</c> differs in one case: with no label above 0.5
    /// it lists none, since its flips are a label's σ crossing 0.5.
    /// </summary>
    public IReadOnlyList<int> Labels { get; init; } = [Label];
}
