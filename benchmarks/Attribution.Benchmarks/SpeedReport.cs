using System.Diagnostics;
using System.Globalization;
using System.Text;
using Attribution.Engine;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Pipeline;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Benchmarks;

/// <summary>
/// The side-by-side speed report: per method, ms per text at 20 and 64 tokens on the BERT-base shape (one text per
/// call) for this library's defaults, for the same computation scheduled as Captum schedules it by default, and the
/// GEMM floor (the matrix products the computation needs at the matmul speed measured in this run); then texts per
/// second in batch, on the BERT-base shape (batches of 8 texts of 20 tokens) and on sst2-bert-tiny (1,000 SST-2
/// sentences), with a sweep of the texts-per-batch setting.
/// Run: <c>dotnet run -c Release --project benchmarks/Attribution.Benchmarks -- speed-report [tiny texts] [output.md]</c>.
/// </summary>
/// <remarks>
/// Captum itself cannot run here (no PyTorch: PyPI is not reachable from this machine), so its default schedule is
/// replayed on this engine with the same weights: Saliency / InputXGradient = a prediction pass then their own
/// forward and backward pass; LayerIntegratedGradients / LayerConductance at 50 steps with internal_batch_size=None =
/// every path point in one pass; Lime with perturbations_per_eval=1 = one model call per sample, no de-duplication
/// (the surrogate fit is left out, in Captum's favour). Python's own overhead is not counted, also in Captum's favour.
/// </remarks>
public static class SpeedReport
{
    private const int Hidden = 768, Intermediate = 3072, Layers = 12;

    public static int Run(string[] args)
    {
        var tinyCount = BenchmarkArguments.Int(args, 0, "tiny texts", 1000);
        var output = args.Length > 1 ? args[1] : Path.Combine("benchmarks", "results", "speed-report.md");
        // The best of five measurements a few seconds apart: the machine is shared, and a floor computed from a speed
        // measured while another process ran would not be a floor.
        var peak = 0.0;
        for (var i = 0; i < 5; i++)
        {
            peak = Math.Max(peak, IntegratedGradientsRoofline.MatMulGflops());
            Thread.Sleep(2000);
        }

        var report = new StringBuilder();
        report.AppendLine("# Speed: this library against Captum's schedule and the GEMM floor");
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture,
            $"Machine: {Environment.ProcessorCount} cores, TorchSharp with libtorch {__version__}, {get_num_threads()} intra-op threads, .NET {Environment.Version}, Release build; " +
            $"float32 2048×2048 matmul at **{peak:F0} GFLOP/s**, the best of five measurements 2 s apart at the start of this run. Command: `dotnet run -c Release --project benchmarks/Attribution.Benchmarks -- speed-report {tinyCount} {output}`.");
        report.AppendLine();
        report.AppendLine("Captum cannot run on this machine (no PyTorch; PyPI is unreachable), so the **Captum schedule** rows replay what Captum 0.8 does by default, on this engine and the same weights: " +
            "Saliency and InputXGradient run their own forward and backward pass after the prediction; LayerIntegratedGradients and LayerConductance at 50 steps put every path point in one pass (internal_batch_size=None); " +
            "Lime (perturbations_per_eval=1) calls the model once per sample, without de-duplication. Python's overhead and Lime's surrogate fit are not counted, both in Captum's favour.");
        report.AppendLine();

