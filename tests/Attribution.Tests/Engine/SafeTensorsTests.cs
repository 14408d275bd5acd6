using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Engine;

/// <summary>Shared helpers: temp files and hand-built safetensors images.</summary>
internal static class SafeTensorsFiles
{
    /// <summary>8-byte prefix (the header's length unless <paramref name="declaredLength"/> is given), the header, then <paramref name="dataLength"/> data bytes.</summary>
    public static byte[] Build(string json, int dataLength, ulong? declaredLength = null) =>
        Build(Encoding.UTF8.GetBytes(json), dataLength, declaredLength);

    public static byte[] Build(byte[] header, int dataLength, ulong? declaredLength = null)
    {
        var bytes = new byte[8 + header.Length + dataLength];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredLength ?? (ulong)header.Length);
        header.CopyTo(bytes, 8);
        for (var i = 0; i < dataLength; i++)
        {
            bytes[8 + header.Length + i] = (byte)(i * 7);
        }

        return bytes;
    }

    /// <summary>The header JSON of an image, as the test reads it independently of the library.</summary>
    public static string HeaderText(byte[] image)
    {
        var n = (int)BinaryPrimitives.ReadUInt64LittleEndian(image);
        return Encoding.UTF8.GetString(image, 8, n);
    }

    public static byte[] SaveToBytes(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var stream = new MemoryStream();
        SafeTensors.Save(stream, tensors, metadata);
        return stream.ToArray();
    }
}

