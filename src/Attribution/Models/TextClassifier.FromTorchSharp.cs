using Attribution.Engine;
using Attribution.Text.Tokenizers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Attribution.Models;

public sealed partial class TextClassifier
{
    /// <summary>
    /// Wraps your own TorchSharp model that maps token ids [batch, length] (int64) to logits [batch, labels] into a
    /// classifier every attributor takes. Dotted paths (the word embeddings, a method's <c>Layer</c>, LRP's module
    /// paths) are your model's own, without a prefix. Such a model cannot see the attention mask, so the library
    /// never pads for it: texts of different token lengths go into different batches.
    /// </summary>
    /// <param name="model">Your module: ids → logits. It must invoke its submodules with <c>.call(x)</c>, never
    /// <c>.forward(x)</c>, or the attributors' hooks on them do not fire. It is put in eval mode; a call that finds it (or a
    /// submodule) switched back to training mode is an <see cref="InvalidOperationException"/>.</param>
    /// <param name="tokenizer">The tokenizer whose ids the model was trained on (e.g. from <see cref="TokenizerLoader"/>).</param>
    /// <param name="wordEmbeddingPath">Dotted path of the word-embedding submodule in <paramref name="model"/>
    /// (e.g. <c>embedding</c>, or <c>0</c> in an unnamed <c>nn.Sequential</c>): what embedding-space methods attribute to.</param>
    /// <param name="labels">Label names, one per logit column, in order.</param>
    /// <param name="maxLength">Longest accepted input in tokens, special tokens included; null for no limit.</param>
    /// <param name="name">Short name for reports; the module's name by default.</param>
    /// <param name="ownsModel">Whether disposing the classifier disposes <paramref name="model"/> (default false: it stays yours).</param>
    /// <param name="head">What the outputs mean (<see cref="OutputHead"/>): by default Hugging Face's rule without a
    /// <c>problem_type</c>, one output a regression, more softmax labels; <see cref="OutputHead.MultiLabel"/> for a sigmoid per label.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">The embedding path names no submodule (the message lists the closest
    /// paths) or a module that cannot be hooked; a submodule has no path of its own (a child named with a '.', or
    /// layers added to a ModuleList or ModuleDict after its owner registered it, which no walk of the model sees); the
    /// labels are none, or one is null or empty, or there is one with <paramref name="head"/> <see cref="OutputHead.SingleLabel"/>; the embedding table is smaller than the tokenizer's vocabulary.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> is below 1.</exception>
    /// <remarks>Logits of the wrong shape or type are an <see cref="InvalidOperationException"/> at the first call.</remarks>
    public static TextClassifier FromTorchSharp(nn.Module<Tensor, Tensor> model, ITokenizer tokenizer, string wordEmbeddingPath,
        IReadOnlyList<string> labels, int? maxLength = null, string? name = null, bool ownsModel = false, OutputHead? head = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        Check(model, tokenizer, wordEmbeddingPath, labels, maxLength);
        return new TextClassifier(name ?? model.GetName(), tokenizer, new TorchSharpAdapter(model, labels.Count, ownsModel), labels,
            wordEmbeddingPath, maxLength, usesTokenTypes: false, head);
    }

