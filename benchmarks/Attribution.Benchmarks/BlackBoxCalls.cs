using System.Diagnostics;
using System.Globalization;
using System.Text;
using Attribution.Methods;
using Attribution.Models;

namespace Attribution.Benchmarks;

/// <summary>
/// How many calls a black box gets (<c>black-box-calls [texts] [output.md]</c>): sst2-bert-tiny's probabilities behind a
/// <see cref="BlackBoxClassifier"/> that counts its calls, the first SST-2 dev sentences explained in one call per method.
/// For a remote predictor every call is a round trip; the "at 50 ms a call" column adds 50 ms per call to the measured
/// time (computed, not slept). A second table times the methods' own work with a predictor that answers at once. Uses only the public API, so the file can be copied onto an older checkout.
/// </summary>
public static class BlackBoxCalls
{
    public static int Run(string[] args)
    {
        var count = BenchmarkArguments.Int(args, 0, "texts", 200);
        var output = args.Length > 1 ? args[1] : null;
        using var model = BenchmarkModels.SstBertTiny();
        var texts = BenchmarkModels.DevSentences(count);
        var calls = 0;
        var sent = 0L;
        var blackBox = new BlackBoxClassifier(batch =>
        {
            calls++;
            sent += batch.Count;
            return model.PredictProbabilities(batch);
        }, model.Labels);

        IPerturbationAttributor[] methods =
        [
            new Lime { Samples = 256 },
            new Occlusion(),
            new KernelShap { Samples = 256 },
            new ShapleyValueSampling { Samples = 25 },
        ];

        var report = new StringBuilder();
        report.AppendLine(string.Create(CultureInfo.InvariantCulture, $"Black-box calls for {texts.Length} SST-2 dev sentences explained in one call (sst2-bert-tiny behind a BlackBoxClassifier, default settings, batch size 256)."));
        report.AppendLine();
        report.AppendLine("| method | calls | texts sent | texts / call | s | s at 50 ms a call |");
        report.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (var method in methods)
        {
            (calls, sent) = (0, 0);
            var clock = Stopwatch.StartNew();
            method.Attribute(blackBox, texts);
            var seconds = clock.Elapsed.TotalSeconds;
            report.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {method.Name} | {calls} | {sent} | {(double)sent / calls:F1} | {seconds:F1} | {seconds + (0.05 * calls):F1} |"));
        }

        // The methods' own work (features, masks or coalitions, perturbed texts, the fit), with a predictor that answers
        // at once: what sharing the calls costs on top of the model.
        var instant = new BlackBoxClassifier(batch => batch.Select(t => new[] { 0.3 + (0.001 * (t.Length % 100)), 0.7 - (0.001 * (t.Length % 100)) }).ToArray(), model.Labels);
        report.AppendLine();
        report.AppendLine("The methods' own work, with a predictor that answers at once (a row from each text's length), best of 3:");
        report.AppendLine();
        report.AppendLine("| method | s |");
        report.AppendLine("| --- | ---: |");
        foreach (var method in methods)
        {
            var best = double.MaxValue;
            for (var round = 0; round < 3; round++)
            {
                var clock = Stopwatch.StartNew();
                method.Attribute(instant, texts);
                best = Math.Min(best, clock.Elapsed.TotalSeconds);
            }

            report.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| {method.Name} | {best:F2} |"));
        }

        Console.Write(report);
        if (output is not null)
        {
            File.WriteAllText(output, report.ToString());
        }

        return 0;
    }
}
