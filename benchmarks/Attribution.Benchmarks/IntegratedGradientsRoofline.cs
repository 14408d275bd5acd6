using Attribution.Pipeline;
using System.Diagnostics;
using System.Globalization;
using Attribution.Methods;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Benchmarks;

/// <summary>
/// <c>ig-roofline [threads]</c>: one 50-step Integrated Gradients pass on the BERT-base-shaped model at 64 tokens
/// (50 interpolation points in one batch) against the time its matrix products would take at the measured 2048²
/// float32 matmul speed. GEMM FLOPs counted by hand: per layer, forward linears 2·N·(4H² + 2HF) and attention
/// 2·2·N·T·H (N = 50·64 positions, T = 64, H = 768, F = 3072); the input-gradient backward repeats the linears once
/// and the attention products twice (both operands depend on the input). Weight gradients are not computed.
/// </summary>
public static class IntegratedGradientsRoofline
{
    private const int Steps = 50;
    private const int Tokens = 64;

    public static int Run(string[] args)
    {
        if (args.Length > 0)
        {
            set_num_threads(BenchmarkArguments.Int(args, 0, "threads", null));
        }

        var peak = MatMulGflops();
        using var model = BenchmarkModels.BertBaseRandom();
        var text = BenchmarkModels.SentenceOfTokens(model.Tokenizer, Tokens);
        var method = new IntegratedGradients { Steps = Steps, InternalBatchSize = Steps, TokenBudget = AttributionOptions.MaxTokenBudget };
        method.Explain(model, text);
        var seconds = new List<double>();
        for (var i = 0; i < 3; i++)
        {
            var clock = Stopwatch.StartNew();
            method.Explain(model, text);
            seconds.Add(clock.Elapsed.TotalSeconds);
        }

        const double N = (double)Steps * Tokens, H = 768, F = 3072;
        const double linears = 2 * N * ((4 * H * H) + (2 * H * F));
        const double attention = 2 * 2 * N * Tokens * H;
        const double gflop = 12 * ((2 * linears) + (3 * attention)) / 1e9;
        var best = seconds.Min();
        var bound = gflop / peak;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"threads {get_num_threads()}, libtorch {__version__}: matmul {peak:F1} GFLOP/s; IG-50 at {Tokens} tokens: {gflop:F0} GFLOP, " +
            $"runs {string.Join(" / ", seconds.Select(s => s.ToString("F2", CultureInfo.InvariantCulture)))} s, best {best:F2} s = {best / bound:F2}x the GEMM time at that speed ({bound:F2} s)"));
        return 0;
    }

    internal static double MatMulGflops()
    {
        using var generator = new Generator(0);
        using var a = randn([2048, 2048], generator: generator);
        using var b = randn([2048, 2048], generator: generator);
        a.matmul(b).Dispose();
        var best = double.MaxValue;
        for (var i = 0; i < 5; i++)
        {
            var clock = Stopwatch.StartNew();
            a.matmul(b).Dispose();
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }

        return 2.0 * 2048 * 2048 * 2048 / best / 1e9;
    }
}
