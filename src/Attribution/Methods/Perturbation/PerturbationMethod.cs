using Attribution.Methods.Internal;
using System.Diagnostics;
using System.Globalization;
using Attribution.Methods.LimeParts;
using Attribution.Methods.Perturbation;
using Attribution.Models;
using Attribution.Text;
using Attribution.Text.Tokenizers;

namespace Attribution.Methods;

/// <summary>
/// The pipeline the perturbation methods share (occlusion, Shapley values, KernelSHAP): the text's features (words,
/// words and punctuation, or tokens; special tokens never), coalitions of present features turned into model inputs
/// (absent features masked, removed or replaced by a baseline id), batched and de-duplicated model calls, and the
/// result: each feature's score shared equally by its tokens, so word aggregation by <c>sum</c> (the default) gives
/// the feature's score back and token scores add up to the sum of feature scores, as LIME's do.
/// </summary>
/// <remarks>
/// With an <see cref="ITokenClassifier"/> (every TorchSharp classifier, ONNX classifiers), ids are perturbed
/// directly and <see cref="AttributionOptions.Score"/> picks the scored output (logit by default). With a black-box
/// <see cref="ITextPredictor"/>, the text is perturbed (absent words replaced by <see cref="MaskToken"/> or removed),
/// the scored output is the target's probability, and the result's tokens are the features themselves (ids −1),
/// as with <see cref="Lime"/>. A text longer than the model accepts is refused unless
/// <see cref="AttributionOptions.Truncate"/> is set (then the dropped tokens are not explained, and a note says so).
/// </remarks>
public abstract class PerturbationMethod : IPerturbationAttributor, IEveryClassAttributor, ISettingsCheck
{
    /// <summary>The most perturbed inputs per model call.</summary>
    public const int MaxBatchSize = 4096;

    private protected PerturbationMethod()
    {
    }

    /// <summary>What is switched on and off (default: whitespace-delimited words).</summary>
    public LimeFeatures Features { get; init; } = LimeFeatures.Words;

    /// <summary>How an absent feature is represented (default: masked).</summary>
    public AbsentFeature Perturbation { get; init; } = AbsentFeature.Mask;

    /// <summary>
    /// The id that replaces an absent feature's tokens with <see cref="AbsentFeature.Baseline"/>; null for the padding id.
    /// Setting it with another <see cref="Perturbation"/> is an error (it would not be used).
    /// </summary>
    public long? BaselineId { get; init; }

    /// <summary>The string that replaces an absent feature for a black-box predictor (default <c>[MASK]</c>; not empty or blank).</summary>
    public string MaskToken { get; init; } = "[MASK]";

    /// <summary>The most perturbed inputs per model call (default 256, at most <see cref="MaxBatchSize"/>); <see cref="TokenBudget"/> usually binds first.</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>
    /// Padded tokens per model call (rows × the longest row; default 4096): calls are filled up to this budget, shortest
    /// inputs first, so short texts go many to a call and long ones few. Not used for black boxes, whose cost per text is unknown.
    /// </summary>
    public int TokenBudget { get; init; } = Models.TokenBudgetBatches.DefaultTokenBudget;

    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public virtual MethodKind Kind => MethodKind.Custom;

    /// <inheritdoc />
    public IReadOnlyList<KeyValuePair<string, string>> Settings => DescribeSettings(null).ToList();

    /// <summary>Scores for every feature from the scored outputs of coalitions (inside one text's run).</summary>
    private protected abstract FeatureScores Attribute(CoalitionScorer scorer);

    /// <summary>The method's own settings, in a stable order.</summary>
    private protected abstract IEnumerable<KeyValuePair<string, string>> MethodSettings();

    /// <summary>Checks the method's own settings.</summary>
    private protected virtual void ValidateMethod()
    {
    }

    /// <summary>Checks a text's feature count before any model call (e.g. exact Shapley's limit).</summary>
    private protected virtual void CheckFeatureCount(int features, string text)
    {
    }

    /// <inheritdoc />
    public IReadOnlyList<Explanation> Attribute(ITextClassifier model, IReadOnlyList<string> texts, AttributionOptions? options = null) =>
        Attribute((ITextPredictor)model, texts, options);

