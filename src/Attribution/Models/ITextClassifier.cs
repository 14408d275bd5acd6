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
/// A text classifier as gradient methods need it: a tokenizer with character offsets, a hookable module that maps
/// <see cref="ModelInput"/> to logits, label names, and the dotted path of its word-embedding layer.
/// </summary>
public interface ITextClassifier : ITextPredictor
{
    /// <summary>A short name for reports (e.g. the model folder's name).</summary>
    string Name { get; }

    /// <summary>The tokenizer (ids, tokens and character offsets).</summary>
    ITokenizer Tokenizer { get; }

    /// <summary>The model: <see cref="ModelInput"/> → logits [batch, labels]. Attribution methods hook its submodules.</summary>
    torch.nn.Module<ModelInput, Tensor> Module { get; }

    /// <summary>Dotted path of the word-embedding module (its output is what embedding-space methods attribute to).</summary>
    string WordEmbeddingPath { get; }

    /// <summary>The longest input in tokens (special tokens included) the model accepts, or null for no limit.</summary>
    int? MaxLength { get; }

    /// <summary>Whether the model uses token type ids (BERT does, DistilBERT and RoBERTa do not need them).</summary>
    bool UsesTokenTypes { get; }

    /// <summary>
    /// Tokenizes texts and builds the padded input tensors (in the current dispose scope). An empty text, or one
    /// longer than <see cref="MaxLength"/> without <paramref name="truncate"/>, is an <see cref="ArgumentException"/>.
    /// </summary>
    EncodedBatch Encode(IReadOnlyList<string> texts, bool truncate = false);
}

/// <summary>Tokenized texts and the tensors built from them (padded to the longest).</summary>
/// <param name="Texts">The texts.</param>
/// <param name="Encodings">One encoding per text, padded to the batch length.</param>
/// <param name="Input">Model input tensors [batch, length].</param>
/// <param name="Lengths">Real (unpadded) token count of each text.</param>
public sealed record EncodedBatch(IReadOnlyList<string> Texts, IReadOnlyList<Encoding> Encodings, ModelInput Input, int[] Lengths);

/// <summary>One text's prediction.</summary>
/// <param name="Text">The text.</param>
/// <param name="Logits">Raw scores, one per label.</param>
/// <param name="Probabilities">Softmax of the logits.</param>
/// <param name="Label">Index of the most probable label.</param>
/// <param name="LabelName">Name of the most probable label.</param>
public sealed record Prediction(string Text, double[] Logits, double[] Probabilities, int Label, string LabelName);