    /// <summary>
    /// Wraps your own TorchSharp model that maps token ids and attention mask (both int64 [batch, length]; mask 1 for
    /// real tokens, 0 for padding) to logits [batch, labels] into a classifier every attributor takes. Dotted paths
    /// are your model's own, without a prefix. Batches are padded: the model must ignore padded positions.
    /// </summary>
    /// <param name="model">Your module: (ids, mask) → logits. It must invoke its submodules with <c>.call(x)</c>,
    /// never <c>.forward(x)</c>, or the attributors' hooks on them do not fire. It is put in eval mode; a call that finds it (or a
    /// submodule) switched back to training mode is an <see cref="InvalidOperationException"/>.</param>
    /// <param name="tokenizer">The tokenizer whose ids the model was trained on (e.g. from <see cref="TokenizerLoader"/>).</param>
    /// <param name="wordEmbeddingPath">Dotted path of the word-embedding submodule in <paramref name="model"/>.</param>
    /// <param name="labels">Label names, one per logit column, in order.</param>
    /// <param name="maxLength">Longest accepted input in tokens, special tokens included; null for no limit.</param>
    /// <param name="name">Short name for reports; the module's name by default.</param>
    /// <param name="ownsModel">Whether disposing the classifier disposes <paramref name="model"/> (default false: it stays yours).</param>
    /// <param name="head">What the outputs mean (<see cref="OutputHead"/>): by default Hugging Face's rule without a
    /// <c>problem_type</c>, one output a regression, more softmax labels; <see cref="OutputHead.MultiLabel"/> for a sigmoid per label.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">The embedding path names no submodule (the message lists the closest
    /// paths) or a module that cannot be hooked; a submodule has no path of its own (a child named with a '.', or
    /// layers added to a ModuleList or ModuleDict after its owner registered it, which no walk of the model sees); the
    /// labels are none, or one is null or empty, or there is one with <paramref name="head"/> <see cref="OutputHead.SingleLabel"/>; the embedding table is smaller than the tokenizer's vocabulary.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> is below 1.</exception>
    /// <remarks>Logits of the wrong shape or type are an <see cref="InvalidOperationException"/> at the first call.</remarks>
    public static TextClassifier FromTorchSharp(nn.Module<Tensor, Tensor, Tensor> model, ITokenizer tokenizer, string wordEmbeddingPath,
        IReadOnlyList<string> labels, int? maxLength = null, string? name = null, bool ownsModel = false, OutputHead? head = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        Check(model, tokenizer, wordEmbeddingPath, labels, maxLength);
        return new TextClassifier(name ?? model.GetName(), tokenizer, new TorchSharpAdapter(model, labels.Count, ownsModel), labels,
            wordEmbeddingPath, maxLength, usesTokenTypes: false, head);
    }

    private static void Check(nn.Module model, ITokenizer tokenizer, string wordEmbeddingPath, IReadOnlyList<string> labels, int? maxLength)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(wordEmbeddingPath);
        ArgumentNullException.ThrowIfNull(labels);
        if (wordEmbeddingPath.Length == 0)
        {
            throw new ArgumentException("the word-embedding path is empty, which names the whole model; give the dotted path of its embedding submodule", nameof(wordEmbeddingPath));
        }

        // A child no path can name (a '.' in its name, a layer added to a ModuleList after registration): refused here,
        // naming the user's module, not later on the adapter that wraps it.
        model.CheckAddressable(nameof(model));

        // Unknown path: the close-match error of ModulePaths, naming this argument.
        var embedding = model.FindSubmodule(wordEmbeddingPath, nameof(wordEmbeddingPath));

        if (ModuleHooks.Signature(embedding) is null)
        {
            throw new ArgumentException(
                $"the word-embedding module '{wordEmbeddingPath}' ({embedding.GetType().Name}) cannot be hooked: it must derive from nn.Module<T, TResult> (one input), as nn.Embedding does",
                nameof(wordEmbeddingPath));
        }

        if (embedding is Embedding { weight: { } table } && table.size(0) < tokenizer.VocabularySize)
        {
            throw new ArgumentException(
                $"the tokenizer has {tokenizer.VocabularySize} ids but the embedding '{wordEmbeddingPath}' has {table.size(0)} rows; the tokenizer does not belong to this model",
                nameof(tokenizer));
        }

        CheckLabels(labels, maxLength);
    }

    /// <summary>
    /// Label names and the length limit, for every factory (and <see cref="BlackBoxClassifier"/>'s labels). A name may
    /// repeat, as a Hugging Face <c>id2label</c> may (the config readers keep such a model): classes are addressed by
    /// index, and a target named by a label that several classes share is refused when the method resolves it.
    /// </summary>
    internal static void CheckLabels(IReadOnlyList<string> labels, int? maxLength)
    {
        if (labels.Count < 1)
        {
            throw new ArgumentException("a classifier needs at least one label", nameof(labels));
        }

        for (var i = 0; i < labels.Count; i++)
        {
            // A blank name cannot be told from no name in a report, nor typed as a --target.
            if (string.IsNullOrWhiteSpace(labels[i]))
            {
                throw new ArgumentException(
                    $"labels[{i}] is {BlankName(labels[i])} in [{string.Join(", ", labels)}]: give every class a name (Hugging Face's default is LABEL_{i})",
                    nameof(labels));
            }
        }

        if (maxLength is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "the longest input must be at least 1 token (null: no limit)");
        }
    }

    /// <summary>How a label name that <see cref="string.IsNullOrWhiteSpace"/> refuses is described: null, empty, or blank with its characters' code points.</summary>
    internal static string BlankName(string? name) => name switch
    {
        null => "null",
        "" => "empty",
        _ => $"blank ({string.Join(" ", name.Select(c => "U+" + ((int)c).ToString("X4", System.Globalization.CultureInfo.InvariantCulture)))})",
    };
}
