using System.Globalization;
using Attribution.Data;
using Attribution.Evaluation;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Pipeline;
using Attribution.Salience;
using Attribution.Tests.Methods;
using Attribution.Text.Tokenizers;

namespace Attribution.Tests.Reliability;

/// <summary>
/// Every public setting of the methods, the pipeline, the evaluation and the renderers at the values a hostile
/// reviewer tries (0, −1, 1, the documented limit and one above, int.MinValue / MaxValue; NaN, ±∞, −0.0, 1e−300,
/// 1e300; undefined enum values; null, empty and blank strings and lists; ulong.MaxValue seeds). Each case either
/// works with finite scores, or is refused before any model call with an ArgumentException whose ParamName is the
/// setting and whose message gives the value. Models: <see cref="PowerOfSum"/> (p = 1) and a counting black box.
/// </summary>
public sealed class ExtremeSettingsTests
{
    private const string Text = "3 4 5";

    /// <summary>A case: what it runs on the fixture, and the setting that must be refused (null: it must work).</summary>
    private sealed record Case(Func<Fixture, object?> Run, string? Refused, string? Value);

    private sealed class Fixture : IDisposable
    {
        public Fixture()
        {
            Counter = new ForwardCounter(Model);
            BlackBox = new BlackBoxClassifier(
                texts =>
                {
                    BlackBoxCalls++;
                    return texts.Select(t =>
                    {
                        var p = 1 / (1 + Math.Exp(-0.3 * t.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length));
                        return new[] { 1 - p, p };
                    }).ToArray();
                },
                ["neg", "pos"]);
        }

        public TextClassifier Model { get; } = PowerOfSum.Classifier(1);

        public ForwardCounter Counter { get; }

        public BlackBoxClassifier BlackBox { get; }

        public int BlackBoxCalls { get; set; }

        public int Calls => Counter.Calls + BlackBoxCalls;

        public void Dispose()
        {
            Counter.Dispose();
            Model.Dispose();
        }
    }

    private static readonly int[] BadCounts = [0, -1, int.MinValue, int.MaxValue];

