using Attribution.Pipeline;
using System.Globalization;
using Attribution.Methods;
using Attribution.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Evaluation;

/// <summary>
/// Infidelity (Yeh et al. 2019) as Captum's <c>infidelity</c> defines it, in word-embedding space: for perturbations
/// Iₛ of the word-embedding output x, INFD = mean over s of (Iₛ · Φ − (f(x) − f(x − Iₛ)))², where Φ are the explanation's
/// per-dimension attributions at the word embeddings and f the explained class's scored output. With
/// <see cref="InfidelitySettings.Normalize"/>, Φ is first scaled by the optimal β = Σ aₛbₛ / Σ aₛ² (aₛ = Iₛ · Φ,
/// bₛ = f(x) − f(x − Iₛ)), i.e. INFD = (β² Σa² − 2β Σab + Σb²) / S, exactly Captum's normalization. Lower is better.
/// <para>
/// For a map multiplied by the input (x − x′: Gradient × Input, Integrated Gradients, conductance, LRP-ε, Gradient SHAP
/// with one baseline), aₛ = (Iₛ / (x − x′)) · Φ instead, as Captum's <c>infidelity_perturb_func_decorator(multiply_by_inputs=True)</c>
/// computes the perturbation (where x − x′ is 0 it divides by 1); see <see cref="InfidelitySettings.MultiplyByInputs"/>.
/// The raw form compares a map with the local gradient, so an exact map multiplied by the input scores worse than the
/// gradient there.
/// </para>
/// </summary>
public static class Infidelity
{
    /// <summary>Infidelity of an explanation that kept its per-dimension attributions and its special tokens.</summary>
    /// <param name="model">The classifier the explanation is of.</param>
    /// <param name="explanation">
    /// An explanation at the word embeddings made with <see cref="AttributionOptions.KeepRawAttributions"/> and
    /// <c>Salience.KeepSpecialTokens</c> (every input position is perturbed, special tokens included).
    /// </param>
    /// <param name="settings">Perturbations (Gaussian by default), samples, seed, normalization.</param>
    /// <exception cref="ArgumentException">The explanation lacks its per-dimension attributions or special tokens, has a
    /// non-finite attribution, or its attributions do not match the model's word-embedding output of its text
    /// (<paramref name="explanation"/>); the given perturbations are empty, null or of another shape (<paramref name="settings"/>).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="InfidelitySettings.Samples"/> or
    /// <see cref="InfidelitySettings.Stdev"/> is out of its range (the parameter named is the setting).</exception>
    /// <exception cref="ArgumentException">With <see cref="InfidelitySettings.MultiplyByInputs"/> null, the explanation's
    /// method does not say whether its map is multiplied by the input (a user method, Gradient SHAP with several
    /// baselines) (<paramref name="settings"/>); the multiply-by-inputs form needs a baseline the explanation does not
    /// record (custom ids or activation) (<paramref name="explanation"/>).</exception>
    /// <exception cref="NonFiniteValueException">The model gave a non-finite output at a perturbed input.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellation"/> was cancelled (checked before each
    /// forward pass: the text's (its capture, which is also the prediction), the baseline's for the multiply-by-inputs form
    /// with a token baseline, then each batch of 32 perturbed inputs).</exception>
    /// <param name="cancellation">Stops the call before its next model call.</param>
    public static MetricResult Compute(ITextClassifier model, Explanation explanation, InfidelitySettings? settings = null, CancellationToken cancellation = default) =>
        Compute(model, explanation, settings, decided: null, cancellation);

