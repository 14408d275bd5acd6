using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Engine;

/// <summary>
/// Reads and writes the safetensors format: an 8-byte little-endian header length N, N bytes of
/// UTF-8 JSON (<c>{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
/// "__metadata__": {"k": "v"}}</c>), then the data buffer, which the tensors' ranges must cover
/// exactly (no overlaps, no holes, no trailing bytes).
/// </summary>
/// <remarks>
/// Files are treated as untrusted: every check the reference implementation makes is made here (and
/// a few more: duplicate names, duplicate fields, non-string metadata), before any tensor is created,
/// and a BOOL tensor's bytes must be 0 or 1 (checked as it is read); each failure is a <see cref="SafeTensorsException"/> naming the file, the tensor and the
/// problem. Supported dtypes: F64, F32, F16, BF16, I64, I32, I16, I8, U8 and BOOL.
/// </remarks>
public static partial class SafeTensors
{
    /// <summary>The largest header accepted, in bytes (100 MB, as in the reference implementation).</summary>
    public const long MaxHeaderLength = 100_000_000;

    /// <summary>
    /// Loads every tensor of a safetensors file onto the CPU. The file is read once, sequentially,
    /// one tensor at a time (memory beyond the tensors themselves: the header and a buffer the size
    /// of the largest tensor). The tensors join the current <see cref="DisposeScope"/>, if any; on
    /// failure none is left alive.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <returns>The tensors by name, in data-buffer order.</returns>
    /// <exception cref="SafeTensorsException">The file is malformed, or a tensor is over 2 GiB.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="IOException">The file cannot be opened or read (<see cref="FileNotFoundException"/> when it is absent).</exception>
    public static Dictionary<string, Tensor> Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
        var header = ReadHeader(file, path);

        long largest = 0;
        foreach (var info in header.Tensors)
        {
            CheckLoadable(info, path);
            largest = Math.Max(largest, info.ByteCount);
        }

        var buffer = largest == 0 ? [] : GC.AllocateUninitializedArray<byte>((int)largest);
        var result = new Dictionary<string, Tensor>(header.Tensors.Count, StringComparer.Ordinal);
        try
        {
            foreach (var info in header.Tensors)
            {
                var slice = buffer.AsSpan(0, (int)info.ByteCount);
                ReadExactly(file, slice, header.DataStart + info.Begin, path, info.Name);
                result.Add(info.Name, Create(info, slice, path, header.DataStart));
            }
        }
        catch
        {
            DisposeAll(result);
            throw;
        }

