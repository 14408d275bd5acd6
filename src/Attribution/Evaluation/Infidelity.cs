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
    /// <exception cref="NonFiniteValueException">The model gave a non-finite output at a perturbed input.</exception>
    public static MetricResult Compute(ITextClassifier model, Explanation explanation, InfidelitySettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(explanation);
        settings ??= new InfidelitySettings();
        settings.Validate();
        EmbeddingPerturbation.CheckGiven(settings.Perturbations, nameof(InfidelitySettings));

        // As max-sensitivity says it: an empty list was refused with the shape each perturbation must have, which it did not lack.
        if (settings.Perturbations is { Count: 0 })
        {
            throw new ArgumentException("InfidelitySettings.Perturbations is empty: give at least one perturbation, or leave it null to draw Samples of them", nameof(settings));
        }

        var phi = RawAttributions(model, explanation, "infidelity");
        var (x, full) = EmbeddingPerturbation.Embed(model, explanation.Text, explanation.TextPair, explanation.Target, explanation.ScoreOutput);
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

        var perturbed = perturbations.Select(p => x.Select((row, t) => row.Select((v, h) => v - p[t][h]).ToArray()).ToArray()).ToList();
        var scores = EmbeddingPerturbation.Scores(model, explanation.Text, explanation.TextPair, explanation.Target, explanation.ScoreOutput, perturbed);
        var a = perturbations.Select(p => p.Select((row, t) => row.Select((v, h) => v * phi[t][h]).Sum()).Sum()).ToArray();
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
        };
        if (beta is { } bt)
        {
            parameters.Add(new("beta", MetricResult.Format(bt)));
        }

        return new MetricResult("infidelity", value,
            settings.Normalize ? "Captum infidelity with beta normalization: mean_s (beta I_s.phi - (f(x) - f(x - I_s)))^2" : "Captum infidelity: mean_s (I_s.phi - (f(x) - f(x - I_s)))^2",
            parameters, a.Select((v, s) => new MetricStep($"sample {s + 1}", (v - b[s]) * (v - b[s]),
                string.Create(CultureInfo.InvariantCulture, $"I.phi = {v:G6}, f(x) - f(x - I) = {b[s]:G6}"))).ToList());
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

    /// <summary>Standard deviation of the Gaussian perturbations (default 0.03, the seed paper's; positive and finite).</summary>
    public double Stdev { get; init; } = 0.03;

    /// <summary>Seed of the perturbations (default 0).</summary>
    public ulong Seed { get; init; }

    /// <summary>Scale the attributions by the optimal β first (Captum's <c>normalize=True</c>).</summary>
    public bool Normalize { get; init; }

    /// <summary>Explicit perturbations I (each [tokens][hidden]) instead of drawn ones: the pluggable perturbation.</summary>
    public IReadOnlyList<double[][]>? Perturbations { get; init; }

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
    }
}
