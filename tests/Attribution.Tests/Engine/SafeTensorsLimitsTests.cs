using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Engine;

/// <summary>
/// What <see cref="SafeTensors"/> does with tensors it cannot store or read (layouts without row-major data).
/// </summary>
public sealed class SafeTensorsLimitsTests : IDisposable
{
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
}
