using System.Diagnostics;
using System.Globalization;
using System.Text;
using Attribution.Methods;
using Attribution.Models;

namespace Attribution.Benchmarks;

/// <summary>
/// How many calls a black box gets (<c>black-box-calls [texts] [output.md]</c>): sst2-bert-tiny's probabilities behind a
/// black box that counts its calls (<see cref="CountingPredictor"/>), the first SST-2 dev sentences explained in one call
/// per method, every method run once untimed before any is timed.
/// For a remote predictor every call is a round trip; the "at 50 ms a call" column adds 50 ms per call to the measured
/// time (computed, not slept). A second table times the methods' own work with a predictor that answers at once. Uses only the public API (with
/// CallCounting.cs and BenchmarkStatistics.cs), so the files can be copied onto an older checkout.
/// </summary>
public static class BlackBoxCalls
{
    public static int Run(string[] args)
    {
        var count = BenchmarkArguments.Int(args, 0, "texts", 200);
        var output = args.Length > 1 ? args[1] : null;
        using var model = BenchmarkModels.SstBertTiny();
        var texts = BenchmarkModels.DevSentences(count);
        var blackBox = new CountingPredictor(model.Labels, model.PredictProbabilities);

        IPerturbationAttributor[] methods =
        [
            new Lime { Samples = 256 },
            new Occlusion(),
            new KernelShap { Samples = 256 },
            new ShapleyValueSampling { Samples = 25 },
        ];

        var report = new StringBuilder();
        report.AppendLine(string.Create(CultureInfo.InvariantCulture, $"Black-box calls for {texts.Length} SST-2 dev sentences explained in one call (sst2-bert-tiny behind a counting black box, default settings, batch size 256; every method run once untimed before the timed runs)."));
        report.AppendLine();
        report.AppendLine("| method | calls | texts sent | texts / call | s | s at 50 ms a call |");
        report.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        // Every method warmed once before any is timed: timed cold, the first method paid the JIT and the model's first
        // calls that the others then ran without.
        var measured = CountingPredictor.Measure(methods, blackBox, texts, Time);
        for (var i = 0; i < methods.Length; i++)
        {
            var (calls, sent, seconds) = measured[i];
            report.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {methods[i].Name} | {calls} | {sent} | {(double)sent / calls:F1} | {seconds:F1} | {seconds + (0.05 * calls):F1} |"));
        }

        // The methods' own work (features, masks or coalitions, perturbed texts, the fit), with a predictor that answers
        // at once: what sharing the calls costs on top of the model.
        var instant = new BlackBoxClassifier(batch => batch.Select(t => new[] { 0.3 + (0.001 * (t.Length % 100)), 0.7 - (0.001 * (t.Length % 100)) }).ToArray(), model.Labels);
        report.AppendLine();
        report.AppendLine("The methods' own work, with a predictor that answers at once (a row from each text's length), best of 3 after a warm-up of every method, the methods alternating:");
        report.AppendLine();
        report.AppendLine("| method | s |");
        report.AppendLine("| --- | ---: |");
        var best = BenchmarkStatistics.WarmedBestOfAlternating(3, Time, methods.Select(method => (Action)(() => method.Attribute(instant, texts))).ToArray());
        for (var i = 0; i < methods.Length; i++)
        {
            report.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| {methods[i].Name} | {best[i]:F2} |"));
        }

        Console.Write(report);
        if (output is not null)
        {
            File.WriteAllText(output, report.ToString());
        }

        return 0;
    }

    /// <summary>Wall time of one run, in seconds.</summary>
    private static double Time(Action run)
    {
        var clock = Stopwatch.StartNew();
        run();
        return clock.Elapsed.TotalSeconds;
    }
}
