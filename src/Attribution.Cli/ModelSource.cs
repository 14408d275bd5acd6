using Attribution.Models;

namespace Attribution.Cli;

/// <summary>Loads the model of a run: the <c>--model</c> folder, or the demo's default model.</summary>
internal static class ModelSource
{
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

            return ClassifierLoader.Load(directory);
        }

        var cache = Path.GetFullPath(context.DefaultModelCache ?? DefaultModel.DefaultCacheDirectory);
        var folder = DefaultModel.EnsureFolder(cache, line => context.Error.WriteLine(line));
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
