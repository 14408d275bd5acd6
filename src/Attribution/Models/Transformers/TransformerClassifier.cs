using System.Globalization;
using Attribution.Engine;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using nn = TorchSharp.torch.nn;

namespace Attribution.Models;

/// <summary>
/// A BERT-family sequence classifier with Hugging Face's module tree and parameter names: maps a
/// <see cref="ModelInput"/> to logits [batch, num_labels]. Every block is a submodule reachable by its
/// dotted path (<see cref="ModulePaths.Submodule"/>), so attribution methods can hook the word
/// embeddings, the embedding block, each encoder layer, and inside each attention layer the
/// <c>attention_scores</c> (Q·Kᵀ), <c>attention_probs</c> (softmax) and <c>context</c> (A·V) modules.
/// </summary>
/// <remarks>
/// Created in training mode by the constructors (as PyTorch modules are); <see cref="TransformerLoader"/>
/// returns models in evaluation mode. Intermediate tensors are not disposed by the forward pass (hooks
/// may keep them): run it inside <see cref="torch.NewDisposeScope"/>.
/// </remarks>
public abstract class TransformerClassifier : nn.Module<ModelInput, Tensor>, ICompositeModule
{
    private protected TransformerClassifier(string name, TransformerConfig config, string expectedModelType, string basePrefix, string layersPath)
        : base(name)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate(null);
        if (config.ModelType != expectedModelType)
        {
            throw new ArgumentException($"{name} needs a config with model_type \"{expectedModelType}\", got \"{config.ModelType}\"", nameof(config));
        }

