using Attribution.Pipeline;
using Attribution.Engine;
using Attribution.Methods;
using Attribution.Methods.Lrp;
using Attribution.Models;

namespace Attribution.Cli;

/// <summary>The method options of one run; null means "not given" (the method's default applies).</summary>
internal sealed record MethodSettings
{
    public string? Layer { get; init; }

    public int? Steps { get; init; }

    public double? Tolerance { get; init; }

    public int? MaxSteps { get; init; }

    /// <summary>The <c>--token-budget</c> value (a run option: not listed by <see cref="Given"/>).</summary>
    public int? TokenBudget { get; init; }

    public string? Integration { get; init; }

    public string? Baseline { get; init; }

    public int? InternalBatchSize { get; init; }

    public (int Position, int Unit)? Neuron { get; init; }

    public int? Samples { get; init; }

    public ulong? Seed { get; init; }

    public double? KernelWidth { get; init; }

    public string? MaskToken { get; init; }

    public string? LimePreset { get; init; }

    public double? Epsilon { get; init; }

    public string? Attention { get; init; }

    public int? NoiseSamples { get; init; }

    public double? NoiseStdev { get; init; }

    public string? Inner { get; init; }

    public string? Reduce { get; init; }

    /// <summary>The <c>--score</c> value, when given.</summary>
    public string? Score { get; init; }

    public int? Window { get; init; }

    public int? Stride { get; init; }

    public int? MaxFeatures { get; init; }

    public string? Features { get; init; }

    public string? Perturbation { get; init; }

    /// <summary>The options given, by name (e.g. <c>--steps</c>), in a stable order.</summary>
    public IEnumerable<string> Given()
    {
        (string Name, object? Value)[] all =
        [
            ("--layer", Layer), ("--steps", Steps), ("--tolerance", Tolerance), ("--max-steps", MaxSteps), ("--integration", Integration), ("--baseline", Baseline),
            ("--internal-batch-size", InternalBatchSize), ("--neuron", Neuron), ("--samples", Samples), ("--seed", Seed),
            ("--kernel-width", KernelWidth), ("--mask-token", MaskToken), ("--lime-preset", LimePreset), ("--epsilon", Epsilon),
            ("--attention", Attention), ("--noise-samples", NoiseSamples), ("--noise-stdev", NoiseStdev), ("--inner", Inner),
            ("--reduce", Reduce), ("--window", Window), ("--stride", Stride), ("--max-features", MaxFeatures), ("--features", Features),
            ("--perturbation", Perturbation),
        ];
        return all.Where(x => x.Value is not null).Select(x => x.Name);
    }
}

/// <summary>
/// Maps method names and <see cref="MethodSettings"/> to the library's attributors. For <c>explain</c> an option
/// that the method does not use is bad usage (<see cref="CheckUsage"/>); for <c>compare</c>, where one set of options
/// serves several methods, each method takes the options it uses.
/// </summary>
internal static class MethodFactory
{
    /// <summary>The methods <c>compare</c> runs when <c>--methods</c> is not given.</summary>
    public static readonly string[] DefaultCompareMethods =
        ["gradient", "gradient-x-input", "integrated-gradients", "conductance", "lime", "lrp-epsilon", "smoothgrad"];

    /// <summary>
    /// The methods the demo runs: every method (neuron-conductance needs a neuron, so it is left out). The perturbation
    /// methods are cheap on the demo's short sentences and small model.
    /// </summary>
    public static readonly string[] DemoMethods =
    [
        .. DefaultCompareMethods, "gradient-shap", "occlusion", "shapley", "shapley-sampling", "kernel-shap",
    ];

    private static readonly string[] LayerMethods = ["gradient", "gradient-x-input", "integrated-gradients", "conductance", "neuron-conductance", "gradient-shap"];
    private static readonly string[] FeatureMethods = ["occlusion", "shapley", "shapley-sampling", "kernel-shap"];

    /// <summary>The methods that need only a model's outputs for token ids (they also explain ONNX classifiers).</summary>
    public static readonly string[] PerturbationMethods = ["lime", .. FeatureMethods];
    private static readonly string[] PathMethods = ["integrated-gradients", "conductance", "neuron-conductance"];
    private static readonly string[] AdaptiveMethods = ["integrated-gradients", "conductance"];
    private static readonly string[] ReducingMethods = ["gradient", "gradient-x-input", "integrated-gradients"];

