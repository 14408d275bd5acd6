using Attribution.Torch.Native;

namespace Attribution.Torch;

public static partial class torch
{
    private static unsafe Tensor FromData<T>(ReadOnlySpan<T> data, long[]? shape, ScalarType dtype, bool requiresGrad) where T : unmanaged
    {
        shape ??= [data.Length];
        long count = 1;
        foreach (var s in shape)
        {
            if (s < 0)
            {
                throw new ArgumentException($"shape [{string.Join(", ", shape)}] has a negative size", nameof(shape));
            }

            count *= s;
        }

        if (count != data.Length)
        {
            throw new ArgumentException($"{data.Length} values cannot fill shape [{string.Join(", ", shape)}] ({count} elements)", nameof(shape));
        }

        Tensor result;
        fixed (T* p = data)
        fixed (long* s = shape)
        {
            result = Tensor.From(NativeMethods.ath_from_data(p, (long)data.Length * sizeof(T), s, shape.Length, (int)dtype, out var r), r);
        }

        return requiresGrad ? result.requires_grad_() : result;
    }

    /// <summary>A float32 tensor holding a copy of <paramref name="data"/> (shape defaults to a vector).</summary>
    public static Tensor tensor(ReadOnlySpan<float> data, long[]? shape = null, bool requires_grad = false) => FromData(data, shape, ScalarType.Float32, requires_grad);
    /// <summary>A float64 tensor holding a copy of <paramref name="data"/>.</summary>
    public static Tensor tensor(ReadOnlySpan<double> data, long[]? shape = null, bool requires_grad = false) => FromData(data, shape, ScalarType.Float64, requires_grad);
    /// <summary>An int64 tensor holding a copy of <paramref name="data"/>.</summary>
    public static Tensor tensor(ReadOnlySpan<long> data, long[]? shape = null) => FromData(data, shape, ScalarType.Int64, false);
    /// <summary>An int32 tensor holding a copy of <paramref name="data"/>.</summary>
    public static Tensor tensor(ReadOnlySpan<int> data, long[]? shape = null) => FromData(data, shape, ScalarType.Int32, false);
    /// <summary>A bool tensor holding a copy of <paramref name="data"/>.</summary>
    public static Tensor tensor(ReadOnlySpan<bool> data, long[]? shape = null) => FromData(data, shape, ScalarType.Bool, false);
    /// <summary>A float32 tensor from an array.</summary>
    public static Tensor tensor(float[] data, long[]? shape = null, bool requires_grad = false) => tensor((ReadOnlySpan<float>)data, shape, requires_grad);
    /// <summary>A float64 tensor from an array.</summary>
    public static Tensor tensor(double[] data, long[]? shape = null, bool requires_grad = false) => tensor((ReadOnlySpan<double>)data, shape, requires_grad);
    /// <summary>An int64 tensor from an array.</summary>
    public static Tensor tensor(long[] data, long[]? shape = null) => tensor((ReadOnlySpan<long>)data, shape);
    /// <summary>An int32 tensor from an array.</summary>
    public static Tensor tensor(int[] data, long[]? shape = null) => tensor((ReadOnlySpan<int>)data, shape);
    /// <summary>A bool tensor from an array.</summary>
    public static Tensor tensor(bool[] data, long[]? shape = null) => tensor((ReadOnlySpan<bool>)data, shape);

    /// <summary>A 0-dimensional float32 tensor.</summary>
    public static Tensor tensor(float value, bool requires_grad = false) => FromData<float>([value], [], ScalarType.Float32, requires_grad);
    /// <summary>A 0-dimensional float64 tensor.</summary>
    public static Tensor tensor(double value, bool requires_grad = false) => FromData<double>([value], [], ScalarType.Float64, requires_grad);
    /// <summary>A 0-dimensional int64 tensor.</summary>
    public static Tensor tensor(long value) => FromData<long>([value], [], ScalarType.Int64, false);

    /// <summary>
    /// A tensor of any element type built from raw little-endian bytes (e.g. a safetensors slice of
    /// float16 or bfloat16 values). The bytes are copied.
    /// </summary>
    public static unsafe Tensor frombuffer(ReadOnlySpan<byte> bytes, ScalarType dtype, long[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        fixed (byte* p = bytes)
        fixed (long* s = shape)
        {
            return Tensor.From(NativeMethods.ath_from_data(p, bytes.Length, s, shape.Length, (int)dtype, out var r), r);
        }
    }

    private static unsafe Tensor New(int kind, long[] shape, double value, ScalarType dtype, Device? device, bool requiresGrad)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var d = device ?? CPU;
        Tensor result;
        fixed (long* s = shape)
        {
            result = Tensor.From(NativeMethods.ath_new(kind, s, shape.Length, value, (int)dtype, (int)d.Type, d.Index, out var r), r);
        }

        return requiresGrad ? result.requires_grad_() : result;
    }

