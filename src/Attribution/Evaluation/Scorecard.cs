using Attribution.Pipeline;
using System.Diagnostics;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Salience;

namespace Attribution.Evaluation;

/// <summary>
/// "Which method should I trust for my model?": every method on the same texts, scored side by side with the metrics
/// that apply to it — comprehensiveness and sufficiency (AOPC), τ-LOO, infidelity and max-sensitivity (methods with
/// per-dimension attributions at the word embeddings, on TorchSharp models), plausibility (when highlighted words are
/// given), completeness (the median |convergence delta| of methods that report one), agreement with the other methods
/// (mean Spearman ρ of word scores) and time per text.
/// </summary>
public static class Scorecard
{
    /// <summary>Runs every method on every text and scores them.</summary>
    /// <param name="model">The classifier (a TorchSharp <see cref="ITextClassifier"/> for gradient methods and the embedding-space metrics).</param>
    /// <param name="texts">The texts.</param>
    /// <param name="methods">The methods, by name (two methods may not share a name).</param>
    /// <param name="highlights">Per text, the highlighted words for plausibility; null to leave plausibility out.</param>
    /// <param name="settings">Metric settings; defaults when null.</param>
    /// <exception cref="ArgumentException">No text, or a null, empty or whitespace one (<paramref name="texts"/>); no method,
    /// a null one, two sharing a name, or a gradient method for a model that is not an <see cref="ITextClassifier"/>
    /// (<paramref name="methods"/>; refused before any method runs); highlights not one list per text, or a highlighted word
    /// that is not a word of its text (<paramref name="highlights"/>, the message naming the text's index; refused before any method runs);
    /// a one-word text on a tokenizer that adds no special tokens (<paramref name="texts"/>: τ-LOO would leave no token; refused before any method runs);
    /// the metrics' settings null or out of range (named by the setting: <c>Infidelity</c>, <c>Samples</c>, <c>Radius</c>, …;
    /// refused before any method runs); <see cref="ScorecardSettings.Removal"/> that the model cannot take: Mask with a tokenizer
    /// that has no mask token, Remove with one that adds no special tokens (parameter <c>Removal</c>; refused before any
    /// model call, the message naming the removal that works, or that none does).</exception>
    /// <exception cref="NonFiniteValueException">A method gave a non-finite attribution (or the model a non-finite output) on a text.</exception>
    /// <exception cref="OperationCanceledException"><see cref="ScorecardSettings.Cancellation"/> was cancelled (checked between
    /// the methods' batches of passes and before each metric of each text; every tensor made so far is freed).</exception>
    public static ScorecardReport Run(ITokenClassifier model, IReadOnlyList<string> texts, IReadOnlyList<IAttributor> methods,
        IReadOnlyList<IReadOnlyCollection<string>>? highlights = null, ScorecardSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(methods);
        Methods.Internal.TextArguments.Check(texts);
        settings ??= new ScorecardSettings();
        // Several library calls (each method's explanations, each metric's passes): one lease for the whole run, so a
        // Dispose from another thread between two of them waits for the run instead of refusing its next call.
        using var lease = ModelLease.Enter(model);

        // Before any method runs: the metrics' settings were read only after every method had explained every text.
        settings.Validate();
        if (methods.Count == 0)
        {
            throw new ArgumentException("no methods to compare", nameof(methods));
        }

        Methods.Internal.TextArguments.CheckMethods(methods, nameof(methods));

        if (methods.Select(m => m.Name).Distinct().Count() != methods.Count)
        {
            throw new ArgumentException($"two methods share a name ({string.Join(", ", methods.Select(m => m.Name))}): give each method once", nameof(methods));
        }

        if (highlights is not null && highlights.Count != texts.Count)
        {
            throw new ArgumentException($"{highlights.Count} highlight lists for {texts.Count} texts: give one per text", nameof(highlights));
        }

        if (highlights is not null)
        {
            // Before any method runs (minutes on a big model), not at the first explanation's plausibility.
            Plausibility.CheckHighlighted(texts, highlights, parameter: nameof(highlights));
        }

        var torch = model as ITextClassifier;

        // Before any method runs: a gradient method last in the list was refused only after the others had explained
        // every text (minutes on a big model).
        if (Methods.Internal.TextArguments.FirstNeedingGradients(model, methods) is { } gradient)
        {
            throw new ArgumentException($"{gradient.Name} needs gradients, which {model.Name} does not give; use perturbation methods", nameof(methods));
        }

        // Before any method runs: a removal this model cannot take (no mask token; no special tokens, where removing
        // every content token leaves no input) was refused by the first removal metric, after every method had
        // explained every text.
        if (RationaleRemoval.Unusable(model, texts, null, settings.Removal, nameof(ScorecardSettings.Removal), "ScorecardSettings.Removal",
            "TokenRemoval.Mask", "TokenRemoval.Remove") is { } unusable)
        {
            throw unusable;
        }

        // τ-LOO always removes, whatever Removal is: a one-word text on a tokenizer that adds no special tokens leaves no
        // input, refused by the metric only after every method had explained every text.
        for (var i = 0; i < texts.Count; i++)
        {
            if (Text.WordSpans.Of(texts[i]).Count < 2 && RationaleRemoval.EncodedWithoutSpecialTokens(model, texts[i]))
            {
                throw new ArgumentException(
                    $"texts[{i}] ('{texts[i]}') has one word and {model.Name}'s tokenizer adds no special tokens: loo-correlation removes each word alone, " +
                    "which leaves no token at all (whatever ScorecardSettings.Removal is): score texts of at least two words", nameof(texts));
            }
        }

        // The run can take minutes (every method on every text, then the metrics' own passes): a service cancels it with
        // the settings' token, which the methods check between their batches and the metrics below before each model call.
        var cancellation = settings.Cancellation;
        var options = new ExplainOptions { KeepRawAttributions = true, Salience = new SalienceOptions { KeepSpecialTokens = true }, Cancellation = cancellation };
        var sensitivityOptions = new ExplainOptions { Cancellation = cancellation };
        var explained = new List<(IAttributor Method, IReadOnlyList<Explanation> Explanations, double MsPerText)>();
        foreach (var method in methods)
        {
            cancellation.ThrowIfCancellationRequested();
            var clock = Stopwatch.StartNew();
            IReadOnlyList<Explanation> explanations = method switch
            {
                IPerturbationAttributor perturbation => perturbation.Explain(model, texts, options),
                // Every other method was checked above to have a TorchSharp model.
                _ => method.Explain(torch!, texts, options),
            };
            explained.Add((method, explanations, clock.Elapsed.TotalMilliseconds / texts.Count));
        }

        // τ-LOO's leave-one-out drops depend on the text and the explained class, not on the method: run once per text
        // and class, not once per method (the second method's τ-LOO ran the same passes again, bit for bit).
        var looDrops = new Dictionary<(string Text, string? Pair, int Target), PerturbationRun>();
        var rows = new List<ScorecardRow>();
        foreach (var (method, explanations, ms) in explained)
        {
            var values = new Dictionary<string, List<double>>(StringComparer.Ordinal);
            // Per metric, the texts whose value was ±∞ or NaN: left out of the mean like an undefined one, and counted
            // apart so the note says which they were.
            var infinite = new Dictionary<string, int>(StringComparer.Ordinal);
            var nan = new Dictionary<string, int>(StringComparer.Ordinal);
            var notes = new List<string>();
            void Add(string metric, double value)
            {
                if (!values.TryGetValue(metric, out var list))
                {
                    values[metric] = list = [];
                }

                if (double.IsFinite(value))
                {
                    list.Add(value);
                }
                else
                {
                    var counts = double.IsNaN(value) ? nan : infinite;
                    counts[metric] = counts.GetValueOrDefault(metric) + 1;
                }
            }

            // Texts whose removal metrics the explanation's ranking did not decide: a cut among equal scores (taken in
            // text order: a constant map's whole value) or no positive score (an empty rationale). Each result's note said
            // so, but the row kept only the mean, which then read as a measure of the explanation.
            int tied = 0, empty = 0;
            string? undecided = null;
            var infidelityApplies = false;
            for (var t = 0; t < texts.Count; t++)
            {
                var e = explanations[t];
                // Each metric checks the token before each of its model passes.
                var comprehensiveness = RationaleRemoval.Comprehensiveness(model, e, settings.Removal, cancellation);
                Add("comprehensiveness", comprehensiveness.Value);
                Add("sufficiency", RationaleRemoval.Sufficiency(model, e, settings.Removal, cancellation).Value);
                if (comprehensiveness.Note is { } removalNote)
                {
                    tied += removalNote.Contains(RationaleRemoval.TiedCutNote, StringComparison.Ordinal) ? 1 : 0;
                    empty += removalNote.Contains(RationaleRemoval.EmptyRationaleNote, StringComparison.Ordinal) ? 1 : 0;
                }

                Add("loo-correlation", LeaveOneOutCorrelation.Compute(model, e, looDrops, cancellation).Value);
                if (torch is not null && Infidelity.AtWordEmbeddings(torch, e))
                {
                    // The scorecard made this explanation: a non-finite attribution is the run's failure, not a bad argument.
                    if (Infidelity.NonFiniteFailure(e, method.Name, t, "or leave the method out of the scorecard") is { } failure)
                    {
                        throw failure;
                    }

                    // The form (raw, or divided by x − x′ for a map multiplied by the input) is decided once per
                    // explanation and that decision is what infidelity computes; where the method does not say (a user
                    // method, Gradient SHAP with several baselines) the column is left out with the refusal's reason.
                    infidelityApplies = true;
                    if (Infidelity.TryDecide(e, settings.Infidelity.MultiplyByInputs, out var refusal) is { } form)
                    {
                        Add("infidelity", Infidelity.Compute(torch, e, settings.Infidelity, form, cancellation).Value);
                    }
                    else
                    {
                        undecided = refusal!.Value.Message;
                    }
                }

                if (torch is not null && method is INoiseTunnelable and LayerMethod { Layer: null })
                {
                    // Checks the token itself between its samples (each a run of the method).
                    Add("max-sensitivity", MaxSensitivity.Compute(torch, method, texts[t], sensitivityOptions, settings.Sensitivity).Value);
                }

                if (highlights is not null)
                {
                    foreach (var result in Plausibility.Compute(e, highlights[t]))
                    {
                        if (result.Metric is "auprc" or "precision-at-1" or "mrr")
                        {
                            Add(result.Metric, result.Value);
                        }
                    }
                }

                if (e.ConvergenceDelta is { } delta)
                {
                    Add("completeness-abs-delta", Math.Abs(delta));
                }
            }

            var agreement = explained.Where(o => o.Method != method)
                .SelectMany(o => explanations.Select((e, t) => MethodAgreement.Between(e, o.Explanations[t], Granularity.Words)))
                .Where(double.IsFinite).ToList();
            var means = values.Where(kv => kv.Value.Count > 0).ToDictionary(
                kv => kv.Key,
                kv => kv.Key == "completeness-abs-delta" ? SanityCheck.Median(kv.Value) : kv.Value.Average(),
                StringComparer.Ordinal);
            if (undecided is not null)
            {
                notes.Add($"infidelity left out: {undecided}");
            }
            else if (!infidelityApplies && torch is not null)
            {
                notes.Add("infidelity needs per-dimension attributions at the word embeddings");
            }

            // A metric undefined on some texts (τ-LOO of a one-word text, comprehensiveness with no whole token) is
            // left out of its mean: say so, or the mean reads as one over every text.
            foreach (var (metric, list) in values)
            {
                // Completeness is over the texts with a convergence delta (all of them or none, per method), so only a
                // non-finite delta leaves one out.
                var over = metric == "completeness-abs-delta" ? list.Count + nan.GetValueOrDefault(metric) + infinite.GetValueOrDefault(metric) : texts.Count;
                if (LeftOutNote(metric, list.Count, infinite.GetValueOrDefault(metric), over) is { } note)
                {
                    notes.Add(note);
                }
            }

            if (tied > 0)
            {
                notes.Add($"comprehensiveness and sufficiency: on {tied} of {texts.Count} texts a cut fell among tokens of equal score, taken in text order: " +
                    "there the value depends on word order, not on the explanation (a constant map ranks no token above another)");
            }

            if (empty > 0)
            {
                notes.Add($"comprehensiveness and sufficiency: on {empty} of {texts.Count} texts {RationaleRemoval.EmptyRationaleNote}: the rationale is empty " +
                    "(comprehensiveness 0, sufficiency of the special tokens alone), which measures the model, not the explanation");
            }

            // So is the agreement: ρ is undefined on a one-word text or constant scores, and was left out without a word.
            var comparisons = explained.Count(o => o.Method != method) * texts.Count;
            if (agreement.Count < comparisons)
            {
                notes.Add(agreement.Count == 0
                    ? "agreement is undefined on every text (fewer than two words, or constant scores)"
                    : $"agreement is over {agreement.Count} of {comparisons} (method, text) comparisons: undefined (NaN) on the others (fewer than two words, or constant scores)");
            }

            rows.Add(new ScorecardRow(method.Name, method.Settings, means, agreement.Count > 0 ? agreement.Average() : double.NaN, ms, notes));
        }

        return new ScorecardReport(model.Name, texts.Count, rows, Describe(settings));
    }