    /// <summary>Which methods use each option (smoothgrad also uses the options of its inner method).</summary>
    private static readonly Dictionary<string, string[]> Uses = new(StringComparer.Ordinal)
    {
        ["--layer"] = LayerMethods,
        ["--steps"] = PathMethods,
        ["--tolerance"] = AdaptiveMethods,
        ["--max-steps"] = AdaptiveMethods,
        ["--integration"] = PathMethods,
        ["--baseline"] = [.. PathMethods, "gradient-shap"],
        ["--internal-batch-size"] = [.. PathMethods, "gradient-shap"],
        ["--reduce"] = ReducingMethods,
        ["--neuron"] = ["neuron-conductance"],
        ["--samples"] = ["lime", "shapley-sampling", "kernel-shap", "gradient-shap"],
        ["--window"] = ["occlusion"],
        ["--stride"] = ["occlusion"],
        ["--max-features"] = ["shapley"],
        ["--features"] = PerturbationMethods,
        ["--perturbation"] = PerturbationMethods,
        ["--kernel-width"] = ["lime"],
        ["--mask-token"] = ["lime"],
        ["--lime-preset"] = ["lime"],
        ["--seed"] = ["lime", "smoothgrad", "shapley-sampling", "kernel-shap", "gradient-shap"],
        ["--epsilon"] = ["lrp-epsilon"],
        ["--attention"] = ["lrp-epsilon"],
        ["--noise-samples"] = ["smoothgrad"],
        ["--noise-stdev"] = ["smoothgrad", "gradient-shap"],
        ["--inner"] = ["smoothgrad"],
    };

    /// <summary>Whether <paramref name="method"/> uses the option; smoothgrad also passes its inner method's options on.</summary>
    public static bool UsesOption(string method, string option, string inner = "gradient") =>
        Uses[option].Contains(method) || (method == "smoothgrad" && Uses[option].Contains(inner));

    /// <summary>
    /// Checks, before the model is loaded, that every option given applies to <paramref name="method"/> (the
    /// <c>explain</c> command: one method, so an option it ignores is a mistake), that <c>--score</c> suits it and that
    /// neuron-conductance has its <c>--neuron</c>.
    /// </summary>
    /// <exception cref="UsageException">The method is unknown or an option does not fit it.</exception>
    public static void CheckUsage(string method, MethodSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        CheckName(method, "--method");
        var inner = settings.Inner ?? "gradient";
        foreach (var option in settings.Given())
        {
            if (!UsesOption(method, option, inner))
            {
                var users = Uses[option].ToList();
                if (!users.Contains("smoothgrad") && users.Any(u => ReducingMethods.Contains(u)))
                {
                    users.Add("smoothgrad");
                }

                var what = method == "smoothgrad" ? $"smoothgrad with --inner {inner}" : method;
                throw new UsageException(option, $"does not apply to {what} (it is an option of {Names.List(users)})");
            }
        }

        if (method == "lime" && settings.Score is { } limeScore && limeScore != "probability")
        {
            throw new UsageException("--score", $"LIME always explains the target class's probability, not the {limeScore} (leave --score out, or use --score probability)");
        }

        if (method == "lime" && settings.Perturbation == "baseline")
        {
            throw new UsageException("--perturbation", "LIME perturbs the text, so it can mask or remove words but not put a baseline id in their place (use mask or remove; baseline is for occlusion, shapley, shapley-sampling and kernel-shap)");
        }

        if (method == "lrp-epsilon" && settings.Score is { } lrpScore && lrpScore != "logit")
        {
            throw new UsageException("--score", $"LRP-epsilon propagates relevance from the logit; it cannot explain the {lrpScore} (leave --score out, or use --score logit)");
        }

        if (method == "neuron-conductance" && settings.Neuron is null)
        {
            throw new UsageException("--neuron", "neuron-conductance needs the neuron: --neuron POS,UNIT (token position and hidden unit of --layer's output)");
        }
    }