public sealed class SafeTensorsTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "safetensors-tests-" + Guid.NewGuid().ToString("N"));

    public SafeTensorsTests() => Directory.CreateDirectory(directory);

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private string TempFile(string name = "t.safetensors") => Path.Combine(directory, name);

    // ---- round trips ----

    private static readonly ScalarType[] DTypes =
    [
        ScalarType.Float64, ScalarType.Float32, ScalarType.Float16, ScalarType.BFloat16, ScalarType.Int64,
        ScalarType.Int32, ScalarType.Int16, ScalarType.Int8, ScalarType.Byte, ScalarType.Bool,
    ];

    public static TheoryData<ScalarType> AllDTypes() => [.. DTypes];

    private static byte[] RandomBytes(ScalarType dtype, long elements, int seed)
    {
        var random = new Random(seed);
        var bytes = new byte[elements * dtype.ElementSize()];
        random.NextBytes(bytes);
        if (dtype == ScalarType.Bool)
        {
            for (var i = 0; i < bytes.Length; i++)
            {
                bytes[i] &= 1;
            }
        }

        return bytes;
    }

    [Theory]
    [MemberData(nameof(AllDTypes))]
    public void Every_dtype_round_trips_bit_for_bit_through_a_file_and_memory(ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var bytes = RandomBytes(dtype, 2 * 3 * 5, seed: (int)dtype);
        var original = TensorBytes.FromBytes(bytes, dtype, [2, 3, 5]);
        var tensors = new Dictionary<string, Tensor> { ["x"] = original };

        var path = TempFile();
        SafeTensors.Save(path, tensors);
        var image = File.ReadAllBytes(path);
        image.Should().Equal(SafeTensorsFiles.SaveToBytes(tensors), "the file and the stream writers agree");

        foreach (var loaded in new[] { SafeTensors.Load(path), SafeTensors.Load(image) })
        {
            loaded.Keys.Should().Equal("x");
            loaded["x"].dtype.Should().Be(dtype);
            loaded["x"].shape.Should().Equal(2, 3, 5);
            loaded["x"].bytes.ToArray().Should().Equal(bytes);
        }

        var name = dtype switch
        {
            ScalarType.Float64 => "F64", ScalarType.Float32 => "F32", ScalarType.Float16 => "F16",
            ScalarType.BFloat16 => "BF16", ScalarType.Int64 => "I64", ScalarType.Int32 => "I32",
            ScalarType.Int16 => "I16", ScalarType.Int8 => "I8", ScalarType.Byte => "U8", _ => "BOOL",
        };
        SafeTensorsFiles.HeaderText(image).Should().Contain($"\"dtype\":\"{name}\"");
    }

    [Fact]
    public void A_missing_or_empty_path_is_refused_as_the_docs_say()
    {
        var absent = TempFile("absent.safetensors");
        FluentActions.Invoking(() => SafeTensors.Load(absent)).Should().Throw<FileNotFoundException>().Which.FileName.Should().Be(absent);
        FluentActions.Invoking(() => SafeTensors.ReadHeader(absent)).Should().Throw<FileNotFoundException>();
        FluentActions.Invoking(() => SafeTensors.Load("")).Should().Throw<ArgumentException>().Which.ParamName.Should().Be("path");
        FluentActions.Invoking(() => SafeTensors.ReadHeader("")).Should().Throw<ArgumentException>().Which.ParamName.Should().Be("path");
    }

    [Fact]
    public void Half_precision_special_values_survive_unchanged()
    {
        using var scope = torch.NewDisposeScope();
        // F16: 1.0, -0.0, +inf, a NaN with payload, the smallest subnormal. BF16: 1.0, -2.0, NaN, 1e-40-ish subnormal.
        ushort[] f16 = [0x3C00, 0x8000, 0x7C00, 0x7E01, 0x0001];
        ushort[] bf16 = [0x3F80, 0xC000, 0x7FC1, 0x0001, 0xFF80];
        var tensors = new Dictionary<string, Tensor>
        {
            ["h"] = TensorBytes.FromBytes(MemoryMarshalBytes(f16), ScalarType.Float16, [5]),
            ["b"] = TensorBytes.FromBytes(MemoryMarshalBytes(bf16), ScalarType.BFloat16, [5]),
        };

        var loaded = SafeTensors.Load(SafeTensorsFiles.SaveToBytes(tensors));
        loaded["h"].bytes.ToArray().Should().Equal(MemoryMarshalBytes(f16));
        loaded["b"].bytes.ToArray().Should().Equal(MemoryMarshalBytes(bf16));
        loaded["h"].dtype.Should().Be(ScalarType.Float16);
        loaded["b"].dtype.Should().Be(ScalarType.BFloat16);
    }

    private static byte[] MemoryMarshalBytes(ushort[] values)
    {
        var bytes = new byte[values.Length * 2];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2 * i), values[i]);
        }

        return bytes;
    }

    [Fact]
    public void Zero_dimensional_and_empty_tensors_round_trip()
    {
        using var scope = torch.NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>
        {
            ["scalar"] = torch.tensor(3.5f),
            ["scalar64"] = torch.tensor(7L),
            ["empty_rows"] = torch.zeros([0, 3]),
            ["empty_cols"] = torch.empty([2, 0], ScalarType.Int64),
            ["empty_vector"] = torch.zeros([0], ScalarType.BFloat16),
            ["after"] = torch.tensor(new float[] { 1, 2 }),
        };

        var image = SafeTensorsFiles.SaveToBytes(tensors);
        var loaded = SafeTensors.Load(image);

        loaded.Should().HaveCount(tensors.Count);
        loaded["scalar"].shape.Should().BeEmpty();
        loaded["scalar"].ItemAsSingle().Should().Be(3.5f);
        loaded["scalar64"].shape.Should().BeEmpty();
        loaded["scalar64"].ItemAsInt64().Should().Be(7);
        loaded["empty_rows"].shape.Should().Equal(0, 3);
        loaded["empty_cols"].shape.Should().Equal(2, 0);
        loaded["empty_cols"].dtype.Should().Be(ScalarType.Int64);
        loaded["empty_vector"].shape.Should().Equal(0);
        loaded["empty_vector"].dtype.Should().Be(ScalarType.BFloat16);
        loaded["after"].data<float>().ToArray().Should().Equal(1, 2);

        var header = SafeTensors.ReadHeader(image);
        header.Tensors.Single(t => t.Name == "scalar").Shape.Should().BeEmpty();
        header.Tensors.Single(t => t.Name == "empty_rows").ByteCount.Should().Be(0);
    }

    [Fact]
    public void Non_contiguous_tensors_are_written_row_major()
    {
        using var scope = torch.NewDisposeScope();
        var transposed = torch.tensor(new float[] { 0, 1, 2, 3, 4, 5 }, [2, 3]).t();
        var loaded = SafeTensors.Load(SafeTensorsFiles.SaveToBytes(new Dictionary<string, Tensor> { ["t"] = transposed }));
        loaded["t"].shape.Should().Equal(3, 2);
        loaded["t"].data<float>().ToArray().Should().Equal(0, 3, 1, 4, 2, 5);
    }

    // ---- layout of written files ----

    [Fact]
    public void Output_matches_the_reference_implementation_byte_for_byte()
    {
        using var scope = torch.NewDisposeScope();
        var values = new float[] { 0, 1, 2, 3, 4, 5 };

        // The reference's own serialization examples: no padding needed, then 7 spaces of padding.
        var image = SafeTensorsFiles.SaveToBytes(new Dictionary<string, Tensor> { ["attn.0"] = torch.tensor(values, [1, 2, 3]) });
        ExpectImage(image, "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}", values);

        image = SafeTensorsFiles.SaveToBytes(new Dictionary<string, Tensor> { ["attn0"] = torch.tensor(values, [1, 1, 2, 3]) });
        ExpectImage(image, "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}       ", values);

        image = SafeTensorsFiles.SaveToBytes(new Dictionary<string, Tensor>());
        ExpectImage(image, "{}      ", []);

        image = SafeTensorsFiles.SaveToBytes(new Dictionary<string, Tensor>(), new Dictionary<string, string> { ["framework"] = "pt" });
        ExpectImage(image, "{\"__metadata__\":{\"framework\":\"pt\"}}     ", []);
    }

    private static void ExpectImage(byte[] image, string header, float[] data)
    {
        var expected = new List<byte>();
        var headerBytes = Encoding.UTF8.GetBytes(header);
        var prefix = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)headerBytes.Length);
        expected.AddRange(prefix);
        expected.AddRange(headerBytes);
        foreach (var v in data)
        {
            expected.AddRange(BitConverter.GetBytes(v));
        }

        image.Should().Equal(expected);
    }

    [Fact]
    public void Layout_is_deterministic_sorted_by_dtype_alignment_then_name_and_aligned()
    {
        using var scope = torch.NewDisposeScope();
        var first = new Dictionary<string, Tensor>();
        var second = new Dictionary<string, Tensor>();
        var i = 0;
        foreach (var dtype in DTypes)
        {
            foreach (var prefix in new[] { "b", "a" })
            {
                var t = TensorBytes.FromBytes(RandomBytes(dtype, 3, i++), dtype, [3]);
                first[$"{prefix}_{dtype}"] = t;
            }
        }

        foreach (var (name, t) in first.Reverse())
        {
            second[name] = t;
        }

        var image = SafeTensorsFiles.SaveToBytes(first);
        image.Should().Equal(SafeTensorsFiles.SaveToBytes(second), "dictionary order must not matter");

        var header = SafeTensors.ReadHeader(image);
        header.DataStart.Should().Be(8 + BinaryPrimitives.ReadInt64LittleEndian(image));
        (header.DataStart % 8).Should().Be(0);
        var order = new[]
        {
            ScalarType.Int64, ScalarType.Float64, ScalarType.Float32, ScalarType.Int32, ScalarType.BFloat16,
            ScalarType.Float16, ScalarType.Int16, ScalarType.Int8, ScalarType.Byte, ScalarType.Bool,
        };
        header.Tensors.Select(t => t.Name).Should().Equal(order.SelectMany(d => new[] { $"a_{d}", $"b_{d}" }));
        foreach (var info in header.Tensors)
        {
            (info.Begin % info.DType.ElementSize()).Should().Be(0, "each tensor's data is aligned to its element size");
        }
    }

    [Fact]
    public void Metadata_round_trips_and_is_written_first_with_sorted_keys()
    {
        using var scope = torch.NewDisposeScope();
        var metadata = new Dictionary<string, string> { ["zeta"] = "last", ["format"] = "pt", ["note"] = "ünïcödé \"quoted\" \\ \n" };
        var path = TempFile();
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["w"] = torch.ones(2, 2) }, metadata);

        var header = SafeTensors.ReadHeader(path);
        header.Metadata.Should().BeEquivalentTo(metadata);
        header.Tensors.Should().ContainSingle().Which.ToString().Should().Be("w: F32 [2, 2] @ [0, 16)");
        SafeTensorsFiles.HeaderText(File.ReadAllBytes(path)).Should().StartWith("{\"__metadata__\":{\"format\":\"pt\",\"note\":");
        SafeTensors.Load(path)["w"].data<float>().ToArray().Should().Equal(1, 1, 1, 1);
    }

    [Fact]
    public void Save_rejects_bad_arguments_without_leaving_a_file()
    {
        using var scope = torch.NewDisposeScope();
        var path = TempFile();
        var reserved = () => SafeTensors.Save(path, new Dictionary<string, Tensor> { ["__metadata__"] = torch.ones(1) });
        reserved.Should().Throw<ArgumentException>().WithMessage("*__metadata__*reserved*");

        var disposed = torch.ones(1);
        disposed.Dispose();
        var useDisposed = () => SafeTensors.Save(path, new Dictionary<string, Tensor> { ["gone"] = disposed });
        useDisposed.Should().Throw<ObjectDisposedException>();

        var loneSurrogate = () => SafeTensors.Save(path, new Dictionary<string, Tensor> { ["bad\ud800"] = torch.ones(1) });
        loneSurrogate.Should().Throw<ArgumentException>().WithMessage("*UTF*");

        File.Exists(path).Should().BeFalse();
    }

    [Fact]
    public void Save_refuses_a_bool_tensor_whose_bytes_the_reader_refuses()
    {
        // A BOOL byte other than 0 or 1 (only raw bytes can put one there) was written as it was, into a file that
        // the reader refuses; now the writer refuses it first, naming the tensor, the element and the byte.
        using var scope = torch.NewDisposeScope();
        var path = TempFile();
        var bad = TensorBytes.FromBytes([0, 1, 1, 2], ScalarType.Bool, [2, 2]);
        var save = () => SafeTensors.Save(path, new Dictionary<string, Tensor> { ["ok"] = torch.ones(1), ["mask"] = bad });
        save.Should().Throw<ArgumentException>().Which.Should().Match<ArgumentException>(e =>
            e.ParamName == "tensors" && e.Message.Contains("tensor 'mask' is BOOL but its element 3 (row-major) holds the byte 2"));
        File.Exists(path).Should().BeFalse();

        var good = TensorBytes.FromBytes([0, 1, 1, 0], ScalarType.Bool, [2, 2]);
        SafeTensors.Load(SafeTensorsFiles.SaveToBytes(new Dictionary<string, Tensor> { ["mask"] = good }))["mask"].bytes.ToArray()
            .Should().Equal(0, 1, 1, 0);
    }

    [Fact]
    public void Saving_over_a_file_replaces_it_whole_and_a_reader_of_the_old_one_keeps_it()
    {
        // Before, Save truncated the file in place: a reader holding it open (here, with FileShare.Read) made the save
        // fail ("being used by another process"), and without one, a failure or kill midway destroyed the old file. Now
        // the new file is renamed over the old one: the reader's handle still reads the old bytes, whole.
        using var scope = torch.NewDisposeScope();
        var path = TempFile("model with spaces é.safetensors");
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["w"] = torch.zeros(4) });
        var old = File.ReadAllBytes(path);
        var replacement = new Dictionary<string, Tensor> { ["w"] = torch.ones(8), ["b"] = torch.ones(2) };
        using (var reader = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete))
        {
            SafeTensors.Save(path, replacement);
            var seen = new byte[old.Length + 1];
            reader.ReadAtLeast(seen, seen.Length, throwOnEndOfStream: false).Should().Be(old.Length);
            seen[..old.Length].Should().Equal(old);
        }

        File.ReadAllBytes(path).Should().Equal(SafeTensorsFiles.SaveToBytes(replacement));
        Directory.GetFiles(directory).Select(Path.GetFileName).Should().Equal(["model with spaces é.safetensors"], "no temporary file is left");

        var intoFolder = () => SafeTensors.Save(directory, replacement);
        intoFolder.Should().Throw<ArgumentException>().WithMessage($"{directory} is a folder; pass the path of the file to write*")
            .Which.ParamName.Should().Be("path");
    }

    [Fact]
    public void Saving_to_a_file_name_near_the_file_system_limit_works()
    {
        // 240 bytes, valid (Linux allows 255 a name); a temporary name made of it plus a suffix was not.
        using var scope = torch.NewDisposeScope();
        var name = new string('w', 228) + ".safetensors";
        var path = TempFile(name);
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["w"] = torch.ones(2) });
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["w"] = torch.zeros(2) });
        SafeTensors.Load(path)["w"].data<float>().ToArray().Should().Equal(0, 0);
        Directory.GetFiles(directory).Select(Path.GetFileName).Should().Equal([name]);
    }

    [Fact]
    public void Save_refuses_sparse_and_meta_tensors_by_name_before_writing()
    {
        // Before: libtorch's ExternalException ("unsupported memory format option Contiguous" with a C++ stack trace,
        // "Cannot copy out of meta tensor; no data!") from the middle of the write, naming no tensor.
        using var scope = torch.NewDisposeScope();
        var path = TempFile();
        foreach (var (tensor, fragment) in new[]
        {
            (torch.ones(2, 2).to_sparse(), "tensor 'x' is sparse; safetensors stores dense tensors: save x.to_dense()"),
            (torch.empty([2, 2], device: torch.META), "tensor 'x' is on the meta device, which holds no data"),
        })
        {
            var save = () => SafeTensors.Save(path, new Dictionary<string, Tensor> { ["x"] = tensor });
            var e = save.Should().Throw<ArgumentException>().Which;
            e.ParamName.Should().Be("tensors");
            e.Message.Should().Contain(fragment);
            File.Exists(path).Should().BeFalse();
        }
    }

    [Fact]
    public void Save_refuses_a_header_over_the_limit_the_reader_enforces()
    {
        // 16,700,000 control characters, each escaped as \u0001 (6 bytes): a header just over the 100,000,000 bytes
        // that SafeTensors.MaxHeaderLength (and the reference reader) accept. Before, the file was written and then
        // could not be loaded.
        using var scope = torch.NewDisposeScope();
        var path = TempFile();
        var metadata = new Dictionary<string, string> { ["big"] = new string('\u0001', 16_700_000) };
        var save = () => SafeTensors.Save(path, new Dictionary<string, Tensor> { ["w"] = torch.ones(1) }, metadata);
        var e = save.Should().Throw<ArgumentException>().Which;
        e.ParamName.Should().Be("metadata");
        e.Message.Should().Contain("over the 100000000-byte limit").And.Contain("the file would not load");
        File.Exists(path).Should().BeFalse();
    }

    [Fact]
    public void Unicode_names_round_trip()
    {
        using var scope = torch.NewDisposeScope();
        var tensors = new Dictionary<string, Tensor> { ["é.weight"] = torch.ones(1), ["\U0001F600"] = torch.zeros(2), ["q\"uote"] = torch.ones(3) };
        var loaded = SafeTensors.Load(SafeTensorsFiles.SaveToBytes(tensors));
        loaded.Keys.Should().BeEquivalentTo(tensors.Keys);
    }

    // ---- reading files written elsewhere ----

    [Fact]
    public void Accepts_what_the_reference_accepts_unknown_fields_null_metadata_any_entry_order_unaligned_header()
    {
        using var scope = torch.NewDisposeScope();
        // Entries out of offset order, an extra field, metadata last and null, a 3-byte header padding.
        var json = "{\"b\": {\"dtype\": \"I8\", \"shape\": [2], \"data_offsets\": [4, 6], \"extra\": [1]}, "
            + "\"a\": {\"shape\": [1], \"data_offsets\": [0, 4], \"dtype\": \"F32\"}, \"__metadata__\": null}   ";
        var image = SafeTensorsFiles.Build(json, 6);
        var loaded = SafeTensors.Load(image);
        loaded.Keys.Should().Equal("a", "b");
        loaded["b"].bytes.ToArray().Should().Equal(image[^2..]);
        SafeTensors.ReadHeader(image).Metadata.Should().BeEmpty();
    }

    [SkippableFact]
    public void Loads_the_golden_mlp_with_names_and_shapes_from_its_header()
    {
        var path = SharedData.Require("golden/mlp.safetensors");
        CheckAgainstIndependentParse(path);
        using var scope = torch.NewDisposeScope();
        var tensors = SafeTensors.Load(path);
        tensors["0.weight"].shape.Should().Equal(32, 48);
        tensors["0.weight"].dtype.Should().Be(ScalarType.Float32);
        tensors.Keys.Should().BeEquivalentTo(new[] { "0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias" });
    }

    [SkippableFact]
    public void Loads_the_golden_bert_with_names_and_shapes_from_its_header()
    {
        var path = SharedData.Require("golden/bert.safetensors");
        CheckAgainstIndependentParse(path);
        using var scope = torch.NewDisposeScope();
        var tensors = SafeTensors.Load(path);
        tensors["bert.embeddings.word_embeddings.weight"].shape.Should().Equal(1000, 64);
    }

    [SkippableTheory]
    [InlineData("models/sst2-bert-tiny/model.safetensors")]
    [InlineData("models/distilbert-random/model.safetensors")]
    [InlineData("models/roberta-random/model.safetensors")]
    public void Loads_the_shared_models_and_their_metadata(string relativePath)
    {
        var path = SharedData.Require(relativePath);
        CheckAgainstIndependentParse(path);
        SafeTensors.ReadHeader(path).Metadata.Should().Contain("format", "pt");
    }

    /// <summary>Parses the header with plain System.Text.Json and checks Load and ReadHeader agree on every tensor's name, dtype, shape and bytes.</summary>
    private static void CheckAgainstIndependentParse(string path)
    {
        var image = File.ReadAllBytes(path);
        using var json = JsonDocument.Parse(SafeTensorsFiles.HeaderText(image));
        var dataStart = 8 + BinaryPrimitives.ReadInt64LittleEndian(image);
        var expected = json.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__").ToList();

        var header = SafeTensors.ReadHeader(path);
        header.DataStart.Should().Be(dataStart);
        header.Tensors.Select(t => t.Name).Should().BeEquivalentTo(expected.Select(p => p.Name));

        using var scope = torch.NewDisposeScope();
        var loaded = SafeTensors.Load(path);
        loaded.Should().HaveCount(expected.Count);
        foreach (var entry in expected)
        {
            var shape = entry.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            var offsets = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            var info = header.Tensors.Single(t => t.Name == entry.Name);
            info.Shape.Should().Equal(shape);
            info.Begin.Should().Be(offsets[0]);
            info.End.Should().Be(offsets[1]);
            entry.Value.GetProperty("dtype").GetString().Should().Be("F32");

            var tensor = loaded[entry.Name];
            tensor.shape.Should().Equal(shape, entry.Name);
            tensor.dtype.Should().Be(ScalarType.Float32);
            tensor.bytes.ToArray().Should().Equal(image[(int)(dataStart + offsets[0])..(int)(dataStart + offsets[1])], entry.Name);
        }
    }

    // ---- hostile input ----

    private const string F32x1 = "\"dtype\": \"F32\", \"shape\": [1]";

    /// <summary>Each hostile image, the tensor its error must name (or null) and fragments its message must contain.</summary>
    private static readonly Dictionary<string, (byte[] Image, string? Tensor, string[] Fragments)> Hostile = new()
    {
        ["truncated file"] = ([1, 2, 3, 4, 5], null, ["5 bytes long", "shorter than the 8-byte"]),
        ["empty file"] = ([], null, ["0 bytes long"]),
        ["header length 2^60"] = (SafeTensorsFiles.Build("{}", 0, 1UL << 60), null, ["header length 1152921504606846976", "100000000-byte limit"]),
        ["header length 2^64-1"] = (SafeTensorsFiles.Build("{}", 0, ulong.MaxValue), null, ["100000000-byte limit"]),
        ["header length past the end"] = (SafeTensorsFiles.Build("{}", 0, 1000), null, ["header length 1000 runs past the end", "only 2 bytes"]),
        ["header cut short"] = (SafeTensorsFiles.Build("{\"a\": {" + F32x1 + ", \"data_offsets\": [0, 4]}}", 4)[..20], null, ["runs past the end"]),
        ["bad json"] = (SafeTensorsFiles.Build("{\"a\": {\"dtype\": \"F32\",", 0), null, ["not valid JSON"]),
        ["trailing garbage"] = (SafeTensorsFiles.Build("{} x", 0), null, ["not valid JSON"]),
        ["not an object"] = (SafeTensorsFiles.Build("[1, 2]", 0), null, ["not a JSON object"]),
        ["empty header"] = (SafeTensorsFiles.Build("", 0), null, ["not a JSON object"]),
        ["invalid utf-8"] = (SafeTensorsFiles.Build([.. "{\"a"u8, 0xFF, .. "\": 1}"u8], 0), null, ["not valid UTF-8"]),
        ["entry not an object"] = (SafeTensorsFiles.Build("{\"w\": 5}", 0), "w", ["entry is a JSON number"]),
        ["missing dtype"] = (SafeTensorsFiles.Build("{\"w\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", 4), "w", ["no \"dtype\""]),
        ["missing shape"] = (SafeTensorsFiles.Build("{\"w\": {\"dtype\": \"F32\", \"data_offsets\": [0, 4]}}", 4), "w", ["no \"shape\""]),
        ["missing data_offsets"] = (SafeTensorsFiles.Build("{\"w\": {" + F32x1 + "}}", 4), "w", ["no \"data_offsets\""]),
        ["dtype not a string"] = (SafeTensorsFiles.Build("{\"w\": {\"dtype\": 4, \"shape\": [1], \"data_offsets\": [0, 4]}}", 4), "w", ["\"dtype\" is a JSON number"]),
        ["shape not an array"] = (SafeTensorsFiles.Build("{\"w\": {\"dtype\": \"F32\", \"shape\": \"1\", \"data_offsets\": [0, 4]}}", 4), "w", ["\"shape\" is a JSON string"]),
        ["data_offsets not an array"] = (SafeTensorsFiles.Build("{\"w\": {" + F32x1 + ", \"data_offsets\": {\"begin\": 0}}}", 4), "w", ["\"data_offsets\" is a JSON object"]),
        ["unknown dtype"] = (SafeTensorsFiles.Build("{\"w\": {\"dtype\": \"Q4\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4), "w", ["unsupported dtype \"Q4\"", "BF16"]),
        ["negative shape"] = (SafeTensorsFiles.Build("{\"w\": {\"dtype\": \"F32\", \"shape\": [2, -1], \"data_offsets\": [0, 4]}}", 4), "w", ["\"shape\"[1] is -1", "non-negative"]),
        ["minus zero in shape"] = (SafeTensorsFiles.Build("{\"w\": {\"dtype\": \"F32\", \"shape\": [1, -0], \"data_offsets\": [0, 0]}}", 0), "w", ["\"shape\"[1] is -0", "non-negative"]),
        ["minus zero offset"] = (SafeTensorsFiles.Build("{\"w\": {" + F32x1 + ", \"data_offsets\": [-0, 4]}}", 4), "w", ["\"data_offsets\"[0] is -0"]),
        ["fractional shape"] = (SafeTensorsFiles.Build("{\"w\": {\"dtype\": \"F32\", \"shape\": [2.5], \"data_offsets\": [0, 4]}}", 4), "w", ["\"shape\"[0] is 2.5"]),
        ["string in shape"] = (SafeTensorsFiles.Build("{\"w\": {\"dtype\": \"F32\", \"shape\": [\"2\"], \"data_offsets\": [0, 8]}}", 8), "w", ["\"shape\"[0] is \"2\""]),
        ["shape too big for 64 bits"] = (SafeTensorsFiles.Build("{\"w\": {\"dtype\": \"F32\", \"shape\": [99999999999999999999], \"data_offsets\": [0, 4]}}", 4), "w", ["not a non-negative 64-bit integer"]),
        ["shape product overflow"] = (SafeTensorsFiles.Build("{\"w\": {\"dtype\": \"F32\", \"shape\": [4611686018427387904, 4], \"data_offsets\": [0, 4]}}", 4), "w", ["overflow"]),
        ["shape times dtype size overflow"] = (SafeTensorsFiles.Build("{\"w\": {\"dtype\": \"F32\", \"shape\": [4611686018427387904], \"data_offsets\": [0, 4]}}", 4), "w", ["needs more bytes", "overflow"]),
        ["data_offsets with one item"] = (SafeTensorsFiles.Build("{\"w\": {" + F32x1 + ", \"data_offsets\": [4]}}", 4), "w", ["\"data_offsets\" has 1 items", "[begin, end]"]),
        ["data_offsets with three items"] = (SafeTensorsFiles.Build("{\"w\": {" + F32x1 + ", \"data_offsets\": [0, 4, 8]}}", 4), "w", ["has 3 items"]),
        ["negative offset"] = (SafeTensorsFiles.Build("{\"w\": {" + F32x1 + ", \"data_offsets\": [-4, 0]}}", 4), "w", ["\"data_offsets\"[0] is -4"]),
        ["begin after end"] = (SafeTensorsFiles.Build("{\"w\": {" + F32x1 + ", \"data_offsets\": [8, 4]}}", 8), "w", ["[8, 4]", "begin after they end"]),
        ["offsets past the end"] = (SafeTensorsFiles.Build("{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 4), "w", ["[0, 8] run past the end of the 4-byte data buffer"]),
        ["huge offsets past the end"] = (SafeTensorsFiles.Build("{\"w\": {" + F32x1 + ", \"data_offsets\": [9223372036854775800, 9223372036854775804]}}", 4), "w", ["run past the end"]),
        ["wrong byte count"] = (SafeTensorsFiles.Build("{\"w\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 20]}}", 20), "w", ["hold 20 bytes but F32 shape [2, 3] needs 24"]),
        ["overlapping ranges"] = (SafeTensorsFiles.Build("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}, \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}", 12), "b", ["overlap those of tensor 'a' [0, 8]"]),
        ["identical ranges"] = (SafeTensorsFiles.Build("{\"a\": {" + F32x1 + ", \"data_offsets\": [0, 4]}, \"b\": {" + F32x1 + ", \"data_offsets\": [0, 4]}}", 4), "b", ["overlap those of tensor 'a'"]),
        ["hole between tensors"] = (SafeTensorsFiles.Build("{\"a\": {" + F32x1 + ", \"data_offsets\": [0, 4]}, \"b\": {" + F32x1 + ", \"data_offsets\": [8, 12]}}", 12), "b", ["hole", "bytes [4, 8)", "contiguously"]),
        ["hole at the start"] = (SafeTensorsFiles.Build("{\"a\": {" + F32x1 + ", \"data_offsets\": [4, 8]}}", 8), "a", ["hole", "bytes [0, 4)"]),
        ["trailing bytes"] = (SafeTensorsFiles.Build("{\"a\": {" + F32x1 + ", \"data_offsets\": [0, 4]}}", 8), null, ["cover 4 bytes of the 8-byte data buffer", "[4, 8)"]),
        ["duplicate names"] = (SafeTensorsFiles.Build("{\"a\": {" + F32x1 + ", \"data_offsets\": [0, 4]}, \"a\": {" + F32x1 + ", \"data_offsets\": [4, 8]}}", 8), "a", ["more than once", "duplicate"]),
        ["duplicate names via escapes"] = (SafeTensorsFiles.Build("{\"a\": {" + F32x1 + ", \"data_offsets\": [0, 4]}, \"\\u0061\": {" + F32x1 + ", \"data_offsets\": [4, 8]}}", 8), "a", ["duplicate"]),
        ["duplicate field"] = (SafeTensorsFiles.Build("{\"a\": {\"dtype\": \"F32\", \"dtype\": \"F64\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4), "a", ["field \"dtype\" more than once"]),
        ["duplicate metadata"] = (SafeTensorsFiles.Build("{\"__metadata__\": {}, \"__metadata__\": {}}", 0), null, ["more than one \"__metadata__\""]),
        ["duplicate metadata key"] = (SafeTensorsFiles.Build("{\"__metadata__\": {\"k\": \"1\", \"k\": \"2\"}}", 0), null, ["key 'k' more than once"]),
        ["metadata value not a string"] = (SafeTensorsFiles.Build("{\"__metadata__\": {\"k\": 1}}", 0), null, ["key 'k' is a JSON number", "must be strings"]),
        ["metadata not an object"] = (SafeTensorsFiles.Build("{\"__metadata__\": [\"k\"]}", 0), null, ["\"__metadata__\" is a JSON array"]),
        ["deeply nested json"] = (SafeTensorsFiles.Build("{\"a\": " + new string('[', 100_000) + new string(']', 100_000) + "}", 0), null, ["not valid JSON"]),
    };

    public static TheoryData<string> HostileCases() => [.. Hostile.Keys];

    [Theory]
    [MemberData(nameof(HostileCases))]
    public void Hostile_input_is_rejected_with_a_message_naming_the_problem(string name)
    {
        var (image, tensor, fragments) = Hostile[name];
        using var scope = torch.NewDisposeScope();

        var fromMemory = () => SafeTensors.Load(image);
        var e = fromMemory.Should().Throw<SafeTensorsException>().Which;
        e.TensorName.Should().Be(tensor);
        e.Path.Should().BeNull();
        foreach (var fragment in fragments)
        {
            e.Message.Should().Contain(fragment);
        }

        if (tensor is not null)
        {
            e.Message.Should().Contain($"tensor '{tensor}'");
        }

        var path = TempFile($"hostile-{name.Replace(' ', '-')}.safetensors");
        File.WriteAllBytes(path, image);
        foreach (var read in new Action[] { () => SafeTensors.Load(path), () => SafeTensors.ReadHeader(path) })
        {
            var fromFile = read.Should().Throw<SafeTensorsException>().Which;
            fromFile.Message.Should().Contain(path).And.Contain(e.Problem);
            fromFile.Path.Should().Be(path);
            fromFile.TensorName.Should().Be(tensor);
        }

        scope.DisposablesCount.Should().Be(0, "validation happens before any tensor is created");
    }

    [Fact]
    public void A_bool_byte_other_than_0_or_1_is_refused_naming_the_tensor_element_and_file_byte()
    {
        // Build fills the data with i * 7: element 1 of "b" is the byte 7, at file byte 8 (prefix) + 62 (header) + 1 = 71
        // (counted from 0). libtorch assumes bools are 0 or 1: a 7 read true for any() and sum() but its logical_not was 0
        // and converted to 1, so such a tensor was loaded as it was and behaved inconsistently. The header is valid, so
        // ReadHeader still accepts the file; loading it fails before the tensor is made.
        const string json = "{\"b\": {\"dtype\": \"BOOL\", \"shape\": [3], \"data_offsets\": [0, 3]}}";
        json.Length.Should().Be(62);
        var image = SafeTensorsFiles.Build(json, 3);
        var path = TempFile();
        File.WriteAllBytes(path, image);
        SafeTensors.ReadHeader(path).Tensors.Should().ContainSingle();

        using var scope = torch.NewDisposeScope();
        foreach (var (load, where) in new (Action, string?)[] { (() => SafeTensors.Load(image), null), (() => SafeTensors.Load(path), path) })
        {
            var e = load.Should().Throw<SafeTensorsException>().Which;
            e.TensorName.Should().Be("b");
            e.Path.Should().Be(where);
            e.Problem.Should().Be("BOOL element 1 (file byte 71) is 7; a BOOL element must be the byte 0 or 1");
        }

        scope.DisposablesCount.Should().Be(0);
        var valid = SafeTensorsFiles.Build(json, 0).Concat(new byte[] { 1, 0, 1 }).ToArray();
        SafeTensors.Load(valid)["b"].bytes.ToArray().Should().Equal(1, 0, 1);
    }

    [Fact]
    public void Enormous_names_are_shortened_in_messages()
    {
        var longName = new string('n', 100_000);
        var image = SafeTensorsFiles.Build("{\"" + longName + "\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 4]}}", 4);
        var load = () => SafeTensors.Load(image);
        var e = load.Should().Throw<SafeTensorsException>().Which;
        e.TensorName.Should().Be(longName);
        e.Message.Length.Should().BeLessThan(1000);
        e.Message.Should().Contain("100000 characters");
    }
}

[Collection(LiveTensorCollection.Name)]
public sealed class SafeTensorsLeakTests
{
    [Fact]
    public void Saving_leaves_the_live_tensor_count_where_it_was()
    {
        // TorchSharp's cpu() returns a new handle even for a CPU tensor; the writer dropped it undisposed, one live
        // tensor per saved tensor (and per BOOL tensor checked), until the finalizer ran or the caller's scope ended.
        using var scope = torch.NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>
        {
            ["a"] = torch.ones(3, 4),
            ["b"] = torch.zeros([5], ScalarType.Int64).unsqueeze(0).t(),
            ["m"] = torch.ones([2], ScalarType.Bool),
        };
        var before = LiveTensors.Count;
        var image = SafeTensorsFiles.SaveToBytes(tensors);
        LiveTensors.Count.Should().Be(before);
        var path = Path.Combine(Path.GetTempPath(), $"safetensors-leak-{Guid.NewGuid():N}.safetensors");
        try
        {
            SafeTensors.Save(path, tensors);
            LiveTensors.Count.Should().Be(before);
            File.ReadAllBytes(path).Should().Equal(image);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Loading_inside_a_scope_frees_every_tensor()
    {
        byte[] image;
        using (torch.NewDisposeScope())
        {
            image = SafeTensorsFiles.SaveToBytes(new Dictionary<string, Tensor>
            {
                ["a"] = torch.ones(3, 4),
                ["b"] = torch.zeros([5], ScalarType.Int64),
                ["c"] = torch.tensor(1.5),
            });
        }

        var before = LiveTensors.Count;
        using (torch.NewDisposeScope())
        {
            var loaded = SafeTensors.Load(image);
            loaded.Should().HaveCount(3);
            LiveTensors.Count.Should().Be(before + 3);
        }

        LiveTensors.Count.Should().Be(before);
    }

    [SkippableFact]
    public void Loading_the_golden_bert_inside_a_scope_frees_every_tensor()
    {
        var path = SharedData.Require("golden/bert.safetensors");
        var before = LiveTensors.Count;
        using (torch.NewDisposeScope())
        {
            var loaded = SafeTensors.Load(path);
            LiveTensors.Count.Should().Be(before + loaded.Count);
        }

        LiveTensors.Count.Should().Be(before);
    }

    [Fact]
    public void A_rejected_file_leaves_no_tensor_alive()
    {
        var before = LiveTensors.Count;
        var image = SafeTensorsFiles.Build("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}, \"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [8, 12]}}", 12);
        var load = () => SafeTensors.Load(image);
        load.Should().Throw<SafeTensorsException>();
        LiveTensors.Count.Should().Be(before);
    }
}

/// <summary>Builds test tensors from raw bytes.</summary>
internal static class TensorBytes
{
    /// <summary>A tensor of the given dtype and shape holding exactly these bytes (written independently of the reader).</summary>
    public static Tensor FromBytes(byte[] bytes, ScalarType dtype, long[] shape)
    {
        var t = torch.empty(shape, dtype);
        bytes.AsSpan().CopyTo(t.bytes);
        return t;
    }
}