    /// <summary>
    /// The note for a metric whose mean is over <paramref name="finite"/> of <paramref name="texts"/> texts, or null when
    /// it is over all of them. Of the others, <paramref name="infinite"/> had an infinite value and the rest were
    /// undefined (NaN): both are left out of the mean, and the note says which.
    /// </summary>
    internal static string? LeftOutNote(string metric, int finite, int infinite, int texts)
    {
        if (finite >= texts)
        {
            return null;
        }

        var undefined = texts - finite - infinite;
        if (finite == 0)
        {
            return infinite == 0 ? $"{metric} is undefined on every text"
                : undefined == 0 ? $"{metric} is infinite on every text"
                : $"{metric} has no finite value: infinite on {infinite} of {texts} texts, undefined (NaN) on the others";
        }

        var others = infinite == 0 ? "undefined (NaN) on the others"
            : undefined == 0 ? "infinite on the others"
            : $"infinite on {infinite}, undefined (NaN) on {undefined}";
        return $"{metric} is over {finite} of {texts} texts: {others}";
    }

    /// <summary>What each column means and which way is better, with the default <see cref="ScorecardSettings"/>.</summary>
    /// <remarks>
    /// Read-only: cast back to the dictionary it was, it could be written, changing the definitions every scorecard in the
    /// process printed (the command prints these). A wrapper, not a frozen copy, so the columns keep their order.
    /// </remarks>
    public static IReadOnlyDictionary<string, string> Definitions { get; } = new System.Collections.ObjectModel.ReadOnlyDictionary<string, string>(Describe(new ScorecardSettings()));

