using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Engine;

public static partial class SafeTensors
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Writes tensors (and optional string metadata) as a safetensors file, replacing any existing file.
    /// </summary>
    /// <remarks>
    /// The output is deterministic and laid out as the reference implementation (the Python
    /// <c>safetensors</c> package) lays it out: tensors sorted by dtype, widest alignment first
    /// (I64, F64, F32, I32, BF16, F16, I16, I8, U8, BOOL), then by name (ordinal UTF-8 bytes); compact
    /// JSON with <c>__metadata__</c> first (its keys sorted); the header padded with spaces to a
    /// multiple of 8 bytes so every tensor's data is aligned; the data contiguous in header order.
    /// Tensors may live on any device and be non-contiguous: their row-major CPU bytes are written.
    /// Everything is validated before the file is created, and what a reader would refuse is refused
    /// here (a header over <see cref="MaxHeaderLength"/>, a BOOL byte other than 0 or 1, a tensor over 2 GiB), and so are
    /// sparse tensors of every layout and any other tensor without row-major data (save its <c>to_dense()</c>). The file is
    /// written under a hidden temporary name beside <paramref name="path"/> and renamed over it once
    /// complete, so the path holds the old file or the new one, never a part: a write that fails leaves
    /// the old file as it was (and deletes the temporary one), and a reader that has the old file open
    /// keeps reading it. (A process killed midway leaves the temporary file; a symbolic link at
    /// <paramref name="path"/> is replaced by the file, its target left alone.) An existing file's permission bits
    /// (0600, say) are kept; a new file gets the default mode.
    /// </remarks>
    /// <param name="path">The file to write.</param>
    /// <param name="tensors">The tensors by name (not <c>__metadata__</c>).</param>
    /// <param name="metadata">Free-form string metadata stored under <c>__metadata__</c>, or null for none.</param>
    /// <exception cref="ArgumentException">A tensor is named <c>__metadata__</c>, is null, sparse or otherwise without
    /// row-major data, on the meta device, of a dtype safetensors cannot store or over 2 GiB, or a BOOL tensor holds a
    /// byte other than 0 or 1; a metadata value is null; a name or metadata string is not valid UTF-16; or the header
    /// would exceed <see cref="MaxHeaderLength"/>. The message names the tensor or key.</exception>
    /// <exception cref="ObjectDisposedException">A tensor was disposed before it was saved.</exception>
    /// <exception cref="IOException">The file cannot be written (the old file is left as it was); also an
    /// <see cref="ArgumentException"/> when <paramref name="path"/> is a folder.</exception>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        Save(path, tensors, metadata, wrap: null);

    /// <summary>
    /// <see cref="Save(string, IReadOnlyDictionary{string, Tensor}, IReadOnlyDictionary{string, string})"/>, writing
    /// through <paramref name="wrap"/>'s stream around the temporary file's, when given: the tests' way to make a write
    /// fail midway (as a full disk would), since nothing else can once every tensor has passed the checks.
    /// </summary>
    internal static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata, Func<Stream, Stream>? wrap)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var (header, entries) = Prepare(tensors, metadata);
        var target = Path.GetFullPath(path);
        if (Directory.Exists(target))
        {
            throw new ArgumentException($"{path} is a folder; pass the path of the file to write (such as {Path.Combine(path, "model.safetensors")})", nameof(path));
        }

        // Before, the file was truncated in place: a failure (or a kill) midway destroyed the file it was replacing.
        // AtomicFile also gives the new file an existing file's permission bits: a weights file restricted to 0600
        // came back 0644.
        AtomicFile.Write(target, stream => Write(wrap is null ? stream : wrap(stream), header, entries), replaceLink: true);
    }

    /// <summary>
    /// Writes tensors (and optional string metadata) in the safetensors format to a stream, laid out
    /// as <see cref="Save(string, IReadOnlyDictionary{string, Tensor}, IReadOnlyDictionary{string, string})"/> describes.
    /// </summary>
    /// <param name="stream">A writable stream; it is left open.</param>
    /// <param name="tensors">The tensors by name (not <c>__metadata__</c>).</param>
    /// <param name="metadata">Free-form string metadata stored under <c>__metadata__</c>, or null for none.</param>
    /// <exception cref="ArgumentException">A tensor is named <c>__metadata__</c>, is null, sparse or otherwise without
    /// row-major data, on the meta device, of a dtype safetensors cannot store or over 2 GiB, or a BOOL tensor holds a
    /// byte other than 0 or 1; a metadata value is null; a name or metadata string is not valid UTF-16; or the header
    /// would exceed <see cref="MaxHeaderLength"/>. The message names the tensor or key.</exception>
    /// <exception cref="ObjectDisposedException">A tensor was disposed before it was saved.</exception>
    /// <exception cref="IOException">Writing to <paramref name="stream"/> fails.</exception>
    public static void Save(Stream stream, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var (header, entries) = Prepare(tensors, metadata);
        Write(stream, header, entries);
    }

    private sealed record Entry(string Name, byte[] Utf8Name, Tensor Tensor, ScalarType DType, long[] Shape, long ByteCount);

    private static (byte[] Header, List<Entry> Entries) Prepare(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var entries = new List<Entry>(tensors.Count);
        foreach (var (name, tensor) in tensors)
        {
            if (name == MetadataKey)
            {
                throw new ArgumentException($"\"{MetadataKey}\" is reserved for metadata and cannot name a tensor", nameof(tensors));
            }

            if (tensor is null)
            {
                throw new ArgumentException($"tensor '{name}' is null", nameof(tensors));
            }

            if (tensor.IsInvalid)
            {
                throw new ObjectDisposedException($"tensor '{name}'", $"tensor '{name}' was disposed before it was saved");
            }

            if (tensor.is_sparse)
            {
                throw new ArgumentException($"tensor '{SafeTensorsException.Shorten(name)}' is sparse; safetensors stores dense tensors: save {SafeTensorsException.Shorten(name)}.to_dense()", nameof(tensors));
            }

            if (tensor.device_type == DeviceType.META)
            {
                throw new ArgumentException($"tensor '{SafeTensorsException.Shorten(name)}' is on the meta device, which holds no data (shapes only): there are no bytes to save", nameof(tensors));
            }

            var dtype = tensor.dtype;
            if (!TryParseDType(DTypeName(dtype), out _))
            {
                throw new ArgumentException($"tensor '{name}' has dtype {dtype}, which safetensors cannot store", nameof(tensors));
            }

            // is_sparse is true for the COO layout only: a CSR, CSC, BSR or BSC tensor (or a nested one) passed it and failed
            // midway through the write, in libtorch's words ("Sparse CSR tensors do not have is_contiguous"), naming no tensor.
            // After the dtype check, which any layout passes or fails plainly (the probe reads bytes, a quantized dtype has none).
            if (NonStridedLayout(tensor) is { } layout)
            {
                throw new ArgumentException(
                    $"tensor '{SafeTensorsException.Shorten(name)}' has a non-strided layout ({layout}), which holds no row-major data; " +
                    $"safetensors stores dense tensors: save {SafeTensorsException.Shorten(name)}.to_dense()", nameof(tensors));
            }

            // TorchSharp hands a tensor's bytes over as one span (at most int.MaxValue bytes): a larger tensor failed midway
            // with its "Span only supports up to int.MaxValue elements", naming no tensor.
            if (TooLarge(tensor.numel(), dtype) is { } size)
            {
                throw new ArgumentException(
                    $"tensor '{SafeTensorsException.Shorten(name)}' ({DTypeName(dtype)} [{string.Join(", ", tensor.shape)}]) is {size} bytes, over the " +
                    $"{MaxTensorBytes}-byte limit of this writer (and of {nameof(Load)}): split it into several tensors (along its first " +
                    "dimension, say) and save those", nameof(tensors));
            }

            if (dtype == ScalarType.Bool)
            {
                CheckBoolBytes(tensor, name);
            }

            var shape = tensor.shape;
            entries.Add(new Entry(name, EncodeName(name, nameof(tensors)), tensor, dtype, shape, tensor.numel() * dtype.ElementSize()));
        }

        entries.Sort(static (a, b) =>
        {
            var c = AlignmentRank(b.DType).CompareTo(AlignmentRank(a.DType));
            return c != 0 ? c : a.Utf8Name.AsSpan().SequenceCompareTo(b.Utf8Name);
        });

        var buffer = new ArrayBufferWriter<byte>(256 + (entries.Count * 96));
        var metadataBytes = 0;
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is not null)
            {
                var pairs = new List<(byte[] Key, string Name, string Value)>(metadata.Count);
                foreach (var (key, value) in metadata)
                {
                    if (value is null)
                    {
                        throw new ArgumentException($"metadata value for key '{key}' is null", nameof(metadata));
                    }

                    EncodeName(value, nameof(metadata));
                    pairs.Add((EncodeName(key, nameof(metadata)), key, value));
                }

                pairs.Sort(static (a, b) => a.Key.AsSpan().SequenceCompareTo(b.Key));
                json.WriteStartObject(MetadataKey);
                foreach (var (_, key, value) in pairs)
                {
                    json.WriteString(key, value);
                }

                json.WriteEndObject();
                json.Flush();
                metadataBytes = buffer.WrittenCount;
            }

            long offset = 0;
            foreach (var e in entries)
            {
                json.WriteStartObject(e.Utf8Name);
                json.WriteString("dtype", DTypeName(e.DType));
                json.WriteStartArray("shape");
                foreach (var s in e.Shape)
                {
                    json.WriteNumberValue(s);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                offset += e.ByteCount;
                json.WriteNumberValue(offset);
                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        // Pad with spaces so the data buffer (at 8 + N) starts 8-byte aligned, as the reference does.
        var padding = (8 - (buffer.WrittenCount % 8)) % 8;
        buffer.GetSpan(padding)[..padding].Fill((byte)' ');
        buffer.Advance(padding);
        if (buffer.WrittenCount > MaxHeaderLength)
        {
            // The reader (this one, and the reference implementation) refuses such a header: the file would not load.
            var (parameter, part) = metadataBytes * 2 > buffer.WrittenCount ? (nameof(metadata), "metadata") : (nameof(tensors), "tensor entries");
            throw new ArgumentException(
                $"the header would be {buffer.WrittenCount} bytes, mostly {part}, over the {MaxHeaderLength}-byte limit that " +
                $"safetensors readers enforce ({nameof(SafeTensors)}.{nameof(MaxHeaderLength)}): the file would not load. Store less " +
                "metadata, or split the tensors over several files", parameter);
        }

        return (buffer.WrittenSpan.ToArray(), entries);
    }

    private static void Write(Stream stream, byte[] header, List<Entry> entries)
    {
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.LongLength);
        stream.Write(prefix);
        stream.Write(header);
        foreach (var e in entries)
        {
            // cpu() returns a new handle even for a CPU tensor: disposed here, or it stays live until finalized.
            var cpu = e.Tensor.cpu();
            try
            {
                using var contiguous = cpu.contiguous();
                var bytes = contiguous.bytes;
                if (bytes.Length != e.ByteCount)
                {
                    throw new InvalidOperationException($"tensor '{e.Name}' produced {bytes.Length} bytes, expected {e.ByteCount} (was it modified while being saved?)");
                }

                stream.Write(bytes);
            }
            finally
            {
                if (!ReferenceEquals(cpu, e.Tensor))
                {
                    cpu.Dispose();
                }
            }
        }

        stream.Flush();
    }

    /// <summary>
    /// The largest tensor, in bytes, that <see cref="Save(string, IReadOnlyDictionary{string, Tensor}, IReadOnlyDictionary{string, string})"/>
    /// writes and <see cref="Load(string)"/> reads: a .NET array's limit (just under 2 GiB), below TorchSharp's span limit.
    /// </summary>
    internal static long MaxTensorBytes => Array.MaxLength;

    /// <summary>The byte size of <paramref name="elements"/> elements of <paramref name="dtype"/> when it is over <see cref="MaxTensorBytes"/>, else null.</summary>
    internal static Int128? TooLarge(long elements, ScalarType dtype)
    {
        var bytes = (Int128)elements * dtype.ElementSize();
        return bytes > MaxTensorBytes ? bytes : null;
    }

    /// <summary>
    /// Null for a strided tensor (dense, with strides into a storage: the only layout whose bytes can be written); for any
    /// other layout, libtorch's own words for what it lacks, which name it ("Sparse CSR tensors do not have strides";
    /// "Could not run 'aten::as_strided' with arguments from the 'MkldnnCPU' backend"). TorchSharp has no layout property: a
    /// tensor of another layout is recognized by refusing strides or a data pointer, before any file is created.
    /// </summary>
    internal static string? NonStridedLayout(Tensor tensor)
    {
        try
        {
            _ = tensor.stride();
            if (tensor.numel() > 0 && tensor.device_type == DeviceType.CPU)
            {
                // An MKL-DNN tensor (CPU only) reports strides but has no storage: a one-element view (no copy, whatever the
                // tensor's size and strides) is refused for it, and its bytes ask for the data pointer of any other.
                using var first = tensor.as_strided([1], [1], tensor.storage_offset());
                _ = first.bytes.Length;
            }

            return null;
        }
        catch (System.Runtime.InteropServices.ExternalException e)
        {
            // Its first sentence: the rest is a C++ stack trace, or (for MKL-DNN) a list of the backends that have the operator.
            var message = e.Message;
            var end = message.IndexOfAny(['\n', '\r']);
            message = end < 0 ? message : message[..end];
            end = message.IndexOf(". ", StringComparison.Ordinal);
            return end < 0 ? message.TrimEnd('.') : message[..end];
        }
    }

    /// <summary>The reference implementation's dtype order (its enum order, increasing alignment).</summary>
    private static int AlignmentRank(ScalarType type) => type switch
    {
        ScalarType.Bool => 0,
        ScalarType.Byte => 1,
        ScalarType.Int8 => 2,
        ScalarType.Int16 => 5,
        ScalarType.Float16 => 7,
        ScalarType.BFloat16 => 8,
        ScalarType.Int32 => 9,
        ScalarType.Float32 => 11,
        ScalarType.Float64 => 12,
        ScalarType.Int64 => 13,
        _ => -1,
    };

    /// <summary>
    /// Refuses a BOOL tensor holding a byte other than 0 and 1 (possible only through its raw bytes): the reader
    /// refuses such a file.
    /// </summary>
    private static void CheckBoolBytes(Tensor tensor, string name)
    {
        var cpu = tensor.cpu();
        try
        {
            using var contiguous = cpu.contiguous();
            var bytes = contiguous.bytes;
            if (bytes.IndexOfAnyExcept((byte)0, (byte)1) is var at and >= 0)
            {
                throw new ArgumentException(
                    $"tensor '{SafeTensorsException.Shorten(name)}' is BOOL but its element {at} (row-major) holds the byte {bytes[at]}; a " +
                    "BOOL element must be 0 or 1 (set it through the tensor's values, not its raw bytes)", "tensors");
            }
        }
        finally
        {
            if (!ReferenceEquals(cpu, tensor))
            {
                cpu.Dispose();
            }
        }
    }

    private static byte[] EncodeName(string text, string parameter)
    {
        try
        {
            return StrictUtf8.GetBytes(text);
        }
        catch (EncoderFallbackException e)
        {
            throw new ArgumentException($"'{SafeTensorsException.Shorten(text)}' is not valid UTF-16 text (a lone surrogate) and cannot be stored as UTF-8", parameter, e);
        }
    }
}