        return result;
    }

    /// <summary>
    /// Loads every tensor of a safetensors image held in memory (the whole file's bytes) onto the CPU.
    /// The tensors join the current <see cref="DisposeScope"/>, if any; on failure none is left alive.
    /// </summary>
    /// <param name="data">The file's bytes.</param>
    /// <returns>The tensors by name, in data-buffer order.</returns>
    /// <exception cref="SafeTensorsException">The data is malformed.</exception>
    public static Dictionary<string, Tensor> Load(ReadOnlySpan<byte> data)
    {
        var header = ReadHeader(data);
        var result = new Dictionary<string, Tensor>(header.Tensors.Count, StringComparer.Ordinal);
        try
        {
            foreach (var info in header.Tensors)
            {
                var bytes = data.Slice((int)(header.DataStart + info.Begin), (int)info.ByteCount);
                result.Add(info.Name, Create(info, bytes, null, header.DataStart));
            }
        }
        catch
        {
            DisposeAll(result);
            throw;
        }

        return result;
    }

    /// <summary>
    /// Reads and validates a file's header without loading any tensor data: names, dtypes, shapes,
    /// ranges and metadata. Only the first 8 + N bytes are read; the checks are the same as
    /// <see cref="Load(string)"/>'s.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <exception cref="SafeTensorsException">The file is malformed.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="IOException">The file cannot be opened or read (<see cref="FileNotFoundException"/> when it is absent).</exception>
    public static SafeTensorsHeader ReadHeader(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return ReadHeader(file, path);
    }

    /// <summary>Reads and validates the header of a safetensors image held in memory.</summary>
    /// <param name="data">The file's bytes.</param>
    /// <exception cref="SafeTensorsException">The data is malformed.</exception>
    public static SafeTensorsHeader ReadHeader(ReadOnlySpan<byte> data)
    {
        var n = HeaderLength(data.Length >= 8 ? data[..8] : default, data.Length, null);
        return ParseHeader(data.Slice(8, (int)n).ToArray(), data.Length - 8 - n, null);
    }

    private static SafeTensorsHeader ReadHeader(SafeFileHandle file, string path)
    {
        var length = RandomAccess.GetLength(file);
        Span<byte> prefix = stackalloc byte[8];
        if (length >= 8)
        {
            ReadExactly(file, prefix, 0, path, null);
        }

        var n = HeaderLength(prefix, length, path);
        var json = GC.AllocateUninitializedArray<byte>((int)n);
        ReadExactly(file, json, 8, path, null);
        return ParseHeader(json, length - 8 - n, path);
    }

    /// <summary>Validates the 8-byte prefix against the total length and returns N.</summary>
    private static long HeaderLength(ReadOnlySpan<byte> prefix, long totalLength, string? path)
    {
        if (totalLength < 8)
        {
            throw new SafeTensorsException($"is {totalLength} bytes long, shorter than the 8-byte header length prefix (truncated or not a safetensors file)", path);
        }

        var n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (n > MaxHeaderLength)
        {
            throw new SafeTensorsException($"header length {n} exceeds the {MaxHeaderLength}-byte limit (corrupt, hostile or not a safetensors file; it is {totalLength} bytes long)", path);
        }

        if (n > (ulong)(totalLength - 8))
        {
            throw new SafeTensorsException($"header length {n} runs past the end: only {totalLength - 8} bytes follow the 8-byte prefix (truncated file?)", path);
        }

        return (long)n;
    }

    /// <summary>
    /// Refuses a tensor over <see cref="MaxTensorBytes"/> (the array <see cref="Load(string)"/> reads it into could not be
    /// made). Internal so the boundary can be tested on a header entry, without a 2 GiB file.
    /// </summary>
    internal static void CheckLoadable(SafeTensorInfo info, string? path)
    {
        if (info.ByteCount > MaxTensorBytes)
        {
            throw new SafeTensorsException($"holds {info.ByteCount} bytes; this reader loads tensors of at most {MaxTensorBytes} bytes", path, info.Name);
        }
    }

    private static Tensor Create(SafeTensorInfo info, ReadOnlySpan<byte> bytes, string? path, long dataStart)
    {
        // libtorch assumes a bool is stored as 0 or 1; another byte is a value no bool has, which operations read
        // inconsistently (true for one, neither true nor false for another).
        if (info.DType == ScalarType.Bool && bytes.IndexOfAnyExcept((byte)0, (byte)1) is var bad and >= 0)
        {
            throw new SafeTensorsException(
                $"BOOL element {bad} (file byte {dataStart + info.Begin + bad}) is {bytes[bad]}; a BOOL element must be the byte 0 or 1", path, info.Name);
        }

        var shape = new long[info.Shape.Count];
        for (var i = 0; i < shape.Length; i++)
        {
            shape[i] = info.Shape[i];
        }

        // A fresh contiguous CPU tensor of the declared dtype and shape; the header check has already matched the
        // byte count to shape x element size, so the copy fills it exactly.
        var tensor = torch.empty(shape, info.DType);
        try
        {
            bytes.CopyTo(tensor.bytes);
            return tensor;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or NotImplementedException)
        {
            tensor.Dispose();
            throw new SafeTensorsException($"TorchSharp could not create the {DTypeName(info.DType)} [{string.Join(", ", shape)}] tensor: {e.Message}", path, info.Name, e);
        }
    }

    private static void DisposeAll(Dictionary<string, Tensor> tensors)
    {
        foreach (var t in tensors.Values)
        {
            t.Dispose();
        }

        tensors.Clear();
    }

    private static void ReadExactly(SafeFileHandle file, Span<byte> destination, long offset, string path, string? tensorName)
    {
        var done = 0;
        while (done < destination.Length)
        {
            var n = RandomAccess.Read(file, destination[done..], offset + done);
            if (n == 0)
            {
                throw new SafeTensorsException($"the file ended at byte {offset + done} while {destination.Length} bytes were being read from byte {offset} (was it truncated while being read?)", path, tensorName);
            }

            done += n;
        }
    }
}
