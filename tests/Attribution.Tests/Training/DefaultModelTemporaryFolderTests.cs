using System.Text.RegularExpressions;
using Attribution.Tests.Models.Small;
using Attribution.Training;

namespace Attribution.Tests.Training;

/// <summary>
/// Where the cache cannot be written, <see cref="DefaultModel.GetOrTrain"/> and <see cref="DefaultModel.EnsureFolder"/>
/// train into a temporary folder, which the log names. A training that is cancelled, or whose log callback throws, no
/// longer leaves that folder in the system's temporary folder: it is deleted and the original exception propagates.
/// The cache is a path under a regular file, so it cannot be created; no test here trains an epoch (the token is
/// cancelled, or the log throws, when the log names the folder, before training starts, and
/// <see cref="DefaultModelCancellationTests.RefuseEpochs"/> guards against it).
/// The folder is found through the log line, not by its prefix, which other tests running meanwhile use too.
/// </summary>
[Collection(nameof(SmallClassifierTrainingTests))]
public sealed class DefaultModelTemporaryFolderTests : IDisposable
{
    private readonly string root = SmallModelKit.TempRoot("attribution-default-model-temporary-");

    public void Dispose() => Directory.Delete(root, recursive: true);

    /// <summary>A cache root that cannot be created: its parent is a regular file.</summary>
    private string UnwritableCache()
    {
        var file = Path.Combine(root, "a-file");
        File.WriteAllText(file, "not a folder");
        return Path.Combine(file, "cache");
    }

    /// <summary>Records the temporary folder the log names, and whether it existed when named.</summary>
    private sealed class TemporaryFolderLog
    {
        private static readonly Regex Line = new(@"in the temporary folder (?<path>.+) \(not cached\)$", RegexOptions.CultureInvariant);

        public string? Folder { get; private set; }

        public bool ExistedWhenNamed { get; private set; }

        /// <summary>Records the folder; returns whether <paramref name="line"/> named it.</summary>
        public bool Record(string line)
        {
            DefaultModelCancellationTests.RefuseEpochs(line);
            if (Line.Match(line) is not { Success: true } match)
            {
                return false;
            }

            Folder = match.Groups["path"].Value;
            ExistedWhenNamed = Directory.Exists(Folder);
            return true;
        }
    }

    /// <summary>The folder was named, existed then, and is gone now, with the staging folder Train made beside it.</summary>
    private static void ShouldBeGone(TemporaryFolderLog log)
    {
        log.Folder.Should().NotBeNull("the log names the temporary folder it trains into");
        Path.GetFileName(log.Folder).Should().StartWith("attribution-default-model-");
        log.ExistedWhenNamed.Should().BeTrue("the folder the log names is the one made for the training");
        Directory.Exists(log.Folder).Should().BeFalse("the temporary folder of a training that failed is deleted");
        Directory.GetDirectories(Path.GetDirectoryName(log.Folder)!, "." + Path.GetFileName(log.Folder) + ".tmp-*")
            .Should().BeEmpty("nor is a staging folder left beside it");
    }

    [Theory]
    [InlineData(nameof(DefaultModel.GetOrTrain))]
    [InlineData(nameof(DefaultModel.EnsureFolder))]
    public void A_cancelled_training_without_a_writable_cache_deletes_its_temporary_folder(string entry)
    {
        // Cancelled when the log names the folder: a token cancelled before the call now stops it before the folder is made.
        using var cancelled = new CancellationTokenSource();
        var cache = UnwritableCache();
        var log = new TemporaryFolderLog();
        void CancelAtFolder(string line)
        {
            if (log.Record(line))
            {
                cancelled.Cancel();
            }
        }

        Action call = entry == nameof(DefaultModel.GetOrTrain)
            ? () => DefaultModel.GetOrTrain(cache, CancelAtFolder, cancelled.Token).Dispose()
            : () => DefaultModel.EnsureFolder(cache, CancelAtFolder, cancelled.Token);

        call.Should().Throw<OperationCanceledException>().Which.CancellationToken.Should().Be(cancelled.Token, "the cancellation is the one propagated");

        ShouldBeGone(log);
    }

    [Theory]
    [InlineData(nameof(DefaultModel.GetOrTrain))]
    [InlineData(nameof(DefaultModel.EnsureFolder))]
    public void A_log_that_throws_without_a_writable_cache_deletes_the_temporary_folder_and_its_exception_propagates(string entry)
    {
        var cache = UnwritableCache();
        var log = new TemporaryFolderLog();
        var refusal = new InvalidOperationException("the log refuses the line naming the temporary folder");
        void Log(string line)
        {
            if (log.Record(line))
            {
                throw refusal;
            }
        }

        Action call = entry == nameof(DefaultModel.GetOrTrain)
            ? () => DefaultModel.GetOrTrain(cache, Log).Dispose()
            : () => DefaultModel.EnsureFolder(cache, Log);

        call.Should().Throw<InvalidOperationException>().Which.Should().BeSameAs(refusal, "the log's own exception propagates, not one of the clean-up");

        ShouldBeGone(log);
    }
}
