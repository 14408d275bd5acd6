using System.Text.Json;
using System.Text.Unicode;

using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Engine;

public static partial class SafeTensors
{
    private const string MetadataKey = "__metadata__";

    // The dtypes this binding can hold, with their safetensors names.
    private static readonly (string Name, ScalarType Type)[] DTypes =
    [
        ("F64", ScalarType.Float64),
        ("F32", ScalarType.Float32),
        ("F16", ScalarType.Float16),
        ("BF16", ScalarType.BFloat16),
        ("I64", ScalarType.Int64),
        ("I32", ScalarType.Int32),
        ("I16", ScalarType.Int16),
        ("I8", ScalarType.Int8),
        ("U8", ScalarType.Byte),
        ("BOOL", ScalarType.Bool),
    ];

    /// <summary>The safetensors name of a dtype (F32, BF16, ...).</summary>
    internal static string DTypeName(ScalarType type)
    {
        foreach (var (name, t) in DTypes)
        {
            if (t == type)
            {
                return name;
            }
        }

        return type.ToString();
    }

    private static bool TryParseDType(string name, out ScalarType type)
    {
        foreach (var (n, t) in DTypes)
        {
            if (string.Equals(n, name, StringComparison.Ordinal))
            {
                type = t;
                return true;
            }
        }

        type = default;
        return false;
    }

    /// <summary>Parses and validates the JSON header against a data buffer of <paramref name="dataLength"/> bytes.</summary>
    private static SafeTensorsHeader ParseHeader(byte[] json, long dataLength, string? path)
    {
        if (!Utf8.IsValid(json))
        {
            throw new SafeTensorsException("header is not valid UTF-8", path);
        }

        // As the reference implementation does: the header must be a JSON object starting at its first byte.
        if (json.Length == 0 || json[0] != (byte)'{')
        {
            throw new SafeTensorsException("header is not a JSON object (its first byte must be '{')", path);
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw new SafeTensorsException($"header is not valid JSON: {e.Message}", path, null, e);
        }

        var tensors = new List<SafeTensorInfo>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        using (document)
        {
            try
            {
                ReadEntries(document.RootElement, tensors, metadata, dataLength, path);
            }
            catch (InvalidOperationException e)
            {
                // System.Text.Json validates \u escapes only when a string is read: a lone UTF-16 surrogate
                // ("\ud800") passes the parser and fails here, untyped and without the file's name.
                throw new SafeTensorsException($"header has a string that is not valid text (a \\u escape of a lone UTF-16 surrogate?): {e.Message}", path, null, e);
            }
        }

        CheckLayout(tensors, dataLength, path);
        return new SafeTensorsHeader(tensors.AsReadOnly(), metadata.AsReadOnly(), 8 + json.LongLength, dataLength);
    }