        using (var bertBase = BenchmarkModels.BertBaseRandom())
        {
            report.AppendLine("## BERT-base shape (12 layers, hidden 768; random weights), one text per call");
            report.AppendLine();
            report.AppendLine("The floor is the GEMM work the library's computation needs (forward: 2·T·(4H²+2HF) + 4·T²·H per layer; a backward to the inputs doubles the linear layers and triples attention; a logits-only forward — LIME's, the shared pass of Gradient and Gradient × Input, every pass of Integrated Gradients and of conductance at layer 0, and LRP's — runs the last layer's keys and values for every token and the rest for the first) at the matmul speed above. \"Captum / floor\" is the most speed-up any run doing the library's work could show against the Captum schedule as measured. Best of 5 runs (LIME: 2) after a warm-up of each side, the library and the Captum schedule alternating. The floor assumes the 2048² matmul speed; one text's products run slower (gemm-shapes.md: 88 and 119 GFLOP/s at 20 and 64 tokens), so for the gradient rows \"Captum / floor\" overstates what is reachable.");
            report.AppendLine();
            report.AppendLine("| tokens | method | library ms | Captum schedule ms | library speed-up | floor ms | library / floor | Captum / floor | model passes (library) |");
            report.AppendLine("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
            foreach (var tokens in new[] { 20, 64 })
            {
                var text = BenchmarkModels.SentenceOfTokens(bertBase.Tokenizer, tokens);
                PerText(report, bertBase, text, tokens, peak);
            }

            report.AppendLine();
            report.AppendLine("### Texts per second in batch (BERT-base shape, 8 texts of 20 tokens per call)");
            report.AppendLine();
            var batchTexts = Enumerable.Range(0, 8).Select(i => BenchmarkModels.SentenceOfTokens(bertBase.Tokenizer, 20 - (i % 2))).ToArray();
            report.AppendLine("| method | texts / s in batches of 8 | texts / s one per call |");
            report.AppendLine("| --- | ---: | ---: |");
            foreach (var (name, method) in LibraryMethods())
            {
                var batched = Best(() => method.Explain(bertBase, batchTexts, new ExplainOptions { BatchSize = 8 }));
                var single = Best(() => batchTexts.Take(2).Select(t => method.Explain(bertBase, [t])).ToList());
                report.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {batchTexts.Length / batched:F2} | {2 / single:F2} |");
                Console.Error.WriteLine($"bert-base batch {name}: {batchTexts.Length / batched:F2} texts/s");
            }

            report.AppendLine();
        }

        using (var tiny = BenchmarkModels.SstBertTiny())
        {
            var texts = TinyTexts(tinyCount);
            report.AppendLine(CultureInfo.InvariantCulture, $"## sst2-bert-tiny, {texts.Length} SST-2 sentences ({Math.Min(texts.Length, 872)} dev, the rest the first train sentences)");
            report.AppendLine();
            report.AppendLine("Texts per second with the library's defaults (length-bucketed batches of up to 64 texts within 2048 padded tokens), the whole set in one call, the better of two runs (the first runs every batch shape once, as a warm-up would):");
            report.AppendLine();
            report.AppendLine("| method | texts / s | s for all |");
            report.AppendLine("| --- | ---: | ---: |");
            foreach (var (name, method) in LibraryMethods())
            {
                var seconds = BenchmarkStatistics.BestOfAlternating(2, () => Time(() => method.Explain(tiny, texts)))[0];
                report.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {texts.Length / seconds:F1} | {seconds:F1} |");
                Console.Error.WriteLine($"tiny {name}: {texts.Length / seconds:F1} texts/s");
            }

            var all = LibraryMethods().Where(m => m.Name is "gradient" or "gradient-x-input" or "integrated-gradients" or "lrp-epsilon").Select(m => m.Method).ToArray();
            var together = BenchmarkStatistics.BestOfAlternating(2, () => Time(() => MethodRunner.AttributeAll(tiny, texts, all, new ExplainOptions())))[0];
            report.AppendLine(CultureInfo.InvariantCulture,
                $"| gradient + gradient-x-input + integrated-gradients + lrp-epsilon in one MethodRunner.AttributeAll call (texts / s for all four) | {texts.Length / together:F1} | {together:F1} |");
            report.AppendLine();

            report.AppendLine("Texts per batch (ExplainOptions.BatchSize) against throughput, texts / s on the first 400 sentences, the better of two runs, the sizes alternating:");
            report.AppendLine();
            int[] sizes = [1, 4, 16, 64];
            report.AppendLine("| method | " + string.Join(" | ", sizes.Select(s => $"batch {s}")) + " |");
            report.AppendLine("| --- |" + string.Concat(sizes.Select(_ => " ---: |")));
            var sweepTexts = texts.Take(400).ToArray();
            foreach (var (name, method) in LibraryMethods().Where(m => m.Name is "gradient-x-input" or "integrated-gradients" or "conductance" or "lrp-epsilon"))
            {
                // The better of two runs at each size, the sizes alternating, as in the tables above (one run each made
                // this table noisier than the others, and its first size paid the shapes' first-call costs alone).
                var seconds = BenchmarkStatistics.SweepBest(2, sizes, size => Time(() => method.Explain(tiny, sweepTexts, new ExplainOptions { BatchSize = size })));
                var cells = seconds.Select(s => (sweepTexts.Length / s).ToString("F1", CultureInfo.InvariantCulture));
                report.AppendLine($"| {name} | {string.Join(" | ", cells)} |");
            }

            report.AppendLine();
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        File.WriteAllText(output, report.ToString());
        Console.WriteLine(report);
        Console.Error.WriteLine($"wrote {output}");
        return 0;
    }

    private static (string Name, IAttributor Method)[] LibraryMethods() =>
    [
        ("gradient", new Gradient()),
        ("gradient-x-input", new GradientXInput()),
        ("integrated-gradients", new IntegratedGradients()),
        ("conductance", new LayerConductance { Layer = "bert.encoder.layer.0" }),
        ("lime", new Lime { Samples = 256 }),
        ("lrp-epsilon", new LrpEpsilon()),
    ];

    private static void PerText(StringBuilder report, TextClassifier model, string text, int tokens, double peak)
    {
        var gradientPass = LogitsOnlyForwardBackwardGflop(tokens);
        var ig = new IntegratedGradients();
        var conductance = new LayerConductance { Layer = "bert.encoder.layer.0" };
        var lime = new Lime { Samples = 256 };

        // (method, library run, Captum-schedule run, floor in GFLOP given the library's explanation, what the library ran)
        var rows = new List<(string Name, Func<Explanation> Library, Action Captum, Func<Explanation, double> Floor, Func<Explanation, string> Passes)>
        {
            ("gradient", () => new Gradient().Explain(model, text), () => OnFullModel(model, () => new FreshPassGradient(multiplyByInput: false).Explain(model, text)),
                _ => gradientPass, _ => "1 forward (logits only) + 1 backward"),
            ("gradient-x-input", () => new GradientXInput().Explain(model, text), () => OnFullModel(model, () => new FreshPassGradient(multiplyByInput: true).Explain(model, text)),
                _ => gradientPass, _ => "1 forward (logits only) + 1 backward"),
            ("gradient and gradient-x-input together", () => MethodRunner.AttributeAll(model, [text], [new Gradient(), new GradientXInput()])[1][0],
                () => OnFullModel(model, () =>
                {
                    new FreshPassGradient(multiplyByInput: false).Explain(model, text);
                    return new FreshPassGradient(multiplyByInput: true).Explain(model, text);
                }),
                _ => gradientPass, _ => "1 forward (logits only) + 1 backward for both"),
            ("integrated-gradients (adaptive; Captum: 50 steps)", () => ig.Explain(model, text), () => OnFullModel(model, () => CaptumDefaults.IntegratedGradients(1).Explain(model, text)),
                e => (Evaluations(e) * gradientPass) + (2 * LogitsOnlyForwardGflop(tokens)), e => $"{Evaluations(e)} path points (steps used {e.Setting("steps-used")}) + {EndForwards}"),
            ("conductance layer 0 (adaptive; Captum: 50 steps)", () => conductance.Explain(model, text), () => OnFullModel(model, () => CaptumDefaults.LayerConductance("bert.encoder.layer.0", 1).Explain(model, text)),
                e => (Evaluations(e) * gradientPass) + (2 * LogitsOnlyForwardGflop(tokens)), e => $"{Evaluations(e)} path points + {EndForwards}"),
            ("lime (256 samples)", () => lime.Explain(model, text), () => CaptumLimeSchedule(model, text, 256),
                e => (Distinct(lime, model, text, e) + 1) * LogitsOnlyForwardGflop(tokens), e => $"{Distinct(lime, model, text, e)} distinct perturbed texts of 256 + 1 forward, logits only"),
            ("lrp-epsilon", () => new LrpEpsilon().Explain(model, text), () => { },
                _ => gradientPass, _ => "1 relevance pass (forward and backward, logits only), which also makes the prediction"),
        };

        foreach (var (name, library, captum, floor, passes) in rows)
        {
            // Every side warmed once (the library's warm-up also gives the explanation the floor and passes read), then
            // the library and the Captum schedule alternate, so both see the same moments of this shared machine.
            Explanation explanation = null!;
            var hasCaptum = name != "lrp-epsilon";
            Action[] sides = hasCaptum ? [() => explanation = library(), captum] : [() => explanation = library()];
            var best = BenchmarkStatistics.WarmedBestOfAlternating(name.StartsWith("lime", StringComparison.Ordinal) ? 2 : 5, Time, sides);
            var libraryMs = 1000 * best[0];
            double? captumMs = hasCaptum ? 1000 * best[1] : null;

            var floorMs = 1000 * floor(explanation) / peak;
            var captumCell = captumMs is { } c ? c.ToString("F0", CultureInfo.InvariantCulture) : "n/a (Captum's LRP has no rules for attention)";
            var speedUp = captumMs is { } cm ? (cm / libraryMs).ToString("F2", CultureInfo.InvariantCulture) + "×" : "–";
            var bound = captumMs is { } cb ? (cb / floorMs).ToString("F2", CultureInfo.InvariantCulture) + "×" : "–";
            report.AppendLine(CultureInfo.InvariantCulture,
                $"| {tokens} | {name} | {libraryMs:F0} | {captumCell} | {speedUp} | {floorMs:F0} | {libraryMs / floorMs:F2} | {bound} | {passes(explanation)} |");
            Console.Error.WriteLine($"bert-base {tokens} {name}: library {libraryMs:F0} ms, captum schedule {captumCell} ms, floor {floorMs:F0} ms");
        }
    }

    /// <summary>
    /// The forward passes adaptive IG and conductance run on one text besides the path points, which the floor counts
    /// (2 · LogitsOnlyForwardGflop): the prediction's pass also keeps the path's input end (FirstPass.PathStart), and
    /// the baseline end runs one pass (PathInputs.Compute; AdaptivePathPassesTests). A third, F at the path's start,
    /// runs only where a text's scores are stable but its delta misses the target (AdaptiveRefinement.Offer).
    /// </summary>
    private const string EndForwards = "2 forwards (the prediction, which keeps the input end, and the baseline), all logits only";

    private static int Evaluations(Explanation e) => int.Parse(e.Setting("gradient-evaluations") ?? e.Setting("steps")!, CultureInfo.InvariantCulture);

    /// <summary>The distinct perturbed texts LIME sends to the model for this text (the same seeded masks as the explanation).</summary>
    private static int Distinct(Lime lime, TextClassifier model, string text, Explanation e) =>
        lime.Run(model, text, e.Target).PerturbedTexts.Distinct(StringComparer.Ordinal).Count();

    /// <summary>Wall time of one run, in seconds.</summary>
    private static double Time(Action run)
    {
        var clock = Stopwatch.StartNew();
        run();
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>Best wall time of two runs, in seconds.</summary>
    private static double Best(Func<object> run)
    {
        var best = double.MaxValue;
        for (var i = 0; i < 2; i++)
        {
            var clock = Stopwatch.StartNew();
            run();
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }

        return best;
    }

    // GEMM work in GFLOP. Per layer and token: the linear layers 2·(4H² + 2HF), attention 4·T·H (scores and context);
    // a backward to the inputs doubles the linear layers and triples attention. Logits only
    // (ModelInput.LogitsOnly): the last layer computes its keys and values for every token and the rest for the first.
    private static double Linear(int tokens) => 2.0 * tokens * ((4.0 * Hidden * Hidden) + (2.0 * Hidden * Intermediate));

    private static double Attention(int tokens) => 4.0 * tokens * tokens * Hidden;

    private static double LastLayerLinearLogitsOnly(int tokens) => (2.0 * tokens * 2.0 * Hidden * Hidden) + (2.0 * ((2.0 * Hidden * Hidden) + (2.0 * Hidden * Intermediate)));

    private static double LastLayerAttentionLogitsOnly(int tokens) => 4.0 * tokens * Hidden;

    private static double LogitsOnlyForwardGflop(int tokens) =>
        (((Layers - 1) * (Linear(tokens) + Attention(tokens))) + LastLayerLinearLogitsOnly(tokens) + LastLayerAttentionLogitsOnly(tokens)) / 1e9;

    private static double LogitsOnlyForwardBackwardGflop(int tokens) =>
        (((Layers - 1) * ((2 * Linear(tokens)) + (3 * Attention(tokens)))) + (2 * LastLayerLinearLogitsOnly(tokens)) + (3 * LastLayerAttentionLogitsOnly(tokens))) / 1e9;

    private static string[] TinyTexts(int count)
    {
        var dev = BenchmarkModels.DevSentences(872);
        var train = File.ReadLines(Path.Combine(BenchmarkModels.SharedDirectory, "data", "sst2", "train.tsv")).Skip(1)
            .Select(l => l[..l.LastIndexOf('\t')]).Where(t => t.Split(' ').Length >= 4).Take(Math.Max(0, count - dev.Length));
        return dev.Concat(train).Take(count).ToArray();
    }

    /// <summary>Captum's Lime with perturbations_per_eval=1: a prediction, then one model call per sample (words kept with probability ½, absent tokens become [PAD]).</summary>
    private static void CaptumLimeSchedule(TextClassifier model, string text, int samples)
    {
        var encoding = model.Tokenizer.Encode(text);
        var ids = encoding.Ids;
        FullForward(model, ids);
        var random = new Random(0);
        for (var s = 0; s < samples; s++)
        {
            var perturbed = ids.Select((id, t) => encoding.SpecialTokensMask[t] || random.Next(2) == 1 ? id : model.Tokenizer.PadId).ToArray();
            FullForward(model, perturbed);
        }
    }

    /// <summary>The whole model on one sequence, as a Hugging Face model runs it (every position of every layer).</summary>
    private static void FullForward(TextClassifier model, long[] ids)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        _ = model.Logits(new ModelInput(tensor(ids, [1, ids.Length]), ones(1, ids.Length, ScalarType.Int64), model.UsesTokenTypes ? zeros(1, ids.Length, ScalarType.Int64) : null));
    }

    /// <summary>Captum's Saliency schedule on one text: the prediction, then Saliency's own forward and backward pass.</summary>
    internal static Explanation CaptumSaliency(TextClassifier model, string text) => OnFullModel(model, () => new FreshPassGradient(multiplyByInput: false).Explain(model, text));

    /// <summary>
    /// Runs a Captum schedule with every pass on the whole model, as a Hugging Face model runs in PyTorch: a hook of this
    /// flow on the encoder (which does nothing but would read its every position) keeps the library from running any
    /// pass logits only (ModelInput.LogitsOnly; ModuleHooks.OnlyFlowHooksOn).
    /// </summary>
    internal static T OnFullModel<T>(TextClassifier model, Func<T> run)
    {
        using var hook = ModuleHooks.AddForwardHook(model.Module.Submodule("bert.encoder"), (_, _, _) => null);
        return run();
    }

    /// <summary>Saliency / InputXGradient as Captum runs them after the user's prediction: their own forward and backward pass.</summary>
    private sealed class FreshPassGradient(bool multiplyByInput) : TextAttributor
    {
        public override string Name => multiplyByInput ? "captum-input-x-gradient" : "captum-saliency";

        public override Signedness Signedness => multiplyByInput ? Signedness.Signed : Signedness.Unsigned;

        public override HiddenReduction Reduction => multiplyByInput ? HiddenReduction.Sum : HiddenReduction.L2;

        protected override IEnumerable<KeyValuePair<string, string>> DescribeSettings() => [];

        protected override MethodOutput Attribute(AttributionContext context)
        {
            // A replacement (here the identity) makes the context run a pass of its own instead of reusing the first forward.
            var pass = context.GradientAt(context.Site(null), value => value);
            return new MethodOutput(multiplyByInput ? pass.Gradient * pass.Activation : pass.Gradient, PerDimension: true);
        }
    }
}
