using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Attribution.Torch.Native;

namespace Attribution.Torch;

// requires_grad, grad, backward and gradient hooks.
public sealed partial class Tensor
{
    /// <summary>Whether autograd records operations on this tensor.</summary>
    public bool requires_grad
    {
        get
        {
            NativeStatus.Check(NativeMethods.ath_requires_grad(Handle, out var v));
            return v != 0;
        }
        set => NativeStatus.Check(NativeMethods.ath_set_requires_grad(Handle, value ? 1 : 0));
    }

    /// <summary>Sets <see cref="requires_grad"/> and returns this tensor.</summary>
    public Tensor requires_grad_(bool value = true)
    {
        requires_grad = value;
        return this;
    }

    /// <summary>True for tensors created by the user rather than by a recorded operation.</summary>
    public bool is_leaf
    {
        get
        {
            NativeStatus.Check(NativeMethods.ath_is_leaf(Handle, out var v));
            return v != 0;
        }
    }

    /// <summary>
    /// The accumulated gradient (a new handle each read), or null when none was computed.
    /// Setting null clears it.
    /// </summary>
    public Tensor? grad
    {
        get
        {
            NativeStatus.Check(NativeMethods.ath_grad(Handle, out var g));
            return WrapOrNull(g);
        }
        set
        {
            NativeStatus.Check(NativeMethods.ath_set_grad(Handle, value?.RawHandle ?? IntPtr.Zero));
            GC.KeepAlive(value);
        }
    }

    /// <summary>Keeps <see cref="grad"/> for a non-leaf tensor after backward.</summary>
    public Tensor retain_grad()
    {
        NativeStatus.Check(NativeMethods.ath_retain_grad(Handle));
        return this;
    }

    /// <summary>
    /// Back-propagates from this tensor, accumulating into the <see cref="grad"/> of leaves.
    /// A non-scalar output needs <paramref name="gradient"/> of the same shape.
    /// </summary>
    public void backward(Tensor? gradient = null, bool? retain_graph = null, bool create_graph = false)
    {
        NativeStatus.PendingHookException = null;
        NativeStatus.Check(NativeMethods.ath_backward(
            Handle,
            gradient?.RawHandle ?? IntPtr.Zero,
            retain_graph is null ? -1 : retain_graph.Value ? 1 : 0,
            create_graph ? 1 : 0));
        GC.KeepAlive(gradient);
    }

    /// <summary>
    /// Registers a function called with this tensor's gradient during backward. It may return a
    /// replacement gradient (same shape) or null to keep it. The gradient it receives belongs to the
    /// current dispose scope like any new tensor. Dispose the returned handle to remove the hook.
    /// </summary>
    public IDisposable register_hook(Func<Tensor, Tensor?> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        return GradHooks.Register(this, hook);
    }

    /// <summary>Keeps managed gradient hooks alive and routes native callbacks to them.</summary>
    private static class GradHooks
    {
        private static readonly ConcurrentDictionary<long, Func<Tensor, Tensor?>> Hooks = new();
        private static readonly unsafe IntPtr Callback = (IntPtr)(delegate* unmanaged<long, IntPtr, IntPtr*, int>)&Invoke;
        private static long nextId;

        internal static IDisposable Register(Tensor tensor, Func<Tensor, Tensor?> hook)
        {
            var id = Interlocked.Increment(ref nextId);
            Hooks[id] = hook;
            try
            {
                NativeStatus.Check(NativeMethods.ath_register_hook(tensor.Handle, Callback, id, out var nativeId));
                // The removal handle holds its own alias so it works even after the caller disposed `tensor`.
                return new Removal(tensor.alias().DetachFromDisposeScope(), nativeId, id);
            }
            catch
            {
                Hooks.TryRemove(id, out _);
                throw;
            }
        }

        [UnmanagedCallersOnly]
        private static unsafe int Invoke(long context, IntPtr grad, IntPtr* replacement)
        {
            *replacement = IntPtr.Zero;
            try
            {
                var incoming = new Tensor(grad);
                if (!Hooks.TryGetValue(context, out var hook))
                {
                    return 0;
                }

                var result = hook(incoming);
                if (result is not null)
                {
                    // Hand the shim its own handle: it frees it once it has the tensor, so nothing here
                    // depends on `result` staying alive (or undisposed) after this callback returns.
                    NativeStatus.Check(NativeMethods.ath_copy_kind(result.Handle, 3, out var owned));
                    *replacement = owned;
                }

                return 0;
            }
            catch (Exception e)
            {
                NativeStatus.PendingHookException = e;
                return 1;
            }
        }

        private sealed class Removal(Tensor target, long nativeId, long id) : IDisposable
        {
            private int removed;

            public void Dispose()
            {
                if (Interlocked.Exchange(ref removed, 1) != 0)
                {
                    return;
                }

                Hooks.TryRemove(id, out _);
                NativeStatus.Check(NativeMethods.ath_remove_hook(target.Handle, nativeId));
                target.Dispose();
            }
        }
    }
}
