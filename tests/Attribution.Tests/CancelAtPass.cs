using Attribution.Engine;
using TorchSharp;

namespace Attribution.Tests;

/// <summary>
/// Cancels a token during the model's forward pass number <see cref="At"/> (a forward hook on the module, removed on
/// Dispose) and counts every pass: the cancellation tests count the passes that follow a cancellation, never time them.
/// </summary>
internal sealed class CancelAtPass : IDisposable
{
    private readonly CancellationTokenSource source = new();
    private readonly IDisposable hook;
    private int passes;

    /// <param name="module">The model's module, whose forward passes are counted.</param>
    /// <param name="at">The pass (from 1) during which the token is cancelled.</param>
    public CancelAtPass(torch.nn.Module module, int at)
    {
        At = at;
        hook = ModuleHooks.AddForwardHook(module, (_, _, _) =>
        {
            if (++passes == at)
            {
                source.Cancel();
            }

            return null;
        });
    }

    /// <summary>
    /// Calls <paramref name="call"/> once for each pass 1 to <paramref name="total"/> − 1 of a call that makes
    /// <paramref name="total"/> passes, cancelling its token during that pass, and requires an
    /// <see cref="OperationCanceledException"/> with at most <paramref name="allowedAfter"/> passes after the one that
    /// cancelled. (Cancelled during the last pass, nothing is left to stop: the call may return its result.)
    /// </summary>
    public static void AtEveryPassButTheLast(torch.nn.Module module, int total, Action<CancellationToken> call, int allowedAfter = 0)
    {
        for (var at = 1; at < total; at++)
        {
            using var cancel = new CancelAtPass(module, at);
            FluentActions.Invoking(() => call(cancel.Token)).Should().Throw<OperationCanceledException>($"cancelled at pass {at} of {total}");
            cancel.Passes.Should().BeInRange(at, at + allowedAfter,
                $"at most {allowedAfter} forward pass(es) follow the one that cancelled (pass {at} of {total})");
        }
    }

    /// <summary>The pass during which the token is cancelled.</summary>
    public int At { get; }

    /// <summary>The token to give the call.</summary>
    public CancellationToken Token => source.Token;

    /// <summary>Forward passes run so far.</summary>
    public int Passes => passes;

    public void Dispose()
    {
        hook.Dispose();
        source.Dispose();
    }
}
