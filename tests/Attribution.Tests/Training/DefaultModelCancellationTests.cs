using Attribution.Tests.Models.Small;
using Attribution.Training;

namespace Attribution.Tests.Training;

/// <summary>
/// <see cref="DefaultModel.Train"/>, <see cref="DefaultModel.GetOrTrain"/> and <see cref="DefaultModel.EnsureFolder"/>
/// pass their token to <see cref="Trainer.Fit"/>: a token cancelled before the call trains no batch and leaves no model
/// folder (nor a staging folder) behind. Before, they took none and trained the whole model. No test here trains it: the
/// log refuses the first epoch's progress line, so a token that does not reach the trainer fails the test after one epoch.
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

    [Theory]
    [InlineData(nameof(DefaultModel.GetOrTrain))]
    [InlineData(nameof(DefaultModel.EnsureFolder))]
    public void GetOrTrain_and_EnsureFolder_with_a_cancelled_token_on_an_empty_cache_train_nothing_and_cache_no_folder(string entry)
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var cache = Path.Combine(root, "cache");
        Action call = entry == nameof(DefaultModel.GetOrTrain)
            ? () => DefaultModel.GetOrTrain(cache, RefuseEpochs, cancelled.Token).Dispose()
            : () => DefaultModel.EnsureFolder(cache, RefuseEpochs, cancelled.Token);

        call.Should().Throw<OperationCanceledException>();

        Directory.Exists(Path.Combine(cache, DefaultModel.Version)).Should().BeFalse("a cancelled training caches no model");
        Directory.GetFileSystemEntries(cache).Select(Path.GetFileName).Should().Equal([DefaultModel.LockFile], "only the cache's lock file is left, no staging folder");
    }
}