    /// <inheritdoc />
    public IReadOnlyList<Explanation> Attribute(ITextPredictor model, IReadOnlyList<string> texts, AttributionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        // One lease for every text's model calls (ModelLease): a TextClassifier disposed meanwhile keeps its module until they end.
        using var lease = ModelLease.Enter(model);
        options = Prepare(texts, options, model.Labels);
        if (model is ITokenClassifier classifier)
        {
            return texts.Select((text, i) => RunText(classifier, text, options.Pairs?[i], options).Explanation).ToList();
        }

        if (options.Pairs is not null)
        {
            throw TextPairResults.BlackBoxTakesNoPairs();
        }

        if (Features == LimeFeatures.Tokens)
        {
            throw new ArgumentException("token features need the model's tokenizer: use word features with a black-box predictor", nameof(Features));
        }

        if (Perturbation == AbsentFeature.Baseline)
        {
            throw new ArgumentException("a baseline id needs token ids: with a black-box predictor use Perturbation = Mask or Remove", nameof(Perturbation));
        }

        // The texts and all their perturbed texts go to the predictor together, in full calls: a remote predictor pays a
        // round trip for each call.
        return BlackBoxBatches.Explain(model, texts, BatchSize, options.Cancellation,
            (predictor, text, probabilities) => RunBlackBox(predictor, text, probabilities, options).Explanation);
    }

    /// <inheritdoc />
    IReadOnlyList<Explanation[]> IEveryClassAttributor.AttributeClasses(ITextClassifier model, IReadOnlyList<string> texts, IReadOnlyList<int> classes, AttributionOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        options = Prepare(texts, options);
        return texts.Select((text, i) =>
            ModelRows.ForClasses(classes, (c, rows) => RunText(model, text, options.Pairs?[i], options with { Target = Target.Class(c) }, rows).Explanation)).ToArray();
    }

    /// <summary>
    /// One text's run for a classifier, with every figure behind the explanation: features, per-feature scores, the
    /// scored output with every feature present and with none, and the model calls it took.
    /// </summary>
    public PerturbationRun Run(ITokenClassifier model, string text, AttributionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var lease = ModelLease.Enter(model);
        options = Prepare([text], options, model.Labels);
        return RunText(model, text, options.Pairs?[0], options).Result;
    }