    private static string Show(double value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Show(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static IEnumerable<(string, Case)> Gradient(string name, Func<IAttributor> method, string? refused, string? value, ExplainOptions? options = null) =>
        [(name, new Case(f => method().Explain(f.Model, [Text], options ?? new ExplainOptions { Target = Target.Class(0) }), refused, value))];

    private static IEnumerable<(string, Case)> BlackBox(string name, Func<IAttributor> method, string? refused, string? value, ExplainOptions? options = null) =>
        [(name, new Case(f => method().Explain(f.BlackBox, [Text], options ?? new ExplainOptions { Target = Target.Class(1) }), refused, value))];

    private static IEnumerable<(string, Case)> Counts(string prefix, string setting, IEnumerable<int> values, Func<int, IAttributor> method, bool blackBox = false) =>
        values.SelectMany(v => blackBox
            ? BlackBox($"{prefix}.{setting}={Show(v)}", () => method(v), setting, Show(v))
            : Gradient($"{prefix}.{setting}={Show(v)}", () => method(v), setting, Show(v)));

    private static IEnumerable<(string, Case)> Doubles(string prefix, string setting, IEnumerable<double> values, Func<double, IAttributor> method, bool blackBox = false) =>
        values.SelectMany(v => blackBox
            ? BlackBox($"{prefix}.{setting}={Show(v)}", () => method(v), setting, Show(v))
            : Gradient($"{prefix}.{setting}={Show(v)}", () => method(v), setting, Show(v)));

    private static readonly double[] NonFinite = [double.NaN, double.PositiveInfinity, double.NegativeInfinity];

    private static IEnumerable<(string, Case)> MethodCases() =>
    [
        // Integrated Gradients and the path settings.
        .. Counts("ig", "Steps", [.. BadCounts, 10_001, -10_000], s => new IntegratedGradients { Steps = s }),
        .. Gradient("ig.Steps=1 (Gauss-Legendre)", () => new IntegratedGradients { Steps = 1 }, null, null),
        .. Gradient("ig.Steps=1 (trapezoid)", () => new IntegratedGradients { Steps = 1, Rule = IntegrationRule.RiemannTrapezoid }, "Steps", "1"),
        .. Gradient("ig.Rule=99", () => new IntegratedGradients { Rule = (IntegrationRule)99 }, "Rule", "99"),
        .. Counts("ig", "InternalBatchSize", [.. BadCounts, PathMethod.MaxInternalBatchSize + 1], n => new IntegratedGradients { InternalBatchSize = n }),
        .. Gradient("ig.InternalBatchSize=1", () => new IntegratedGradients { Steps = 8, InternalBatchSize = 1 }, null, null),
        .. Counts("ig", "TokenBudget", [.. BadCounts, AttributionOptions.MaxTokenBudget + 1], n => new IntegratedGradients { TokenBudget = n }),
        .. Gradient("ig.TokenBudget=1", () => new IntegratedGradients { Steps = 8, TokenBudget = 1 }, null, null),
        .. Gradient("ig.Baseline=null", () => new IntegratedGradients { Baseline = null! }, "Baseline", null),
        .. Gradient("ig.Adaptive=null", () => new IntegratedGradients { Adaptive = null! }, "Adaptive", null),
        .. Doubles("ig.adaptive", "Tolerance", [.. NonFinite, 0, -0.0, -1, 1e-300, 1e300, 0.5000001],
            t => new IntegratedGradients { Adaptive = new AdaptiveIntegration { Tolerance = t } }),
        .. Doubles("ig.adaptive", "AbsoluteTolerance", [.. NonFinite, -1, -1e-300, 1e300],
            t => new IntegratedGradients { Adaptive = new AdaptiveIntegration { AbsoluteTolerance = t } }),
        .. Gradient("ig.adaptive.AbsoluteTolerance=-0.0", () => new IntegratedGradients { Adaptive = new AdaptiveIntegration { AbsoluteTolerance = -0.0 } }, null, null),
        .. Counts("ig.adaptive", "InitialSteps", [0, 1, -1, int.MinValue, int.MaxValue, 1 << 30, 10_001],
            n => new IntegratedGradients { Adaptive = new AdaptiveIntegration { InitialSteps = n } }),
        .. Counts("ig.adaptive", "MaxSteps", [0, -1, 7, int.MinValue, int.MaxValue, 10_001],
            n => new IntegratedGradients { Adaptive = new AdaptiveIntegration { MaxSteps = n } }),
        .. Counts("conductance.adaptive", "InitialSteps", [1, int.MaxValue, 1 << 30, 5_001],
            n => new LayerConductance { Layer = "projection", Adaptive = new AdaptiveIntegration { InitialSteps = n } }),
        .. Gradient("ig.adaptive 2..4", () => new IntegratedGradients { Adaptive = new AdaptiveIntegration { InitialSteps = 2, MaxSteps = 4 } }, null, null),

        // Layer settings (Gradient is a layer method).
        .. Gradient("gradient.Layer=\"\" (the root module)", () => new Gradient { Layer = string.Empty }, "Layer", "(the model)"),
        .. Gradient("gradient.Layer=blank", () => new Gradient { Layer = "  " }, "Layer", null),
        .. Gradient("gradient.Layer=long", () => new Gradient { Layer = new string('x', 100_000) }, "Layer", null),
        .. Gradient("gradient.Layer=unknown", () => new Gradient { Layer = "nope" }, "Layer", "nope"),
        .. Gradient("gradient.Layer=projection", () => new Gradient { Layer = "projection" }, null, null),
        .. Gradient("gradient.Side=99", () => new Gradient { Side = (LayerSide)99 }, "Side", "99"),
        .. Gradient("gradient.Reduce=99", () => new Gradient { Reduce = (HiddenReduction)99 }, "Reduce", "99"),
        .. Counts("gradient", "TensorIndex", [-1, int.MinValue], i => new Gradient { TensorIndex = i }),
        .. Gradient("gxi.Reduce=99", () => new GradientXInput { Reduce = (HiddenReduction)99 }, "Reduce", "99"),

        // Conductance.
        .. Gradient("conductance.Layer=null", () => new LayerConductance(), "Layer", null),
        .. Gradient("conductance.InputLayer=\"\"", () => new LayerConductance { Layer = "projection", InputLayer = string.Empty }, "InputLayer", "InputLayer \"\""),
        .. Gradient("neuron.InputLayer=\"\"", () => new NeuronConductance { Layer = "projection", Position = 0, Unit = 0, InputLayer = string.Empty }, "InputLayer", "InputLayer \"\""),
        .. Counts("conductance", "Steps", [.. BadCounts, 10_000], s => new LayerConductance { Layer = "projection", Steps = s }),
        .. Gradient("conductance.Steps=2", () => new LayerConductance { Layer = "projection", Steps = 2 }, null, null),
        .. Counts("neuron", "Position", [-1, int.MinValue], p => new NeuronConductance { Layer = "projection", Position = p, Unit = 0 }),
        .. Counts("neuron", "Unit", [-1, int.MinValue], u => new NeuronConductance { Layer = "projection", Position = 0, Unit = u }),

        // Noise tunnel.
        .. Counts("noise", "Samples", [.. BadCounts, NoiseTunnel.MaxSamples + 1], n => new NoiseTunnel(new Gradient()) { Samples = n }),
        .. Gradient("noise.Samples=1", () => new NoiseTunnel(new Gradient()) { Samples = 1 }, null, null),
        .. Doubles("noise", "Stdev", [.. NonFinite, -1, -1e-300], s => new NoiseTunnel(new Gradient()) { Stdev = s }),
        .. Gradient("noise.Stdev=-0.0", () => new NoiseTunnel(new Gradient()) { Stdev = -0.0, Samples = 2 }, null, null),
        .. Gradient("noise.Stdev=1e300 (gradient of a linear model)", () => new NoiseTunnel(new Gradient()) { Stdev = 1e300, Samples = 2 }, null, null),
        .. Doubles("noise", "NoiseLevel", [.. NonFinite, -1], s => new NoiseTunnel(new Gradient()) { NoiseLevel = s }),
        .. Gradient("noise.Type=99", () => new NoiseTunnel(new Gradient()) { Type = (NoiseTunnelType)99 }, "Type", "99"),
        .. Gradient("noise.Seed=max", () => new NoiseTunnel(new Gradient()) { Seed = ulong.MaxValue, Samples = 2 }, null, null),

        // Gradient SHAP.
        .. Counts("gshap", "Samples", [.. BadCounts, GradientShap.MaxSamples + 1], n => new GradientShap { Samples = n }),
        .. Doubles("gshap", "Stdev", [.. NonFinite, -1, -1e-300], s => new GradientShap { Stdev = s }),
        .. Gradient("gshap.Baselines=null", () => new GradientShap { Baselines = null! }, "Baselines", null),
        .. Gradient("gshap.Baselines=[]", () => new GradientShap { Baselines = [] }, "Baselines", null),
        .. Gradient("gshap.Baselines=[null]", () => new GradientShap { Baselines = [null!] }, "Baselines", null),
        .. Gradient("gshap.Baselines=[pad, pad]", () => new GradientShap { Baselines = [Baseline.Pad, Baseline.Pad], Seed = ulong.MaxValue }, null, null),
        .. Counts("gshap", "InternalBatchSize", [.. BadCounts, PathMethod.MaxInternalBatchSize + 1], n => new GradientShap { InternalBatchSize = n }),
        .. Counts("gshap", "TokenBudget", [.. BadCounts, AttributionOptions.MaxTokenBudget + 1], n => new GradientShap { TokenBudget = n }),

        // LIME (on the black box).
        .. Counts("lime", "Samples", [.. BadCounts, Lime.MaxSamples + 1], n => new Lime { Samples = n }, blackBox: true),
        .. Counts("lime", "BatchSize", [.. BadCounts, PerturbationMethod.MaxBatchSize + 1], n => new Lime { BatchSize = n }, blackBox: true),
        .. Counts("lime", "TokenBudget", [.. BadCounts, AttributionOptions.MaxTokenBudget + 1], n => new Lime { TokenBudget = n }, blackBox: true),
        .. Doubles("lime", "KernelWidth", [.. NonFinite, 0, -0.0, -1], w => new Lime { KernelWidth = w }, blackBox: true),
        .. BlackBox("lime.KernelWidth=1e300", () => new Lime { KernelWidth = 1e300, Samples = 16 }, null, null),
        // 1e-300 squared underflows to 0, so every kernel weight is exp(-d²/0) = 0 for d > 0, and NaN (0/0) at d = 0. Which
        // samples there are depends on the masks, so it is refused once they are drawn: after the prediction's one call,
        // before the 16 samples' calls (the fit failed after all of them, with an InvalidOperationException).
        .. BlackBox("lime.KernelWidth=1e-300 (captum, after the prediction)", () => new Lime { Preset = LimePreset.Captum, KernelWidth = 1e-300, Samples = 16 }, "KernelWidth", "1E-300"),
        .. Doubles("lime", "Alpha", [.. NonFinite, -1, -1e-300], a => new Lime { Alpha = a }, blackBox: true),
        .. BlackBox("lime.Alpha=1e300", () => new Lime { Alpha = 1e300, Samples = 16 }, null, null),
        .. BlackBox("lime.Alpha=0", () => new Lime { Alpha = 0, Samples = 16 }, null, null),
        .. BlackBox("lime.MaskToken=\"\"", () => new Lime { MaskToken = string.Empty }, "MaskToken", null),
        .. BlackBox("lime.MaskToken=blank", () => new Lime { MaskToken = " \t" }, "MaskToken", null),
        .. BlackBox("lime.Preset=99", () => new Lime { Preset = (LimePreset)99 }, "Preset", "99"),
        .. BlackBox("lime.Features=99", () => new Lime { Features = (LimeFeatures)99 }, "Features", "99"),
        .. BlackBox("lime.Perturbation=99", () => new Lime { Perturbation = (LimePerturbation)99 }, "Perturbation", "99"),
        .. BlackBox("lime.Seed=max", () => new Lime { Seed = ulong.MaxValue, Samples = 16 }, null, null),

        // Perturbation methods (on the black box).
        .. Counts("occlusion", "Window", [0, -1, int.MinValue], w => new Occlusion { Window = w }, blackBox: true),
        .. Counts("occlusion", "Stride", [0, -1, int.MinValue, int.MaxValue], s => new Occlusion { Stride = s }, blackBox: true),
        .. BlackBox("occlusion.Window=3, Stride=3", () => new Occlusion { Window = 3, Stride = 3 }, null, null),
        .. Counts("occlusion", "BatchSize", [.. BadCounts, PerturbationMethod.MaxBatchSize + 1], n => new Occlusion { BatchSize = n }, blackBox: true),
        .. Counts("occlusion", "TokenBudget", [.. BadCounts, AttributionOptions.MaxTokenBudget + 1], n => new Occlusion { TokenBudget = n }, blackBox: true),
        .. BlackBox("occlusion.Features=99", () => new Occlusion { Features = (LimeFeatures)99 }, "Features", "99"),
        .. BlackBox("occlusion.Perturbation=99", () => new Occlusion { Perturbation = (AbsentFeature)99 }, "Perturbation", "99"),
        .. BlackBox("occlusion.MaskToken=null", () => new Occlusion { MaskToken = null! }, "MaskToken", null),
        .. BlackBox("occlusion.MaskToken=\"\"", () => new Occlusion { MaskToken = string.Empty }, "MaskToken", null),
        .. BlackBox("occlusion.MaskToken=long", () => new Occlusion { MaskToken = new string('m', 10_000) }, null, null),
        .. Counts("shapley", "MaxFeatures", [.. BadCounts, ShapleyValues.FeatureLimit + 1], n => new ShapleyValues { MaxFeatures = n }, blackBox: true),
        .. Counts("shapley-sampling", "Samples", [.. BadCounts, ShapleyValueSampling.MaxSamples + 1], n => new ShapleyValueSampling { Samples = n }, blackBox: true),
        .. BlackBox("shapley-sampling.Seed=max", () => new ShapleyValueSampling { Seed = ulong.MaxValue, Samples = 2 }, null, null),
        .. Counts("kernel-shap", "Samples", [.. BadCounts, KernelShap.MaxSamples + 1], n => new KernelShap { Samples = n }, blackBox: true),
        .. BlackBox("kernel-shap.Seed=max", () => new KernelShap { Seed = ulong.MaxValue, Samples = 8 }, null, null),
    ];

    private static IEnumerable<(string, Case)> OptionCases()
    {
        foreach (var n in (int[])[.. BadCounts, AttributionOptions.MaxBatchSize + 1])
        {
            foreach (var c in Gradient($"options.BatchSize={Show(n)}", () => new Gradient(), "BatchSize", Show(n), new ExplainOptions { BatchSize = n }))
            {
                yield return c;
            }

            foreach (var c in BlackBox($"options.BatchSize={Show(n)} (black box)", () => new Occlusion(), "BatchSize", Show(n), new ExplainOptions { BatchSize = n }))
            {
                yield return c;
            }
        }

        foreach (var n in (int[])[.. BadCounts, AttributionOptions.MaxTokenBudget + 1])
        {
            foreach (var c in Gradient($"options.TokenBudget={Show(n)}", () => new Gradient(), "TokenBudget", Show(n), new ExplainOptions { TokenBudget = n }))
            {
                yield return c;
            }
        }

        foreach (var c in Gradient("options.Score=99", () => new Gradient(), "Score", "99", new ExplainOptions { Score = (ScoreOutput)99 })) { yield return c; }
        foreach (var c in Gradient("options.TruncationStrategy=99", () => new Gradient(), "TruncationStrategy", "99", new ExplainOptions { TruncationStrategy = (TruncationStrategy)99, Truncate = true })) { yield return c; }
        foreach (var c in Gradient("options.Target=-1", () => new Gradient(), "Target", "-1", new ExplainOptions { Target = Target.Class(-1) })) { yield return c; }
        foreach (var c in Gradient("options.Target=int.MaxValue", () => new Gradient(), "Target", null, new ExplainOptions { Target = Target.Class(int.MaxValue) })) { yield return c; }
        foreach (var c in BlackBox("options.Target=2 (occlusion, black box)", () => new Occlusion(), "Target", "2", new ExplainOptions { Target = Target.Class(2) })) { yield return c; }
        foreach (var c in BlackBox("options.Target=-1 (lime, black box)", () => new Lime(), "Target", "-1", new ExplainOptions { Target = Target.Class(-1) })) { yield return c; }
        foreach (var c in BlackBox("options.Target=unknown label (lime, black box)", () => new Lime(), "Target", "maybe", new ExplainOptions { Target = Target.Named("maybe") })) { yield return c; }
        foreach (var c in BlackBox("options.Score=99 (occlusion, black box)", () => new Occlusion(), "Score", "99", new ExplainOptions { Score = (ScoreOutput)99 })) { yield return c; }
        yield return ("sensitivity options.Target=7", new Case(f => MaxSensitivity.Compute(f.Model, new Gradient(), Text, new ExplainOptions { Target = Target.Class(7) }), "Target", "7"));
        foreach (var c in Gradient("options.Salience=null", () => new Gradient(), "Salience", null, new ExplainOptions { Salience = null! })) { yield return c; }
        foreach (var c in Gradient("options.Salience.Normalization=99", () => new Gradient(), "Normalization", "99",
            new ExplainOptions { Salience = new SalienceOptions { Normalization = (Normalization)99 } })) { yield return c; }
        foreach (var c in Gradient("options.Salience.WordAggregation=99", () => new Gradient(), "WordAggregation", "99",
            new ExplainOptions { Salience = new SalienceOptions { WordAggregation = (WordAggregation)99 } })) { yield return c; }
        foreach (var c in BlackBox("options.Salience.Normalization=99 (black box)", () => new Occlusion(), "Normalization", "99",
            new ExplainOptions { Salience = new SalienceOptions { Normalization = (Normalization)99 } })) { yield return c; }
        foreach (var c in Gradient("options.Salience.Normalization=L2", () => new Gradient(), null, null,
            new ExplainOptions { Salience = new SalienceOptions { Normalization = Normalization.L2, WordAggregation = WordAggregation.Mean } })) { yield return c; }
    }

    private static Explanation One(Fixture f) => new Gradient().Explain(f.Model, Text, new ExplainOptions { Target = Target.Class(0) });

    private static IEnumerable<(string, Case)> EvaluationCases()
    {
        foreach (var n in (int[])[.. BadCounts, SensitivitySettings.MaxSamples + 1])
        {
            yield return ($"sensitivity.Samples={Show(n)}", new Case(f => MaxSensitivity.Compute(f.Model, new Gradient(), Text, null, new SensitivitySettings { Samples = n }), "Samples", Show(n)));
        }

        foreach (var r in (double[])[.. NonFinite, 0, -0.0, -1])
        {
            yield return ($"sensitivity.Radius={Show(r)}", new Case(f => MaxSensitivity.Compute(f.Model, new Gradient(), Text, null, new SensitivitySettings { Radius = r }), "Radius", Show(r)));
        }

        yield return ("sensitivity.Seed=max", new Case(f => MaxSensitivity.Compute(f.Model, new Gradient(), Text, null, new SensitivitySettings { Seed = ulong.MaxValue, Samples = 2 }), null, null));

        foreach (var n in (int[])[.. BadCounts, InfidelitySettings.MaxSamples + 1])
        {
            yield return ($"infidelity.Samples={Show(n)}", new Case(f => Infidelity.Compute(f.Model, One(f), new InfidelitySettings { Samples = n }), "Samples", Show(n)));
        }

        foreach (var s in (double[])[.. NonFinite, 0, -0.0, -1])
        {
            yield return ($"infidelity.Stdev={Show(s)}", new Case(f => Infidelity.Compute(f.Model, One(f), new InfidelitySettings { Stdev = s }), "Stdev", Show(s)));
        }

        foreach (var k in (int[])[0, -1, int.MinValue, int.MaxValue])
        {
            yield return ($"plausibility.topK={Show(k)}", new Case(f => Plausibility.Compute(One(f), ["3"], k), "topK", Show(k)));
        }

        foreach (var x in (double[])[.. NonFinite, 0, -0.0, -1, 1.0000001])
        {
            yield return ($"shortcuts.fraction={Show(x)}", new Case(_ => Shortcuts.Plant([new LabeledText("a b", 0)], [new ShortcutWord("zz", 1)], x, 0), "fraction", Show(x)));
        }

        yield return ("shortcuts.fraction=1e-300", new Case(_ => Shortcuts.Plant([new LabeledText("a b", 0)], [new ShortcutWord("zz", 1)], 1e-300, ulong.MaxValue), null, null));

        // Sanity checks: refused before the first explanation (the model directory is never read).
        yield return ("sanity.Mode=99", new Case(f => SanityCheck.Run(f.Model, "/nonexistent", new Gradient(), [Text],
            new SanityOptions { Mode = (RandomizationMode)99, Layers = ["projection"] }), "options", "99"));
        yield return ("sanity.Variants=[99]", new Case(f => SanityCheck.Run(f.Model, "/nonexistent", new Gradient(), [Text],
            new SanityOptions { Variants = [(SanityVariant)99], Layers = ["projection"] }), "options", "99"));
        yield return ("sanity.Layers=[]", new Case(f => SanityCheck.Run(f.Model, "/nonexistent", new Gradient(), [Text],
            new SanityOptions { Layers = [] }), "options", null));
        yield return ("sanity.Layers=[null]", new Case(f => SanityCheck.Run(f.Model, "/nonexistent", new Gradient(), [Text],
            new SanityOptions { Layers = [null!] }), "options", null));
        yield return ("sanity.Layers=[nope]", new Case(f => SanityCheck.Run(f.Model, "/nonexistent", new Gradient(), [Text],
            new SanityOptions { Layers = ["nope"] }), "options", "nope"));
    }

    private static IEnumerable<(string, Case)> RenderCases()
    {
        static IReadOnlyList<ExplanationGroup> Groups(Fixture f) => ExplanationGroup.ByText([One(f)]);
        foreach (var k in (int[])[-1, int.MinValue])
        {
            yield return ($"console.TopK={Show(k)}", new Case(f => ConsoleRenderer.Render(Groups(f), new ConsoleRenderOptions { TopK = k }), "options", Show(k)));
        }

        yield return ("salience.Apply Normalization=99", new Case(f => SalienceLayer.Apply(One(f), new SalienceOptions { Normalization = (Normalization)99 }), "Normalization", "99"));
        yield return ("salience.Apply WordAggregation=99", new Case(f => SalienceLayer.Apply(One(f), new SalienceOptions { WordAggregation = (WordAggregation)99 }), "WordAggregation", "99"));
        yield return ("console.TopK=int.MaxValue", new Case(f => ConsoleRenderer.Render(Groups(f), new ConsoleRenderOptions { TopK = int.MaxValue }), null, null));
        yield return ("console.Granularity=99", new Case(f => ConsoleRenderer.Render(Groups(f), new ConsoleRenderOptions { Granularity = (Granularity)99 }), "options", "99"));
        yield return ("console.Color=99", new Case(f => ConsoleRenderer.Render(Groups(f), new ConsoleRenderOptions { Color = (ColorMode)99 }), "options", "99"));
        yield return ("console.Labels=[]", new Case(f => ConsoleRenderer.Render(Groups(f), new ConsoleRenderOptions { Labels = [] }), null, null));
        foreach (var d in (int[])[0, -1, 18, int.MinValue, int.MaxValue])
        {
            yield return ($"markdown.Digits={Show(d)}", new Case(f => MarkdownRenderer.Render(Groups(f), new MarkdownOptions { Digits = d }), "options", Show(d)));
        }

        yield return ("markdown.Digits=17", new Case(f => MarkdownRenderer.Render(Groups(f), new MarkdownOptions { Digits = 17 }), null, null));
        yield return ("markdown.Granularity=99", new Case(f => MarkdownRenderer.Render(Groups(f), new MarkdownOptions { Granularity = (Granularity)99 }), "options", "99"));
        yield return ("html.Granularity=99", new Case(f => HtmlReport.Render(Groups(f), "t", new HtmlReportOptions { Granularity = (Granularity)99 }), "options", "99"));
        yield return ("html.title=long", new Case(f => HtmlReport.Render(Groups(f), new string('t', 100_000)), null, null));
    }

    [Theory]
    [InlineData(int.MaxValue, 256, "InitialSteps")]
    [InlineData(1 << 30, 256, "InitialSteps")]
    [InlineData(5_001, 10_000, "InitialSteps")]
    [InlineData(4, int.MaxValue, "MaxSteps")]
    [InlineData(4, int.MinValue, "MaxSteps")]
    public void Adaptive_settings_whose_doubling_would_overflow_are_refused_by_Validate_and_Levels(int initial, int max, string param)
    {
        // Before, 2 × InitialSteps overflowed (InitialSteps ≥ 2³⁰ passed Validate and Levels was empty), and Levels with a
        // cap near int.MaxValue doubled past it into negative numbers and never ended.
        var adaptive = new AdaptiveIntegration { InitialSteps = initial, MaxSteps = max };
        FluentActions.Invoking(adaptive.Validate).Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == param);
        FluentActions.Invoking(adaptive.Levels).Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == param);
    }