    /// <summary>
    /// The attributor for <paramref name="method"/>, taking the options it uses from <paramref name="settings"/>
    /// (call <see cref="CheckUsage"/> first to refuse the others).
    /// </summary>
    /// <param name="method">A name from <see cref="CliOptions.MethodNames"/>.</param>
    /// <param name="settings">The method options given.</param>
    /// <param name="model">The model (for layer defaults and checks).</param>
    /// <exception cref="UsageException">An option's value does not fit the model or the method.</exception>
    /// <exception cref="NeedsGradientsException">The method needs a TorchSharp model's modules and <paramref name="model"/> has none.</exception>
    public static IAttributor Create(string method, MethodSettings settings, ITokenClassifier model)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(model);
        CheckName(method, "--methods");
        if (settings.Layer is { } layer)
        {
            CheckLayer(Gradients(model, method), layer, "--layer");
        }

        return method switch
        {
            "gradient" => new Gradient { Layer = settings.Layer, Reduce = Reduction(settings) ?? HiddenReduction.L2 },
            "gradient-x-input" => new GradientXInput { Layer = settings.Layer, Reduce = Reduction(settings) ?? HiddenReduction.Sum },
            "integrated-gradients" => IntegratedGradients(settings),
            "conductance" => Conductance(settings, model),
            "neuron-conductance" => NeuronConductance(settings, model),
            "lime" => Lime(settings),
            "lrp-epsilon" => Lrp(settings),
            "smoothgrad" => SmoothGrad(settings, model),
            "attention-rollout" => new Attribution.Methods.Attention.AttentionRollout(),
            "grad-attention-rollout" => new Attribution.Methods.Attention.AttentionRollout { GradientWeighted = true },
            "occlusion" => new Occlusion
            {
                TokenBudget = PerturbationBudget(settings),
                Window = settings.Window ?? 1, Stride = settings.Stride ?? 1, Features = Features(settings), Perturbation = Perturbation(settings),
            },
            "shapley" => new ShapleyValues
            {
                TokenBudget = PerturbationBudget(settings),
                MaxFeatures = CheckMaxFeatures(settings.MaxFeatures ?? 12), Features = Features(settings), Perturbation = Perturbation(settings),
            },
            "shapley-sampling" => new ShapleyValueSampling
            {
                TokenBudget = PerturbationBudget(settings),
                Samples = CheckSamples(settings.Samples ?? 25, ShapleyValueSampling.MaxSamples), Seed = settings.Seed ?? 0,
                Features = Features(settings), Perturbation = Perturbation(settings),
            },
            "kernel-shap" => new KernelShap
            {
                TokenBudget = PerturbationBudget(settings),
                Samples = CheckSamples(settings.Samples ?? 256, KernelShap.MaxSamples), Seed = settings.Seed ?? 0,
                Features = Features(settings), Perturbation = Perturbation(settings),
            },
            "gradient-shap" => new GradientShap
            {
                Layer = settings.Layer, Samples = CheckSamples(settings.Samples ?? 5, GradientShap.MaxSamples), Seed = settings.Seed ?? 0,
                Stdev = settings.NoiseStdev ?? 0, InternalBatchSize = settings.InternalBatchSize ?? 64, TokenBudget = settings.TokenBudget ?? PathMethod.DefaultTokenBudget,
                Baselines = settings.Baseline is { } b ? [Methods.Baseline.Parse(b)] : [Methods.Baseline.Pad, Methods.Baseline.Zero],
            },
            _ => throw new UsageException("--method", $"unknown method '{method}'"),
        };
    }

    /// <summary>
    /// The layer conductance attributes to when <c>--layer</c> is not given: the first transformer layer (a module
    /// whose path ends in <c>layer.0</c>, as in BERT, DistilBERT and RoBERTa), else the word embeddings. The library's
    /// definition, which its conductance methods suggest when no layer is set.
    /// </summary>
    public static string DefaultConductanceLayer(ITextClassifier model) => Attribution.Methods.Internal.LayerPaths.DefaultConductanceLayer(model);

    private static void CheckName(string method, string option)
    {
        if (Array.IndexOf(CliOptions.MethodNames, method) < 0)
        {
            throw new UsageException(option, $"unknown method '{method}' (use {Names.List(CliOptions.MethodNames)})");
        }
    }

    private static void CheckLayer(ITextClassifier model, string layer, string option)
    {
        try
        {
            model.Module.Submodule(layer);
        }
        catch (ArgumentException)
        {
            var examples = model.Module.SelfAndDescendants().Select(m => m.Path).Where(n => n.Length > 0).Take(12).ToList();
            throw new UsageException(option, $"the model has no layer '{layer}' (its layers include {string.Join(", ", examples)}{(examples.Count == 12 ? ", ..." : string.Empty)})");
        }
    }

    private static HiddenReduction? Reduction(MethodSettings settings) =>
        settings.Reduce is { } r ? HiddenReductionNames.Parse(r) : null;

    private static IntegrationRule? Rule(MethodSettings settings) =>
        settings.Integration is { } r ? IntegrationRules.Parse(r) : null;

    private static Baseline Baseline(MethodSettings settings) =>
        settings.Baseline is { } b ? Methods.Baseline.Parse(b) : Methods.Baseline.Pad;

    private static IntegratedGradients IntegratedGradients(MethodSettings settings)
    {
        var rule = Rule(settings);
        var adaptive = Adaptive(settings);
        if (settings.Steps is { } steps)
        {
            CheckSteps(rule ?? IntegrationRule.GaussLegendre, steps);
        }

        return new IntegratedGradients
        {
            Layer = settings.Layer,
            Steps = settings.Steps,
            Adaptive = adaptive,
            Rule = rule,
            Baseline = Baseline(settings),
            InternalBatchSize = settings.InternalBatchSize ?? 64, TokenBudget = settings.TokenBudget ?? PathMethod.DefaultTokenBudget,
            Reduce = Reduction(settings) ?? HiddenReduction.Sum,
        };
    }

    /// <summary>The model as a TorchSharp classifier, for the methods that hook its modules.</summary>
    private static ITextClassifier Gradients(ITokenClassifier model, string method) =>
        model as ITextClassifier ?? throw new NeedsGradientsException(method);

    private static LayerConductance Conductance(MethodSettings settings, ITokenClassifier model)
    {
        // No --integration: the method's default (Gauss-Legendre with --steps, as Captum's LayerConductance; the nested
        // trapezoid grid without).
        var rule = Rule(settings);
        var adaptive = Adaptive(settings);
        if (settings.Steps is { } steps)
        {
            CheckSteps(rule ?? IntegrationRule.GaussLegendre, steps + 1);
        }
        else if (rule is { } given && given != IntegrationRule.RiemannTrapezoid)
        {
            throw new UsageException("--integration", $"adaptive conductance refines the trapezoid grid: give --steps to use {given.CaptumName().Replace('_', '-')}, or drop --integration");
        }

        return new LayerConductance
        {
            Layer = settings.Layer ?? DefaultConductanceLayer(Gradients(model, "conductance")),
            Steps = settings.Steps,
            Adaptive = adaptive,
            Rule = rule,
            Baseline = Baseline(settings),
            InternalBatchSize = settings.InternalBatchSize ?? 64, TokenBudget = settings.TokenBudget ?? PathMethod.DefaultTokenBudget,
        };
    }

    private static NeuronConductance NeuronConductance(MethodSettings settings, ITokenClassifier model)
    {
        if (settings.Neuron is not { } neuron)
        {
            throw new UsageException("--neuron", "neuron-conductance needs the neuron: --neuron POS,UNIT (token position and hidden unit of --layer's output)");
        }


        var rule = Rule(settings);
        var steps = settings.Steps ?? 50;
        CheckSteps(rule ?? IntegrationRule.RiemannTrapezoid, steps);
        return new NeuronConductance
        {
            Layer = settings.Layer ?? DefaultConductanceLayer(Gradients(model, "neuron-conductance")),
            Position = neuron.Position,
            Unit = neuron.Unit,
            Steps = steps,
            Rule = rule,
            Baseline = Baseline(settings),
            InternalBatchSize = settings.InternalBatchSize ?? 64, TokenBudget = settings.TokenBudget ?? PathMethod.DefaultTokenBudget,
        };
    }

    /// <summary>The adaptive settings from --tolerance and --max-steps, refused next to --steps (which fixes the step count).</summary>
    private static AdaptiveIntegration Adaptive(MethodSettings settings)
    {
        if (settings.Steps is not null && (settings.Tolerance is not null || settings.MaxSteps is not null))
        {
            throw new UsageException(settings.Tolerance is not null ? "--tolerance" : "--max-steps",
                "--tolerance and --max-steps set adaptive integration, which --steps turns off: give either --steps or them");
        }

        var adaptive = AdaptiveIntegration.Default with
        {
            Tolerance = settings.Tolerance ?? AdaptiveIntegration.Default.Tolerance,
            MaxSteps = settings.MaxSteps ?? AdaptiveIntegration.Default.MaxSteps,
        };

        // Refused here, before a model loads; the parameter name (Tolerance, MaxSteps) maps to the option.
        adaptive.Validate();
        return adaptive;
    }

    private static void CheckSteps(IntegrationRule rule, int steps)
    {
        if (steps < rule.MinimumSteps())
        {
            throw new UsageException("--steps", $"the {rule.CaptumName().Replace('_', '-')} rule needs at least {rule.MinimumSteps()} steps, got {steps}");
        }
    }

    private static LimeFeatures Features(MethodSettings settings) => settings.Features switch
    {
        null or "words" => LimeFeatures.Words,
        "words-punct" => LimeFeatures.WordsAndPunctuation,
        _ => LimeFeatures.Tokens,
    };

    private static AbsentFeature Perturbation(MethodSettings settings) =>
        settings.Perturbation is { } p ? PerturbationNames.ParseAbsentFeature(p) : AbsentFeature.Mask;

    private static int CheckSamples(int samples, int limit) => samples <= limit
        ? samples
        : throw new UsageException("--samples", $"at most {limit} samples per text, got {samples}");

    private static int CheckMaxFeatures(int features) => features <= ShapleyValues.FeatureLimit
        ? features
        : throw new UsageException("--max-features", $"exact Shapley values take 2^n model inputs per text; at most {ShapleyValues.FeatureLimit} features, got {features}");

    /// <summary>The perturbation methods' token budget: --token-budget, else their default.</summary>
    private static int PerturbationBudget(MethodSettings settings) => settings.TokenBudget ?? TokenBudgetBatches.DefaultTokenBudget;

    private static Lime Lime(MethodSettings settings) => new()
    {
        TokenBudget = PerturbationBudget(settings),
        Features = Features(settings),
        Perturbation = settings.Perturbation == "remove" ? LimePerturbation.Remove : LimePerturbation.Mask,
        Preset = settings.LimePreset == "captum" ? Methods.LimePreset.Captum : Methods.LimePreset.Lit,
        Samples = settings.Samples ?? 256,
        Seed = settings.Seed ?? 0,
        KernelWidth = settings.KernelWidth,
        MaskToken = settings.MaskToken,
    };

    private static LrpEpsilon Lrp(MethodSettings settings) => new()
    {
        Epsilon = settings.Epsilon ?? 1e-6,
        Attention = settings.Attention == "cp" ? AttentionRule.CpLrp : AttentionRule.AttnLrp,
    };

    private static NoiseTunnel SmoothGrad(MethodSettings settings, ITokenClassifier model)
    {
        var inner = settings.Inner ?? "gradient";
        var wrapped = Create(inner, settings with { Inner = null, Seed = null, NoiseSamples = null, NoiseStdev = null }, model);
        return new NoiseTunnel(wrapped)
        {
            Samples = settings.NoiseSamples ?? 10,
            Stdev = settings.NoiseStdev,
            Seed = settings.Seed ?? 0,
        };
    }
}