    private static void ReadEntries(JsonElement root, List<SafeTensorInfo> tensors, Dictionary<string, string> metadata, long dataLength, string? path)
    {
        {
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new SafeTensorsException($"header is a JSON {Kind(root.ValueKind)}, not an object", path);
            }

            // JsonDocument keeps duplicate property names; a file could otherwise smuggle two
            // definitions of one tensor. Names are compared after unescaping ("a" == "\u0061").
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                var name = property.Name;
                if (!seen.Add(name))
                {
                    throw name == MetadataKey
                        ? new SafeTensorsException($"header has more than one \"{MetadataKey}\" entry", path)
                        : new SafeTensorsException("is defined more than once in the header (duplicate name)", path, name);
                }

                if (name == MetadataKey)
                {
                    ReadMetadata(property.Value, metadata, path);
                }
                else
                {
                    tensors.Add(ReadEntry(name, property.Value, dataLength, path));
                }
            }
        }
    }

    private static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata, string? path)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return; // the reference implementation reads null as "no metadata"
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new SafeTensorsException($"\"{MetadataKey}\" is a JSON {Kind(value.ValueKind)}; it must be an object of strings", path);
        }

        foreach (var entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
            {
                throw new SafeTensorsException($"\"{MetadataKey}\" value for key '{SafeTensorsException.Shorten(entry.Name)}' is a JSON {Kind(entry.Value.ValueKind)}; metadata values must be strings", path);
            }

            if (!metadata.TryAdd(entry.Name, entry.Value.GetString()!))
            {
                throw new SafeTensorsException($"\"{MetadataKey}\" has key '{SafeTensorsException.Shorten(entry.Name)}' more than once", path);
            }
        }
    }

    private static SafeTensorInfo ReadEntry(string name, JsonElement value, long dataLength, string? path)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new SafeTensorsException($"entry is a JSON {Kind(value.ValueKind)}; it must be an object with dtype, shape and data_offsets", path, name);
        }

        JsonElement? dtypeValue = null, shapeValue = null, offsetsValue = null;
        foreach (var field in value.EnumerateObject())
        {
            // Unknown fields are ignored, as the reference implementation ignores them.
            switch (field.Name)
            {
                case "dtype":
                    dtypeValue = Once(dtypeValue, field, path, name);
                    break;
                case "shape":
                    shapeValue = Once(shapeValue, field, path, name);
                    break;
                case "data_offsets":
                    offsetsValue = Once(offsetsValue, field, path, name);
                    break;
            }
        }

        if (dtypeValue is not { } dtypeElement)
        {
            throw new SafeTensorsException("entry has no \"dtype\"", path, name);
        }

        if (shapeValue is not { } shapeElement)
        {
            throw new SafeTensorsException("entry has no \"shape\"", path, name);
        }

        if (offsetsValue is not { } offsetsElement)
        {
            throw new SafeTensorsException("entry has no \"data_offsets\"", path, name);
        }

        if (dtypeElement.ValueKind != JsonValueKind.String)
        {
            throw new SafeTensorsException($"\"dtype\" is a JSON {Kind(dtypeElement.ValueKind)}; it must be a string such as \"F32\"", path, name);
        }

        var dtypeName = dtypeElement.GetString()!;
        if (!TryParseDType(dtypeName, out var dtype))
        {
            throw new SafeTensorsException($"unsupported dtype \"{SafeTensorsException.Shorten(dtypeName, 40)}\" (supported: {string.Join(", ", DTypes.Select(d => d.Name))})", path, name);
        }

        var shape = ReadIntegers(shapeElement, "shape", -1, path, name);
        var offsets = ReadIntegers(offsetsElement, "data_offsets", 2, path, name);

        long elements = 1;
        foreach (var size in shape)
        {
            if (size != 0 && elements > long.MaxValue / size)
            {
                throw new SafeTensorsException($"shape [{string.Join(", ", shape)}] has more elements than a 64-bit count can hold (overflow)", path, name);
            }

            elements *= size;
        }

        var elementSize = dtype.ElementSize();
        if (elements > long.MaxValue / elementSize)
        {
            throw new SafeTensorsException($"{dtypeName} shape [{string.Join(", ", shape)}] needs more bytes than a 64-bit count can hold (overflow)", path, name);
        }

        var needed = elements * elementSize;
        var (begin, end) = (offsets[0], offsets[1]);
        if (begin > end)
        {
            throw new SafeTensorsException($"data_offsets [{begin}, {end}] begin after they end", path, name);
        }

        if (end > dataLength)
        {
            throw new SafeTensorsException($"data_offsets [{begin}, {end}] run past the end of the {dataLength}-byte data buffer", path, name);
        }

        if (end - begin != needed)
        {
            throw new SafeTensorsException($"data_offsets [{begin}, {end}] hold {end - begin} bytes but {dtypeName} shape [{string.Join(", ", shape)}] needs {needed}", path, name);
        }

        return new SafeTensorInfo(name, dtype, shape, begin, end);
    }

    private static JsonElement Once(JsonElement? current, JsonProperty field, string? path, string name) =>
        current is null
            ? field.Value
            : throw new SafeTensorsException($"entry has field \"{field.Name}\" more than once", path, name);

    /// <summary>A JSON array of non-negative 64-bit integers (of exactly <paramref name="count"/> items unless it is −1).</summary>
    private static long[] ReadIntegers(JsonElement value, string field, int count, string? path, string name)
    {
        var expected = count < 0 ? "an array of non-negative integers" : $"an array of {count} non-negative integers [begin, end]";
        if (value.ValueKind != JsonValueKind.Array)
        {
            throw new SafeTensorsException($"\"{field}\" is a JSON {Kind(value.ValueKind)}; it must be {expected}", path, name);
        }

        var length = value.GetArrayLength();
        if (count >= 0 && length != count)
        {
            throw new SafeTensorsException($"\"{field}\" has {length} items; it must be {expected}", path, name);
        }

        var result = new long[length];
        var i = 0;
        foreach (var item in value.EnumerateArray())
        {
            // "-0" reads as 0 here, but it is a negative number in JSON (serde_json, the reference reader's parser, makes it the
            // float -0.0 and refuses it): refused like any other sign.
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out var v) || v < 0 || (v == 0 && item.GetRawText()[0] == '-'))
            {
                var text = SafeTensorsException.Shorten(item.GetRawText(), 40);
                throw new SafeTensorsException($"\"{field}\"[{i}] is {text}, not a non-negative 64-bit integer", path, name);
            }

            result[i++] = v;
        }

        return result;
    }

    /// <summary>
    /// The tensors' ranges must tile the data buffer exactly: sorted by offset, each begins where the
    /// previous one ended, the first at 0 and the last at the buffer's end. The reference
    /// implementation rejects overlaps, holes and trailing bytes alike; so does this reader.
    /// </summary>
    private static void CheckLayout(List<SafeTensorInfo> tensors, long dataLength, string? path)
    {
        tensors.Sort(static (a, b) =>
        {
            var c = a.Begin.CompareTo(b.Begin);
            if (c == 0)
            {
                c = a.End.CompareTo(b.End);
            }

            return c != 0 ? c : string.CompareOrdinal(a.Name, b.Name);
        });

        long covered = 0;
        SafeTensorInfo? previous = null;
        foreach (var info in tensors)
        {
            if (info.Begin < covered)
            {
                throw new SafeTensorsException($"data_offsets [{info.Begin}, {info.End}] overlap those of tensor '{SafeTensorsException.Shorten(previous!.Name)}' [{previous.Begin}, {previous.End}]", path, info.Name);
            }

            if (info.Begin > covered)
            {
                throw new SafeTensorsException($"data_offsets [{info.Begin}, {info.End}] leave a hole: bytes [{covered}, {info.Begin}) of the data buffer belong to no tensor (tensors must cover the buffer contiguously, as the reference implementation requires)", path, info.Name);
            }

            covered = info.End;
            previous = info;
        }

        if (covered != dataLength)
        {
            throw new SafeTensorsException($"the tensors cover {covered} bytes of the {dataLength}-byte data buffer; bytes [{covered}, {dataLength}) belong to no tensor (tensors must cover the buffer contiguously, as the reference implementation requires)", path);
        }
    }

    private static string Kind(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Null => "null",
        _ => kind.ToString(),
    };
}