    /// <summary>How the removal metrics' definitions say <see cref="TokenRemoval.Mask"/> (nothing for the default removal).</summary>
    private static string Masked(ScorecardSettings settings) =>
        settings.Removal == TokenRemoval.Mask ? " (tokens replaced by the mask token, the input keeping its length)" : string.Empty;

    /// <summary>
    /// The definitions with the settings the metrics ran with (a report's definitions state its own samples, spread and
    /// seed, not the defaults').
    /// </summary>
    private static Dictionary<string, string> Describe(ScorecardSettings settings) => new(StringComparer.Ordinal)
    {
        ["comprehensiveness"] = "mean AOPC of p(x) - p(x without the top-k% positive tokens)" + Masked(settings) + ", higher is better",
        ["sufficiency"] = "mean AOPC of p(x) - p(only the top-k% positive tokens)" + Masked(settings) + ", lower is better",
        ["loo-correlation"] = "mean Kendall tau between word scores and leave-one-word-out drops (sizes of both for unsigned methods), higher is better",
        ["infidelity"] = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"mean Captum infidelity ({(settings.Infidelity.Perturbations is null ? $"N(0, {MetricResult.Format(settings.Infidelity.Stdev)}^2) perturbations of the word embeddings, {settings.Infidelity.Samples} samples, seed {settings.Infidelity.Seed}" : "given perturbations of the word embeddings")}{(settings.Infidelity.Normalize ? ", beta-normalized" : string.Empty)}), lower is better")
            + (settings.Infidelity.MultiplyByInputs switch
            {
                null => "; a map multiplied by the input (gradient x input, integrated gradients, conductance, lrp-epsilon, gradient-shap with one baseline; smoothgrad as the method it wraps) is scored in Captum's multiply-by-inputs form, the perturbation divided by x - x' (1 where that is 0), a gradient-like map with the raw perturbation, so an exact map of either kind scores 0 on a linear model; a method that does not say which it is gets no value (noted)",
                true => "; every map scored as multiplied by the input (Captum's multiply-by-inputs form: the perturbation divided by x - x', 1 where that is 0)",
                false => "; every map scored with the raw perturbation, which compares it with the local gradient: maps multiplied by the input score worse than gradient-like ones even where exact",
            }),
        ["max-sensitivity"] = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"mean Captum max-sensitivity ({(settings.Sensitivity.Perturbations is null ? $"uniform radius {MetricResult.Format(settings.Sensitivity.Radius)}, {settings.Sensitivity.Samples} samples, seed {settings.Sensitivity.Seed}" : "given perturbations")}), lower is better"),
        ["auprc"] = "mean average precision of the word ranking against the highlighted words, higher is better",
        ["precision-at-1"] = "share of texts whose top word is highlighted (tied top words count by the share of them highlighted), higher is better",
        ["mrr"] = "mean reciprocal rank of the first highlighted word (expected over the order of tied words), higher is better",
        ["completeness-abs-delta"] = "median |sum of attributions - (F(x) - F(baseline))| in logit units (a regression model's output units), where the method defines it, lower is better",
    };
}

