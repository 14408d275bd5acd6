using Attribution.Pipeline;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Salience;

namespace Attribution.Benchmarks;

/// <summary>
/// The method-comparison runner: every method on the same SST-2 dev sentences with sst2-bert-tiny, reporting wall
/// time per text and how much the methods agree (mean Spearman rank correlation of their word scores, on magnitudes
/// when a method is unsigned, as the CLI's compare). Writes a Markdown table. Run: <c>dotnet run -c Release --project benchmarks/Attribution.Benchmarks -- compare-methods [texts] [output.md]</c>.
/// </summary>
public static class MethodComparison
{
    public static int Run(string[] args)
    {
        var count = BenchmarkArguments.Int(args, 0, "texts", 100);
        var output = args.Length > 1 ? args[1] : Path.Combine("benchmarks", "results", "method-comparison.md");
        using var model = BenchmarkModels.SstBertTiny();
        var texts = BenchmarkModels.DevSentences(count);
        var methods = Methods();

        // Warm up every code path once so timings exclude first-call costs.
        Explainer.ExplainAll(model, texts.Take(2).ToArray(), methods.Select(m => m.Attributor).ToArray());

        var results = new List<(string Name, IReadOnlyList<Explanation> Explanations, double MsPerText)>();
        foreach (var (name, attributor) in methods)
        {
            var clock = Stopwatch.StartNew();
            var explanations = attributor.Explain(model, texts, new ExplainOptions { BatchSize = 16 });
            results.Add((name, explanations, clock.Elapsed.TotalMilliseconds / texts.Length));
            Console.Error.WriteLine($"{name}: {clock.Elapsed.TotalMilliseconds / texts.Length:F1} ms/text");
        }

        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"# Method comparison on sst2-bert-tiny ({texts.Length} SST-2 dev sentences)");
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"Machine: {Environment.ProcessorCount} cores, TorchSharp with libtorch {TorchSharp.torch.__version__}, {TorchSharp.torch.get_num_threads()} intra-op threads, .NET {Environment.Version}. Batches of 16 texts, Release build.");
        report.AppendLine();
        report.AppendLine("| method | settings | ms / text |");
        report.AppendLine("| --- | --- | ---: |");
        foreach (var (name, explanations, ms) in results)
        {
            var settings = string.Join(", ", explanations[0].Settings.Select(kv => $"{kv.Key}={kv.Value}"));
            report.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {settings} | {ms:F1} |");
        }

        report.AppendLine();
        report.AppendLine("Mean Spearman rank correlation of word scores between methods (per text, then averaged over the texts where it is defined, a cell saying how many when not all; magnitudes when either method is unsigned):");
        report.AppendLine();
        report.AppendLine("| | " + string.Join(" | ", results.Select(r => r.Name)) + " |");
        report.AppendLine("| --- |" + string.Concat(results.Select(_ => " ---: |")));
        foreach (var a in results)
        {
            var cells = results.Select(b => BenchmarkStatistics.MeanCell(MeanSpearman(a.Explanations, b.Explanations), texts.Length));
            report.AppendLine(CultureInfo.InvariantCulture, $"| {a.Name} | {string.Join(" | ", cells)} |");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        File.WriteAllText(output, report.ToString());
        Console.WriteLine(report);
        Console.Error.WriteLine($"wrote {output}");
        return 0;
    }

    private static List<(string Name, IAttributor Attributor)> Methods() =>
    [
        ("gradient", new Gradient()),
        ("gradient-x-input", new GradientXInput()),
        ("integrated-gradients", new IntegratedGradients()),
        ("conductance", new LayerConductance { Layer = "bert.encoder.layer.0" }),
        ("smoothgrad", new NoiseTunnel(new GradientXInput())),
        ("lime", new Lime()),
        ("lrp-epsilon", new LrpEpsilon()),
    ];

    /// <summary>The mean over texts of the two methods' Spearman ρ, over the texts where ρ is defined, and how many those are.</summary>
    private static (double Mean, int Defined) MeanSpearman(IReadOnlyList<Explanation> a, IReadOnlyList<Explanation> b) =>
        BenchmarkStatistics.MeanOfDefined(a.Select((e, i) => MethodAgreement.Between(e, b[i], Granularity.Words)));
}
