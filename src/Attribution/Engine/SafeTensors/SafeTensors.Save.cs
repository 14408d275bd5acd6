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
    /// Everything is validated before the file is created; if writing fails midway the partial file
    /// is deleted.
    /// </remarks>
    /// <param name="path">The file to write.</param>
    /// <param name="tensors">The tensors by name (not <c>__metadata__</c>).</param>
    /// <param name="metadata">Free-form string metadata stored under <c>__metadata__</c>, or null for none.</param>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var (header, entries) = Prepare(tensors, metadata);
        var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1 << 16);
        var completed = false;
        try
        {
            Write(stream, header, entries);
            stream.Dispose();
            completed = true;
        }
        finally
        {
            if (!completed)
            {
                // The file was created (truncated) by this call: don't leave a partial one behind.
                try
                {
                    stream.Dispose();
                }
                catch (IOException)
                {
                    // The write already failed; that failure is the one to report.
                }

                TryDelete(path);
            }
        }
    }

    /// <summary>
    /// Writes tensors (and optional string metadata) in the safetensors format to a stream, laid out
    /// as <see cref="Save(string, IReadOnlyDictionary{string, Tensor}, IReadOnlyDictionary{string, string})"/> describes.
    /// </summary>
    /// <param name="stream">A writable stream; it is left open.</param>
    /// <param name="tensors">The tensors by name (not <c>__metadata__</c>).</param>
    /// <param name="metadata">Free-form string metadata stored under <c>__metadata__</c>, or null for none.</param>
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

            var dtype = tensor.dtype;
            if (!TryParseDType(DTypeName(dtype), out _))
            {
                throw new ArgumentException($"tensor '{name}' has dtype {dtype}, which safetensors cannot store", nameof(tensors));
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
            using var contiguous = e.Tensor.cpu().contiguous();
            var bytes = contiguous.bytes.ToArray();
            if (bytes.LongLength != e.ByteCount)
            {
                throw new InvalidOperationException($"tensor '{e.Name}' produced {bytes.LongLength} bytes, expected {e.ByteCount} (was it modified while being saved?)");
            }

            stream.Write(bytes);
        }

        stream.Flush();
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

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the original failure is what the caller needs to see.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