    // rows: the model's outputs for this text, shared with its runs for other classes, or null.
    private (PerturbationRun Result, Explanation Explanation) RunText(ITokenClassifier model, string text, string? pair, AttributionOptions options, ModelRows? rows = null)
    {
        // Before this text's first model call: a call cancelled during the previous text's coalitions ran this text's
        // unperturbed input before the scorer's own check stopped it.
        options.Cancellation.ThrowIfCancellationRequested();
        var clock = Stopwatch.StartNew();

        // What the options ask of the model's head is checked before the text goes to the model.
        ScoreChecks.Check(model.Head, options.Score);
        ScoreChecks.CheckTarget(model, options.Target);
        ScoreChecks.CheckOneOutputSoftmax(model, options.Score);
        var tokenizer = model.Tokenizer;
        var encoding = tokenizer.Encode(text, pair, options.Truncate ? model.MaxLength : null, TruncationSide.Right, options.TruncationStrategy);
        var notes = new List<string>();
        if (model.MaxLength is { } max && encoding.Length > max)
        {
            throw new ArgumentException(
                $"the text has {encoding.Length} tokens but {model.Name} accepts at most {max}: shorten it, or ask for truncation (Truncate / --truncate), which the result then reports",
                nameof(text));
        }

        if (encoding.Truncated > 0)
        {
            notes.Add($"the text was truncated: {encoding.Truncated} token(s) beyond the model's limit of {model.MaxLength} were dropped and are not explained");
        }

        var logits = rows?.Unperturbed ?? TokenBatches.PredictLogits(model, [new TokenSequence(encoding.Ids, encoding.TypeIds)], options.Cancellation)[0];
        NonFiniteValueException.CheckLogits(model.Name, [logits], [text]);
        rows?.Unperturbed = logits;
        var probabilities = model.Head.Probabilities(logits);
        var target = options.Target.Resolve(model.Labels, model.Head == OutputHead.Regression ? 0 : LogitMath.ArgMax(logits));
        var (features, tokenFeature, dropped) = LimeText.ModelFeatures(text, pair, encoding, Features);
        if (features.Count == 0)
        {
            throw new ArgumentException($"the text has no {Features.Name()} to perturb (only special tokens)", nameof(text));
        }

        if (LimeText.TokenlessNote(dropped, tokenizer, model.Name) is { } tokenless)
        {
            notes.Add(tokenless);
        }

        CheckFeatureCount(features.Count, text);
        long? replacement = Perturbation switch
        {
            AbsentFeature.Mask => tokenizer.MaskId ?? throw new ArgumentException(
                $"{model.Name}'s tokenizer has no mask token: use Perturbation = Baseline (the padding id by default) or Remove (--perturbation baseline|remove)", nameof(Perturbation)),
            AbsentFeature.Baseline => BaselineId ?? tokenizer.PadId,
            _ => null,
        };
        if (replacement is { } id && (id < 0 || id >= tokenizer.VocabularySize))
        {
            throw new ArgumentOutOfRangeException(nameof(BaselineId), id, $"the baseline id is not in {model.Name}'s vocabulary (0..{tokenizer.VocabularySize - 1})");
        }

        var scorer = CoalitionScorer.ForTokens(model, encoding, tokenFeature, features.Count, replacement, target, options.Score, BatchSize, TokenBudget, rows);
        scorer.Remember(Enumerable.Repeat(true, features.Count).ToArray(), ScoreChecks.Value(model.Head, options.Score, logits, target));
        scorer.Cancellation = options.Cancellation;
        var run = Finish(scorer, features, target, notes);
        if (replacement is null && scorer.AskedEmpty)
        {
            // The model was asked about the text with every word removed: say what it got, since its answer is part of
            // every score. Special tokens are never features, so they stay ([CLS] [SEP] for BERT and the small classifiers
            // trained here: the encoding of the empty text).
            var kept = Enumerable.Range(0, encoding.Length).Where(t => tokenFeature[t] < 0).ToArray();
            var unit = Features == LimeFeatures.Tokens ? "token" : "word";
            var what = kept.All(t => encoding.SpecialTokensMask[t]) ? "only its special tokens" : $"only the tokens of no {unit}";
            notes.Add($"with every {unit} removed {model.Name} got {what} ({string.Join(" ", kept.Select(t => encoding.Tokens[t]))}); " +
                $"its answer is the coalition of no {unit}s (f(∅))");
        }

        var perFeature = tokenFeature.Where(f => f >= 0).GroupBy(f => f).ToDictionary(g => g.Key, g => g.Count());
        var scores = tokenFeature.Select(f => f < 0 ? 0.0 : run.FeatureScores[f] / perFeature[f]).ToArray();
        var explanation = (Build(text, model.Name, model.Labels, run, logits, probabilities, options.Score, clock, options,
            encoding.Tokens, encoding.Ids, encoding.Offsets, encoding.SpecialTokensMask, scores) with { Head = model.Head }).WithPair(pair, encoding);
        return (run, explanation);
    }

