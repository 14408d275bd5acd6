using Attribution.Pipeline;
using System.Globalization;
using Attribution.Engine;
using Attribution.Methods;
using Attribution.Methods.Internal;
using Attribution.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Evaluation;

/// <summary>
/// Max-sensitivity (Yeh et al. 2019; Captum's <c>sensitivity_max</c> with its default perturbation): the explanation is
/// recomputed by the same attributor with the word-embedding output x moved to x + δₛ, δ uniform in the L∞ ball of
/// radius r, and the value is maxₛ ‖Φ(x) − Φ(x + δₛ)‖_F / ‖Φ(x)‖_F over the per-dimension attributions (divided by 1
/// instead where Φ(x) is all zeros, as Captum does, with a note). Lower is better. Φ is signed: for the gradient
/// that is Yeh et al.'s definition, while Captum's <c>Saliency</c> takes absolute values by default.
/// The attributor must be one whose input activation can be perturbed: Gradient, Gradient × Input, Integrated
/// Gradients (the methods <see cref="NoiseTunnel"/> wraps), at the word embeddings.
/// </summary>
public static class MaxSensitivity
{
    /// <summary>Max-sensitivity of <paramref name="attributor"/>'s explanation of <paramref name="text"/>.</summary>
    /// <exception cref="ArgumentException">The attributor cannot recompute its explanation at perturbed embeddings (not
    /// Gradient, Gradient × Input or Integrated Gradients) or attributes to another layer than the word embeddings
    /// (<paramref name="attributor"/>); <paramref name="text"/> is empty or whitespace (null: an ArgumentNullException); the given perturbations are empty, null or
    /// of another shape (<paramref name="settings"/>); or the options, the text or the method's settings for it (a custom
    /// baseline of another length than the text) are refused as by the method itself, before any forward pass.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="SensitivitySettings.Samples"/> or
    /// <see cref="SensitivitySettings.Radius"/> is out of its range (the parameter named is the setting), or
    /// <see cref="AttributionOptions.BatchSize"/> or <see cref="AttributionOptions.TokenBudget"/> is.</exception>
    /// <exception cref="NonFiniteValueException">The method gave a non-finite attribution at a perturbed input.</exception>
    /// <exception cref="OperationCanceledException"><see cref="AttributionOptions.Cancellation"/> was cancelled (checked before
    /// the reference explanation and each sample; every tensor made so far is freed).</exception>
    public static MetricResult Compute(ITextClassifier model, IAttributor attributor, string text, ExplainOptions? options = null, SensitivitySettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(attributor);
        // Several library calls (the reference explanation and one per sample): one lease for the whole run, so a
        // Dispose from another thread between two of them waits for the run instead of refusing its next call.
        using var lease = ModelLease.Enter(model);
        // Check([text]) named "texts", which is no parameter of this method.
        TextArguments.CheckOne(text, nameof(text), "there is nothing to explain");
        options ??= new ExplainOptions();
        options.Validate(model.Labels);
        settings ??= new SensitivitySettings();
        settings.Validate();
        if (attributor is not (INoiseTunnelable tunnelable and LayerMethod layered))
        {
            throw new ArgumentException($"max-sensitivity recomputes the explanation at perturbed embeddings, which {attributor.Name} cannot do: use gradient, gradient-x-input or integrated-gradients", nameof(attributor));
        }

        if (layered.Layer is { } layer && layer != model.WordEmbeddingPath)
        {
            throw new ArgumentException($"max-sensitivity perturbs the word embeddings, but {attributor.Name} attributes to '{layer}': attribute to the word embeddings", nameof(attributor));
        }

        TextPairs.Check([text], options.Pairs, nameof(AttributionOptions.Pairs));

        layered.ValidateFor(model);

        // Tokenized and checked as MethodRunner does before any forward pass: a custom baseline of another length than
        // the text was found only inside the first forward pass, with an error that did not name the setting.
        // options.Pairs is honoured: a pair is explained (and perturbed) as the pair, as every method explains it.
        var tokenized = MethodRunner.Tokenized(model, [text], options, [layered]);
        using var scope = NewDisposeScope();
        var batch = tokenized.Batch([0]);
        options.Cancellation.ThrowIfCancellationRequested();
        // A built-in method's reference explanation is taken from the context's first pass, which is the method's own
        // shared pass (Gradient and Gradient × Input: the gradient's forward; Integrated Gradients: the capture of the
        // path's input end) and makes the prediction too: before, the prediction ran the text and the reference ran it
        // again, bit for bit the same pass. A token baseline's pass is kept for every sample (BaselineCache): the samples
        // perturb the input's embeddings only, never the baseline's (as Captum's sensitivity_max perturbs the inputs and
        // passes the baselines on unchanged), so each sample ran the same baseline pass again.
        var unperturbed = attributor as IUnperturbedAttribution;
        using var starts = new PathStarts();
        using var baselines = new BaselineCache();
        var context = new AttributionContext(model, batch, options, unperturbed is null ? null : layered.SharedFirstPass(model), pathStarts: starts)
        {
            Baselines = baselines,
        };
        options.Cancellation.ThrowIfCancellationRequested();
        var reference = (unperturbed?.AttributeUnperturbed(context) ?? tunnelable.AttributeWithNoise(context, x => x)).to(ScalarType.Float64);
        var norm = reference.norm().ItemAsDouble();
        // As Captum: an all-zero explanation's change is divided by 1, not by its norm of 0 (an absolute change).
        string? note = norm == 0 ? "the explanation is all zeros: its change is absolute (divided by 1, as Captum does), not relative to its norm" : null;
        var divisor = norm == 0 ? 1 : norm;

        var shape = reference.shape;
        var deltas = settings.Perturbations ?? Uniform(shape, settings);
        var steps = new List<MetricStep>();
        foreach (var delta in deltas)
        {
            // Each sample is a whole run of the method; the methods without batches of their own here (gradient,
            // gradient × input) never looked at the token, so a cancelled call ran every sample.
            options.Cancellation.ThrowIfCancellationRequested();
            using var inner = NewDisposeScope();
            // [tokens][hidden], as infidelity takes them: a count check alone took any layout of the values (one row of
            // tokens × hidden, rows of unequal lengths) and reshaped it silently.
            var (tokens, hidden) = ((int)shape[1], (int)(reference.numel() / shape[1]));
            if (delta.Length != tokens || delta.Any(row => row.Length != hidden))
            {
                throw new ArgumentException(
                    $"SensitivitySettings.Perturbations[{steps.Count}] is not [{tokens}][{hidden}], the word-embedding output of the text (tokens × hidden): give one row of {hidden} values per token",
                    nameof(settings));
            }

            var d = tensor(delta.SelectMany(row => row).ToArray(), ScalarType.Float64);

            var perturbed = tunnelable.AttributeWithNoise(context, x => x.Plus(d.reshape(x.shape).to(x.dtype))).to(ScalarType.Float64);
            var change = (reference - perturbed).norm().ItemAsDouble() / divisor;

            // Checked per sample: the maximum below passes over NaN (LINQ's Max skips it), which hid a perturbed
            // explanation that was not a number behind the other samples' changes.
            if (!double.IsFinite(change))
            {
                throw new NonFiniteValueException(NonFiniteSource.Attribution,
                    $"{attributor.Name} gave non-finite attributions at perturbed embedding {steps.Count + 1}: the radius is too large for the model");
            }

            steps.Add(new MetricStep($"sample {steps.Count + 1}", change, "||phi(x) - phi(x + delta)|| / ||phi(x)||"));
        }

        var value = steps.Max(s => s.Value);
        return new MetricResult("max-sensitivity", value, Definition, Parameters(settings), steps, note);
    }