/// <summary>Settings of <see cref="Scorecard"/>.</summary>
public sealed record ScorecardSettings
{
    /// <summary>Infidelity's settings.</summary>
    public InfidelitySettings Infidelity { get; init; } = new();

    /// <summary>Max-sensitivity's settings.</summary>
    public SensitivitySettings Sensitivity { get; init; } = new();

    /// <summary>
    /// Stops the run between the methods' batches of model passes and before each metric of each text (an
    /// <see cref="OperationCanceledException"/>; nothing is returned and every tensor made so far is freed), as
    /// <see cref="AttributionOptions.Cancellation"/> stops a method.
    /// </summary>
    public CancellationToken Cancellation { get; init; }

    /// <summary>
    /// How comprehensiveness and sufficiency take tokens out (default <see cref="TokenRemoval.Remove"/>, ERASER's and
    /// ferret's). Checked against the model before any method runs: <see cref="TokenRemoval.Mask"/> needs a tokenizer with
    /// a mask token, and <see cref="TokenRemoval.Remove"/> one that adds special tokens (without them, removing every
    /// content token leaves no input, as it does for a map that scores every token positive); the refusal names the
    /// removal that works for the model.
    /// </summary>
    public TokenRemoval Removal { get; init; } = TokenRemoval.Remove;

