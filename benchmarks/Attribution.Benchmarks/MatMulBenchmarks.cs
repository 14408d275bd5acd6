using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;
using BenchmarkDotNet.Attributes;

namespace Attribution.Benchmarks;

/// <summary>
/// 2048×2048 float32 matrix product through the binding: 2·2048³ = 17.2 GFLOP per call.
/// GFLOP/s = 17.18 / mean seconds. It should match libtorch's own speed (OpenBLAS), proving the shim adds nothing.
/// </summary>
[MemoryDiagnoser]
public class MatMulBenchmarks
{
    private Tensor a = null!;
    private Tensor b = null!;

    [Params(2048)]
    public int N { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        using var g = new Generator(0);
        a = torch.randn([N, N], generator: g);
        b = torch.randn([N, N], generator: g);
    }

    [Benchmark]
    public void MatMul()
    {
        using var c = a.matmul(b);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        a.Dispose();
        b.Dispose();
    }
}