    /// <summary>Uninitialized tensor.</summary>
    public static Tensor empty(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null) => New(0, shape, 0, dtype, device, false);
    /// <summary>Zeros.</summary>
    public static Tensor zeros(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null, bool requires_grad = false) => New(1, shape, 0, dtype, device, requires_grad);
    /// <summary>Zeros (float32).</summary>
    public static Tensor zeros(params long[] shape) => New(1, shape, 0, ScalarType.Float32, null, false);
    /// <summary>Ones.</summary>
    public static Tensor ones(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null, bool requires_grad = false) => New(2, shape, 0, dtype, device, requires_grad);
    /// <summary>Ones (float32).</summary>
    public static Tensor ones(params long[] shape) => New(2, shape, 0, ScalarType.Float32, null, false);
    /// <summary>A tensor filled with <paramref name="value"/>.</summary>
    public static Tensor full(long[] shape, double value, ScalarType dtype = ScalarType.Float32, Device? device = null) => New(3, shape, value, dtype, device, false);

    /// <summary>Zeros shaped like <paramref name="like"/> (same dtype and device).</summary>
    public static Tensor zeros_like(Tensor like) => zeros(like.shape, like.dtype, like.device);
    /// <summary>Ones shaped like <paramref name="like"/>.</summary>
    public static Tensor ones_like(Tensor like) => ones(like.shape, like.dtype, like.device);
    /// <summary>A constant shaped like <paramref name="like"/>.</summary>
    public static Tensor full_like(Tensor like, double value) => full(like.shape, value, like.dtype, like.device);

    /// <summary>Values start, start+step, … below end.</summary>
    public static Tensor arange(double start, double end, double step = 1, ScalarType dtype = ScalarType.Int64) =>
        Tensor.From(NativeMethods.ath_arange(start, end, step, (int)dtype, out var r), r);
    /// <summary>0, 1, …, end−1 as int64.</summary>
    public static Tensor arange(long end) => arange(0, end);
    /// <summary><paramref name="steps"/> evenly spaced values from start to end inclusive.</summary>
    public static Tensor linspace(double start, double end, long steps, ScalarType dtype = ScalarType.Float32) =>
        Tensor.From(NativeMethods.ath_linspace(start, end, steps, (int)dtype, out var r), r);
    /// <summary>Identity matrix.</summary>
    public static Tensor eye(long n, ScalarType dtype = ScalarType.Float32) => Tensor.From(NativeMethods.ath_eye(n, (int)dtype, out var r), r);

    // ---- random ----

    private static unsafe Tensor Random(int kind, long[] shape, ScalarType dtype, Generator? generator)
    {
        ArgumentNullException.ThrowIfNull(shape);
        fixed (long* s = shape)
        {
            return Tensor.From(NativeMethods.ath_random(kind, s, shape.Length, (int)dtype, Generator.HandleOf(generator), out var r), r);
        }
    }

    /// <summary>U[0, 1) draws.</summary>
    public static Tensor rand(long[] shape, ScalarType dtype = ScalarType.Float32, Generator? generator = null) => Random(0, shape, dtype, generator);
    /// <summary>N(0, 1) draws.</summary>
    public static Tensor randn(long[] shape, ScalarType dtype = ScalarType.Float32, Generator? generator = null) => Random(1, shape, dtype, generator);

    /// <summary>Integers uniform in [low, high) as int64.</summary>
    public static unsafe Tensor randint(long low, long high, long[] shape, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(shape);
        fixed (long* s = shape)
        {
            return Tensor.From(NativeMethods.ath_randint(low, high, s, shape.Length, Generator.HandleOf(generator), out var r), r);
        }
    }

    /// <summary>A random permutation of 0..n−1 (int64).</summary>
    public static Tensor randperm(long n, Generator? generator = null) =>
        Tensor.From(NativeMethods.ath_randperm(n, Generator.HandleOf(generator), out var r), r);

    /// <summary>0/1 draws with per-element probabilities <paramref name="probabilities"/> (same dtype).</summary>
    public static Tensor bernoulli(Tensor probabilities, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(probabilities);
        return Tensor.From(NativeMethods.ath_bernoulli(probabilities.Handle, Generator.HandleOf(generator), out var r), r);
    }
}