    /// <summary>
    /// <see cref="Compute(ITextClassifier, Explanation, InfidelitySettings?, CancellationToken)"/> in a form the caller has already decided
    /// with <see cref="TryDecide"/> for this explanation and <see cref="InfidelitySettings.MultiplyByInputs"/> (null:
    /// decide here), so a caller that must know the form first (the scorecard, the sanity command) decides it once.
    /// </summary>
    internal static MetricResult Compute(ITextClassifier model, Explanation explanation, InfidelitySettings? settings, InfidelityForm? decided,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(explanation);
        // One lease for the whole call (the session below re-enters it for its passes): a disposed model is refused
        // before the settings and the explanation are checked, as it always was.
        using var lease = ModelLease.Enter(model);
        settings ??= new InfidelitySettings();
        settings.Validate();
        var phi = RawAttributions(model, explanation, "infidelity");
        var form = decided ?? Decide(explanation, settings.MultiplyByInputs);
        // The caller's token (the scorecard's), checked before each forward pass of the metric. One context for every pass:
        // the text's capture gives x and f(x) and is the prediction too (before, three reads each made a context of their
        // own, running the prediction up to three times and the text's capture twice).
        using var session = EmbeddingPerturbationSession.Open(model, explanation.Text, explanation.TextPair, explanation.Target, explanation.ScoreOutput, cancellation);
        var (x, full) = (session.Embedding, session.Score);
        if (phi.Length != x.Length || phi.Any(row => row.Length != x[0].Length))
        {
            // Φ must cover the very input that is perturbed; rows past it were ignored and too few rows failed unnamed.
            throw new ArgumentException(
                $"the explanation's attributions are [{phi.Length}][{(phi.Length == 0 ? 0 : phi[0].Length)}] but {model.Name}'s word-embedding output of its text is [{x.Length}][{x[0].Length}]: explain the same text with this model",
                nameof(explanation));
        }

        var perturbations = settings.Perturbations ?? Gaussian(x.Length, x[0].Length, settings);
        if (perturbations.Any(p => p.Length != x.Length || p.Any(row => row.Length != x[0].Length)))
        {
            throw new ArgumentException($"each perturbation must be [{x.Length}][{x[0].Length}], the word-embedding output of the text (tokens × hidden)", nameof(settings));
        }

        // Captum's multiply-by-inputs perturbation: I / (x − x′), safe_div dividing by 1 where x − x′ is 0. A token
        // baseline's capture is one pass, a zero baseline none.
        var divisor = form.Baseline is { } baseline
            ? session.BaselineEmbedding(Baseline.Parse(baseline))
                .Select((row, t) => row.Select((v, h) => SafeDivisor(x[t][h] - v)).ToArray()).ToArray()
            : null;
        var perturbed = perturbations.Select(p => x.Select((row, t) => row.Select((v, h) => v - p[t][h]).ToArray()).ToArray()).ToList();
        var scores = session.Scores(perturbed);
        var a = perturbations.Select(p => p.Select((row, t) => row.Select((v, h) => (divisor is null ? v : v / divisor[t][h]) * phi[t][h]).Sum()).Sum()).ToArray();
        var b = scores.Select(s => full - s).ToArray();
        var n = a.Length;
        double value;
        double? beta = null;
        if (settings.Normalize)
        {
            var aa = a.Sum(v => v * v);
            var ab = a.Zip(b).Sum(p => p.First * p.Second);
            var bb = b.Sum(v => v * v);
            beta = aa == 0 ? ab : ab / aa; // Captum's safe_div: a zero denominator divides by 1.
            value = ((beta.Value * beta.Value * aa) - (2 * beta.Value * ab) + bb) / n;
        }
        else
        {
            value = a.Zip(b).Sum(p => (p.First - p.Second) * (p.First - p.Second)) / n;
        }

        var parameters = new List<KeyValuePair<string, string>>
        {
            new("perturbation", settings.Perturbations is null ? $"gaussian N(0, {MetricResult.Format(settings.Stdev)}^2) per embedding value" : "given"),
            new("samples", n.ToString(CultureInfo.InvariantCulture)),
            new("seed", settings.Seed.ToString(CultureInfo.InvariantCulture)),
            new("normalize", settings.Normalize ? "true" : "false"),
            new("space", "word-embedding output"),
            new("output", explanation.ScoreOutput.ToString().ToLowerInvariant()),
            new("multiply-by-inputs", form.Baseline is null ? "false" : "true"),
        };
        if (form.Baseline is { } used)
        {
            parameters.Add(new("baseline", used));
        }

        parameters.Add(new("form", form.Reason));
        if (beta is { } bt)
        {
            parameters.Add(new("beta", MetricResult.Format(bt)));
        }

        var product = form.Baseline is null ? "I_s.phi" : "(I_s / (x - x')).phi";
        var definition = settings.Normalize
            ? $"Captum infidelity with beta normalization: mean_s (beta {product} - (f(x) - f(x - I_s)))^2"
            : $"Captum infidelity: mean_s ({product} - (f(x) - f(x - I_s)))^2";
        if (form.Baseline is not null)
        {
            definition += ", the perturbation divided by x - x' (1 where x - x' is 0) as for a map multiplied by the input (Captum's multiply_by_inputs)";
        }

        var label = form.Baseline is null ? "I.phi" : "I/(x - x').phi";
        return new MetricResult("infidelity", value, definition,
            parameters, a.Select((v, s) => new MetricStep($"sample {s + 1}", (v - b[s]) * (v - b[s]),
                string.Create(CultureInfo.InvariantCulture, $"{label} = {v:G6}, f(x) - f(x - I) = {b[s]:G6}"))).ToList());
    }

