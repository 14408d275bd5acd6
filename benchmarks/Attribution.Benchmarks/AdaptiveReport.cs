using System.Diagnostics;
using System.Globalization;
using System.Text;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Pipeline;

namespace Attribution.Benchmarks;

/// <summary>
/// Adaptive integration against fixed steps: Integrated Gradients (word embeddings) and layer conductance (layer 0) on
/// SST-2 dev sentences with sst2-bert-tiny, and on a few texts with the BERT-base-shaped model. Per method: the
/// Captum-exact 50-step run, the adaptive default and a 300-step reference (Gauss–Legendre for IG; Captum's trapezoid
/// form for conductance), timed in the same process; reported: steps used, convergence deltas, time, and the relative
/// L2 difference of each text's token scores to the reference.
/// Run: <c>dotnet run -c Release --project benchmarks/Attribution.Benchmarks -- adaptive-report [texts] [output.md] [bert-base texts]</c>.
/// </summary>
public static class AdaptiveReport
{
    public static int Run(string[] args)
    {
        var count = BenchmarkArguments.Int(args, 0, "texts", 872);
        var output = args.Length > 1 ? args[1] : Path.Combine("benchmarks", "results", "adaptive-integration.md");
        var baseCount = BenchmarkArguments.Int(args, 2, "bert-base texts", 4, min: int.MinValue);
        var report = new StringBuilder();
        report.AppendLine("# Adaptive integration against fixed steps");
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture,
            $"Machine: {Environment.ProcessorCount} cores, TorchSharp with libtorch {TorchSharp.torch.__version__}, {TorchSharp.torch.get_num_threads()} intra-op threads, .NET {Environment.Version}, Release build. " +
            $"Command: `dotnet run -c Release --project benchmarks/Attribution.Benchmarks -- adaptive-report {count} {output} {baseCount}`. Times are wall-clock in this one process; the Captum-exact, library 50-step and adaptive runs are each the best of two runs alternating with one another after a warm-up of each, the 300-step reference one run (for scale). The machine is shared, so ratios are the figure to read. Medians of an even count are the mean of the two middle values; p95 is the nearest-rank value. " +
            $"The Captum-exact rows use Captum's defaults for LayerIntegratedGradients and LayerConductance (n_steps=50, method=\"gausslegendre\", internal_batch_size=None) and run every pass on the whole model, as a Hugging Face model runs; the library's own rows run logits-only passes where only the logits are read (ModelInput.LogitsOnly).");
        report.AppendLine();

        using (var tiny = BenchmarkModels.SstBertTiny())
        {
            var texts = BenchmarkModels.DevSentences(count);
            report.AppendLine(CultureInfo.InvariantCulture, $"## sst2-bert-tiny, {texts.Length} SST-2 dev sentences, batches of 16 texts");
            report.AppendLine();
            Section(report, tiny, texts, 16, perText: false);
        }

        // A negative count skips the BERT-base part (a quick run on the tiny model only).
        using (var bertBase = baseCount < 0 ? null : BenchmarkModels.BertBaseRandom())
        if (bertBase is not null)
        {
            var texts = BenchmarkModels.DevSentences(baseCount)
                .Append(BenchmarkModels.SentenceOfTokens(bertBase.Tokenizer, 20))
                .Append(BenchmarkModels.SentenceOfTokens(bertBase.Tokenizer, 64)).ToArray();
            report.AppendLine(CultureInfo.InvariantCulture, $"## bert-base-random (BERT-base shape, random weights), {texts.Length} texts ({baseCount} dev sentences, one of 20 and one of 64 tokens), one text per call");
            report.AppendLine();
            Section(report, bertBase, texts, 1, perText: true);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        File.WriteAllText(output, report.ToString());
        Console.WriteLine(report);
        Console.Error.WriteLine($"wrote {output}");
        return 0;
    }

