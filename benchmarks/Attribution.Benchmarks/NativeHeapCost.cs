using System.Diagnostics;
using System.Globalization;
using System.Text;
using Attribution.Engine.Loading;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Pipeline;

namespace Attribution.Benchmarks;

/// <summary>
/// The C heap's tuning (<see cref="NativeHeap"/>) against glibc's defaults: the same methods in child processes with
/// <c>ATTRIBUTION_NATIVE_HEAP=off</c> and unset (tuned), alternating over rounds; time (best of the rounds), page
/// faults of that run, peak and final resident memory. Run:
/// <c>dotnet run -c Release --project benchmarks/Attribution.Benchmarks -- native-heap [output.md] [rounds]</c>.
/// </summary>
public static class NativeHeapCost
{
    private static readonly string[] Settings = ["off", "tuned"];

    public static int Run(string[] args)
    {
        var output = args.Length > 0 ? args[0] : "benchmarks/results/2026-12-04-speed/native-heap.md";
        var rounds = BenchmarkArguments.Int(args, 1, "rounds", 2);
        var best = new Dictionary<(string Setting, string Case), (double Seconds, long Faults)>();
        var memory = new Dictionary<string, (double Peak, double End)>();
        var modes = new Dictionary<string, string>();
        var order = new List<string>();
        for (var round = 0; round < rounds; round++)
        {
            foreach (var setting in Settings)
            {
                foreach (var line in Child(setting))
                {
                    var parts = line.Split('\t');
                    switch (parts[0])
                    {
                        case "case":
                            var key = (setting, parts[1]);
                            var run = (double.Parse(parts[2], CultureInfo.InvariantCulture), long.Parse(parts[3], CultureInfo.InvariantCulture));
                            if (!order.Contains(parts[1]))
                            {
                                order.Add(parts[1]);
                            }

                            if (!best.TryGetValue(key, out var kept) || run.Item1 < kept.Seconds)
                            {
                                best[key] = run;
                            }

                            break;
                        case "memory":
                            var peak = double.Parse(parts[1], CultureInfo.InvariantCulture);
                            var end = double.Parse(parts[2], CultureInfo.InvariantCulture);
                            memory[setting] = memory.TryGetValue(setting, out var m) ? (Math.Max(m.Peak, peak), Math.Max(m.End, end)) : (peak, end);
                            break;
                        case "mode":
                            modes[setting] = parts[1];
                            break;
                    }
                }
            }
        }

        var report = new StringBuilder();
        report.AppendLine("# The C heap's tuning for large tensors against glibc's defaults");
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"`dotnet run -c Release --project benchmarks/Attribution.Benchmarks -- native-heap {output} {rounds}`, {DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores.");
        report.AppendLine();
        report.AppendLine("Each setting runs in its own child process (`ATTRIBUTION_NATIVE_HEAP=off`: glibc's defaults; unset: " +
            $"M_MMAP_THRESHOLD = 32 MiB, M_TRIM_THRESHOLD = 1 GiB), the two alternating for {rounds} rounds. In each process every case runs once as a warm-up, then once " +
            "measured; the table keeps each case's best time over the rounds and the minor page faults of that run (each a page of memory " +
            "newly mapped from the system and zeroed). BERT-base shape: random weights, one 64-token text. sst2-bert-tiny: the first 200 " +
            "SST-2 dev sentences in one call.");
        report.AppendLine();
        report.AppendLine("| case | glibc defaults s | tuned s | time saved | page faults (defaults) | page faults (tuned) |");
        report.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (var name in order)
        {
            var off = best[("off", name)];
            var on = best[("tuned", name)];
            report.AppendLine(CultureInfo.InvariantCulture,
                $"| {name} | {off.Seconds:F2} | {on.Seconds:F2} | {1 - (on.Seconds / off.Seconds):P0} | {off.Faults:N0} | {on.Faults:N0} |");
        }

        report.AppendLine();
        report.AppendLine("| setting | mode reported | peak resident GiB | resident at the end GiB |");
        report.AppendLine("| --- | --- | ---: | ---: |");
        foreach (var setting in Settings)
        {
            report.AppendLine(CultureInfo.InvariantCulture, $"| {setting} | {modes[setting]} | {memory[setting].Peak:F2} | {memory[setting].End:F2} |");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        File.WriteAllText(output, report.ToString());
        Console.WriteLine(report);
        return 0;
    }

    /// <summary>The child: every case once to warm up, then once measured; tab-separated lines on standard output.</summary>
    public static int RunChild(string[] args)
    {
        _ = args;
        Console.WriteLine($"mode\t{NativeHeap.Mode}");
        using (var bert = BenchmarkModels.BertBaseRandom())
        {
            var text = BenchmarkModels.SentenceOfTokens(bert.Tokenizer, 64);
            Case("BERT-base: LIME, 256 samples", () => new Lime { Samples = 256 }.Explain(bert, text));
            Case("BERT-base: integrated gradients, adaptive (default)", () => new IntegratedGradients().Explain(bert, text));
            Case("BERT-base: integrated gradients, 50 steps", () => new IntegratedGradients { Steps = 50 }.Explain(bert, text));
            Case("BERT-base: gradient", () => new Gradient().Explain(bert, text));
        }

        using (var tiny = BenchmarkModels.SstBertTiny())
        {
            var texts = BenchmarkModels.DevSentences(200);
            Case("sst2-bert-tiny, 200 texts: LIME, 256 samples", () => new Lime { Samples = 256 }.Explain(tiny, texts));
            Case("sst2-bert-tiny, 200 texts: integrated gradients (default)", () => new IntegratedGradients().Explain(tiny, texts));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"memory\t{PathMemory.Status("VmHWM:") / 1048576.0:F3}\t{PathMemory.Status("VmRSS:") / 1048576.0:F3}"));
        return 0;
    }

    private static void Case(string name, Action run)
    {
        run();
        var faults = MinorFaults();
        var clock = Stopwatch.StartNew();
        run();
        var seconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"case\t{name}\t{seconds:F3}\t{MinorFaults() - faults}"));
        Console.Error.WriteLine($"{NativeHeap.Mode}: {name}: {seconds:F2} s, {MinorFaults() - faults} faults");
    }

    private static IEnumerable<string> Child(string setting)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
        // Under the dotnet host the program is its first argument; under the app host it is the host itself.
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
        {
            start.ArgumentList.Add(typeof(NativeHeapCost).Assembly.Location);
        }

        start.ArgumentList.Add("native-heap-child");
        start.Environment[NativeHeap.ModeVariable] = setting;
        using var child = Process.Start(start)!;
        var lines = child.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        child.WaitForExit();
        return child.ExitCode == 0 ? lines : throw new InvalidOperationException($"native-heap-child ({setting}) exited with {child.ExitCode}");
    }

    // Field 10 of /proc/self/stat (after the parenthesised command name): minor faults.
    private static long MinorFaults() =>
        long.Parse(File.ReadAllText("/proc/self/stat").Split(')')[1].Trim().Split(' ')[7], CultureInfo.InvariantCulture);
}