    /// <summary>
    /// Which form infidelity takes for <paramref name="explanation"/>: the raw perturbation (Baseline null) or Captum's
    /// multiply-by-inputs form with the named baseline x′ (pad, unk, mask or zero). <paramref name="multiplyByInputs"/>
    /// null decides from the explanation's method and settings, as Captum's attributions say whether they multiply by
    /// the input; true or false is the caller's choice (true with no baseline recorded divides by x, x′ = 0, as Captum
    /// does without baselines).
    /// </summary>
    /// <exception cref="ArgumentException">It cannot be decided, or the baseline is not recorded (the message says why and the fix).</exception>
    internal static InfidelityForm Decide(Explanation explanation, bool? multiplyByInputs) =>
        TryDecide(explanation, multiplyByInputs, out var refusal) ?? throw new ArgumentException(refusal!.Value.Message, refusal.Value.Parameter);

    /// <summary>
    /// The form <see cref="Decide"/> takes for <paramref name="explanation"/>, or null with the refusal it would throw
    /// (<paramref name="refusal"/>: its message and the parameter it names): one decision for a caller that leaves
    /// infidelity out where it cannot be decided and otherwise passes the form to
    /// <see cref="Compute(ITextClassifier, Explanation, InfidelitySettings?, InfidelityForm?, CancellationToken)"/>.
    /// </summary>
    internal static InfidelityForm? TryDecide(Explanation explanation, bool? multiplyByInputs, out (string Message, string Parameter)? refusal)
    {
        refusal = null;
        if (multiplyByInputs == false)
        {
            return new(null, "raw perturbations (MultiplyByInputs = false)");
        }

        var name = explanation.Kind == MethodKind.Custom ? null : explanation.Method;
        string? why = null;
        var decided = name is null ? null : ByMethod(name, explanation.Setting, out why);
        string? recorded;
        if (multiplyByInputs == true)
        {
            // The caller says the map is multiplied by the input; x′ is the method's baseline where it records one.
            recorded = decided?.Baseline ?? (name == "integrated-gradients" ? explanation.Setting("baseline") : null);
            if (recorded is null && explanation.Kind == MethodKind.GradientShap)
            {
                refusal = ($"infidelity: {why}; MultiplyByInputs = true needs one x' (explain with one baseline), or set MultiplyByInputs = false", nameof(explanation));
                return null;
            }

            decided = recorded is null
                ? new("zero", "multiplied by the input (MultiplyByInputs = true; no baseline recorded, so x' = 0 as Captum takes it without baselines)")
                : new(recorded, "multiplied by the input (MultiplyByInputs = true)");
        }
        else if (name is null)
        {
            refusal = ($"infidelity cannot tell whether the map of '{explanation.Method}', a method written outside the library, is multiplied by the input (InfidelitySettings.MultiplyByInputs is null): " +
                "set MultiplyByInputs = true if its map is multiplied by the input (the perturbations are divided by x, x' = 0), or false for a local, gradient-like map", "settings");
            return null;
        }
        else if (decided is null)
        {
            refusal = ($"infidelity cannot tell whether the map of '{explanation.Method}' is multiplied by the input (InfidelitySettings.MultiplyByInputs is null): {why}; set MultiplyByInputs = true or false", "settings");
            return null;
        }

        if (decided.Baseline is { } baseline && baseline is not ("pad" or "unk" or "mask" or "zero"))
        {
            refusal = ($"infidelity's multiply-by-inputs form divides by x - x', but the explanation's baseline is '{baseline}', which it does not record: " +
                "explain with a named baseline (pad, unk, mask or zero), or set InfidelitySettings.MultiplyByInputs = false for the raw perturbations", nameof(explanation));
            return null;
        }

        return decided;
    }


