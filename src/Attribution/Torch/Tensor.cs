using System.Runtime.InteropServices;
using Attribution.Torch.Native;

namespace Attribution.Torch;

/// <summary>
/// A libtorch tensor. Owns one native handle; dispose it, or create it inside a
/// <see cref="DisposeScope"/> (<see cref="torch.NewDisposeScope"/>) that disposes it for you.
/// Method names follow PyTorch/TorchSharp (<c>x.sum(1)</c>, <c>x.matmul(y)</c>).
/// </summary>
public sealed partial class Tensor : IDisposable
{
    private readonly TensorHandle handle;
    private DisposeScope? scope;

    internal Tensor(IntPtr native)
    {
        if (native == IntPtr.Zero)
        {
            throw new ArgumentException("null native tensor handle", nameof(native));
        }

        handle = new TensorHandle(native);
        scope = DisposeScope.Current;
        scope?.Add(this);
    }

    /// <summary>Tensors created through this binding and not yet disposed or finalized.</summary>
    /// <remarks>Counted by the native handle, which its finalizer releases when a tensor is never disposed.</remarks>
    public static long LiveCount => TensorHandle.Live;

    /// <summary>True once the native tensor has been released.</summary>
    public bool IsDisposed => handle.IsClosed;

    internal TensorHandle Handle
    {
        get
        {
            if (handle.IsClosed)
            {
                throw new ObjectDisposedException(nameof(Tensor), "this tensor was disposed (directly or by its DisposeScope); keep it with MoveToOuterDisposeScope() or clone it before the scope ends");
            }

            return handle;
        }
    }

    internal IntPtr RawHandle => Handle.DangerousGetHandle();

    /// <summary>Wraps a native result; null stays null (e.g. an absent gradient).</summary>
    internal static Tensor? WrapOrNull(IntPtr native) => native == IntPtr.Zero ? null : new Tensor(native);

    /// <summary>Checks a status and wraps the native result.</summary>
    internal static Tensor From(int status, IntPtr native)
    {
        NativeStatus.Check(status);
        return new Tensor(native);
    }

    /// <summary>Releases the native tensor now. Safe to call more than once.</summary>
    public void Dispose()
    {
        scope?.Remove(this);
        scope = null;
        Release();
    }

    internal void DisposeFromScope()
    {
        scope = null;
        Release();
    }

    private void Release()
    {
        // The handle decrements LiveCount when it releases the native tensor (here or in its finalizer).
        handle.Dispose();
    }

    /// <summary>Moves this tensor to the scope enclosing its current one (or to none), so it survives the current scope.</summary>
    public Tensor MoveToOuterDisposeScope()
    {
        var outer = scope?.Outer;
        scope?.Remove(this);
        scope = outer;
        scope?.Add(this);
        return this;
    }

    /// <summary>Removes this tensor from every dispose scope: the caller now owns it.</summary>
    public Tensor DetachFromDisposeScope()
    {
        scope?.Remove(this);
        scope = null;
        return this;
    }

    // ---- metadata ----

    /// <summary>Number of dimensions.</summary>
    public int dim()
    {
        NativeStatus.Check(NativeMethods.ath_dim(Handle, out var d));
        return d;
    }

    /// <summary>Number of dimensions.</summary>
    public int ndim => dim();

    /// <summary>Size of each dimension.</summary>
    public unsafe long[] shape
    {
        get
        {
            var n = dim();
            var result = new long[n];
            fixed (long* p = result)
            {
                NativeStatus.Check(NativeMethods.ath_shape(Handle, p, n));
            }

            return result;
        }
    }

    /// <summary>Size of one dimension (negative counts from the end).</summary>
    public long size(int d)
    {
        var s = shape;
        var i = d < 0 ? d + s.Length : d;
        if (i < 0 || i >= s.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(d), d, $"dimension out of range for a tensor of shape [{string.Join(", ", s)}]");
        }

