using Attribution.Models;
using Attribution.Training;

namespace Attribution.Tests.Training;

/// <summary>
/// The default model trained once per test run, into a temporary cache removed when the run ends, for tests that use
/// the model rather than test its training: one training instead of one per test (each takes seconds, and trainings
/// running side by side are what TorchSharp's managed optimizer is least safe at).
/// </summary>
internal static class TrainedDefaultModel
{
    private static readonly Lazy<string> Cache = new(() =>
    {
        var directory = Directory.CreateTempSubdirectory("attribution-default-model-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
                // A leftover folder in the temporary directory is harmless.
            }
        };
        DefaultModel.EnsureFolder(directory);
        return directory;
    }, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The cache root the model is trained into (once).</summary>
    public static string CacheDirectory => Cache.Value;

    /// <summary>A newly loaded copy of the model (dispose it).</summary>
    public static TextClassifier Load() => DefaultModel.GetOrTrain(Cache.Value);
}