    /// <summary>The form infidelity takes for a library method's map, or null (with why) where it cannot be decided.</summary>
    private static InfidelityForm? ByMethod(string method, Func<string, string?> setting, out string? why)
    {
        why = null;
        switch (method)
        {
            case "gradient":
                return new(null, "raw perturbations (gradient: a local map, not multiplied by the input)");
            case "gradient-x-input":
                return new("zero", "multiplied by the input (gradient x input, x' = 0)");
            case "lrp-epsilon":
                return new("zero", "multiplied by the input (LRP-epsilon, x' = 0, as Captum's LRP multiplies by inputs)");
            case "integrated-gradients" when setting("multiply-by-inputs") == "false":
                return new(null, "raw perturbations (integrated gradients with multiply-by-inputs false)");
            case "integrated-gradients" or "conductance" or "neuron-conductance":
                return new(setting("baseline") ?? "zero", $"multiplied by the input ({method}, x' = its baseline)");
            case "gradient-shap":
                var baselines = (setting("baselines") ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries);
                if (baselines.Length == 1)
                {
                    return new(baselines[0], "multiplied by the input (gradient-shap, x' = its one baseline; its input noise not divided out)");
                }

                why = $"gradient-shap multiplies by x - x' for {baselines.Length} baselines ({setting("baselines")}) drawn at random, so no one x' divides the perturbations";
                return null;
            case "smoothgrad" when setting("inner") is { } inner:
                // Captum's NoiseTunnel multiplies by inputs exactly when the method it wraps does.
                var wrapped = ByMethod(inner, key => setting("inner." + key), out why);
                return wrapped is null ? null : wrapped with { Reason = $"{wrapped.Reason}, wrapped by smoothgrad" };
            default:
                why = $"'{method}' is not a method whose map infidelity knows";
                return null;
        }
    }

    /// <summary>Captum's safe_div: a zero x − x′ divides by 1.</summary>
    private static double SafeDivisor(double difference) => difference == 0 ? 1 : difference;

    /// <summary>
    /// Whether <paramref name="explanation"/> kept per-dimension attributions at <paramref name="model"/>'s word-embedding
    /// output, where infidelity perturbs: its layer (a wrapped method's, for SmoothGrad) unset, "word-embeddings" or the
    /// model's word-embedding path (layer conductance names it, having no default). Not only the
    /// <see cref="LayerMethod"/>s with no layer: LRP-ε and SmoothGrad are no <see cref="LayerMethod"/>.
    /// </summary>
    internal static bool AtWordEmbeddings(ITextClassifier model, Explanation explanation) =>
        explanation.RawAttributions is not null && LayerIsWordEmbeddings(model, explanation.Settings);

    /// <summary>
    /// Whether <paramref name="method"/>'s explanations, made with <see cref="AttributionOptions.KeepRawAttributions"/>,
    /// are at <paramref name="model"/>'s word embeddings by <see cref="AtWordEmbeddings(ITextClassifier, Explanation)"/>'s
    /// rule, known before it explains anything: a <see cref="TextAttributor"/> keeps its per-dimension attributions, and
    /// its settings name the layer its explanations record. So a caller that would explain only for infidelity (the
    /// sanity command) can skip the work.
    /// </summary>
    internal static bool AtWordEmbeddings(ITextClassifier model, IAttributor method) =>
        method is TextAttributor && LayerIsWordEmbeddings(model, method.Settings);