    // probabilities: the predictor's output for the text itself.
    private (PerturbationRun Result, Explanation Explanation) RunBlackBox(ITextPredictor predictor, string text, double[] probabilities, AttributionOptions options)
    {
        var clock = Stopwatch.StartNew();
        var target = options.Target.Resolve(predictor.Labels, LogitMath.ArgMax(probabilities));
        var features = LimeText.Split(text, Features == LimeFeatures.WordsAndPunctuation);
        if (features.Count == 0)
        {
            throw new ArgumentException("the text has no features to perturb", nameof(text));
        }

        CheckFeatureCount(features.Count, text);
        var scorer = CoalitionScorer.ForText(predictor, text, features, Features == LimeFeatures.Words,
            Perturbation == AbsentFeature.Mask ? MaskToken : null, target, BatchSize);
        scorer.Cancellation = options.Cancellation;
        var all = Enumerable.Repeat(true, features.Count).ToArray();
        if (LimeText.Rebuild(text, features, all, Features == LimeFeatures.Words, null) == text)
        {
            scorer.Remember(all, probabilities[target]);
        }

        var notes = new List<string> { "black-box predictor: the tokens are the features (ids −1), the scored output is the probability and the logits are the log-probabilities" };
        var run = Finish(scorer, features, target, notes, callsShared: true);
        if (Perturbation == AbsentFeature.Remove && scorer.AskedEmpty)
        {
            // The predictor was asked about a text without words: say so, since its answer is part of every score.
            var none = LimeText.Rebuild(text, features, new bool[features.Count], Features == LimeFeatures.Words, null);
            notes.Add($"with every word removed the predictor got {(none.Length == 0 ? "the empty text \"\"" : $"a text of no words (\"{TokenizedTexts.Shown(none)}\")")}; " +
                "its answer is the coalition of no words (f(∅))");
        }
        var logits = probabilities.Select(p => Math.Log(Math.Max(p, double.Epsilon))).ToArray();
        var explanation = Build(text, "black-box", predictor.Labels, run, logits, probabilities, ScoreOutput.Probability, clock, options,
            features.Select(f => f.Text).ToArray(), Enumerable.Repeat(-1L, features.Count).ToArray(),
            features.Select(f => ((int, int)?)(f.Start, f.End)).ToArray(), new bool[features.Count], run.FeatureScores.ToArray());
        return (run, explanation);
    }

    // callsShared: the text's inputs went to the predictor with other texts' (BlackBoxBatches), whose note counts the calls.
    private PerturbationRun Finish(CoalitionScorer scorer, IReadOnlyList<TextFeature> features, int target, List<string> notes, bool callsShared = false)
    {
        var result = Attribute(scorer);
        if (result.Scores.Length != features.Count || result.Scores.Any(v => !double.IsFinite(v)))
        {
            throw new InvalidOperationException($"{Name} produced {result.Scores.Length} scores for {features.Count} features, or a non-finite one");
        }

        notes.AddRange(result.Notes);
        notes.Add($"{scorer.Evaluations} perturbed input(s) scored{(callsShared ? string.Empty : $" in {scorer.ModelCalls} model call(s)")} ({scorer.Requests} coalition(s) asked for; repeats are scored once)" +
            (scorer.Reused > 0 ? $"; {scorer.Reused} more taken from the model outputs of another class's run on this text" : string.Empty));
        return new PerturbationRun(features, result.Scores, target, result.FullScore, result.EmptyScore, result.Delta,
            scorer.ModelCalls, scorer.Evaluations, scorer.Requests, notes);
    }

    private Explanation Build(string text, string model, IReadOnlyList<string> labels, PerturbationRun run, double[] logits, double[] probabilities,
        ScoreOutput score, Stopwatch clock, AttributionOptions options, string[] tokens, long[] ids, (int Start, int End)?[] offsets, bool[] special, double[] scores)
    {
        var explanation = new Explanation
        {
            Text = text,
            Model = model,
            Method = Name,
            Kind = Kind,
            Settings = DescribeSettings(score).ToList(),
            Tokens = [.. tokens],
            TokenIds = [.. ids],
            Offsets = [.. offsets],
            IsSpecial = [.. special],
            Scores = [.. scores],
            Target = run.Target,
            TargetLabel = labels[run.Target],
            Logits = [.. logits],
            Probabilities = [.. probabilities],
            ScoreOutput = score,
            Signedness = Signedness.Signed,
            Reduction = ScoreReduction.FeatureScore,
            ConvergenceDelta = run.ConvergenceDelta,
            Notes = run.Notes,
            Elapsed = clock.Elapsed,
        };
        return explanation;
    }

    // labels: the model's, to refuse a target it does not have (last, as before any model call); null where the caller
    // gives the classes itself (every-class runs).
    private AttributionOptions Prepare(IReadOnlyList<string> texts, AttributionOptions? options, IReadOnlyList<string>? labels = null)
    {
        TextArguments.Check(texts);
        options ??= new AttributionOptions();
        options.Validate();
        TextPairs.Check(texts, options.Pairs, nameof(AttributionOptions.Pairs));
        ValidateSettings();
        if (options.Pairs is not null && Features == LimeFeatures.Tokens)
        {
            // Before any text's prediction (LimeText.ModelFeatures would refuse only after it).
            throw TextPairResults.TokenFeaturesTakeNoPairs();
        }

        if (labels is not null)
        {
            options.ValidateTarget(labels);
        }

        return options;
    }

    /// <inheritdoc />
    void ISettingsCheck.CheckSettings() => ValidateSettings();

    private void ValidateSettings()
    {
        if (!Enum.IsDefined(Features))
        {
            throw new ArgumentOutOfRangeException(nameof(Features), Features, "unknown feature mode: use Words, WordsAndPunctuation or Tokens");
        }

        if (!Enum.IsDefined(Perturbation))
        {
            throw new ArgumentOutOfRangeException(nameof(Perturbation), Perturbation, "unknown perturbation: use Mask, Remove or Baseline");
        }

        if (BatchSize < 1 || BatchSize > MaxBatchSize)
        {
            throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, $"the batch size must be between 1 and {MaxBatchSize}");
        }

        Models.TokenBudgetBatches.Validate(TokenBudget, nameof(TokenBudget));

        if (Perturbation == AbsentFeature.Mask && MaskToken is null)
        {
            throw new ArgumentNullException(nameof(MaskToken), "masking a black box's text needs a mask string (or use Perturbation = Remove)");
        }

        if (Perturbation == AbsentFeature.Mask && string.IsNullOrWhiteSpace(MaskToken))
        {
            // A blank mask string would delete the words (and leave their spaces): removal under another name.
            throw new ArgumentException(
                $"the mask string \"{MaskToken}\" is empty or blank: give the string that replaces an absent word of a black box's text (default [MASK]), or use Perturbation = Remove to delete words", nameof(MaskToken));
        }

        if (BaselineId is { } baseline && Perturbation != AbsentFeature.Baseline)
        {
            // Otherwise the id would be ignored without a word.
            throw new ArgumentException(
                $"BaselineId is {baseline} but Perturbation is {Perturbation.Name()}, which does not use it: set Perturbation = Baseline to replace absent tokens by id {baseline}, or leave BaselineId unset", nameof(BaselineId));
        }

        ValidateMethod();
    }

    private IEnumerable<KeyValuePair<string, string>> DescribeSettings(ScoreOutput? score)
    {
        foreach (var setting in MethodSettings())
        {
            yield return setting;
        }

        yield return new("features", Enum.IsDefined(Features) ? Features.Name() : Features.ToString());
        yield return new("perturbation", Enum.IsDefined(Perturbation) ? Perturbation.Name() : Perturbation.ToString());
        if (Perturbation == AbsentFeature.Baseline)
        {
            yield return new("baseline-id", BaselineId?.ToString(CultureInfo.InvariantCulture) ?? "pad");
        }

        yield return new("batch-size", BatchSize.ToString(CultureInfo.InvariantCulture));
        yield return new("token-budget", TokenBudget.ToString(CultureInfo.InvariantCulture));
        if (score is { } s)
        {
            yield return new("score", s.ToString().ToLowerInvariant());
        }
    }

    /// <summary>Formats a number for settings.</summary>
    private protected static string Format(long value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>What a perturbation method computed for one text.</summary>
/// <param name="Scores">One score per feature.</param>
/// <param name="FullScore">The scored output with every feature present.</param>
/// <param name="EmptyScore">The scored output with no feature present, where the method evaluates it.</param>
/// <param name="Delta">Σ scores − (full − empty), where the method promises that sum (Shapley values, KernelSHAP).</param>
/// <param name="Notes">What the reader must know (approximations, fallbacks).</param>
internal sealed record FeatureScores(double[] Scores, double FullScore, double? EmptyScore, double? Delta, IReadOnlyList<string> Notes);

/// <summary>Every figure of one perturbation method's run on one text, from <see cref="PerturbationMethod.Run"/>.</summary>
/// <param name="Features">The perturbed features, in text order (words that produced no token are not features).</param>
/// <param name="FeatureScores">One score per feature, in units of the scored output.</param>
/// <param name="Target">The class explained.</param>
/// <param name="FullScore">The scored output with every feature present (the unperturbed input).</param>
/// <param name="EmptyScore">The scored output with every feature absent, where the method uses it; otherwise null.</param>
/// <param name="ConvergenceDelta">Σ feature scores − (full − empty) for Shapley values and KernelSHAP; otherwise null.</param>
/// <param name="ModelCalls">Calls made to the model (batches).</param>
/// <param name="Evaluations">Distinct perturbed inputs the model scored.</param>
/// <param name="Requests">Coalitions the method asked for, repeats included.</param>
/// <param name="Notes">Notes recorded on the explanation.</param>
public sealed record PerturbationRun(
    IReadOnlyList<TextFeature> Features,
    IReadOnlyList<double> FeatureScores,
    int Target,
    double FullScore,
    double? EmptyScore,
    double? ConvergenceDelta,
    int ModelCalls,
    int Evaluations,
    long Requests,
    IReadOnlyList<string> Notes);