    /// <summary>Both metrics' settings, checked as the metrics check them (a null one named).</summary>
    internal void Validate()
    {
        if (Infidelity is null)
        {
            throw new ArgumentNullException(nameof(Infidelity), "ScorecardSettings.Infidelity is null: leave it unset for the defaults, or give an InfidelitySettings");
        }

        if (Sensitivity is null)
        {
            throw new ArgumentNullException(nameof(Sensitivity), "ScorecardSettings.Sensitivity is null: leave it unset for the defaults, or give a SensitivitySettings");
        }

        Infidelity.Validate();
        Sensitivity.Validate();
        if (!Enum.IsDefined(Removal))
        {
            throw new ArgumentOutOfRangeException(nameof(Removal), Removal, $"unknown removal {(int)Removal}: use TokenRemoval.Remove or TokenRemoval.Mask");
        }
    }
}

/// <summary>One method's line of the scorecard.</summary>
/// <param name="Method">The method's name.</param>
/// <param name="Settings">The method's settings.</param>
/// <param name="Metrics">Mean (completeness: median) of each metric that applies to the method, over the texts.</param>
/// <param name="Agreement">Mean Spearman ρ of its word scores with every other method's, over the texts.</param>
/// <param name="MillisecondsPerText">Wall time of explaining, per text.</param>
/// <param name="Notes">Metrics left out and why.</param>
public sealed record ScorecardRow(
    string Method,
    IReadOnlyList<KeyValuePair<string, string>> Settings,
    IReadOnlyDictionary<string, double> Metrics,
    double Agreement,
    double MillisecondsPerText,
    IReadOnlyList<string> Notes);

/// <summary>The scorecard: one row per method.</summary>
/// <param name="Model">The model's name.</param>
/// <param name="Texts">How many texts were explained.</param>
/// <param name="Rows">One row per method, in the order given.</param>
/// <param name="Definitions">What each metric column means and which way is better.</param>
public sealed record ScorecardReport(string Model, int Texts, IReadOnlyList<ScorecardRow> Rows, IReadOnlyDictionary<string, string> Definitions);
