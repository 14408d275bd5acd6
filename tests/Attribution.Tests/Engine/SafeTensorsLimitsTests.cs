using System.Buffers.Binary;
using System.Text;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Engine;

/// <summary>
/// What <see cref="SafeTensors"/> does with tensors it cannot store or read (layouts without row-major data, tensors over
/// 2 GiB) and with a write that fails midway.
/// </summary>
public sealed class SafeTensorsLimitsTests : IDisposable
{
    // Array.MaxLength, written out: the limit is a .NET array's, just under 2 GiB.
    private const long Limit = 2_147_483_591;

    private readonly string directory = Directory.CreateTempSubdirectory("safetensors-limits-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public void Save_refuses_compressed_sparse_and_mkldnn_layouts_by_name_before_creating_a_file()
    {
        // is_sparse is true for COO only (refused before). TorchSharp cannot make these layouts itself; a TorchScript
        // model can return them. Before, each failed midway through the write with libtorch's own error ("Sparse CSR
        // tensors do not have is_contiguous", with a C++ stack trace), naming no tensor.
        using var scope = torch.NewDisposeScope();
        using var script = torch.jit.compile("""
            def csr(x: Tensor) -> Tensor:
                return x.to_sparse_csr()
            def csc(x: Tensor) -> Tensor:
                return x.to_sparse_csc()
            def bsr(x: Tensor) -> Tensor:
                return x.to_sparse_bsr([1, 1])
            def bsc(x: Tensor) -> Tensor:
                return x.to_sparse_bsc([1, 1])
            def mkldnn(x: Tensor) -> Tensor:
                return x.to_mkldnn()

            """);
        var path = Path.Combine(directory, "model.safetensors");
        foreach (var (function, layout) in new[]
        {
            ("csr", "Sparse CSR tensors do not have strides"),
            ("csc", "Sparse CSC tensors do not have strides"),
            ("bsr", "Sparse BSR tensors do not have strides"),
            ("bsc", "Sparse BSC tensors do not have strides"),
            ("mkldnn", "Could not run 'aten::as_strided' with arguments from the 'MkldnnCPU' backend)"),
        })
        {
            var tensor = (Tensor)script.invoke(function, torch.ones(2, 2));
            var tensors = new Dictionary<string, Tensor> { ["ok"] = torch.ones(1), ["layer.w"] = tensor };
            foreach (var save in new Action[] { () => SafeTensors.Save(path, tensors), () => SafeTensors.Save(new MemoryStream(), tensors) })
            {
                var e = save.Should().Throw<ArgumentException>().Which;
                e.ParamName.Should().Be("tensors");
                e.Message.Should().StartWith("tensor 'layer.w' has a non-strided layout (").And.Contain(layout)
                    .And.Contain("safetensors stores dense tensors: save layer.w.to_dense()");
            }

            Directory.GetFileSystemEntries(directory).Should().BeEmpty("{0} is refused before any file is created", function);
        }
    }

    [Fact]
    public void A_write_that_fails_midway_leaves_the_old_file_as_it_was_and_no_temporary_file()
    {
        // Nothing made this path run before: every tensor that passes the checks is written. A stream that fails after
        // 100 bytes (past the header, inside the data) stands for a full disk.
        using var scope = torch.NewDisposeScope();
        var path = Path.Combine(directory, "model.safetensors");
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["w"] = torch.zeros(3) });
        var old = File.ReadAllBytes(path);
        var tensors = new Dictionary<string, Tensor> { ["w"] = torch.ones(64), ["b"] = torch.ones(8) };
        var written = 0L;
        var save = () => SafeTensors.Save(path, tensors, null, stream => new FailingStream(stream, 100, n => written = n));

        save.Should().Throw<IOException>().WithMessage("No space left on device (after 100 bytes)");
        written.Should().Be(100, "the write got into the data before it failed");
        File.ReadAllBytes(path).Should().Equal(old);
        Directory.GetFiles(directory).Select(Path.GetFileName).Should().Equal(["model.safetensors"], "the .safetensors-*.tmp file is deleted");

