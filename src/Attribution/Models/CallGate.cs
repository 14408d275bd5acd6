namespace Attribution.Models;

/// <summary>
/// The calls running on a native resource (a TorchSharp module, an ONNX Runtime session) and its release: Dispose waits
/// for no call, refuses every call entered after it, and the resource is closed at once when no call is running, else
/// by the last running call on its way out. Native code frees a module or session at once, under a forward pass or a
/// backward that another thread has in flight; this is what keeps a service's shared model alive until its calls end.
/// A call's own leases nest: a lease entered while the same flow (thread, or async flow) already holds one on the gate
/// is granted even after Dispose (a library call made inside another, such as LIME's batches inside its explanation:
/// the outer call is still running and the resource still alive); a call from any other flow is refused.
/// </summary>
internal sealed class CallGate
{
    private readonly object sync = new();
    private readonly Action close;
    private readonly Func<ObjectDisposedException> refusal;
    private int running;
    private bool disposed;
    private volatile bool closed;

    // How many leases the current flow holds on this gate: its nested calls belong to a call already running.
    private readonly AsyncLocal<int> held = new();

    /// <param name="close">Releases the resource; run once, under the gate's lock.</param>
    /// <param name="refusal">The exception a call entered after Dispose throws.</param>
    public CallGate(Action close, Func<ObjectDisposedException> refusal)
    {
        this.close = close;
        this.refusal = refusal;
    }

    /// <summary>Whether the resource has been released (Dispose came and no call is running any more).</summary>
    public bool IsClosed => closed;

    /// <summary>The exception for a call entered after Dispose.</summary>
    public ObjectDisposedException Refusal() => refusal();

    /// <summary>Enters a call; dispose the lease when the call has done with the resource.</summary>
    /// <exception cref="ObjectDisposedException">Dispose has been called.</exception>
    public Lease Enter()
    {
        lock (sync)
        {
            if (disposed && held.Value == 0)
            {
                throw refusal();
            }

            running++;
        }

        held.Value++;
        return new Lease(this);
    }

    /// <summary>Refuses later calls; releases the resource now when no call is running, else when the last one exits. A second call does nothing.</summary>
    public void Dispose()
    {
        lock (sync)
        {
            if (disposed)
            {
                return;
            }

            disposed = true;
            if (running == 0)
            {
                Close();
            }
        }
    }

    private void Exit()
    {
        held.Value--;
        lock (sync)
        {
            if (--running == 0 && disposed)
            {
                Close();
            }
        }
    }

    private void Close()
    {
        closed = true;
        close();
    }

    /// <summary>One entered call; disposing it exits (once: take it with <c>using</c>, never copy it).</summary>
    internal readonly struct Lease : IDisposable
    {
        private readonly CallGate? gate;

        internal Lease(CallGate gate) => this.gate = gate;

        /// <summary>Exits the call (nothing for the empty lease of a model that has no gate).</summary>
        public void Dispose() => gate?.Exit();
    }
}

/// <summary>Leases on a model for a whole library call (<see cref="CallGate"/>): a <see cref="TextClassifier"/>'s gate; nothing for other models.</summary>
internal static class ModelLease
{
    /// <summary>
    /// Enters a call on <paramref name="model"/> when it is a <see cref="TextClassifier"/> (other classifiers guard
    /// themselves or are the caller's to keep alive); take it with <c>using</c> for the whole call, backward passes included.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The classifier has been disposed (the message names it).</exception>
    public static CallGate.Lease Enter(ITextPredictor? model) => model is TextClassifier classifier ? classifier.Enter() : default;
}
