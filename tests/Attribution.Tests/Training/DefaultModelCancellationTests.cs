using Attribution.Tests.Models.Small;
using Attribution.Training;

namespace Attribution.Tests.Training;

/// <summary>
/// <see cref="DefaultModel.Train"/>, <see cref="DefaultModel.GetOrTrain"/> and <see cref="DefaultModel.EnsureFolder"/>
/// pass their token to <see cref="Trainer.Fit"/>: a token cancelled before training trains no batch and leaves no model
/// folder (nor a staging folder) behind. Before, they took none and trained the whole model. No test here trains it: the
/// log refuses the first epoch's progress line, so a token that does not reach the trainer fails the test after one epoch.
/// A token cancelled before the call stops it before it touches an invalid cached folder.
/// </summary>
[Collection(nameof(SmallClassifierTrainingTests))]
public sealed class DefaultModelCancellationTests : IDisposable
{
    private readonly string root = SmallModelKit.TempRoot("attribution-default-model-cancel-");

    public void Dispose() => Directory.Delete(root, recursive: true);

    /// <summary>
    /// Throws at the first epoch's line: an epoch was trained, which no default-model test means to do (here: the token
    /// never reached the trainer). <see cref="DefaultModelTemporaryFolderTests"/> guards with it too.
    /// </summary>
    internal static void RefuseEpochs(string line)
    {
        if (line.StartsWith("default model: epoch", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"an epoch was trained, which no default-model test means to do ({line})");
        }
    }

    [Fact]
    public void Train_with_a_cancelled_token_trains_nothing_and_writes_no_folder()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var folder = Path.Combine(root, "model");

        FluentActions.Invoking(() => DefaultModel.Train(folder, RefuseEpochs, cancelled.Token)).Should().Throw<OperationCanceledException>();

        Directory.Exists(folder).Should().BeFalse("a cancelled training writes nothing");
        Directory.GetFileSystemEntries(root).Should().BeEmpty("no staging folder is left either");
    }

    /// <summary>
    /// The token is cancelled when the call says it trains (a token cancelled before the call now stops it before that
    /// line), so it must reach the trainer for the call to stop before the first epoch.
    /// </summary>
    [Theory]
    [InlineData(nameof(DefaultModel.GetOrTrain))]
    [InlineData(nameof(DefaultModel.EnsureFolder))]
    public void GetOrTrain_and_EnsureFolder_cancelled_as_training_starts_on_an_empty_cache_train_nothing_and_cache_no_folder(string entry)
    {
        using var cancelled = new CancellationTokenSource();
        var cache = Path.Combine(root, "cache");
        void CancelAtTraining(string line)
        {
            RefuseEpochs(line);
            if (line.StartsWith("default model: training", StringComparison.Ordinal))
            {
                cancelled.Cancel();
            }
        }

        Action call = entry == nameof(DefaultModel.GetOrTrain)
            ? () => DefaultModel.GetOrTrain(cache, CancelAtTraining, cancelled.Token).Dispose()
            : () => DefaultModel.EnsureFolder(cache, CancelAtTraining, cancelled.Token);

        call.Should().Throw<OperationCanceledException>();

        Directory.Exists(Path.Combine(cache, DefaultModel.Version)).Should().BeFalse("a cancelled training caches no model");
        Directory.GetFileSystemEntries(cache).Select(Path.GetFileName).Should().Equal([DefaultModel.LockFile], "only the cache's lock file is left, no staging folder");
    }

    /// <summary>
    /// An invalid cached folder (a folder of the version's name with no model in it) and a token cancelled before the
    /// call: the call throws before it logs that it trains, deletes the folder or generates the corpus. Before, it said
    /// it trained again, deleted the folder, generated the corpus and built the model, and only the trainer's first
    /// check threw.
    /// </summary>
    [Theory]
    [InlineData(nameof(DefaultModel.GetOrTrain))]
    [InlineData(nameof(DefaultModel.EnsureFolder))]
    public void A_token_cancelled_before_the_call_leaves_an_invalid_cached_folder_untouched(string entry)
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var cache = Path.Combine(root, "cache");
        var invalid = Path.Combine(cache, DefaultModel.Version);
        Directory.CreateDirectory(invalid);
        var note = Path.Combine(invalid, "config.json");
        File.WriteAllText(note, "{}");
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        void Log(string line)
        {
            RefuseEpochs(line);
            lines.Enqueue(line);
        }

        Action call = entry == nameof(DefaultModel.GetOrTrain)
            ? () => DefaultModel.GetOrTrain(cache, Log, cancelled.Token).Dispose()
            : () => DefaultModel.EnsureFolder(cache, Log, cancelled.Token);

        call.Should().Throw<OperationCanceledException>().Which.CancellationToken.Should().Be(cancelled.Token);

        Directory.Exists(invalid).Should().BeTrue("the invalid folder is not deleted by a call that trains nothing");
        File.ReadAllText(note).Should().Be("{}", "the invalid folder is left as it was");
        lines.Should().BeEmpty("nothing is said about training or an invalid folder: the call stopped before");
    }
}
