using Attribution.Training;
using Attribution.Models;
using Attribution.Onnx;
using Attribution.Text.Tokenizers;

namespace Attribution.Cli;

/// <summary>Loads the model of a run: the <c>--model</c> folder, or the demo's default model.</summary>
internal static class ModelSource
{
    /// <summary>
    /// The classifier of <c>explain</c>, <c>compare</c> and <c>predict</c>: an ONNX export (a folder with model.onnx or
    /// onnx/model.onnx and no safetensors weights, see <see cref="IsOnnxFolder"/>) runs on ONNX Runtime; anything else loads as <see cref="Load"/> does.
    /// The caller disposes the result (both kinds are <see cref="IDisposable"/>).
    /// </summary>
    /// <param name="path">The <c>--model</c> value, or null for the default model.</param>
    /// <param name="context">Paths and standard error.</param>
    public static ITokenClassifier LoadAny(string? path, CliContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (path is not null && IsOnnxFolder(context.Resolve(path)))
        {
            return Given(() => OnnxTextClassifier.Load(context.Resolve(path)));
        }

        return Load(path, context, out _);
    }

    /// <summary>
    /// Whether <paramref name="directory"/> holds an ONNX export and no safetensors weights, whole (model.safetensors) or
    /// sharded (model.safetensors.index.json): those take precedence, as in the loader, since every method runs on them.
    /// </summary>
    public static bool IsOnnxFolder(string directory) =>
        Directory.Exists(directory)
        && !File.Exists(Path.Combine(directory, "model.safetensors"))
        && !File.Exists(Path.Combine(directory, "model.safetensors.index.json"))
        && (File.Exists(Path.Combine(directory, "model.onnx")) || File.Exists(Path.Combine(directory, "onnx", "model.onnx")));

    /// <summary>
    /// The classifier in <paramref name="path"/>, or (when null) the default model, trained on the generated corpus
    /// and cached on first use (training progress goes to standard error).
    /// </summary>
    /// <param name="path">The <c>--model</c> value, or null.</param>
    /// <param name="context">Paths and standard error.</param>
    /// <param name="report">The default model's recorded figures (null for a <c>--model</c> folder).</param>
    public static TextClassifier Load(string? path, CliContext context, out DefaultModelReport? report)
    {
        ArgumentNullException.ThrowIfNull(context);
        report = null;
        if (path is not null)
        {
            var directory = context.Resolve(path);
            if (!Directory.Exists(directory))
            {
                throw new UsageException("--model", File.Exists(directory)
                    ? $"{path} is a file; give the model's folder (config.json, model.safetensors, vocab.txt or tokenizer.json)"
                    : $"the folder {path} does not exist");
            }

            if (IsOnnxFolder(directory))
            {
                throw new UsageException("--model", $"{path} holds an ONNX model, which the demo cannot explain (it runs the gradient methods too); use explain or compare with a perturbation method, e.g. --method lime");
            }

            return Given(() => ClassifierLoader.Load(directory));
        }

        var cache = Path.GetFullPath(context.DefaultModelCache ?? DefaultModel.DefaultCacheDirectory);
        var folder = DefaultModel.EnsureFolder(cache, line => context.Error.WriteLine(line), context.Cancellation);
        try
        {
            report = DefaultModel.ReadReport(folder);
            return ClassifierLoader.Load(folder);
        }
        finally
        {
            // Without a writable cache the model was trained into a temporary folder: it is loaded, drop the folder.
            if (!Path.GetFullPath(folder).StartsWith(cache + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                TryDelete(folder);
            }
        }
    }

    /// <summary>
    /// Loads the user's <c>--model</c> folder. A folder that does not load (a damaged or truncated weights file, a
    /// config.json without a required key or with a value the weights contradict, a broken tokenizer file) is the
    /// user's input like a folder that does not exist: a usage error (exit code 2) naming <c>--model</c>, with the
    /// loader's message, which names the file and the fix. (The default model failing to load stays a runtime failure.)
    /// </summary>
    private static T Given<T>(Func<T> load)
    {
        try
        {
            return load();
        }
        catch (ModelLoadException e)
        {
            throw new UsageException("--model", $"cannot load the model: {e.Message}", e);
        }
        catch (TokenizerException e)
        {
            throw new UsageException("--model", $"cannot load the model's tokenizer: {e.Message}", e);
        }
    }

    private static void TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A leftover temporary folder is harmless.
        }
    }
}
