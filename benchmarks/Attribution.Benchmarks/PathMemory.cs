using System.Diagnostics;
using System.Globalization;
using System.Text;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Pipeline;

namespace Attribution.Benchmarks;

/// <summary>
/// Time and peak memory of Integrated Gradients at 50 fixed steps against the size of its path passes
/// (<see cref="PathMethod.TokenBudget"/>, padded tokens per pass) on the BERT-base shape, and throughput on
/// sst2-bert-tiny. Peak memory and cold times come from a fresh process per configuration (this program started
/// again with <c>path-peak</c>), since a process's heap keeps what an earlier, larger run took; warm times come from
/// one process running every configuration in turn for several rounds (best kept). Run:
/// <c>dotnet run -c Release --project benchmarks/Attribution.Benchmarks -- path-passes [output.md] [rounds]</c>.
/// </summary>
public static class PathMemory
{
    private const int Unbounded = AttributionOptions.MaxTokenBudget;
    private static readonly int[] Budgets = [256, 512, 1024, 2048, 4096, Unbounded];

    public static int Run(string[] args)
    {
        var output = args.Length > 0 ? args[0] : "benchmarks/results/2026-12-04-speed/path-passes.md";
        var rounds = BenchmarkArguments.Int(args, 1, "rounds", 3);
        var report = new StringBuilder();
        report.AppendLine("# Path passes: time and memory against the token budget per pass");
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"`dotnet run -c Release --project benchmarks/Attribution.Benchmarks -- path-passes {output} {rounds}`, {DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores, {TotalMemoryGiB():F0} GiB memory.");
        report.AppendLine();
        report.AppendLine("Integrated Gradients with 50 fixed steps (Gauss–Legendre) on one text per call; the row cap (`InternalBatchSize`) is 64");
        report.AppendLine("throughout, so \"unbounded\" is the behaviour before the token budget (50 rows a pass whatever their length).");
        report.AppendLine("*Fresh process*: the configuration alone in a new process (model built, a 10-step warm-up on a 20-token text, the peak reset, then the run):");
        report.AppendLine("its peak resident memory (VmHWM, model weights included) and its time, with every large tensor newly mapped from the");
        report.AppendLine("system. *Warm process*: best of the rounds in one process that ran every configuration in turn, its heap already grown.");
        report.AppendLine();

        int[] lengths;
        using (var model = BenchmarkModels.BertBaseRandom())
        {
            lengths = [20, 64, Near(model, 128)];
        }

        report.AppendLine("## BERT-base shape (random weights)");
        report.AppendLine();
        report.AppendLine("| tokens | token budget | rows a pass | fresh process: s | fresh process: peak GiB | warm process: s (best) |");
        report.AppendLine("| ---: | ---: | ---: | ---: | ---: | ---: |");
        var fresh = new Dictionary<(int, int), (double Seconds, double Peak)>();
        foreach (var tokens in lengths)
        {
            foreach (var budget in Budgets)
            {
                fresh[(tokens, budget)] = Child(tokens, budget);
            }
        }

        var warm = new Dictionary<(int, int), double>();
        using (var model = BenchmarkModels.BertBaseRandom())
        {
            var texts = lengths.ToDictionary(t => t, t => BenchmarkModels.SentenceOfTokens(model.Tokenizer, t));
            new IntegratedGradients { Steps = 50 }.Explain(model, texts[20]);
            for (var round = 0; round < rounds; round++)
            {
                foreach (var tokens in lengths)
                {
                    foreach (var budget in Budgets)
                    {
                        var clock = Stopwatch.StartNew();
                        new IntegratedGradients { Steps = 50, TokenBudget = budget }.Explain(model, texts[tokens]);
                        var seconds = clock.Elapsed.TotalSeconds;
                        warm[(tokens, budget)] = Math.Min(warm.GetValueOrDefault((tokens, budget), double.MaxValue), seconds);
                        Console.Error.WriteLine($"round {round}: {tokens} tokens, budget {budget}: {seconds:F2} s");
                    }
                }
            }
        }