        return s[i];
    }

    /// <summary>Number of elements.</summary>
    public long numel()
    {
        NativeStatus.Check(NativeMethods.ath_numel(Handle, out var n));
        return n;
    }

    /// <summary>Element type.</summary>
    public ScalarType dtype
    {
        get
        {
            NativeStatus.Check(NativeMethods.ath_dtype(Handle, out var t));
            return (ScalarType)t;
        }
    }

    /// <summary>Device the data lives on.</summary>
    public Device device
    {
        get
        {
            NativeStatus.Check(NativeMethods.ath_device(Handle, out var type, out var index));
            return new Device((DeviceType)type, index);
        }
    }

    // ---- data ----

    /// <summary>Copies the elements (row-major) into a new array. <typeparamref name="T"/> must match <see cref="dtype"/>.</summary>
    public unsafe T[] data<T>() where T : unmanaged
    {
        var expected = ScalarTypeInfo.Of<T>();
        var actual = dtype;
        if (expected != actual)
        {
            throw new InvalidOperationException($"data<{typeof(T).Name}>() on a {actual} tensor: convert first with .to(ScalarType.{expected})");
        }

        var result = new T[numel()];
        fixed (T* p = result)
        {
            NativeStatus.Check(NativeMethods.ath_copy_to(Handle, p, (long)result.Length * sizeof(T)));
        }

        return result;
    }

    /// <summary>
    /// Copies the elements (row-major) into <paramref name="destination"/>, which must hold exactly <see cref="numel"/>
    /// values of the tensor's element type (no allocation, for hot loops).
    /// </summary>
    public unsafe void CopyTo<T>(Span<T> destination) where T : unmanaged
    {
        var expected = ScalarTypeInfo.Of<T>();
        var actual = dtype;
        if (expected != actual)
        {
            throw new InvalidOperationException($"CopyTo<{typeof(T).Name}>() on a {actual} tensor: convert first with .to(ScalarType.{expected})");
        }

        var count = numel();
        if (destination.Length != count)
        {
            throw new ArgumentException($"the destination holds {destination.Length} values but the tensor has {count}", nameof(destination));
        }

        fixed (T* p = destination)
        {
            NativeStatus.Check(NativeMethods.ath_copy_to(Handle, p, count * sizeof(T)));
        }
    }

    /// <summary>Copies the raw bytes of the elements (row-major).</summary>
    public unsafe byte[] bytes()
    {
        var result = new byte[numel() * dtype.ElementSize()];
        fixed (byte* p = result)
        {
            NativeStatus.Check(NativeMethods.ath_copy_to(Handle, p, result.Length));
        }

        return result;
    }

    /// <summary>The value of a one-element tensor.</summary>
    public T item<T>() where T : unmanaged
    {
        if (typeof(T) == typeof(long) || typeof(T) == typeof(int))
        {
            NativeStatus.Check(NativeMethods.ath_item_long(Handle, out var l));
            return typeof(T) == typeof(long) ? (T)(object)l : (T)(object)checked((int)l);
        }

        NativeStatus.Check(NativeMethods.ath_item(Handle, out var d));
        if (typeof(T) == typeof(double))
        {
            return (T)(object)d;
        }

        if (typeof(T) == typeof(float))
        {
            return (T)(object)(float)d;
        }

        if (typeof(T) == typeof(bool))
        {
            return (T)(object)(d != 0);
        }

        throw new NotSupportedException($"item<{typeof(T).Name}>() is not supported; use float, double, long, int or bool");
    }

    /// <summary>libtorch's printout of the values.</summary>
    public string ToString(bool withValues)
    {
        if (!withValues)
        {
            return ToString();
        }

        NativeStatus.Check(NativeMethods.ath_to_string(Handle, out var text));
        try
        {
            return Marshal.PtrToStringUTF8(text) ?? string.Empty;
        }
        finally
        {
            NativeMethods.ath_string_free(text);
        }
    }

    /// <summary>Shape and type, e.g. <c>[2, 3], Float32</c>.</summary>
    public override string ToString() =>
        IsDisposed ? "[disposed tensor]" : $"[{string.Join(", ", shape)}], {dtype}{(device.Type == DeviceType.CPU ? string.Empty : ", " + device)}";

    // ---- conversions ----

    /// <summary>Converts to another element type (a copy unless it already has it).</summary>
    public Tensor to(ScalarType type) => to(type, device);

    /// <summary>Moves to another device.</summary>
    public Tensor to(Device target) => to(dtype, target);

    /// <summary>Converts element type and device.</summary>
    public Tensor to(ScalarType type, Device target) =>
        From(NativeMethods.ath_to(Handle, (int)type, (int)target.Type, target.Index, out var r), r);

    /// <summary>A copy with its own storage (keeps the autograd history).</summary>
    public Tensor clone() => From(NativeMethods.ath_copy_kind(Handle, 0, out var r), r);

    /// <summary>The same data without autograd history.</summary>
    public Tensor detach() => From(NativeMethods.ath_copy_kind(Handle, 1, out var r), r);

    /// <summary>Row-major contiguous data (a copy only if needed).</summary>
    public Tensor contiguous() => From(NativeMethods.ath_copy_kind(Handle, 2, out var r), r);

    /// <summary>A second handle to this same tensor (shares data and autograd identity), independently disposable.</summary>
    public Tensor alias() => From(NativeMethods.ath_copy_kind(Handle, 3, out var r), r);

    /// <summary>True when both handles refer to the same libtorch tensor.</summary>
    public bool is_same(Tensor other)
    {
        ArgumentNullException.ThrowIfNull(other);
        NativeStatus.Check(NativeMethods.ath_is_same(Handle, other.Handle, out var same));
        return same != 0;
    }

    /// <summary>Shorthand for float32 conversion.</summary>
    public Tensor @float() => to(ScalarType.Float32);

    /// <summary>Shorthand for float64 conversion.</summary>
    public Tensor @double() => to(ScalarType.Float64);

    /// <summary>Shorthand for int64 conversion.</summary>
    public Tensor @long() => to(ScalarType.Int64);

    /// <summary>Shorthand for bool conversion.</summary>
    public Tensor @bool() => to(ScalarType.Bool);

    /// <summary>Copies <paramref name="source"/> into this tensor in place (broadcasting).</summary>
    public Tensor copy_(Tensor source)
    {
        ArgumentNullException.ThrowIfNull(source);
        NativeStatus.Check(NativeMethods.ath_copy_(Handle, source.Handle));
        return this;
    }
}