    /// <summary>
    /// The distribution of steps used by the adaptive defaults on sst2-bert-tiny (texts per level), appended to
    /// <paramref name="args"/>[1]. Run: <c>adaptive-steps [texts] [output.md]</c>.
    /// </summary>
    public static int Steps(string[] args)
    {
        var count = BenchmarkArguments.Int(args, 0, "texts", 872);
        var output = args.Length > 1 ? args[1] : Path.Combine("benchmarks", "results", "adaptive-integration.md");
        using var model = BenchmarkModels.SstBertTiny();
        var texts = BenchmarkModels.DevSentences(count);
        var report = new StringBuilder();
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture,
            $"## Steps used per text (sst2-bert-tiny, {texts.Length} SST-2 dev sentences, adaptive defaults; `dotnet run -c Release --project benchmarks/Attribution.Benchmarks -- adaptive-steps {count} {output}`)");
        report.AppendLine();
        (string Name, PathMethod Method)[] methods = [("integrated-gradients", new IntegratedGradients()), ("conductance (bert.encoder.layer.0)", new LayerConductance { Layer = "bert.encoder.layer.0" })];
        var levels = AdaptiveIntegration.Default.Levels();
        report.AppendLine("| method | " + string.Join(" | ", levels.Select(l => $"{l} steps")) + " | capped |");
        report.AppendLine("| --- |" + string.Concat(levels.Select(_ => " ---: |")) + " ---: |");
        foreach (var (name, method) in methods)
        {
            var explanations = method.Explain(model, texts, new ExplainOptions { BatchSize = 16 });
            var used = explanations.Select(e => int.Parse(e.Setting("steps-used")!, CultureInfo.InvariantCulture)).ToArray();
            var capped = explanations.Count(e => e.Notes.Any(n => n.Contains("step cap", StringComparison.Ordinal)));
            report.AppendLine($"| {name} | {string.Join(" | ", levels.Select(l => used.Count(u => u == l)))} | {capped} |");
        }