        Config = config;
        EmbeddingsPath = basePrefix + ".embeddings";
        WordEmbeddingPath = EmbeddingsPath + ".word_embeddings";
        EncoderLayerPaths = Enumerable.Range(0, config.NumHiddenLayers)
            .Select(i => $"{basePrefix}.{layersPath}.{i.ToString(CultureInfo.InvariantCulture)}").ToArray();
    }

    /// <summary>The architecture and labels.</summary>
    public TransformerConfig Config { get; }

    /// <summary>Dotted path of the word-embedding table, e.g. <c>bert.embeddings.word_embeddings</c>.</summary>
    public string WordEmbeddingPath { get; }

    /// <summary>The word-embedding module (its output is the per-token word vectors).</summary>
    public abstract Embedding WordEmbeddings { get; }

    /// <summary>Dotted path of the whole embedding block (word + position [+ type], LayerNorm, dropout), e.g. <c>bert.embeddings</c>.</summary>
    public string EmbeddingsPath { get; }

    /// <summary>
    /// Dotted paths of the encoder layers in order (e.g. <c>bert.encoder.layer.0</c>,
    /// <c>distilbert.transformer.layer.0</c>); each layer's output is the hidden states [batch, seq, hidden].
    /// </summary>
    public IReadOnlyList<string> EncoderLayerPaths { get; }

    /// <summary>
    /// The modules that run for every position even in a logits-only pass (<see cref="ModelInput.LogitsOnly"/>): the
    /// embedding block and every encoder layer but the last, with their submodules. A tensor read at one of them, and
    /// the gradient of the logits there, is the same in a logits-only pass as in a full one.
    /// </summary>
    internal IReadOnlySet<nn.Module> WholeWhenLogitsOnly => wholeWhenLogitsOnly ??= new HashSet<nn.Module>(
        new[] { EmbeddingsPath }.Concat(EncoderLayerPaths.Take(EncoderLayerPaths.Count - 1))
            .SelectMany(path => this.Submodule(path).SelfAndDescendants().Select(m => m.Module)),
        ReferenceEqualityComparer.Instance);

    // Computed on first use; the module tree is fixed once built, so every thread computes the same set.
    private IReadOnlySet<nn.Module>? wholeWhenLogitsOnly;

    /// <summary>
    /// Whether <paramref name="module"/> runs for every position in a logits-only pass of <paramref name="root"/>: it
    /// lies in the <see cref="WholeWhenLogitsOnly"/> part of a transformer in <paramref name="root"/>'s tree (usually
    /// <paramref name="root"/> itself). False when the tree holds no transformer: nothing there reads the flag.
    /// </summary>
    internal static bool WholeWhenLogitsOnlyIn(nn.Module root, nn.Module module) =>
        root is TransformerClassifier transformer
            ? transformer.WholeWhenLogitsOnly.Contains(module)
            : root.SelfAndDescendants().Select(m => m.Module).OfType<TransformerClassifier>().Any(t => t.WholeWhenLogitsOnly.Contains(module));

    /// <summary>
    /// Checks shapes, dtypes and ranges before any native work, so a bad input is an exception naming
    /// the problem and the limit rather than a libtorch index error deep inside the forward.
    /// </summary>
    private protected void CheckInput(ModelInput input, bool tokenTypes)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(input.InputIds, nameof(input));
        var ids = input.InputIds;
        var shape = ids.shape;
        if (shape.Length != 2 || ids.dtype != ScalarType.Int64)
        {
            throw new ArgumentException(
                $"InputIds must be int64 [batch, sequence]; got [{string.Join(", ", shape)}] {ids.dtype} (add a batch dimension with unsqueeze(0), convert with .@long())",
                nameof(input));
        }

        if (shape[0] < 1 || shape[1] < 1)
        {
            throw new ArgumentException($"InputIds is empty ([{string.Join(", ", shape)}]); a classifier needs at least one token", nameof(input));
        }

        var limit = Config.MaxSequenceLength;
        if (shape[1] > limit)
        {
            throw new ArgumentOutOfRangeException(nameof(input), shape[1],
                $"the sequence has {shape[1]} tokens but {GetName()} accepts at most {limit} (max_position_embeddings = {Config.MaxPositionEmbeddings}" +
                (Config.ModelType == "roberta" ? $", positions starting at pad_token_id + 1 = {Config.PadTokenId + 1}" : string.Empty) +
                "); truncate the input");
        }

        CheckRange(ids, Config.VocabSize, "token id", "vocab_size");
        CheckSameShape(input.AttentionMask, shape, "AttentionMask");
        if (input.AttentionMask is { } mask)
        {
            CheckMaskValues(mask);
        }

        if (input.TokenTypeIds is { } types)
        {
            if (!tokenTypes)
            {
                // As in transformers, whose DistilBERT takes no token_type_ids (and whose tokenizer does not return them): a
                // text pair is told apart by its separator alone, and TextClassifier leaves the tokenizer's types out.
                throw new ArgumentException($"{GetName()} has no token types (a pair's texts are told apart by the separator alone); leave TokenTypeIds null", nameof(input));
            }

            CheckSameShape(types, shape, "TokenTypeIds");
            if (types.dtype != ScalarType.Int64)
            {
                throw new ArgumentException($"TokenTypeIds must be int64, got {types.dtype}", nameof(input));
            }

            CheckRange(types, Config.TypeVocabSize, "TokenTypeIds: token type id", "type_vocab_size",
                Config.TypeVocabSize == 1
                    ? $"{GetName()} has one token type (type 0; a RoBERTa tokenizer gives both texts of a pair type 0): leave TokenTypeIds null"
                    : null);
        }
    }

    private static void CheckSameShape(Tensor? t, long[] shape, string what)
    {
        if (t is not null && !t.shape.SequenceEqual(shape))
        {
            throw new ArgumentException($"{what} has shape [{string.Join(", ", t.shape)}] but InputIds has [{string.Join(", ", shape)}]", "input");
        }
    }

    /// <summary>
    /// A mask holds 1 (token) or 0 (padding) only. BERT and RoBERTa add (1 − mask) × −10000 to the scores while
    /// DistilBERT masks where it is 0, so any other value (2, 0.5, −1, NaN) would give each family other logits, none of
    /// them the padding a mask stands for.
    /// </summary>
    private static void CheckMaskValues(Tensor mask)
    {
        using var zero = mask.EqualTo(0);
        using var one = mask.EqualTo(1);
        using var valid = zero.logical_or(one);
        using var allValid = valid.all();
        if (allValid.ItemAsBoolean())
        {
            return;
        }

        using var invalid = valid.logical_not();
        using var where = invalid.nonzero();
        using var rowAt = where[0, 0];
        using var positionAt = where[0, 1];
        var (row, position) = (rowAt.ItemAsInt64(), positionAt.ItemAsInt64());
        using var value = mask[row, position];
        using var asDouble = value.to(ScalarType.Float64);
        var shown = asDouble.ItemAsDouble().ToString("R", CultureInfo.InvariantCulture);
        throw new ArgumentOutOfRangeException("input", shown,
            $"AttentionMask[{row}, {position}] is {shown}; a mask holds 1 for a token and 0 for padding only " +
            "(use the tokenizer's attention mask, or leave AttentionMask null for no padding)");
    }

    private static void CheckRange(Tensor ids, int size, string what, string field, string? fix = null)
    {
        using var min = ids.min();
        using var max = ids.max();
        var lo = min.ItemAsInt64();
        var hi = max.ItemAsInt64();
        if (lo < 0 || hi >= size)
        {
            throw new ArgumentOutOfRangeException("input", lo < 0 ? lo : hi,
                $"{what} {(lo < 0 ? lo : hi)} is outside [0, {size}) ({field} = {size}); {fix ?? "was the input made with this model's tokenizer?"}");
        }
    }
}
