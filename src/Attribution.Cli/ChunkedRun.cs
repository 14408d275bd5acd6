using Attribution.Pipeline;
using Attribution.Methods;
using Attribution.Models;

namespace Attribution.Cli;

/// <summary>Ctrl-C stopped a run between chunks.</summary>
/// <param name="done">Texts finished before the stop.</param>
/// <param name="total">Texts asked for.</param>
/// <param name="verb">What was being done, e.g. <c>explained</c>.</param>
internal sealed class RunCancelledException(int done, int total, string verb)
    : OperationCanceledException($"cancelled: {verb} {done}/{total} texts before Ctrl-C; nothing was written")
{
    /// <summary>Texts finished before the stop.</summary>
    public int Done { get; } = done;
}

/// <summary>
/// Runs long jobs in chunks of <see cref="AttributionOptions.BatchSize"/> texts: between chunks it checks for Ctrl-C and
/// reports progress (<c>explained k/n texts</c>) on standard error when that is a terminal or when there is more than
/// one chunk.
/// </summary>
internal static class ChunkedRun
{
    /// <summary>Every method on every text: result [m][t], as <see cref="Explainer.ExplainAll"/>.</summary>
    public static IReadOnlyList<IReadOnlyList<Explanation>> Explain(
        ITokenClassifier model, IReadOnlyList<string> texts, IReadOnlyList<IAttributor> methods, ExplainOptions options, CliContext context)
    {
        var results = methods.Select(_ => new List<Explanation>(texts.Count)).ToArray();

        // Ctrl-C also stops inside a chunk, between model passes (a single text with many steps or samples).
        options = options with { Cancellation = context.Cancellation };
        var done = 0;
        Run(texts, options.BatchSize, "explained", context, chunk =>
        {
            var chunkOptions = options.Pairs is { } pairs ? options with { Pairs = pairs.Skip(done).Take(chunk.Count).ToArray() } : options;
            done += chunk.Count;
            var chunkResults = ModelMethods.ExplainAll(model, chunk, methods, chunkOptions);
            for (var m = 0; m < methods.Count; m++)
            {
                results[m].AddRange(chunkResults[m]);
            }
        });
        return results;
    }

    /// <summary>
    /// Texts explained chunk by chunk by <paramref name="explainChunk"/> (given each chunk and the options with that
    /// chunk's pairs), the results concatenated in text order: for work that <see cref="Explain"/> does not cover, such
    /// as a multi-label model's own labels per text, with the same progress and Ctrl-C checks.
    /// </summary>
    public static IReadOnlyList<Explanation> ExplainEach(
        IReadOnlyList<string> texts, ExplainOptions options, CliContext context, Func<IReadOnlyList<string>, ExplainOptions, IReadOnlyList<Explanation>> explainChunk)
    {
        var results = new List<Explanation>(texts.Count);
        options = options with { Cancellation = context.Cancellation };
        var done = 0;
        Run(texts, options.BatchSize, "explained", context, chunk =>
        {
            var chunkOptions = options.Pairs is { } pairs ? options with { Pairs = pairs.Skip(done).Take(chunk.Count).ToArray() } : options;
            done += chunk.Count;
            results.AddRange(explainChunk(chunk, chunkOptions));
        });
        return results;
    }

    /// <summary>Predictions for every text, in order.</summary>
    public static IReadOnlyList<Prediction> Predict(ITokenClassifier model, IReadOnlyList<string> texts, int batchSize, bool truncate, CliContext context)
    {
        var results = new List<Prediction>(texts.Count);
        Run(texts, batchSize, "classified", context, chunk => results.AddRange(model is TextClassifier torchModel
            ? torchModel.Predict(chunk, truncate, context.Cancellation)
            : PredictTokens(model, chunk, truncate, context.Cancellation)));
        return results;
    }

    /// <summary>
    /// Predictions from the model's logits for token ids (truncated to its limit only when asked); Ctrl-C's token goes on
    /// to a model that runs several passes per call (an ONNX model's session runs), checked before each.
    /// </summary>
    private static IEnumerable<Prediction> PredictTokens(ITokenClassifier model, IReadOnlyList<string> texts, bool truncate, CancellationToken cancellation)
    {
        var sequences = texts
            .Select(text => model.Tokenizer.Encode(text, maxLength: truncate ? model.MaxLength : null))
            .Select(encoding => new TokenSequence(encoding.Ids, encoding.TypeIds))
            .ToArray();
        return TokenBatches.PredictLogits(model, sequences, cancellation).Select((logits, i) => LogitMath.Predict(texts[i], logits, model.Labels, model.Head));
    }

    private static void Run(IReadOnlyList<string> texts, int chunkSize, string verb, CliContext context, Action<IReadOnlyList<string>> work)
    {
        var chunks = (texts.Count + chunkSize - 1) / chunkSize;
        var progress = context.ErrorIsTerminal || chunks > 1;
        var done = 0;
        for (var c = 0; c < chunks; c++)
        {
            if (context.Cancellation.IsCancellationRequested)
            {
                throw new RunCancelledException(done, texts.Count, verb);
            }

            var count = Math.Min(chunkSize, texts.Count - done);
            work(texts.Skip(done).Take(count).ToArray());
            done += count;
            if (progress)
            {
                context.Error.WriteLine($"{verb} {done}/{texts.Count} texts");
            }
        }
    }
}

/// <summary>Checks on the texts before any work, so a long run does not fail halfway.</summary>
internal static class TextChecks
{
    /// <summary>Per text, the tokens beyond the model's limit that truncation drops (0 for a text within it).</summary>
    public static int[] TokensBeyondLimit(ITokenClassifier model, IReadOnlyList<string> texts) => model.MaxLength is { } max
        ? texts.Select(text => Math.Max(0, model.Tokenizer.Encode(text).Length - max)).ToArray()
        : new int[texts.Count];

    /// <summary>Refuses texts longer than the model accepts unless <paramref name="truncate"/>.</summary>
    /// <param name="model">The classifier.</param>
    /// <param name="texts">The texts.</param>
    /// <param name="truncate">Whether <c>--truncate</c> was given.</param>
    /// <param name="source">The option the texts came from.</param>
    /// <param name="pairs">The pairs' second texts, or null.</param>
    /// <param name="predicting">Whether the command predicts (<c>predict</c>) rather than explains, as the message says.</param>
    /// <param name="truncatable">Whether the command has <c>--truncate</c> (the message suggests it only then).</param>
    public static void CheckLengths(ITokenClassifier model, IReadOnlyList<string> texts, bool truncate, string source, IReadOnlyList<string>? pairs = null, bool predicting = false, bool truncatable = true)
    {
        if (truncate || model.MaxLength is not { } max)
        {
            return;
        }

        for (var i = 0; i < texts.Count; i++)
        {
            var length = model.Tokenizer.Encode(texts[i], pairs?[i]).Length;
            if (length > max)
            {
                throw new UsageException(source,
                    !truncatable
                        ? $"text {i + 1} has {length} tokens but {model.Name} accepts at most {max}: shorten it (this command scores whole texts; it has no --truncate)"
                        : pairs is null
                        ? $"text {i + 1} has {length} tokens but {model.Name} accepts at most {max}: shorten it, or pass --truncate to {(predicting ? "predict from" : "explain")} its first {max} tokens"
                        : $"text {i + 1} with its pair has {length} tokens but {model.Name} accepts at most {max}: shorten them, or pass --truncate to cut the pair to {max} tokens (the longer text loses tokens first)");
            }
        }
    }
}
