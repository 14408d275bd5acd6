using Attribution.Pipeline;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Attribution.Methods;

namespace Attribution.Benchmarks;

/// <summary>
/// The soak run: many explanations in a row on one loaded model (sst2-bert-tiny, SST-2 dev sentences, cycling through
/// Gradient × Input, Integrated Gradients with 8 steps, LRP-ε and occlusion), sampling the process's resident memory
/// and TorchSharp's live tensor count. After warm-up the resident set must stay within 5% and the live tensors must
/// return to where they started. Run: <c>dotnet run -c Release --project benchmarks/Attribution.Benchmarks -- soak [explanations] [output.md]</c>.
/// </summary>
public static class Soak
{
    public static int Run(string[] args)
    {
        var total = BenchmarkArguments.Int(args, 0, "explanations", 10_000);
        var output = args.Length > 1 ? args[1] : Path.Combine("benchmarks", "results", "soak.md");
        using var model = BenchmarkModels.SstBertTiny();
        var texts = BenchmarkModels.DevSentences(200);
        IAttributor[] methods = [new GradientXInput(), new IntegratedGradients { Steps = 8 }, new LrpEpsilon(), new Occlusion()];
        var warmUp = Math.Min(1000, total / 5);
        var every = Math.Max(1, total / 20);
        var samples = new List<(int Done, double RssMb, long LiveTensors)>();
        long? startTensors = null;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < total; i++)
        {
            methods[i % methods.Length].Explain(model, texts[i % texts.Length]);
            if (i + 1 == warmUp || ((i + 1) > warmUp && (i + 1 - warmUp) % every == 0))
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                GC.Collect();
                using var process = Process.GetCurrentProcess();
                var live = TorchSharp.torch.Tensor.TotalCount;
                startTensors ??= live;
                samples.Add((i + 1, process.WorkingSet64 / (1024.0 * 1024.0), live));
                Console.Error.WriteLine($"{i + 1}: RSS {samples[^1].RssMb:F1} MB, live tensors {live}");
            }
        }

        var rss = samples.Select(s => s.RssMb).ToArray();
        var spread = (rss.Max() - rss.Min()) / rss.Min();
        var tensorsBack = samples[^1].LiveTensors == startTensors;
        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"# Soak: {total} explanations on sst2-bert-tiny");
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture,
            $"{Environment.ProcessorCount} cores, libtorch {TorchSharp.torch.__version__}, .NET {Environment.Version}, Release. Methods in turn: gradient-x-input, integrated-gradients (8 steps), lrp-epsilon, occlusion; 200 SST-2 dev sentences in turn. {clock.Elapsed.TotalSeconds:F0} s in all.");
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture,
            $"After {warmUp} explanations of warm-up: resident memory {rss.Min():F1}–{rss.Max():F1} MB, spread {spread:P2} (limit 5%): **{(spread <= 0.05 ? "flat" : "NOT flat")}**; live tensors {startTensors} at the start, {samples[^1].LiveTensors} at the end: **{(tensorsBack ? "back to the start" : "NOT back")}**.");
        report.AppendLine();
        report.AppendLine("| explanations | RSS (MB) | live tensors |");
        report.AppendLine("| ---: | ---: | ---: |");
        foreach (var (done, mb, live) in samples)
        {
            report.AppendLine(CultureInfo.InvariantCulture, $"| {done} | {mb:F1} | {live} |");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        File.WriteAllText(output, report.ToString());
        Console.WriteLine(report);
        return spread <= 0.05 && tensorsBack ? 0 : 1;
    }
}