/// <summary>Leaves out methods that cannot explain the model (LRP on a model with a layer LRP has no rule for).</summary>
internal static class MethodProbe
{
    /// <summary>
    /// The methods that can explain <paramref name="model"/>: LRP-ε is left out, with a note on standard error, when the
    /// model has a module without an LRP rule. The rules are checked against the modules (<see cref="LrpPropagation.Check"/>),
    /// as LRP itself checks them before any pass, so nothing runs the model here (a text was explained once for this,
    /// a forward and a backward pass before the run).
    /// </summary>
    public static List<IAttributor> Supported(IEnumerable<IAttributor> methods, ITextClassifier model, CliContext context, List<string>? notes = null)
    {
        var supported = new List<IAttributor>();
        foreach (var method in methods)
        {
            if (method is LrpEpsilon lrp)
            {
                try
                {
                    LrpPropagation.Check(model.Module, lrp.Rules);
                }
                catch (LrpNotSupportedException e)
                {
                    var module = e.ModulePath.Length == 0 ? $"the model itself, a {e.ModuleType.Name}" : $"{e.ModulePath}, a {e.ModuleType.Name}";
                    var note = $"lrp-epsilon is left out: {model.Name} has a module without an LRP rule ({module})";
                    context.Error.WriteLine($"note: {note}");
                    notes?.Add(note);
                    continue;
                }
            }

            supported.Add(method);
        }

        return supported;
    }
}