        File.AppendAllText(output, report.ToString());
        Console.WriteLine(report);
        return 0;
    }

    private static void Section(StringBuilder report, TextClassifier model, string[] texts, int batchSize, bool perText)
    {
        const string conductanceLayer = "bert.encoder.layer.0";
        // Captum-exact: Captum's defaults (CaptumDefaults: 50 steps, Gauss–Legendre, internal_batch_size=None, i.e. every
        // path point of a batch in one pass), every pass on the whole model as a Hugging Face model runs
        // (SpeedReport.OnFullModel); library-50: the same 50 Gauss–Legendre steps in this library's passes (64 rows, 2048
        // tokens); adaptive: the default.
        (string Name, PathMethod Captum, PathMethod Library50, PathMethod Adaptive, PathMethod Reference)[] methods =
        [
            ("integrated-gradients",
                CaptumDefaults.IntegratedGradients(batchSize),
                new IntegratedGradients { Steps = 50, Rule = IntegrationRule.GaussLegendre },
                new IntegratedGradients(),
                new IntegratedGradients { Steps = 300 }),
            ("conductance (" + conductanceLayer + ")",
                CaptumDefaults.LayerConductance(conductanceLayer, batchSize),
                new LayerConductance { Layer = conductanceLayer, Steps = 50, Rule = IntegrationRule.GaussLegendre },
                new LayerConductance { Layer = conductanceLayer },
                new LayerConductance { Layer = conductanceLayer, Steps = 300, Rule = IntegrationRule.RiemannTrapezoid }),
        ];

        report.AppendLine("| method | run | ms / text | speed-up vs Captum-exact 50 | steps used (min / median / max) | gradient evaluations (mean) | \\|delta\\| / \\|F(x) − F(x′)\\| (median / p95 / max) | rel. L2 to 300-step reference (median / p95 / max) | texts within 1e-2 | capped |");
        report.AppendLine("| --- | --- | ---: | ---: | --- | ---: | --- | --- | ---: | ---: |");
        var options = new ExplainOptions { BatchSize = batchSize };
        foreach (var (name, captum, library50, adaptive, reference) in methods)
        {
            Console.Error.WriteLine($"{model.Name} {name}: reference");
            var referenceRun = Time(reference, model, texts, options, perText);
            Console.Error.WriteLine($"{model.Name} {name}: captum-exact 50 and adaptive");

            // Warm every timed run once, then alternate them for two rounds (best kept) so drifting machine load hits
            // all alike and every ratio compares two best-of-two times.
            var first = texts.Take(1).ToArray();
            SpeedReport.OnFullModel(model, () => Time(captum, model, first, options, perText));
            Time(library50, model, first, options, perText);
            Time(adaptive, model, first, options, perText);
            var runs = new (IReadOnlyList<Explanation> Explanations, double Ms)[3];
            var best = BenchmarkStatistics.BestOfAlternating(
                2,
                () => (runs[0] = SpeedReport.OnFullModel(model, () => Time(captum, model, texts, options, perText))).Ms,
                () => (runs[1] = Time(library50, model, texts, options, perText)).Ms,
                () => (runs[2] = Time(adaptive, model, texts, options, perText)).Ms);
            var (captumRun, library50Run, adaptiveRun) = (runs[0], runs[1], runs[2]);
            var (captumMs, library50Ms, adaptiveMs) = (best[0], best[1], best[2]);
            foreach (var (label, run, ms) in new[]
            {
                ("Captum-exact 50 steps, all points in one pass", captumRun, captumMs), ("50 steps, the library's passes (64 rows, 2048 tokens)", library50Run, library50Ms),
                ("adaptive (default)", adaptiveRun, adaptiveMs), ("reference 300 steps", referenceRun, referenceRun.Ms),
            })
            {
                report.AppendLine(Row(name, label, run.Explanations, referenceRun.Explanations, ms, captumMs));
            }
        }

        report.AppendLine();
    }

    private static (IReadOnlyList<Explanation> Explanations, double Ms) Time(PathMethod method, TextClassifier model, string[] texts, ExplainOptions options, bool perText)
    {
        var clock = Stopwatch.StartNew();
        IReadOnlyList<Explanation> explanations = perText
            ? texts.Select(t => method.Explain(model, [t], options)[0]).ToArray()
            : method.Explain(model, texts, options);
        return (explanations, clock.Elapsed.TotalMilliseconds / texts.Length);
    }

    private static string Row(string name, string label, IReadOnlyList<Explanation> run, IReadOnlyList<Explanation> reference, double ms, double captumMs)
    {
        var steps = run.Select(e => int.Parse(e.Setting("steps-used") ?? e.Setting("steps")!, CultureInfo.InvariantCulture)).OrderBy(s => s).ToArray();
        var evaluations = run.Select(e => e.Setting("gradient-evaluations") is { } g ? int.Parse(g, CultureInfo.InvariantCulture) : Evaluations(e)).Average();
        var relativeDeltas = run.Select(e => BenchmarkStatistics.RelativeDelta(e.ConvergenceDelta!.Value, e.Scores.Sum())).OrderBy(d => d).ToArray();
        var errors = run.Select((e, i) => BenchmarkStatistics.RelativeL2(e.Scores, reference[i].Scores)).OrderBy(d => d).ToArray();
        var capped = run.Count(e => e.Notes.Any(n => n.Contains("step cap", StringComparison.Ordinal)));
        return string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {label} | {ms:F1} | {captumMs / ms:F2} | {steps[0]} / {BenchmarkStatistics.Median(steps):G} / {steps[^1]} | {evaluations:F1} | {BenchmarkStatistics.Median(relativeDeltas):G2} / {BenchmarkStatistics.Quantile(relativeDeltas, 0.95):G2} / {relativeDeltas[^1]:G2} | {BenchmarkStatistics.Median(errors):G2} / {BenchmarkStatistics.Quantile(errors, 0.95):G2} / {errors[^1]:G2} | {errors.Count(x => x <= 1e-2)} / {errors.Length} | {capped} |");
    }

    /// <summary>Points a fixed-step run evaluates: n for IG, n + 1 for conductance.</summary>
    private static int Evaluations(Explanation e) =>
        int.Parse(e.Setting("steps")!, CultureInfo.InvariantCulture) + (e.Method == "conductance" ? 1 : 0);
}
