using System.Diagnostics;
using System.Globalization;
using System.Text;
using Attribution.Methods;
using Attribution.Pipeline;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Benchmarks;

/// <summary>
/// How fast the matrix products of one text's gradient pass run at their own shapes (a 20- or 64-row left operand)
/// against the 2048² matmul the speed report's floor assumes, and so how much any implementation of Gradient doing
/// those products could gain on the Captum schedule. The products are timed alone on random tensors in the order the
/// BERT-base-shaped model's logits-only forward and input-gradient backward run them. Run:
/// <c>dotnet run -c Release --project benchmarks/Attribution.Benchmarks -- gemm-shapes [output.md] [rounds]</c>.
/// </summary>
public static class GemmShapes
{
    private const int Hidden = 768, Intermediate = 3072, Layers = 12, Heads = 12;

    public static int Run(string[] args)
    {
        var output = args.Length > 0 ? args[0] : "benchmarks/results/2026-12-04-speed/gemm-shapes.md";
        var rounds = BenchmarkArguments.Int(args, 1, "rounds", 10);
        var peak = Enumerable.Range(0, 3).Max(_ => IntegratedGradientsRoofline.MatMulGflops());
        using var model = BenchmarkModels.BertBaseRandom();
        var report = new StringBuilder();
        report.AppendLine("# Matrix products at the shapes of one text's gradient pass");
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"`dotnet run -c Release --project benchmarks/Attribution.Benchmarks -- gemm-shapes {output} {rounds}`, {DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores; 2048² float32 matmul at {peak:F0} GFLOP/s (best of 3).");
        report.AppendLine();
        report.AppendLine("*GEMMs alone*: the matrix products of the library's gradient pass on one text of the BERT-base shape (logits-only forward: " +
            "every layer's six linear maps and two attention products, the last layer's queries, output and feed-forward for the first token only; " +
            "backward to the inputs: each linear map once more, each attention product twice), timed on random tensors, nothing else. " +
            $"Library: `Gradient`; Captum schedule: the prediction pass, then Saliency's own forward and backward, every pass on the whole model as a Hugging Face model runs (as in speed-report.md). Best of {rounds}. " +
            "*Captum / GEMMs alone* is the most any implementation running those products at these shapes could gain on the Captum schedule.");
        report.AppendLine();
        report.AppendLine("| tokens | GEMM GFLOP | GEMMs alone ms | GFLOP/s at these shapes | library ms | library / GEMMs alone | Captum schedule ms | library speed-up | Captum / GEMMs alone |");
        report.AppendLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var tokens in new[] { 20, 64 })
        {
            var text = BenchmarkModels.SentenceOfTokens(model.Tokenizer, tokens);
            var (gemmMs, gflop) = GradientPassGemms(tokens, rounds);
            var library = Best(rounds, () => new Gradient().Explain(model, text));
            var captum = Best(rounds, () => SpeedReport.CaptumSaliency(model, text));
            report.AppendLine(CultureInfo.InvariantCulture,
                $"| {tokens} | {gflop:F2} | {gemmMs:F1} | {gflop / gemmMs * 1000:F0} | {library:F1} | {library / gemmMs:F2} | {captum:F1} | {captum / library:F2}× | {captum / gemmMs:F2}× |");
            Console.Error.WriteLine($"{tokens} tokens: GEMMs {gemmMs:F1} ms ({gflop / gemmMs * 1000:F0} GFLOP/s), library {library:F1} ms, Captum schedule {captum:F1} ms");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        File.WriteAllText(output, report.ToString());
        Console.WriteLine(report);
        return 0;
    }

    /// <summary>The best time of the gradient pass's matrix products alone, and their GFLOP.</summary>
    private static (double Ms, double Gflop) GradientPassGemms(int tokens, int rounds)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var generator = new Generator(0);
        var square = randn([Hidden, Hidden], generator: generator);
        var up = randn([Intermediate, Hidden], generator: generator);
        var down = randn([Hidden, Intermediate], generator: generator);
        var headDim = Hidden / Heads;
        Tensor Rows(int n, int width) => randn([n, width], generator: generator);
        var h = Rows(tokens, Hidden);
        var inner = Rows(tokens, Intermediate);
        var first = Rows(1, Hidden);
        var firstInner = Rows(1, Intermediate);
        var q = randn([Heads, tokens, headDim], generator: generator);
        var kT = randn([Heads, headDim, tokens], generator: generator);
        var p = randn([Heads, tokens, tokens], generator: generator);
        var q1 = randn([Heads, 1, headDim], generator: generator);
        var p1 = randn([Heads, 1, tokens], generator: generator);
        var v = randn([Heads, tokens, headDim], generator: generator);
        var flop = 0.0;

        void Linear(Tensor x, Tensor w)
        {
            using var y = x.matmul(w.t());
            flop += 2.0 * x.shape[0] * w.shape[0] * w.shape[1];
        }

        void Backward(Tensor dy, Tensor w)
        {
            // dX = dY · W for Y = X · Wᵀ (dY has the forward output's width).
            using var dx = dy.matmul(w);
            flop += 2.0 * dy.shape[0] * w.shape[0] * w.shape[1];
        }

        void Batched(Tensor a, Tensor b)
        {
            using var c = a.matmul(b);
            flop += 2.0 * a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2];
        }

        void Pass()
        {
            for (var layer = 0; layer < Layers; layer++)
            {
                var last = layer == Layers - 1;
                var queries = last ? first : h;
                var hidden = last ? first : h;
                var wide = last ? firstInner : inner;
                foreach (var direction in new[] { false, true })
                {
                    Action<Tensor, Tensor> map = direction ? Backward : Linear;
                    map(h, square);
                    map(h, square);
                    map(queries, square);
                    map(hidden, square);
                    if (direction)
                    {
                        Backward(wide, up);
                        Backward(hidden, down);
                    }
                    else
                    {
                        Linear(hidden, up);
                        Linear(wide, down);
                    }

                    // Scores and context; the backward takes each product twice (both operands depend on the input).
                    for (var i = 0; i < (direction ? 2 : 1); i++)
                    {
                        Batched(last ? q1 : q, kT);
                        Batched(last ? p1 : p, v);
                    }
                }
            }
        }

        Pass();
        var gflop = flop / 1e9;
        var best = Best(rounds, () =>
        {
            Pass();
            return gflop;
        });
        return (best, gflop);
    }

    private static double Best(int rounds, Func<object> run)
    {
        run();
        var best = double.MaxValue;
        for (var r = 0; r < rounds; r++)
        {
            var clock = Stopwatch.StartNew();
            run();
            best = Math.Min(best, clock.Elapsed.TotalMilliseconds);
        }

        return best;
    }
}
