using System.Runtime.InteropServices;

namespace Attribution.Torch.Native;

/// <summary>Owns one native tensor handle (a heap-allocated at::Tensor) and frees it exactly once.</summary>
internal sealed class TensorHandle : SafeHandle
{
    private static long live;

    public TensorHandle(IntPtr handle)
        : base(IntPtr.Zero, ownsHandle: true)
    {
        SetHandle(handle);
        Interlocked.Increment(ref live);
    }

    /// <summary>Handles not yet released, whether by Dispose or by the finalizer.</summary>
    internal static long Live => Interlocked.Read(ref live);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        NativeMethods.ath_free(handle);
        Interlocked.Decrement(ref live);
        return true;
    }
}
