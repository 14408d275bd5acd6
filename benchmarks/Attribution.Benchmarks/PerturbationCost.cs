using Attribution.Pipeline;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Attribution.Methods;
using Attribution.Models;

namespace Attribution.Benchmarks;

/// <summary>
/// What the perturbation methods (and Gradient SHAP) cost per text: model calls and the inputs they carried (both
/// counted by a wrapper around the classifier, <see cref="CountingClassifier"/>), coalitions asked for (the difference
/// is what de-duplication saved) and wall time, on sst2-bert-tiny (12-word SST-2
/// dev sentences or shorter, so exact Shapley values run) and on the BERT-base shape, for every classifier given.
/// Run: <c>dotnet run -c Release --project benchmarks/Attribution.Benchmarks -- perturbation-cost [texts] [output.md]</c>.
/// </summary>
public static class PerturbationCost
{
    /// <summary>Extra classifiers to measure beside the TorchSharp ones (e.g. ONNX exports), by name and factory.</summary>
    public static List<(string Name, Func<ITokenClassifier> Load, bool Tiny)> Extra { get; } = [];

    /// <summary>Lines printed under the table (e.g. how an extra classifier was checked); loaders may add to it.</summary>
    public static List<string> Notes { get; } = [];

    public static int Run(string[] args)
    {
        var count = BenchmarkArguments.Int(args, 0, "texts", 20);
        var output = args.Length > 1 ? args[1] : Path.Combine("benchmarks", "results", "perturbation-cost.md");
        var report = new StringBuilder();
        report.AppendLine("# Perturbation methods: model calls and time per text");
        report.AppendLine();
        report.Append(CultureInfo.InvariantCulture,
            $"Machine: {Environment.ProcessorCount} cores, TorchSharp with libtorch {TorchSharp.torch.__version__}, {TorchSharp.torch.get_num_threads()} intra-op threads, .NET {Environment.Version}, Release build. ");
        report.AppendLine(
            "Scored output: the logit (LIME: the probability); features: words; absent words masked; default batching (up to 256 perturbed inputs a call within 4096 padded tokens). " +
            "`model calls` and `rows` are measured: a wrapper around the classifier counts every call it gets and the inputs each carries, the prediction's one-row call included " +
            "(a TorchSharp classifier runs a perturbation method's call in forward passes of up to 64 rows, LIME's as one pass). " +
            "`asked` counts the coalitions (LIME: masks) a method asked for; repeats among them are sent once.");
        report.AppendLine();
        report.AppendLine("| model | engine | method | texts | words / text | model calls / text | rows / text | asked / text | ms / text |");
        report.AppendLine("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");

        var dev = BenchmarkModels.DevSentences(400).Where(t => t.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length <= 12).Take(count).ToArray();
        using (var tiny = BenchmarkModels.SstBertTiny())
        {
            Measure(report, "sst2-bert-tiny", "TorchSharp", tiny, dev, gradients: true);
        }

        MeasureExtra(report, dev, tiny: true);
        using (var bertBase = BenchmarkModels.BertBaseRandom())
        {
            Measure(report, BertBaseName, "TorchSharp", bertBase, BertBaseTexts(dev), gradients: true);
        }

        MeasureExtra(report, dev, tiny: false);
        if (Notes.Count > 0)
        {
            report.AppendLine();
            foreach (var note in Notes)
            {
                report.AppendLine(note);
            }
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        File.WriteAllText(output, report.ToString());
        Console.WriteLine(report);
        Console.Error.WriteLine($"wrote {output}");
        return 0;
    }

    private const string BertBaseName = "bert-base shape (random weights)";

    /// <summary>The <see cref="Extra"/> classifiers of one model (sst2-bert-tiny or the BERT-base shape), each loaded, measured and disposed.</summary>
    private static void MeasureExtra(StringBuilder report, string[] dev, bool tiny)
    {
        foreach (var (name, load, isTiny) in Extra.Where(e => e.Tiny == tiny))
        {
            var model = load();
            try
            {
                Measure(report, isTiny ? "sst2-bert-tiny" : BertBaseName, name, model, isTiny ? dev : BertBaseTexts(dev), gradients: false);
            }
            finally
            {
                (model as IDisposable)?.Dispose();
            }
        }
    }

    /// <summary>
    /// Three short dev sentences (at most 8 words: exact Shapley values take 2ⁿ BERT-base forward passes per text, and
    /// at 12 words that is 4,096 of them, about 7 minutes a text on 2 cores).
    /// </summary>
    private static string[] BertBaseTexts(string[] dev) =>
        dev.Where(t => t.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length <= 8).Take(3).ToArray();

    private static void Measure(StringBuilder report, string modelName, string engine, ITokenClassifier model, string[] texts, bool gradients)
    {
        var words = texts.Average(t => t.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
        (string Name, PerturbationMethod Method)[] methods =
        [
            ("occlusion", new Occlusion()),
            ("occlusion w=3", new Occlusion { Window = 3 }),
            ("shapley (exact)", new ShapleyValues()),
            ("shapley-sampling 25", new ShapleyValueSampling()),
            ("kernel-shap 256", new KernelShap()),
        ];
        foreach (var (name, method) in methods)
        {
            // Timed through the counting wrapper: a perturbation method reaches the model by PredictLogits either way, so
            // the wrapper changes nothing but the counts.
            method.Run(new CountingClassifier(model), texts[0]);
            var runs = new PerturbationRun[texts.Length];
            var index = 0;
            var clock = Stopwatch.StartNew();
            var (calls, rows) = CountingClassifier.PerText(model, texts, (counted, text) => runs[index++] = method.Run(counted, text));
            var ms = clock.Elapsed.TotalMilliseconds / texts.Length;
            report.AppendLine(CultureInfo.InvariantCulture,
                $"| {modelName} | {engine} | {name} | {texts.Length} | {words:F1} | {calls:F1} | {rows:F1} | {runs.Average(r => r.Requests):F1} | {ms:F1} |");
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{modelName} {engine} {name}: {ms:F1} ms/text, {calls:F1} model calls and {rows:F1} rows a text"));
        }

        // LIME is timed on the model itself (the library's own classifier runs its calls without PredictLogits, so a
        // wrapper would change the passes), and its calls are counted in runs of their own through the wrapper. It
        // batches up to 256 perturbed texts a call within a token budget: the calls cannot be worked out from 64 a call.
        var lime = new Lime();
        lime.Explain((ITokenClassifier)model, [texts[0]]);
        var limeClock = Stopwatch.StartNew();
        lime.Explain((ITokenClassifier)model, texts);
        var limeMs = limeClock.Elapsed.TotalMilliseconds / texts.Length;
        var (limeCalls, limeRows) = CountingClassifier.Lime(lime, model, texts);
        var masks = texts.Average(t => lime.SampleMasks(lime.SplitFeatures(t, model.Tokenizer).Count).Length);
        report.AppendLine(CultureInfo.InvariantCulture,
            $"| {modelName} | {engine} | lime 256 (text-level) | {texts.Length} | {words:F1} | {limeCalls:F1} | {limeRows:F1} | {masks:F1} | {limeMs:F1} |");
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{modelName} {engine} lime: {limeMs:F1} ms/text, {limeCalls:F1} model calls and {limeRows:F1} rows a text"));

        if (gradients && model is ITextClassifier classifier)
        {
            var shap = new GradientShap();
            shap.Explain(classifier, texts[0]);
            var clock = Stopwatch.StartNew();
            shap.Explain(classifier, texts);
            report.AppendLine(CultureInfo.InvariantCulture,
                $"| {modelName} | {engine} | gradient-shap 5 (forward + backward) | {texts.Length} | {words:F1} | 2 + 1 | - | - | {clock.Elapsed.TotalMilliseconds / texts.Length:F1} |");
        }
    }
}