    /// <summary>The one rule: the layer setting (a wrapped method's, for SmoothGrad) unset, "word-embeddings" or the model's word-embedding path.</summary>
    private static bool LayerIsWordEmbeddings(ITextClassifier model, IReadOnlyList<KeyValuePair<string, string>> settings)
    {
        var layer = Setting("layer") ?? Setting("inner.layer");
        return layer is null or "word-embeddings" || layer == model.WordEmbeddingPath;

        string? Setting(string key) => settings.FirstOrDefault(kv => kv.Key == key).Value;
    }

    /// <summary>The explanation's per-dimension attributions, one row per token of the model's encoding.</summary>
    internal static double[][] RawAttributions(ITextClassifier model, Explanation explanation, string metric)
    {
        if (explanation.RawAttributions is not { } raw)
        {
            throw new ArgumentException($"{metric} needs the per-dimension attributions: explain with ExplainOptions.KeepRawAttributions = true (a method that attributes to the word embeddings)", nameof(explanation));
        }

        if (!explanation.SpecialTokensKept)
        {
            throw new ArgumentException($"{metric} perturbs every input position: explain with Salience.KeepSpecialTokens = true so the attributions cover the special tokens too", nameof(explanation));
        }

        var layer = explanation.Setting("layer");
        if (layer is not null && layer != "word-embeddings" && layer != model.WordEmbeddingPath)
        {
            throw new ArgumentException($"{metric} perturbs the word embeddings, but the explanation attributes to '{layer}': explain at the word embeddings", nameof(explanation));
        }

        // A non-finite attribution made every I·Φ, and so the value, NaN without a word of why.
        if (NonFiniteAttribution(explanation) is { } where)
        {
            throw new ArgumentException(
                $"{metric} needs finite attributions, but the explanation's attribution at {where}: explain again with finite scores",
                nameof(explanation));
        }

        return raw.Select(row => row.Select(v => (double)v).ToArray()).ToArray();
    }

    /// <summary>
    /// The failure to raise when <paramref name="explanation"/>, which the caller's own run of <paramref name="method"/>
    /// gave for text <paramref name="text"/> (0-based), has a non-finite per-dimension attribution, or null when it has
    /// none. Infidelity refuses such an explanation as a bad argument, but a caller that made the explanation itself
    /// (the scorecard, the CLI's evaluate and sanity) was given none: its run failed (the method or the model
    /// overflowed), so this is a <see cref="NonFiniteValueException"/> naming the text, the method and the value.
    /// </summary>
    /// <param name="explanation">The explanation the caller made.</param>
    /// <param name="method">The method's name.</param>
    /// <param name="text">The text's index.</param>
    /// <param name="fix">What else the caller can do (e.g. "or leave infidelity out").</param>
    internal static NonFiniteValueException? NonFiniteFailure(Explanation explanation, string method, int text, string fix) =>
        NonFiniteAttribution(explanation) is { } where
            ? new NonFiniteValueException(NonFiniteSource.Attribution,
                $"infidelity, text {text + 1}: {method} gave a non-finite attribution ({where}), which infidelity cannot use: " +
                $"the method or the model overflowed on this text; use moderate settings (steps, noise, epsilon) {fix}")
            : null;

    /// <summary>
    /// The first non-finite per-dimension attribution of <paramref name="explanation"/> ("token 1, dimension 4 is NaN"),
    /// or null when they are all finite or not kept. Such a value is the method's or model's fault (an overflow to ±∞
    /// when float64 attributions are kept as float32), not the caller's choice of method.
    /// </summary>
    internal static string? NonFiniteAttribution(Explanation explanation)
    {
        if (explanation.RawAttributions is not { } raw)
        {
            return null;
        }

        for (var t = 0; t < raw.Count; t++)
        {
            var h = Enumerable.Range(0, raw[t].Length).FirstOrDefault(i => !float.IsFinite(raw[t][i]), -1);
            if (h >= 0)
            {
                return $"token {t}, dimension {h} is {raw[t][h].ToString(CultureInfo.InvariantCulture)}";
            }
        }

        return null;
    }