        foreach (var tokens in lengths)
        {
            foreach (var budget in Budgets)
            {
                var (seconds, peak) = fresh[(tokens, budget)];
                var rows = Math.Min(50, Math.Max(1, Math.Min(64, budget / tokens)));
                report.AppendLine(CultureInfo.InvariantCulture, $"| {tokens} | {Budget(budget)} | {rows} | {seconds:F2} | {peak:F2} | {warm[(tokens, budget)]:F2} |");
            }
        }

        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"Long texts with the default budget ({PathMethod.DefaultTokenBudget}), fresh process. Before it, 50 rows of 510 tokens would have held about");
        report.AppendLine("25,500 tokens × 1 MiB, more than this machine's memory.");
        report.AppendLine();
        report.AppendLine("| tokens | token budget | rows a pass | s | peak GiB |");
        report.AppendLine("| ---: | ---: | ---: | ---: | ---: |");
        using (var model = BenchmarkModels.BertBaseRandom())
        {
            lengths = [Near(model, 256), Near(model, 510)];
        }

        foreach (var tokens in lengths)
        {
            var (seconds, peak) = Child(tokens, PathMethod.DefaultTokenBudget);
            report.AppendLine(CultureInfo.InvariantCulture, $"| {tokens} | {PathMethod.DefaultTokenBudget} | {Math.Max(1, PathMethod.DefaultTokenBudget / tokens)} | {seconds:F1} | {peak:F2} |");
        }

        report.AppendLine();
        using (var tiny = BenchmarkModels.SstBertTiny())
        {
            var dev = BenchmarkModels.DevSentences(400);
            report.AppendLine("## sst2-bert-tiny, 400 SST-2 dev sentences in the library's text batches (64 texts within 2048 padded tokens)");
            report.AppendLine();
            report.AppendLine("Warm process, best of the rounds (a batch of 64 short texts is 64 rows for one path point, so budgets below its padded size all run one point a pass):");
            report.AppendLine();
            report.AppendLine("| token budget | texts / s |");
            report.AppendLine("| ---: | ---: |");
            new IntegratedGradients { Steps = 50 }.Explain(tiny, dev.Take(32).ToArray());
            var best = new Dictionary<int, double>();
            for (var round = 0; round < rounds; round++)
            {
                foreach (var budget in Budgets)
                {
                    var clock = Stopwatch.StartNew();
                    new IntegratedGradients { Steps = 50, TokenBudget = budget }.Explain(tiny, dev);
                    var rate = dev.Length / clock.Elapsed.TotalSeconds;
                    best[budget] = Math.Max(best.GetValueOrDefault(budget), rate);
                    Console.Error.WriteLine($"round {round} tiny budget {budget}: {rate:F1} texts/s");
                }
            }

            foreach (var (budget, rate) in best.OrderBy(p => p.Key))
            {
                report.AppendLine(CultureInfo.InvariantCulture, $"| {Budget(budget)} | {rate:F1} |");
            }
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        File.WriteAllText(output, report.ToString());
        Console.WriteLine(report);
        return 0;
    }

    /// <summary>
    /// One configuration in this process (started by <see cref="Run"/>): prints "seconds peak-GiB". Run:
    /// <c>path-peak tokens budget</c>.
    /// </summary>
    public static int Peak(string[] args)
    {
        var tokens = BenchmarkArguments.Int(args, 0, "tokens", null, min: 3);
        var budget = BenchmarkArguments.Int(args, 1, "budget", null);
        using var model = BenchmarkModels.BertBaseRandom();
        new IntegratedGradients { Steps = 10 }.Explain(model, BenchmarkModels.SentenceOfTokens(model.Tokenizer, 20));
        var text = BenchmarkModels.SentenceOfTokens(model.Tokenizer, tokens);

        // The peak from here on: the warm-up's is dropped (writing 5 to clear_refs resets VmHWM to the current size).
        GC.Collect();
        File.WriteAllText("/proc/self/clear_refs", "5");
        var clock = Stopwatch.StartNew();
        new IntegratedGradients { Steps = 50, TokenBudget = budget }.Explain(model, text);
        var seconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{seconds:F3} {Status("VmHWM:") / 1024.0 / 1024.0:F3}"));
        return 0;
    }

    private static (double Seconds, double PeakGiB) Child(int tokens, int budget)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
        // Under the dotnet host the program is its first argument; under the app host it is the host itself.
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
        {
            start.ArgumentList.Add(typeof(PathMemory).Assembly.Location);
        }

        foreach (var a in new[] { "path-peak", tokens.ToString(CultureInfo.InvariantCulture), budget.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(a);
        }

        using var child = Process.Start(start)!;
        var line = child.StandardOutput.ReadToEnd().Trim().Split('\n')[^1];
        child.WaitForExit();
        if (child.ExitCode != 0)
        {
            throw new InvalidOperationException($"path-peak {tokens} {budget} exited with {child.ExitCode}");
        }

        var parts = line.Split(' ');
        var result = (double.Parse(parts[0], CultureInfo.InvariantCulture), double.Parse(parts[1], CultureInfo.InvariantCulture));
        Console.Error.WriteLine($"fresh process: {tokens} tokens, budget {budget}: {result.Item1:F2} s, peak {result.Item2:F2} GiB");
        return result;
    }

    /// <summary>The length nearest to <paramref name="tokens"/> (not above 512) that the benchmark sentence can be cut to.</summary>
    private static int Near(TextClassifier model, int tokens)
    {
        for (var d = 0; ; d++)
        {
            foreach (var candidate in new[] { tokens - d, tokens + d }.Where(c => c <= 512))
            {
                try
                {
                    BenchmarkModels.SentenceOfTokens(model.Tokenizer, candidate);
                    return candidate;
                }
                catch (InvalidOperationException)
                {
                }
            }
        }
    }

    private static string Budget(int budget) => budget == Unbounded ? "unbounded" : budget.ToString(CultureInfo.InvariantCulture);

    internal static long Status(string field)
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith(field, StringComparison.Ordinal));
        return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }

    private static double TotalMemoryGiB()
    {
        var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
        return long.Parse(line["MemTotal:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0 / 1024.0;
    }
}