        // And the seam changes nothing when it fails nothing: the same bytes as the stream overload writes.
        SafeTensors.Save(path, tensors, null, stream => new FailingStream(stream, long.MaxValue, _ => { }));
        File.ReadAllBytes(path).Should().Equal(SafeTensorsFiles.SaveToBytes(tensors));
    }

    [Fact]
    public void Save_refuses_a_tensor_over_2_GiB_by_name_and_size_before_creating_a_file()
    {
        // expand: 600,000,000 F32 elements (2,400,000,000 bytes) over one real element, so nothing large is allocated.
        // Before, the writer copied it to a contiguous 2.4 GB tensor midway through the file and then failed with
        // TorchSharp's "Span only supports up to int.MaxValue elements", naming no tensor.
        using var scope = torch.NewDisposeScope();
        var path = Path.Combine(directory, "big.safetensors");
        var tensors = new Dictionary<string, Tensor> { ["small"] = torch.ones(2), ["embeddings"] = torch.zeros(1).expand(600_000_000) };
        foreach (var save in new Action[] { () => SafeTensors.Save(path, tensors), () => SafeTensors.Save(new MemoryStream(), tensors) })
        {
            var e = save.Should().Throw<ArgumentException>().Which;
            e.ParamName.Should().Be("tensors");
            e.Message.Should().StartWith($"tensor 'embeddings' (F32 [600000000]) is 2400000000 bytes, over the {Limit}-byte limit")
                .And.Contain("split it into several tensors");
        }

        Directory.GetFileSystemEntries(directory).Should().BeEmpty();
    }

    [Theory]
    [InlineData(Limit, ScalarType.Byte, null)]
    [InlineData(Limit + 1, ScalarType.Byte, "2147483592")]
    [InlineData(Limit / 4, ScalarType.Float32, null)] // 536,870,897 × 4 = 2,147,483,588
    [InlineData((Limit / 4) + 1, ScalarType.Float32, "2147483592")]
    [InlineData(long.MaxValue, ScalarType.Float64, "73786976294838206456")] // (2^63 − 1) × 8 does not fit a long
    [InlineData(0, ScalarType.Int64, null)]
    public void The_size_limit_is_a_dotnet_arrays_and_never_overflows(long elements, ScalarType dtype, string? expected)
    {
        var size = SafeTensors.TooLarge(elements, dtype);
        (size?.ToString()).Should().Be(expected);
    }

    [Fact]
    public void Load_refuses_a_tensor_over_2_GiB_by_name_and_size_reading_only_the_header()
    {
        // A sparse file: a header declaring F32 [600000000] at [0, 2400000000), then a hole that uses no disk.
        var json = "{\"big\":{\"dtype\":\"F32\",\"shape\":[600000000],\"data_offsets\":[0,2400000000]}}";
        var header = Encoding.UTF8.GetBytes(json);
        var path = Path.Combine(directory, "big.safetensors");
        using (var file = new FileStream(path, FileMode.CreateNew))
        {
            Span<byte> prefix = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
            file.Write(prefix);
            file.Write(header);
            file.SetLength(8 + header.Length + 2_400_000_000L);
        }

        SafeTensors.ReadHeader(path).Tensors.Should().ContainSingle().Which.ByteCount.Should().Be(2_400_000_000);
        using var scope = torch.NewDisposeScope();
        var load = () => SafeTensors.Load(path);
        var e = load.Should().Throw<SafeTensorsException>().Which;
        e.TensorName.Should().Be("big");
        e.Path.Should().Be(path);
        e.Problem.Should().Be($"holds 2400000000 bytes; this reader loads tensors of at most {Limit} bytes");
        scope.DisposablesCount.Should().Be(0);
    }

    /// <summary>
    /// The reader's limit at its boundary, on header entries (no file: a tensor of exactly the limit would make Load
    /// allocate and read 2 GiB). Exactly Array.MaxLength bytes fit the largest .NET byte array, so that tensor loads;
    /// one byte more is refused naming the tensor, the file and both sizes.
    /// </summary>
    [Fact]
    public void Load_takes_a_tensor_of_exactly_the_limit_and_refuses_one_byte_more()
    {
        SafeTensors.CheckLoadable(new SafeTensorInfo("at", ScalarType.Byte, [Limit], 0, Limit), "x.safetensors");
        SafeTensors.CheckLoadable(new SafeTensorInfo("offset", ScalarType.Byte, [Limit], 8, 8 + Limit), "x.safetensors");

        var e = FluentActions.Invoking(() => SafeTensors.CheckLoadable(new SafeTensorInfo("over", ScalarType.Byte, [Limit + 1], 0, Limit + 1), "x.safetensors"))
            .Should().Throw<SafeTensorsException>().Which;
        e.TensorName.Should().Be("over");
        e.Path.Should().Be("x.safetensors");
        e.Problem.Should().Be($"holds {Limit + 1} bytes; this reader loads tensors of at most {Limit} bytes");
    }

    /// <summary>Passes writes through until <c>limit</c> bytes, then fails as a full disk does.</summary>
    private sealed class FailingStream(Stream inner, long limit, Action<long> reportWritten) : Stream
    {
        private long written;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => written; set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            var room = (int)Math.Min(buffer.Length, limit - written);
            inner.Write(buffer[..room]);
            written += room;
            reportWritten(written);
            if (room < buffer.Length)
            {
                throw new IOException($"No space left on device (after {written} bytes)");
            }
        }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