    private static List<double[][]> Gaussian(int tokens, int hidden, InfidelitySettings settings)
    {
        using var generator = new Generator(settings.Seed);
        using var scope = NewDisposeScope();
        var list = new List<double[][]>(settings.Samples);
        for (var s = 0; s < settings.Samples; s++)
        {
            var values = randn([tokens, hidden], dtype: ScalarType.Float64, generator: generator).data<double>().ToArray();
            list.Add(Enumerable.Range(0, tokens).Select(t => values.AsSpan(t * hidden, hidden).ToArray().Select(v => v * settings.Stdev).ToArray()).ToArray());
        }

        return list;
    }
}

/// <summary>Settings of <see cref="Infidelity"/>.</summary>
public sealed record InfidelitySettings
{
    /// <summary>The most samples.</summary>
    public const int MaxSamples = 10_000;

    /// <summary>Perturbations drawn (default 10, Captum's; 1 to <see cref="MaxSamples"/>, others are refused).</summary>
    public int Samples { get; init; } = 10;

    /// <summary>
    /// Standard deviation of the Gaussian perturbations (default 0.03, the seed paper's; positive and at most
    /// <see cref="float.MaxValue"/>, refused otherwise before any forward pass). A spread that makes a drawn x − I overflow
    /// the model's precision (a large one, or any one on a half-precision model) is found at the model's output, a
    /// <see cref="NonFiniteValueException"/>.
    /// </summary>
    public double Stdev { get; init; } = 0.03;

    /// <summary>Seed of the perturbations (default 0).</summary>
    public ulong Seed { get; init; }

    /// <summary>Scale the attributions by the optimal β first (Captum's <c>normalize=True</c>).</summary>
    public bool Normalize { get; init; }

    /// <summary>Explicit perturbations I (each [tokens][hidden]) instead of drawn ones: the pluggable perturbation.</summary>
    public IReadOnlyList<double[][]>? Perturbations { get; init; }

    /// <summary>
    /// Whether the map is multiplied by the input x − x′, in which case each perturbation is divided by x − x′ (by 1
    /// where that is 0) before its dot product with the map, as Captum's
    /// <c>infidelity_perturb_func_decorator(multiply_by_inputs=True)</c> does; f is still evaluated at x − I. Null (the
    /// default) decides from the explanation: true for Gradient × Input and LRP-ε (x′ = 0), Integrated Gradients
    /// (unless made with multiply-by-inputs false), conductance and Gradient SHAP with one baseline (x′ = the
    /// baseline's word embeddings), and SmoothGrad as the method it wraps; false for the gradient; refused for a user
    /// method or Gradient SHAP with several baselines. True with no recorded baseline takes x′ = 0.
    /// </summary>
    public bool? MultiplyByInputs { get; init; }

    /// <summary>
    /// Every check that needs no explanation: samples, spread, and the given perturbations (finite, none null, not an
    /// empty list). The scorecard makes it before any method runs.
    /// </summary>
    internal void Validate()
    {
        if (Samples < 1 || Samples > MaxSamples)
        {
            throw new ArgumentOutOfRangeException(nameof(Samples), Samples, $"infidelity needs between 1 and {MaxSamples} samples");
        }

        if (!(Stdev > 0) || !double.IsFinite(Stdev))
        {
            throw new ArgumentOutOfRangeException(nameof(Stdev), Stdev, "the perturbations' standard deviation must be positive and finite");
        }

        // x − I goes to the model in float32: with a spread beyond its largest value, every perturbation of a standard
        // deviation or more is infinite there, and the model's output failed as non-finite only after its passes.
        if (Stdev > float.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(Stdev), Stdev, EmbeddingPerturbation.BeyondFloat32("the standard deviation", "0.03, the seed paper's"));
        }

        EmbeddingPerturbation.CheckGiven(Perturbations, nameof(InfidelitySettings));

        // As max-sensitivity says it: an empty list was refused with the shape each perturbation must have, which it did not lack.
        if (Perturbations is { Count: 0 })
        {
            throw new ArgumentException("InfidelitySettings.Perturbations is empty: give at least one perturbation, or leave it null to draw Samples of them", "settings");
        }
    }
}

/// <summary>The form of infidelity: the raw perturbation (no baseline) or divided by x − x′ for the named baseline; why.</summary>
internal sealed record InfidelityForm(string? Baseline, string Reason);