    [Fact]
    public void Adaptive_levels_double_up_to_the_cap()
    {
        // By hand: 4, 8, …, 256 (7 levels); 3, 6, 12 under a cap of 20.
        new AdaptiveIntegration().Levels().Should().Equal(4, 8, 16, 32, 64, 128, 256);
        new AdaptiveIntegration { InitialSteps = 3, MaxSteps = 20 }.Levels().Should().Equal(3, 6, 12);
        new AdaptiveIntegration { InitialSteps = 5_000, MaxSteps = 10_000 }.Levels().Should().Equal(5_000, 10_000);
    }

    private static readonly Dictionary<string, Case> Cases =
        MethodCases()
            .Concat(OptionCases()).Concat(EvaluationCases()).Concat(RenderCases())
            .ToDictionary(c => c.Item1, c => c.Item2);

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Works_or_is_refused_up_front_naming_the_setting(string name)
    {
        var c = Cases[name];
        using var f = new Fixture();
        if (c.Refused is null)
        {
            var result = c.Run(f);
            ExtremeSettingsChecks.ScoresAreFinite(result);

            return;
        }

        f.Counter.Reset();
        f.BlackBoxCalls = 0;
        var error = FluentActions.Invoking(() => c.Run(f)).Should().Throw<ArgumentException>().Which;
        error.ParamName.Should().Be(c.Refused, error.Message);
        if (c.Value is not null)
        {
            ExtremeSettingsChecks.MessageNamesTheValue(error, c.Value);
        }

        // Cases that build their explanation first (infidelity, plausibility, renderers) count only after it. (The root
        // module, Layer "", is refused before any pass: it is no longer among these.)
        if (name.Contains("after the prediction)", StringComparison.Ordinal))
        {
            f.Calls.Should().BeLessThanOrEqualTo(1);
            return;
        }

        if (!name.StartsWith("infidelity.", StringComparison.Ordinal) && !name.StartsWith("plausibility.", StringComparison.Ordinal)
            && !name.StartsWith("console.", StringComparison.Ordinal) && !name.StartsWith("markdown.", StringComparison.Ordinal)
            && !name.StartsWith("html.", StringComparison.Ordinal) && !name.StartsWith("salience.", StringComparison.Ordinal))
        {
            f.Calls.Should().Be(0, "a bad setting is refused before any model call");
        }
    }
}
