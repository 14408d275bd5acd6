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
