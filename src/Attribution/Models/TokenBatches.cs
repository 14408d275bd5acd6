using System.Runtime.CompilerServices;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Models;

/// <summary>Logits of a TorchSharp classifier for unpadded id sequences: checked, sorted by length, padded, batched.</summary>
internal static class TokenBatches
{
    /// <summary>Sequences per forward pass.</summary>
    public const int BatchSize = 64;

    /// <summary>Checks sequences against a token classifier: non-empty, within its length limit, type ids matching.</summary>
    public static void Check(ITokenClassifier model, IReadOnlyList<TokenSequence> sequences)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sequences);
        for (var i = 0; i < sequences.Count; i++)
        {
            var sequence = sequences[i] ?? throw new ArgumentNullException(nameof(sequences), $"sequences[{i}] is null");
            if (sequence.Ids is null || sequence.Ids.Length == 0)
            {
                throw new ArgumentException($"sequences[{i}] has no ids: a model input needs at least one token", nameof(sequences));
            }

            if (sequence.TypeIds is { } types && types.Length != sequence.Ids.Length)
            {
                throw new ArgumentException($"sequences[{i}] has {sequence.Ids.Length} ids but {types.Length} token type ids: give one per id", nameof(sequences));
            }

            if (model.MaxLength is { } max && sequence.Ids.Length > max)
            {
                throw new ArgumentException($"sequences[{i}] has {sequence.Ids.Length} ids but {model.Name} accepts at most {max}", nameof(sequences));
            }
        }
    }

    /// <summary>
    /// Order in which to run sequences so each batch holds similar lengths (little padding); for a model that
    /// must never see padding, each batch holds one length only.
    /// </summary>
    public static IEnumerable<int[]> Chunks(IReadOnlyList<TokenSequence> sequences, int size, bool sameLengthOnly)
    {
        var sorted = Enumerable.Range(0, sequences.Count).OrderBy(i => sequences[i].Ids.Length).ThenBy(i => i).ToArray();
        return sameLengthOnly
            ? sorted.GroupBy(i => sequences[i].Ids.Length).SelectMany(g => g.Chunk(size))
            : sorted.Chunk(size);
    }

    /// <summary>
    /// The sequences at <paramref name="chunk"/> as one right-padded batch, row-major: ids (padded with
    /// <paramref name="padId"/>), attention mask (1 on real tokens) and token types (0 where none are given).
    /// </summary>
    public static (long[] Ids, long[] Mask, long[] Types, long[] Shape) Pad(IReadOnlyList<TokenSequence> sequences, int[] chunk, long padId)
    {
        var length = chunk.Max(i => sequences[i].Ids.Length);
        var ids = new long[chunk.Length * length];
        var mask = new long[chunk.Length * length];
        var types = new long[chunk.Length * length];
        Array.Fill(ids, padId);
        for (var row = 0; row < chunk.Length; row++)
        {
            var sequence = sequences[chunk[row]];
            sequence.Ids.CopyTo(ids, row * length);
            sequence.TypeIds?.CopyTo(types, row * length);
            Array.Fill(mask, 1L, row * length, sequence.Ids.Length);
        }

        return (ids, mask, types, [chunk.Length, length]);
    }

    /// <summary>
    /// <see cref="ITokenClassifier.PredictLogits"/> with <paramref name="cancellation"/> checked before each forward pass,
    /// for a library call that runs many sequences (a metric's removals, HotFlip's edits): where the model's logits are
    /// the interface's own (<see cref="Logits(ITextClassifier, IReadOnlyList{TokenSequence}, CancellationToken)"/>, every
    /// <see cref="TextClassifier"/>) its batches run here, the token checked before each; a model that takes the token
    /// itself (<see cref="ICancellableTokenClassifier"/>: ONNX) gets it and checks it before each of its runs; any other
    /// model with a PredictLogits of its own (a user's) batches as it does, so the token is checked before its one call.
    /// </summary>
    public static double[][] PredictLogits(ITokenClassifier model, IReadOnlyList<TokenSequence> sequences, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(model);
        cancellation.ThrowIfCancellationRequested();
        return model switch
        {
            ITextClassifier text when HasDefaultLogits(text) => Logits(text, sequences, cancellation),
            ICancellableTokenClassifier cancellable => cancellable.PredictLogits(sequences, cancellation),
            _ => model.PredictLogits(sequences),
        };
    }

    /// <summary>
    /// <see cref="DeclaresDefaultLogits"/> per model type, worked out once: reading the interface map took about 2 to 5 µs
    /// a call, and PredictLogits asks once per batch of every perturbation method, a few percent of a small model's
    /// forward pass. A weak table, so a collectible type (a user's, in an unloadable context) is not kept alive by it.
    /// </summary>
    private static readonly ConditionalWeakTable<Type, StrongBox<bool>> DefaultLogitsByType = new();

    /// <summary>Whether <paramref name="model"/>'s PredictLogits is <see cref="ITextClassifier"/>'s default, this class's <see cref="Logits(ITextClassifier, IReadOnlyList{TokenSequence}, CancellationToken)"/>.</summary>
    private static bool HasDefaultLogits(ITextClassifier model) =>
        DefaultLogitsByType.GetValue(model.GetType(), static type => new StrongBox<bool>(DeclaresDefaultLogits(type))).Value;

    /// <summary>Whether <paramref name="type"/> takes PredictLogits from <see cref="ITextClassifier"/> rather than declaring its own.</summary>
    private static bool DeclaresDefaultLogits(Type type)
    {
        var map = type.GetInterfaceMap(typeof(ITokenClassifier));
        var index = Array.FindIndex(map.InterfaceMethods, m => m.Name == nameof(ITokenClassifier.PredictLogits));
        return index >= 0 && map.TargetMethods[index].DeclaringType == typeof(ITextClassifier);
    }

    /// <summary>
    /// Logits of <paramref name="model"/>'s module for each sequence (float64 copies, no gradients), with
    /// <paramref name="cancellation"/> checked before each batch's forward pass (none for <see cref="ITokenClassifier.PredictLogits"/>).
    /// </summary>
    public static double[][] Logits(ITextClassifier model, IReadOnlyList<TokenSequence> sequences, CancellationToken cancellation = default)
    {
        // The whole call on the module, as every library call on a TextClassifier: Dispose on another thread waits for it.
        using var lease = ModelLease.Enter(model);
        Check(model, sequences);

        // As in Explainer: a forward pass must not overlap the installation of hook dispatchers on the same modules.
        ModelReadiness.Prepare(model.Name, model.Module);
        var results = new double[sequences.Count][];
        var labels = model.Labels.Count;
        var noPadding = model.Module is TorchSharpAdapter { TakesMask: false };
        foreach (var chunk in Chunks(sequences, BatchSize, noPadding))
        {
            // Several batches: more than 64 sequences, or a model that takes no mask, one batch per length.
            cancellation.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var (ids, mask, types, shape) = Pad(sequences, chunk, model.Tokenizer.PadId);
            (model as TextClassifier)?.CheckIdsInEmbedding(ids, (int)shape[1], row => $"sequences[{chunk[row]}]", nameof(sequences));
            var input = new ModelInput(tensor(ids, shape), tensor(mask, shape), model.UsesTokenTypes ? tensor(types, shape) : null) { LogitsOnly = true };
            var logits = model.Module.call(input).to(ScalarType.Float64).contiguous();
            if (logits.dim() != 2 || logits.size(0) != chunk.Length || logits.size(1) != labels)
            {
                throw new InvalidOperationException(
                    $"{model.Name} returned logits of shape [{string.Join(", ", logits.shape)}] for {chunk.Length} sequences; expected [{chunk.Length}, {labels}] (one per label)");
            }

            var values = logits.data<double>().ToArray();
            NonFiniteValueException.CheckLogits(model.Name, Enumerable.Range(0, chunk.Length).Select(r => values.AsSpan(r * labels, labels).ToArray()).ToArray());
            for (var row = 0; row < chunk.Length; row++)
            {
                results[chunk[row]] = values.AsSpan(row * labels, labels).ToArray();
            }
        }

        return results;
    }
}
