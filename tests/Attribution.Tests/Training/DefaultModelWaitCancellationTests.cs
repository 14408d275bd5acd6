using Attribution.Tests.Models.Small;
using Attribution.Training;

namespace Attribution.Tests.Training;

/// <summary>
/// A call of <see cref="DefaultModel.EnsureFolder"/> that waits for another user of the cache stops waiting when its
/// token is cancelled. Before, it waited on: up to 20 minutes (polling every 100 ms) while another process held the
/// cache's lock file, and another thread's whole training while that thread held the process-wide gate, so a Ctrl-C in
/// the CLI did nothing meanwhile. The old code ends only when the other user lets go; the tests let go after a liveness
/// guard (60 s, far above the 100 ms a fixed call needs, and no assertion on time) and then fail, so the suite never hangs.
/// No test here trains an epoch (<see cref="DefaultModelCancellationTests.RefuseEpochs"/> guards).
/// </summary>
[Collection(nameof(SmallClassifierTrainingTests))]
public sealed class DefaultModelWaitCancellationTests : IDisposable
{
    /// <summary>How long a cancelled call may take before the test lets the other user go and fails: a liveness guard.</summary>
    private static readonly TimeSpan Liveness = TimeSpan.FromSeconds(60);

    /// <summary>How long a call may take to reach the cache: a default-model training of another test may hold the gate.</summary>
    private static readonly TimeSpan TurnGuard = TimeSpan.FromMinutes(5);

    private readonly string root = SmallModelKit.TempRoot("attribution-default-model-wait-");

    public void Dispose() => Directory.Delete(root, recursive: true);

    /// <summary>
    /// The test plays another process holding the cache's lock: the lock file opened as <c>DefaultModel.LockCache</c>
    /// opens it (read access, no sharing: an exclusive advisory lock on Unix, so the call's own open fails). The log
    /// cancels the token when the call says it waits.
    /// </summary>
    [Fact]
    public async Task A_call_waiting_for_another_processs_cache_lock_stops_on_its_token()
    {
        var cache = Path.Combine(root, "cache");
        Directory.CreateDirectory(cache);
        using var source = new CancellationTokenSource();
        var waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Log(string line)
        {
            DefaultModelCancellationTests.RefuseEpochs(line);
            if (line == $"default model: waiting for another process that is using the cache {cache}")
            {
                source.Cancel();
                waiting.TrySetResult();
            }
        }

        var held = new FileStream(Path.Combine(cache, DefaultModel.LockFile), FileMode.OpenOrCreate, FileAccess.Read, FileShare.None);
        var call = Task.Run(() => DefaultModel.EnsureFolder(cache, Log, source.Token));
        bool stopped;
        try
        {
            // The call may have stopped already: the log cancels before it signals.
            await Task.WhenAny(waiting.Task, call, Task.Delay(TurnGuard));
            waiting.Task.IsCompleted.Should().BeTrue("the call finds the lock held and says it waits ({0})", call.Exception);
            stopped = await Task.WhenAny(call, Task.Delay(Liveness)) == call;
        }
        finally
        {
            // The other process ends: a call that did not stop on its token gets the lock and can finish.
            held.Dispose();
            await Task.WhenAny(call);
        }

        stopped.Should().BeTrue("the call must stop on its token while waiting for the cache's lock, not when the other process lets go");
        (await FluentActions.Awaiting(() => call).Should().ThrowAsync<OperationCanceledException>())
            .Which.CancellationToken.Should().Be(source.Token);
        Directory.Exists(Path.Combine(cache, DefaultModel.Version)).Should().BeFalse("the cancelled call cached nothing");
    }

    /// <summary>
    /// A first call holds the process-wide gate (its log blocks on the line saying it trains, then throws, so it trains
    /// nothing); a second call on another cache, its token cancelled, must throw while the first still holds the gate.
    /// </summary>
    [Fact]
    public async Task A_call_waiting_for_another_thread_using_the_cache_stops_on_its_token()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var release = new ManualResetEventSlim();
        var refusal = new InvalidOperationException("the first call stops at its training line, having trained nothing");
        void HoldGate(string line)
        {
            DefaultModelCancellationTests.RefuseEpochs(line);
            if (line.StartsWith("default model: training", StringComparison.Ordinal))
            {
                entered.TrySetResult();
                release.Wait();
                throw refusal;
            }
        }

        var first = Task.Run(() => DefaultModel.EnsureFolder(Path.Combine(root, "first"), HoldGate));
        using var source = new CancellationTokenSource();
        var secondCache = Path.Combine(root, "second");
        Task<string>? second = null;
        bool stopped;
        bool firstStillHeld;
        try
        {
            (await Task.WhenAny(entered.Task, first, Task.Delay(TurnGuard))).Should().BeSameAs(entered.Task, "the first call reaches its training line");
            second = Task.Run(() => DefaultModel.EnsureFolder(secondCache, DefaultModelCancellationTests.RefuseEpochs, source.Token));
            source.Cancel();
            stopped = await Task.WhenAny(second, Task.Delay(Liveness)) == second;
            firstStillHeld = !first.IsCompleted;
        }
        finally
        {
            // The first call lets go: a second call that did not stop on its token gets the gate and can finish.
            release.Set();
            await Task.WhenAny(first);
            if (second is not null)
            {
                await Task.WhenAny(second);
            }
        }

        stopped.Should().BeTrue("the second call must stop on its token while another thread holds the cache, not when that thread lets go");
        firstStillHeld.Should().BeTrue("the second call stopped while the first still held the gate");
        (await FluentActions.Awaiting(() => second).Should().ThrowAsync<OperationCanceledException>())
            .Which.CancellationToken.Should().Be(source.Token);
        (await FluentActions.Awaiting(() => first).Should().ThrowAsync<InvalidOperationException>()).Which.Should().BeSameAs(refusal);
        Directory.Exists(Path.Combine(secondCache, DefaultModel.Version)).Should().BeFalse("the cancelled call cached nothing");
    }
}