    private const string Definition = "max over samples of ||phi(x) - phi(x + delta)||_F / ||phi(x)||_F, delta uniform in the L-infinity ball of radius r";

    private static List<KeyValuePair<string, string>> Parameters(SensitivitySettings settings) =>
    [
        new("perturbation", settings.Perturbations is null ? $"uniform in [-{MetricResult.Format(settings.Radius)}, {MetricResult.Format(settings.Radius)}] per embedding value" : "given"),
        new("samples", (settings.Perturbations?.Count ?? settings.Samples).ToString(CultureInfo.InvariantCulture)),
        new("seed", settings.Seed.ToString(CultureInfo.InvariantCulture)),
        new("space", "word-embedding output"),
    ];

    private static List<double[][]> Uniform(long[] shape, SensitivitySettings settings)
    {
        var tokens = (int)shape[1];
        var hidden = (int)(shape.Skip(2).Aggregate(1L, (a, b) => a * b));
        using var generator = new Generator(settings.Seed);
        using var scope = NewDisposeScope();
        var list = new List<double[][]>(settings.Samples);
        for (var s = 0; s < settings.Samples; s++)
        {
            var values = rand([tokens, hidden], dtype: ScalarType.Float64, generator: generator).data<double>().ToArray();
            list.Add(Enumerable.Range(0, tokens).Select(t => values.AsSpan(t * hidden, hidden).ToArray().Select(u => ((2 * u) - 1) * settings.Radius).ToArray()).ToArray());
        }

        return list;
    }
}

/// <summary>Settings of <see cref="MaxSensitivity"/>.</summary>
public sealed record SensitivitySettings
{
    /// <summary>The most samples.</summary>
    public const int MaxSamples = 1_000;

    /// <summary>Perturbations drawn (default 10, Captum's; 1 to <see cref="MaxSamples"/>, others are refused).</summary>
    public int Samples { get; init; } = 10;

    /// <summary>
    /// Radius r of the L∞ ball (default 0.02, Captum's; positive and at most <see cref="float.MaxValue"/>, refused
    /// otherwise before any forward pass: perturbations of that size are infinite in the float32 word embeddings).
    /// </summary>
    public double Radius { get; init; } = 0.02;

    /// <summary>Seed of the perturbations (default 0).</summary>
    public ulong Seed { get; init; }

    /// <summary>Explicit perturbations δ (each [tokens][hidden]) instead of drawn ones.</summary>
    public IReadOnlyList<double[][]>? Perturbations { get; init; }

    /// <summary>
    /// Every check that needs no text: samples, radius, and the given perturbations (finite, none null, not an empty
    /// list). The scorecard makes it before any method runs.
    /// </summary>
    internal void Validate()
    {
        if (Samples < 1 || Samples > MaxSamples)
        {
            throw new ArgumentOutOfRangeException(nameof(Samples), Samples, $"max-sensitivity needs between 1 and {MaxSamples} samples (each recomputes the explanation)");
        }

        if (!(Radius > 0) || !double.IsFinite(Radius))
        {
            throw new ArgumentOutOfRangeException(nameof(Radius), Radius, "the radius must be positive and finite");
        }

        // δ = (2u − 1)·r with u in [0, 1) reaches r in size, and is added to the word-embedding output in the model's
        // precision: above float32's largest value it is infinite there, and every attribution failed as non-finite only
        // after the model's passes.
        if (Radius > float.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(Radius), Radius, EmbeddingPerturbation.BeyondFloat32("the radius", "0.02, Captum's"));
        }

        EmbeddingPerturbation.CheckGiven(Perturbations, nameof(SensitivitySettings));
        if (Perturbations is { Count: 0 })
        {
            throw new ArgumentException("SensitivitySettings.Perturbations is empty: give at least one perturbation, or leave it null to draw Samples of them", "settings");
        }
    }
}
