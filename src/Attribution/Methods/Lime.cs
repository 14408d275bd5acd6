using System.Diagnostics;
using System.Globalization;
using Attribution.Methods.Internal;
using Attribution.Methods.LimeParts;
using Attribution.Methods.Perturbation;
using Attribution.Models;
using Attribution.Text;
using Attribution.Text.Tokenizers;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods;

/// <summary>
/// LIME for text (Ribeiro et al. 2016) over any classifier, including a black-box function from texts to
/// probabilities: the text's features (words by default; repeated words are separate features, by position) are
/// switched off at random (replaced by <see cref="MaskToken"/> or removed), the model scores every perturbed text, and a
/// kernel-weighted linear surrogate of the target class's probability on the on/off masks gives one coefficient per
/// feature. <see cref="Preset"/> picks LIT's sampling, kernel and regression (reproduced exactly) or Captum's (its sampling,
/// kernel and Lasso reproduced, but the cosine distance measured on the on/off mask, not on the model's input tensor
/// as Captum does: the kernel weights agree only where those coincide, e.g. inputs of ones with a zero baseline).
/// </summary>
/// <remarks>
/// <para>
/// LIME always explains the target class's softmax probability (as LIT does); <see cref="AttributionOptions.Score"/> is
/// ignored and results record <see cref="ScoreOutput.Probability"/>. Perturbed texts go to the model in batches of
/// <see cref="BatchSize"/> (<see cref="AttributionOptions.BatchSize"/> is for gradient methods and is not used), and
/// truncation is not possible: a text longer than the model accepts is an <see cref="ArgumentException"/>.
/// </para>
/// <para>
/// With a <see cref="ITextClassifier"/>, the result's tokens are the model's tokens; the tokens of a feature (word)
/// share its coefficient equally, special tokens get 0 (reduction <c>feature-coefficient</c>). Word aggregation by
/// <c>sum</c> (the default) therefore gives back each word's coefficient, and token scores add up to Σ coefficients,
/// as the scores of the other methods add up. A word the tokenizer drops entirely (zero-width, format or control
/// characters) is not a feature, for a single text as for a pair and as for the perturbation methods, and a note
/// names it: the model's input never holds it, so switching it off would remove nothing (a coefficient fitted on
/// noise) or insert the mask token (the mask's effect, not the word's). LIT's LIME keeps such words, so on such a text
/// the other coefficients differ from LIT's. A token of no character (a byte-level BPE token of spaces only, whose
/// span is empty) belongs to no feature and scores 0, as in the perturbation methods. With a
/// black-box <see cref="ITextPredictor"/>, the result's tokens are the features themselves (ids −1, offsets into the
/// text), so rendering and word aggregation work unchanged; its logits are the log-probabilities. The fitted surrogate
/// (raw coefficients, intercept, R²) is on <see cref="Explanation.Surrogate"/>.
/// </para>
/// <para>
/// Sentence pairs (<see cref="AttributionOptions.Pairs"/>, with a model that has a tokenizer): the features are the words
/// of both texts, the first text's then the pair's (<see cref="TextFeature.Segment"/> 1, offsets into the pair's own text),
/// never the separators; each text is rebuilt from its own words' mask entries and the two are tokenized together, whole.
/// With <see cref="LimePerturbation.Remove"/>, a sample that leaves one text no word sends it empty with its special
/// tokens (<c>[CLS] [SEP] b [SEP]</c> for BERT), as the perturbation methods do, and a note says so; a sample that leaves
/// neither text a word is not sent, as a single text's empty sample. A black box and token features take no pairs.
/// </para>
/// <para>
/// Randomness comes from libtorch's seeded CPU generator, freshly seeded with <see cref="Seed"/> for each text, so the
/// same seed gives the same result whatever the batch. <see cref="Run"/>, <see cref="SampleMasks"/>,
/// <see cref="Perturb"/> and <see cref="Fit"/> expose every step (and accept given masks) for inspection and tests.
/// </para>
/// </remarks>
public sealed class Lime : IPerturbationAttributor, IEveryClassAttributor, Internal.ISettingsCheck
{
    /// <summary>Sampling scheme, kernel and surrogate regression (default LIT).</summary>
    public LimePreset Preset { get; init; } = LimePreset.Lit;

    /// <summary>
    /// Perturbed samples per text (default 256, LIT's default). The LIT preset adds the unperturbed text as one more
    /// sample, as LIT does.
    /// </summary>
    public int Samples { get; init; } = 256;

    /// <summary>
    /// The most samples per text (100,000): every sample is a model input, and the masks and the surrogate's design
    /// matrix grow with them.
    /// </summary>
    public const int MaxSamples = 100_000;

    /// <summary>Seed of the masks (default 0).</summary>
    public ulong Seed { get; init; }

    /// <summary>What is switched on and off (default: whitespace-delimited words).</summary>
    public LimeFeatures Features { get; init; } = LimeFeatures.Words;

    /// <summary>How a feature is switched off (default: replaced by <see cref="MaskToken"/>).</summary>
    public LimePerturbation Perturbation { get; init; } = LimePerturbation.Mask;

    /// <summary>
    /// The string that replaces a switched-off feature. Null (the default): the model's own mask token, the one its
    /// tokenizer reads as the mask id (<c>[MASK]</c> for BERT, as LIT writes for every model; <c>&lt;mask&gt;</c> for
    /// RoBERTa, where LIT's <c>[MASK]</c> would be three ordinary tokens), and <c>[MASK]</c> for a black box or a
    /// tokenizer without one.
    /// </summary>
    public string? MaskToken { get; init; }

    /// <summary>The mask string where neither <see cref="MaskToken"/> nor a tokenizer gives one (LIT's).</summary>
    public const string DefaultMaskToken = "[MASK]";

    /// <summary>Kernel width w; null for the preset's (LIT 256, Captum 1).</summary>
    public double? KernelWidth { get; init; }

    /// <summary>Regularization strength α; null for the preset's (LIT ridge 1, Captum Lasso 0.01).</summary>
    public double? Alpha { get; init; }

    /// <summary>The most perturbed texts per call to <see cref="ITextPredictor.PredictProbabilities"/> (default 256); for a model with a tokenizer <see cref="TokenBudget"/> usually binds first.</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>
    /// Padded tokens per model call (rows × the longest row; default 4096) when the predictor is a
    /// <see cref="ITokenClassifier"/>: perturbed texts are tokenized, sorted by token count and sent in calls filled up
    /// to this budget. Black boxes get calls of <see cref="BatchSize"/> texts sorted by character length.
    /// </summary>
    public int TokenBudget { get; init; } = Models.TokenBudgetBatches.DefaultTokenBudget;

    /// <summary>The kernel width in use.</summary>
    public double EffectiveKernelWidth => KernelWidth ?? (Preset == LimePreset.Captum ? 1.0 : 256.0);

    /// <summary>The regularization strength in use.</summary>
    public double EffectiveAlpha => Alpha ?? (Preset == LimePreset.Captum ? 0.01 : 1.0);

    /// <inheritdoc />
    public string Name => "lime";

    /// <inheritdoc />
    public IReadOnlyList<KeyValuePair<string, string>> Settings => DescribeSettings().ToList();

    /// <inheritdoc />
    public MethodKind Kind => MethodKind.Lime;

    /// <inheritdoc />
    public IReadOnlyList<Explanation> Attribute(ITextClassifier model, IReadOnlyList<string> texts, AttributionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return AttributeAll(model, model, texts, options);
    }

    /// <inheritdoc />
    public IReadOnlyList<Explanation> Attribute(ITextPredictor model, IReadOnlyList<string> texts, AttributionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return AttributeAll(model, model as ITokenClassifier, texts, options);
    }

    /// <summary>
    /// The features of a text as <see cref="Features"/> says. Token features need a tokenizer.
    /// </summary>
    public IReadOnlyList<TextFeature> SplitFeatures(string text, ITokenizer? tokenizer = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Features switch
        {
            LimeFeatures.Words => LimeText.Split(text, punctuation: false),
            LimeFeatures.WordsAndPunctuation => LimeText.Split(text, punctuation: true),
            LimeFeatures.Tokens => LimeText.FromTokens(text, (tokenizer ?? throw TokensNeedTokenizer()).Encode(text)).Features,
            _ => throw UnknownFeatures(),
        };
    }

    /// <summary>
    /// The masks the preset draws for <paramref name="featureCount"/> features with <see cref="Seed"/> (true = kept):
    /// LIT: <see cref="Samples"/> + 1 masks, the first all on; Captum: <see cref="Samples"/> masks.
    /// </summary>
    public bool[][] SampleMasks(int featureCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(featureCount, 1);
        ValidateSettings();
        return Preset == LimePreset.Captum
            ? LimeSampler.Captum(Samples, featureCount, Seed)
            : LimeSampler.Lit(Samples, featureCount, Seed);
    }

    /// <summary>
    /// The text with every feature whose mask entry is false replaced by the mask string or removed. Word
    /// features are joined by single spaces (LIT); other features keep the text between them.
    /// </summary>
    /// <param name="text">The text.</param>
    /// <param name="features">Its features: spans of <paramref name="text"/> in text order, disjoint (as <see cref="SplitFeatures"/> gives them).</param>
    /// <param name="mask">Per feature, whether it is kept.</param>
    /// <param name="tokenizer">The model's tokenizer, whose mask token replaces features when <see cref="MaskToken"/> is null.</param>
    public string Perturb(string text, IReadOnlyList<TextFeature> features, IReadOnlyList<bool> mask, ITokenizer? tokenizer = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(mask);
        if (mask.Count != features.Count)
        {
            throw new ArgumentException($"the mask has {mask.Count} entries for {features.Count} features", nameof(mask));
        }

        // The text between features is copied by position: the features must be spans of this text, in order and disjoint
        // (as SplitFeatures gives them), or the rebuilt text would be garbled or fail deep inside the string builder.
        var previousEnd = 0;
        for (var i = 0; i < features.Count; i++)
        {
            if (features[i] is not { } feature || feature.Start < previousEnd || feature.End < feature.Start || feature.End > text.Length)
            {
                throw new ArgumentException(
                    $"feature {i} ({(features[i] is { } f ? $"[{f.Start}, {f.End})" : "null")}) is not a span of the {text.Length}-character text after feature {i - 1}'s end ({previousEnd}): pass features in text order, disjoint and within the text, e.g. from SplitFeatures",
                    nameof(features));
            }

            previousEnd = feature.End;
        }

        return LimeText.Rebuild(text, features, mask, join: Features == LimeFeatures.Words, Perturbation == LimePerturbation.Mask ? MaskText(tokenizer) : null);
    }

    /// <summary>The string a switched-off feature becomes: <see cref="MaskToken"/>, else the tokenizer's mask token, else LIT's.</summary>
    private string MaskText(ITokenizer? tokenizer) =>
        MaskToken ?? (tokenizer?.MaskId is { } id ? tokenizer.IdToToken(id) : null) ?? DefaultMaskToken;

    /// <summary>
    /// The preset's distances, kernel weights and weighted surrogate fit for these masks (true = feature kept) and
    /// targets (the model's target-class probability for each masked text).
    /// </summary>
    public LimeFit Fit(IReadOnlyList<IReadOnlyList<bool>> masks, IReadOnlyList<double> targets)
    {
        ArgumentNullException.ThrowIfNull(masks);
        ArgumentNullException.ThrowIfNull(targets);
        ValidateSettings();
        if (masks.Count < 1)
        {
            throw new ArgumentException("a LIME fit needs at least one sample", nameof(masks));
        }

        if (targets.Count != masks.Count)
        {
            throw new ArgumentException($"{targets.Count} targets for {masks.Count} masks: give one per mask", nameof(targets));
        }

        var features = masks[0]?.Count ?? 0;
        if (features < 1 || masks.Any(m => m is null || m.Count != features))
        {
            throw new ArgumentException($"every mask must have the same, non-zero number of entries (the first has {features})", nameof(masks));
        }

        var y = targets.ToArray();
        if (y.Any(v => !double.IsFinite(v)))
        {
            throw new ArgumentException("the targets must be finite", nameof(targets));
        }

        var captum = Preset == LimePreset.Captum;
        var (distances, weights) = KernelWeights(masks, features);
        double[] coefficients;
        double intercept;
        var converged = true;
        if (captum)
        {
            (coefficients, intercept, converged) = LimeRegression.Lasso(masks, y, weights, features, EffectiveAlpha);
        }
        else
        {
            (coefficients, intercept) = LimeRegression.Ridge(masks, y, weights, features, EffectiveAlpha);
        }

        var (weighted, unweighted) = LimeRegression.RSquared(masks, y, weights, coefficients, intercept);
        return new LimeFit(distances, weights, coefficients, intercept, weighted, unweighted, converged);
    }

    /// <summary>
    /// One full LIME run for the class <paramref name="target"/>: features, masks (drawn with <see cref="Seed"/>, or
    /// the given ones), perturbed texts, the predictor's probabilities (in batches of <see cref="BatchSize"/>) and the
    /// fit. Given masks are used as they are (for the LIT preset, the first is normally all on). Token features use
    /// <paramref name="tokenizer"/>, or the predictor's when it is a <see cref="ITextClassifier"/>. The features are
    /// <see cref="SplitFeatures"/>' (as LIT's): unlike an explanation, a run keeps a word the tokenizer drops entirely.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellation"/> was cancelled (checked before each
    /// batch of perturbed texts).</exception>
    /// <param name="predictor">The model, or any predictor of class probabilities.</param>
    /// <param name="text">The text to explain.</param>
    /// <param name="target">The class whose probability is fitted.</param>
    /// <param name="masks">The masks to use instead of drawn ones, or null.</param>
    /// <param name="tokenizer">The tokenizer of token features and of the mask token, or null for the predictor's.</param>
    /// <param name="cancellation">Stops the run before its next batch.</param>
    public LimeRun Run(ITextPredictor predictor, string text, int target, IReadOnlyList<IReadOnlyList<bool>>? masks = null, ITokenizer? tokenizer = null,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(predictor);
        using var lease = ModelLease.Enter(predictor);
        CheckText(text, nameof(text));
        ValidateSettings();
        if (target < 0 || target >= predictor.Labels.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(target), target, $"target class {target} is out of range: the predictor has {predictor.Labels.Count} classes");
        }

        // LIME fits the probability (a regression head's output, which the check lets pass whatever the score).
        Internal.ScoreChecks.CheckOneOutputSoftmax(predictor, ScoreOutput.Probability);

        tokenizer ??= (predictor as ITokenClassifier)?.Tokenizer;
        var features = SplitFeatures(text, tokenizer);
        return RunWith(predictor, text, null, target, features, masks, tokenizer, cancellation);
    }

    /// <summary>
    /// Refuses, before any model call, a kernel so narrow that no sample gets a positive weight (the fit would then fail
    /// after all the calls had been paid for): the weights depend on the masks and the width only. Below about 1e-154 the
    /// width's square is 0, so samples at a distance get exp(−∞) = 0 and one at distance 0 gets exp(0/0) = NaN.
    /// </summary>
    private void CheckKernelReachesASample(IReadOnlyList<IReadOnlyList<bool>> masks, int features)
    {
        var width = EffectiveKernelWidth;
        var (distances, weights) = KernelWeights(masks, features);
        if (weights.All(w => !(w > 0)))
        {
            throw new ArgumentOutOfRangeException(nameof(KernelWidth), width,
                $"a kernel width of {width.ToString("G4", System.Globalization.CultureInfo.InvariantCulture)} gives every sample a weight of 0 (the nearest is at distance {distances.Min().ToString("G4", System.Globalization.CultureInfo.InvariantCulture)}), " +
                "so the fit would see none of them: widen the kernel (KernelWidth, --kernel-width) or leave it unset for the preset's");
        }
    }

    /// <summary>The preset's distance of each mask from the unperturbed text and its kernel weight (what <see cref="Fit"/> weighs samples by).</summary>
    private (double[] Distances, double[] Weights) KernelWeights(IReadOnlyList<IReadOnlyList<bool>> masks, int features)
    {
        var width = EffectiveKernelWidth;
        var captum = Preset == LimePreset.Captum;
        var distances = LimeRegression.CosineDistances(masks, features, captum ? 1.0 : 100.0);
        return (distances, distances.Select(d => captum ? LimeRegression.CaptumKernel(d, width) : LimeRegression.LitKernel(d, width)).ToArray());
    }

    // pair: the second text of a sentence pair (then predictor is an ITokenClassifier and the features of segment 1 are its
    // words), or null.
    // shared: the model's outputs for this text's perturbed texts, kept across its runs for other classes, or null.
    // tokenizer: the model's, whose mask token replaces features when MaskToken is null.
    private LimeRun RunWith(ITextPredictor predictor, string text, string? pair, int target, IReadOnlyList<TextFeature> features, IReadOnlyList<IReadOnlyList<bool>>? given,
        ITokenizer? tokenizer, CancellationToken cancellation = default, ModelRows? shared = null)
    {
        if (features.Count == 0)
        {
            throw new ArgumentException("the text has no features to perturb", nameof(text));
        }

        IReadOnlyList<IReadOnlyList<bool>> masks;
        if (given is null)
        {
            masks = SampleMasks(features.Count);
        }
        else
        {
            if (given.Count < 1)
            {
                throw new ArgumentException("at least one mask is needed", nameof(given));
            }

            for (var s = 0; s < given.Count; s++)
            {
                if (given[s] is null || given[s].Count != features.Count)
                {
                    throw new ArgumentException($"mask {s} has {given[s]?.Count ?? 0} entries but the text has {features.Count} features", nameof(given));
                }
            }

            masks = given;
        }

        var (keptMasks, texts) = PerturbedTexts(text, pair, features, masks, tokenizer);
        if (texts.Count == 0)
        {
            throw new InvalidOperationException("every perturbed text is empty: with removal, keep at least one feature (or use masking)");
        }

        CheckKernelReachesASample(keptMasks, features.Count);

        // Each distinct perturbed text is scored once (short texts repeat masks often: 4 words have 16 masks), and
        // the distinct texts go to the model sorted by length, so padding within a batch stays small.
        var byText = new Dictionary<string, double>(StringComparer.Ordinal);
        if (shared is not null)
        {
            foreach (var known in texts)
            {
                if (shared.TryGet(known.Key, out var row))
                {
                    byText[known.Key] = row[target];
                }
            }
        }

        var distinct = texts.DistinctBy(t => t.Key, StringComparer.Ordinal).Where(t => !byText.ContainsKey(t.Key))
            .OrderBy(t => t.Key.Length).ThenBy(t => t.Key, StringComparer.Ordinal).ToList();
        CheckPerturbedLengths(predictor, distinct, text, pair);
        // A pair goes to the model as the ids of both texts' encoding (a text left with no word by removal is empty there,
        // its separators kept), as the perturbation methods send pairs.
        var pairModel = pair is null ? null : (ITokenClassifier)predictor;
        var encodings = pairModel is null ? null : distinct.Select(t => pairModel.Tokenizer.Encode(t.Text, t.Pair)).ToArray();
        // The library's own classifier builds each call from the encodings that measured the lengths (one tokenization
        // per perturbed text, where Predict would tokenize again to sort and again to encode).
        var classifier = pair is null && predictor as TextClassifier is { Head: not OutputHead.Regression } own ? own : null;
        var tokenized = classifier is null ? null : TokenizedTexts.Of(classifier, distinct.Select(t => t.Text).ToList(), truncate: false);
        var lengths = tokenized?.Lengths ?? encodings?.Select(e => e.Length).ToArray() ?? (predictor is ITokenClassifier tokenModel
            ? distinct.Select(t => tokenModel.Tokenizer.Encode(t.Text).Length).ToArray()
            : distinct.Select(t => t.Text.Length).ToArray());
        var budget = predictor is ITokenClassifier ? TokenBudget : int.MaxValue;
        // TokenizedTexts' chunks also keep one length per call for a model that must never see padding.
        foreach (var call in tokenized?.Chunks(BatchSize, budget) ?? Models.TokenBudgetBatches.Chunk(lengths, budget, BatchSize))
        {
            cancellation.ThrowIfCancellationRequested();
            var chunk = call.Select(i => distinct[i]).ToArray();
            double[][] rows;
            if (tokenized is not null)
            {
                using var scope = TorchSharp.torch.NewDisposeScope();
                rows = classifier!.PredictBatch(tokenized.Batch(call)).Select(p => p.Probabilities).ToArray();
            }
            else if (encodings is not null)
            {
                rows = PredictPairs(pairModel!, call.Select(i => encodings[i]).ToArray(), chunk.Select(t => t.Shown).ToArray(), cancellation);
            }
            else
            {
                rows = Predict(predictor, chunk.Select(t => t.Text).ToArray(), cancellation);
            }

            for (var i = 0; i < rows.Length; i++)
            {
                byText[chunk[i].Key] = rows[i][target];
                shared?.Add(chunk[i].Key, rows[i]);
            }

            shared?.Called(chunk.Length);
        }

        var probabilities = texts.Select(t => byText[t.Key]).ToArray();

        var fit = Fit(keptMasks, probabilities);
        return new LimeRun(features, keptMasks.ToArray(), texts.Select(t => t.Shown).ToArray(), probabilities, fit, masks.Count - keptMasks.Count);
    }

    /// <summary>
    /// A given mask string of several tokens (e.g. <c>[MASK]</c> for RoBERTa) makes a masked text longer than the text
    /// itself, so a text that fits the model can have perturbed texts that do not: refused here, naming the mask string,
    /// rather than by the model as if the caller had passed them (with truncation suggested, which LIME cannot use) or,
    /// for a regression head, cut silently. The model's own mask token and removal never lengthen a text, so only a given
    /// mask string is checked (one more tokenization of each perturbed text).
    /// </summary>
    private void CheckPerturbedLengths(ITextPredictor predictor, IReadOnlyList<PerturbedText> perturbed, string text, string? pair)
    {
        if (Perturbation != LimePerturbation.Mask || MaskToken is not { } given || predictor is not ITokenClassifier { MaxLength: { } limit } model)
        {
            return;
        }

        foreach (var candidate in perturbed)
        {
            var length = model.Tokenizer.Encode(candidate.Text, candidate.Pair).Length;
            if (length > limit)
            {
                var original = model.Tokenizer.Encode(text, pair).Length;
                var what = pair is null ? "text" : "pair";
                throw new ArgumentException(
                    $"a perturbed {what} has {length} tokens but {model.Name} accepts at most {limit} (the {what} itself has {original}): the mask string \"{given}\" is more tokens than the words it replaces; leave MaskToken unset (--mask-token unset) for the model's own mask token, use Perturbation = Remove, or shorten the {what}",
                    nameof(MaskToken));
            }
        }
    }

    /// <summary>
    /// The masks whose perturbed text is not blank, and those texts (a blank one is never sent to the model). For a pair,
    /// each text is rebuilt from its own features' entries (the first text's, then the pair's); a pair is left out only
    /// when both texts are blank, and one text left blank by removal is sent empty (its separators stay).
    /// </summary>
    private (List<bool[]> Masks, List<PerturbedText> Texts) PerturbedTexts(string text, string? pair, IReadOnlyList<TextFeature> features,
        IReadOnlyList<IReadOnlyList<bool>> masks, ITokenizer? tokenizer)
    {
        var keptMasks = new List<bool[]>(masks.Count);
        var texts = new List<PerturbedText>(masks.Count);
        // The first text's features come first (LimeText.PairWords); the rest are the pair's.
        var split = pair is null ? features.Count : features.Count(f => f.Segment == 0);
        var (firsts, seconds) = (features.Take(split).ToArray(), features.Skip(split).ToArray());
        var replacement = Perturbation == LimePerturbation.Mask ? MaskText(tokenizer) : null;
        foreach (var mask in masks)
        {
            PerturbedText perturbed;
            if (pair is null)
            {
                perturbed = new(Perturb(text, features, mask, tokenizer), null);
            }
            else
            {
                var kept = mask.ToArray();
                perturbed = new(
                    LimeText.Rebuild(text, firsts, kept[..split], join: Features == LimeFeatures.Words, replacement),
                    LimeText.Rebuild(pair, seconds, kept[split..], join: Features == LimeFeatures.Words, replacement));
            }

            if (!string.IsNullOrWhiteSpace(perturbed.Text) || !string.IsNullOrWhiteSpace(perturbed.Pair))
            {
                keptMasks.Add(mask.ToArray());
                texts.Add(perturbed);
            }
        }

        return (keptMasks, texts);
    }

    /// <summary>One perturbed input: a text, or the two texts of a pair.</summary>
    private readonly record struct PerturbedText(string Text, string? Pair)
    {
        /// <summary>
        /// What tells inputs apart (de-duplication, the rows shared across classes): the text itself; for a pair, the first
        /// text's length, then both texts, so no two pairs share a key.
        /// </summary>
        public string Key => Pair is null ? Text : string.Create(CultureInfo.InvariantCulture, $"{Text.Length}:{Text}{Pair}");

        /// <summary>The input as results and messages show it (a pair as <see cref="Explanation.DisplayText"/> does).</summary>
        public string Shown => Pair is null ? Text : Text + Explanation.PairSeparator + Pair;
    }

    /// <summary>
    /// The model's output rows for encoded pairs: its probabilities, or a regression head's output itself (what LIME
    /// fits), after checking the logits are finite; <paramref name="cancellation"/> is checked before each of the model's passes.
    /// </summary>
    private static double[][] PredictPairs(ITokenClassifier model, Encoding[] encodings, string[] shown, CancellationToken cancellation)
    {
        var logits = TokenBatches.PredictLogits(model, encodings.Select(e => new TokenSequence(e.Ids, e.TypeIds)).ToArray(), cancellation);
        if (logits is null || logits.Length != encodings.Length)
        {
            throw new InvalidOperationException($"{model.Name} returned {logits?.Length.ToString(CultureInfo.InvariantCulture) ?? "null"} rows of logits for {encodings.Length} inputs; it must return one row per input");
        }

        NonFiniteValueException.CheckLogits(model.Name, logits, shown);
        return model.Head == OutputHead.Regression ? logits : logits.Select(row => model.Head.Probabilities(row)).ToArray();
    }

    /// <summary>
    /// The perturbed texts a black box's run on <paramref name="text"/> will send (its masks come from the seed alone),
    /// without the run's fit; none for a text the run will refuse.
    /// </summary>
    private IEnumerable<string> PlanBlackBox(string text)
    {
        var features = SplitFeatures(text);
        return features.Count == 0 ? [] : PerturbedTexts(text, null, features, SampleMasks(features.Count), null).Texts.Select(t => t.Text);
    }

    private IReadOnlyList<Explanation> AttributeAll(ITextPredictor predictor, ITokenClassifier? model, IReadOnlyList<string> texts, AttributionOptions? options)
    {
        // One lease for every text's model calls (ModelLease): a TextClassifier disposed meanwhile keeps its module until they end.
        using var lease = ModelLease.Enter(predictor);
        options ??= new AttributionOptions();
        Check(model, texts, options);
        options.Validate(predictor.Labels);
        // LIME fits the probability (a regression head's output, which the check lets pass whatever the score).
        Internal.ScoreChecks.CheckOneOutputSoftmax(predictor, ScoreOutput.Probability);
        if (model is null)
        {
            // The texts and all their perturbed texts go to the predictor together, in full calls: a remote predictor
            // pays a round trip for each call.
            return Internal.BlackBoxBatches.Explain(predictor, texts, BatchSize, options.Cancellation,
                (view, text, probabilities) => ExplainBlackBox(view, text, probabilities, options), plan: PlanBlackBox);
        }

        return texts.Select((text, i) => ExplainModel(model, text, i, options)).ToList();
    }

    private void Check(ITokenClassifier? model, IReadOnlyList<string> texts, AttributionOptions options)
    {
        Internal.TextArguments.Check(texts);
        options.Validate();
        TextPairs.Check(texts, options.Pairs, nameof(AttributionOptions.Pairs));
        ValidateSettings();
        if (options.Pairs is not null && model is null)
        {
            throw Internal.TextPairResults.BlackBoxTakesNoPairs();
        }

        if (options.Pairs is not null && Features == LimeFeatures.Tokens)
        {
            throw Internal.TextPairResults.TokenFeaturesTakeNoPairs();
        }

        if (model is null && Features == LimeFeatures.Tokens)
        {
            throw TokensNeedTokenizer();
        }
    }

    /// <inheritdoc />
    IReadOnlyList<Explanation[]> IEveryClassAttributor.AttributeClasses(ITextClassifier model, IReadOnlyList<string> texts, IReadOnlyList<int> classes, AttributionOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        Check(model, texts, options);
        return texts.Select((text, i) => ModelRows.ForClasses(classes, (c, rows) => ExplainModel(model, text, i, options with { Target = Target.Class(c) }, rows))).ToArray();
    }

    // rows: the model's outputs for this text, shared with its runs for other classes, or null.
    // index: the text's position in the caller's list, for errors.
    private Explanation ExplainModel(ITokenClassifier model, string text, int index, AttributionOptions options, ModelRows? rows = null)
    {
        // Before this text's first model call: a call cancelled during the previous text's last batch ran this text's
        // unperturbed input before the batch loop's own check stopped it.
        options.Cancellation.ThrowIfCancellationRequested();
        var clock = Stopwatch.StartNew();
        Internal.ScoreChecks.CheckTarget(model, options.Target);
        var pair = options.Pairs?[index];
        var (encoding, logits, probabilities) = Forward(model, text, pair, rows, options.Cancellation);
        TokenizedTexts.RequireTokens(text, pair, index, encoding);
        var target = options.Target.Resolve(model.Labels, model.Head == OutputHead.Regression ? 0 : LogitMath.ArgMax(logits));
        // As the perturbation methods take them: special tokens and tokens of no character (a byte-level BPE token of
        // spaces only has an empty span) belong to no word, and a word of no token (the tokenizer drops every character)
        // is no feature. (Token features with a pair were refused before any model call.)
        var (features, tokenFeature, dropped) = LimeText.ModelFeatures(text, pair, encoding, Features);

        var run = RunWith(model, text, pair, target, features, null, model.Tokenizer, options.Cancellation, rows);

        // A feature's tokens share its coefficient equally: word scores aggregated by sum (the default) give the
        // coefficient back, and the token scores add up to Σ coefficients, as other methods' scores add up.
        var tokensPerFeature = tokenFeature.Where(f => f >= 0).GroupBy(f => f).ToDictionary(g => g.Key, g => g.Count());
        var scores = tokenFeature.Select(f => f < 0 ? 0.0 : run.Fit.Coefficients[f] / tokensPerFeature[f]).ToArray();
        // A regression output has no probability: LIME fits the output itself.
        var fitted = Internal.ScoreChecks.ProbabilityOrOutput(model.Head);
        var notes = RunNotes(run, pair is not null);
        if (pair is not null && EmptiedTextNote(run, model) is { } emptied)
        {
            notes.Add(emptied);
        }

        if (MaskNote(model) is { } maskNote)
        {
            notes.Add(maskNote);
        }

        if (LimeText.TokenlessNote(dropped, model.Tokenizer, model.Name) is { } tokenless)
        {
            notes.Add(tokenless);
        }

        return (Finish(run, text, model.Name, model.Labels, target, logits, probabilities, notes, clock, options,
            new TokenScores(encoding.Tokens, encoding.Ids, encoding.Offsets, encoding.SpecialTokensMask, scores), MaskText(model.Tokenizer), fitted) with
        {
            Head = model.Head,
        }).WithPair(pair, encoding);
    }

    // probabilities: the predictor's output for the text itself.
    private Explanation ExplainBlackBox(ITextPredictor predictor, string text, double[] probabilities, AttributionOptions options)
    {
        var clock = Stopwatch.StartNew();
        var target = options.Target.Resolve(predictor.Labels, LogitMath.ArgMax(probabilities));
        var features = SplitFeatures(text);
        var run = RunWith(predictor, text, null, target, features, null, null, options.Cancellation);
        var notes = RunNotes(run, pair: false);
        notes.Add("black-box predictor: the tokens are LIME's features (ids −1) and the logits are the log-probabilities");
        var logits = probabilities.Select(p => Math.Log(Math.Max(p, double.Epsilon))).ToArray();
        return Finish(run, text, predictor is ITokenClassifier named ? named.Name : "black-box", predictor.Labels, target, logits, probabilities, notes, clock, options,
            new TokenScores(
                features.Select(f => f.Text).ToArray(),
                Enumerable.Repeat(-1L, features.Count).ToArray(),
                features.Select(f => ((int, int)?)(f.Start, f.End)).ToArray(),
                new bool[features.Count],
                run.Fit.Coefficients.ToArray()), MaskText(null));
    }

    /// <summary>
    /// A note when removal left one text of a pair with no word in some fitted samples: the model then got the pair with
    /// that text empty, its special tokens kept around the other text's tokens (<c>[CLS] [SEP] … [SEP]</c> for BERT), as the
    /// perturbation methods send it. (Samples that removed every word of both texts are not sent at all.)
    /// </summary>
    private string? EmptiedTextNote(LimeRun run, ITokenClassifier model)
    {
        if (Perturbation != LimePerturbation.Remove)
        {
            return null;
        }

        var split = run.Features.Count(f => f.Segment == 0);
        var (first, second) = (run.Masks.Count(m => !m[..split].Contains(true)), run.Masks.Count(m => !m[split..].Contains(true)));
        if (first + second == 0)
        {
            return null;
        }

        // The special tokens of such a pair, the other text's tokens shown as one "…".
        var example = first > 0 ? model.Tokenizer.Encode(string.Empty, "x") : model.Tokenizer.Encode("x", string.Empty);
        var parts = new List<string>();
        for (var t = 0; t < example.Length; t++)
        {
            var part = example.SpecialTokensMask[t] ? example.Tokens[t] : "…";
            if (part != "…" || parts.LastOrDefault() != "…")
            {
                parts.Add(part);
            }
        }

        var shown = string.Join(" ", parts);
        return string.Create(CultureInfo.InvariantCulture,
            $"with removal, {first} sample(s) removed every word of the text and {second} every word of its pair: {model.Name} got such a pair with that text empty and its special tokens kept ({shown}), a valid input, scored and fitted like the others");
    }

    /// <summary>
    /// A note when a given mask string is not one token of the model's vocabulary (LIT's <c>[MASK]</c> is three
    /// ordinary tokens for RoBERTa): each switched-off word then adds several tokens the model reads as text.
    /// </summary>
    private string? MaskNote(ITokenClassifier model)
    {
        if (Perturbation != LimePerturbation.Mask || MaskToken is not { } given || model.Tokenizer is not { MaskId: { } maskId } tokenizer)
        {
            return null;
        }

        var encoding = tokenizer.Encode(given);
        // The tokens the string itself became (the template's [CLS]/[SEP] or <s>/</s> have no offsets).
        var pieces = Enumerable.Range(0, encoding.Length).Where(t => encoding.Offsets[t] is not null).Select(t => encoding.Tokens[t]).ToArray();
        return pieces.Length == 1 ? null
            : $"the mask string \"{given}\" is {pieces.Length} tokens of {model.Name}'s vocabulary ({string.Join(" ", pieces)}), so each switched-off word became {pieces.Length} tokens of text; its own mask token is \"{tokenizer.IdToToken(maskId)}\" (leave MaskToken unset, or --mask-token unset, to use it)";
    }

    /// <summary>The tokens of a LIME result and their scores (model tokens, or the features of a black box).</summary>
    private sealed record TokenScores(string[] Tokens, long[] Ids, (int Start, int End)?[] Offsets, bool[] IsSpecial, double[] Scores);

    /// <summary>The explanation both entry points return: their tokens plus the run's surrogate, notes and settings.</summary>
    // fitted: the output the surrogate fitted (the probability, or a regression output itself), which the settings also name.
    private Explanation Finish(LimeRun run, string text, string model, IReadOnlyList<string> labels, int target, double[] logits,
        double[] probabilities, List<string> notes, Stopwatch clock, AttributionOptions options, TokenScores tokens, string maskText, ScoreOutput fitted = ScoreOutput.Probability)
    {
        var explanation = new Explanation
        {
            Text = text,
            Model = model,
            Method = Name,
            Kind = Kind,
            Settings = DescribeSettings(fitted, maskText).ToList(),
            Tokens = [.. tokens.Tokens],
            TokenIds = [.. tokens.Ids],
            Offsets = [.. tokens.Offsets],
            IsSpecial = [.. tokens.IsSpecial],
            Scores = [.. tokens.Scores],
            Target = target,
            TargetLabel = labels[target],
            Logits = [.. logits],
            Probabilities = [.. probabilities],
            ScoreOutput = fitted,
            Signedness = Signedness.Signed,
            Reduction = ScoreReduction.FeatureCoefficient,
            Surrogate = Surrogate(run),
            Notes = notes,
            Elapsed = clock.Elapsed,
        };
        return explanation;
    }

    private static SurrogateModel Surrogate(LimeRun run) =>
        new(run.Features, [.. run.Fit.Coefficients], run.Fit.Intercept, run.Fit.RSquared, run.Fit.UnweightedRSquared, run.Masks.Length);

    // pair: whether the run explained a sentence pair.
    private List<string> RunNotes(LimeRun run, bool pair)
    {
        var notes = new List<string>();
        if (run.Dropped > 0)
        {
            notes.Add($"{run.Dropped} sample(s) removed every feature, leaving {(pair ? "both texts of the pair empty" : "an empty text")}; they were not sent to the model and are not in the fit");
        }

        // A sample of kernel weight 0 (a kernel far narrower than the distances) is not seen by the fit at all.
        var seen = run.Masks.Where((_, s) => run.Fit.Weights[s] > 0).ToArray();
        if (seen.Length < run.Masks.Length)
        {
            notes.Add(string.Create(CultureInfo.InvariantCulture,
                $"{run.Masks.Length - seen.Length} of {run.Masks.Length} samples got a kernel weight of 0 (kernel width {EffectiveKernelWidth:G4}, distances up to {run.Fit.Distances.Max():G4}), so the fit does not see them: widen the kernel (KernelWidth, --kernel-width)"));
        }

        // A feature kept in every fitted sample has no variation for the fit to explain: its 0 means unknown, not no effect.
        var constant = Enumerable.Range(0, run.Features.Count).Where(j => seen.All(m => m[j])).ToArray();
        if (constant.Length > 0)
        {
            var words = string.Join(", ", constant.Take(5).Select(j => $"'{run.Features[j].Text}'")) + (constant.Length > 5 ? $" and {constant.Length - 5} more" : string.Empty);
            notes.Add($"{words} {(constant.Length == 1 ? "was" : "were")} kept in every sample the fit saw, so {(constant.Length == 1 ? "its" : "their")} coefficient of 0 means unknown, not no effect: " +
                (run.Dropped > 0 ? "mask features instead of removing them (Perturbation = Mask, --perturbation mask), or draw more samples" : "draw more samples"));
        }

        // The same holds for a feature switched off in every fitted sample (the Captum preset has no unperturbed sample).
        var neverOn = Enumerable.Range(0, run.Features.Count).Where(j => seen.Length > 0 && seen.All(m => !m[j])).ToArray();
        if (neverOn.Length > 0)
        {
            var words = string.Join(", ", neverOn.Take(5).Select(j => $"'{run.Features[j].Text}'")) + (neverOn.Length > 5 ? $" and {neverOn.Length - 5} more" : string.Empty);
            notes.Add($"{words} {(neverOn.Length == 1 ? "was" : "were")} switched off in every sample the fit saw, so {(neverOn.Length == 1 ? "its" : "their")} coefficient of 0 means unknown, not no effect: draw more samples");
        }

        if (!run.Fit.Converged)
        {
            notes.Add("the Lasso's coordinate descent stopped at its sweep limit before converging; the coefficients are approximate");
        }

        return notes;
    }

    /// <summary>The original text's (or pair's) encoding (without padding), logits and probabilities.</summary>
    private static (Encoding Encoding, double[] Logits, double[] Probabilities) Forward(ITokenClassifier model, string text, string? pair, ModelRows? rows,
        CancellationToken cancellation)
    {
        var encoding = model.Tokenizer.Encode(text, maxLength: pair is null ? model.MaxLength : null, pair: pair);
        if (encoding.Truncated > 0)
        {
            throw new ArgumentException(
                $"the text has {encoding.Truncated} token(s) more than {model.Name} accepts ({model.MaxLength}); LIME sends whole perturbed texts to the model, so it cannot explain a truncated text: shorten it",
                nameof(text));
        }

        if (pair is not null && model.MaxLength is { } max && encoding.Length > max)
        {
            // Truncation would cut words that the perturbed pairs (re-tokenized whole) bring back: refused, as for a text.
            throw new ArgumentException(
                $"the text with its pair has {encoding.Length} tokens but {model.Name} accepts at most {max}; LIME sends whole perturbed pairs to the model, so it cannot explain a truncated pair: shorten the text or its pair",
                nameof(text));
        }

        var logits = rows?.Unperturbed ?? TokenBatches.PredictLogits(model, [new TokenSequence(encoding.Ids, encoding.TypeIds)], cancellation)[0];
        NonFiniteValueException.CheckLogits(model.Name, [logits], [text]);
        rows?.Unperturbed = logits;
        return (encoding, logits, model.Head.Probabilities(logits));
    }

    /// <summary>
    /// Calls the predictor and checks its answer: one row per text, one finite probability per label. A model that runs
    /// several passes per call (an ONNX model's session runs) is given <paramref name="cancellation"/>, checked before each.
    /// </summary>
    internal static double[][] Predict(ITextPredictor predictor, IReadOnlyList<string> texts, CancellationToken cancellation)
    {
        if (predictor is ITokenClassifier { Head: OutputHead.Regression } regression)
        {
            // A regression output has no probability: LIME fits the output itself (as LIT does for regression models).
            return TokenBatches.PredictLogits(regression, texts.Select(t =>
            {
                var encoding = regression.Tokenizer.Encode(t, maxLength: regression.MaxLength);
                return new TokenSequence(encoding.Ids, encoding.TypeIds);
            }).ToArray(), cancellation);
        }

        double[][] returned;
        try
        {
            returned = PredictorCalls.Probabilities(predictor, texts, cancellation);
        }
        catch (Exception e) when (e is not OperationCanceledException && texts.FirstOrDefault(string.IsNullOrWhiteSpace) is { } blank)
        {
            // With removal, the coalition of no words is the empty text (only the whitespace between features with
            // words-punct), as the lime package sends it; a predictor that refuses it would otherwise fail with its own
            // message, which names neither the perturbation nor the text.
            throw new ArgumentException(
                $"the predictor threw {e.GetType().Name} ({e.Message}) on a call of {texts.Count} text(s) that included {(blank.Length == 0 ? "the empty text \"\"" : "a text of whitespace only")}: " +
                "with Perturbation = Remove (--perturbation remove), the coalition of no words is every word removed, which Shapley values, Shapley sampling and KernelSHAP " +
                "always score (f(∅)) and occlusion scores for a one-word text. If the predictor refuses empty texts, use Perturbation = Mask, or make it answer one " +
                "(e.g. with its class prior)", "Perturbation", e);
        }

        return PredictorRows.Check(returned, texts.Count, predictor.Labels.Count, "the predictor");
    }

    private static void CheckText(string? text, string name)
    {
        if (text is null)
        {
            throw new ArgumentNullException(name, $"{name} is null");
        }

        if (string.IsNullOrWhiteSpace(text))
        {
            throw new ArgumentException($"{name} is empty or whitespace: there is nothing to explain", name);
        }
    }

    /// <inheritdoc />
    void Internal.ISettingsCheck.CheckSettings() => ValidateSettings();

    private void ValidateSettings()
    {
        if (!Enum.IsDefined(Preset))
        {
            throw new ArgumentOutOfRangeException(nameof(Preset), Preset, "unknown LIME preset: use Lit or Captum");
        }

        if (!Enum.IsDefined(Features))
        {
            throw UnknownFeatures();
        }

        if (!Enum.IsDefined(Perturbation))
        {
            throw new ArgumentOutOfRangeException(nameof(Perturbation), Perturbation, "unknown LIME perturbation: use Mask or Remove");
        }

        if (Samples < 1 || Samples > MaxSamples)
        {
            throw new ArgumentOutOfRangeException(nameof(Samples), Samples, $"LIME needs between 1 and {MaxSamples} samples");
        }

        if (BatchSize < 1 || BatchSize > PerturbationMethod.MaxBatchSize)
        {
            throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, $"the batch size must be between 1 and {PerturbationMethod.MaxBatchSize}");
        }

        Models.TokenBudgetBatches.Validate(TokenBudget, nameof(TokenBudget));

        if (!(EffectiveKernelWidth > 0) || !double.IsFinite(EffectiveKernelWidth))
        {
            throw new ArgumentOutOfRangeException(nameof(KernelWidth), EffectiveKernelWidth, "the kernel width must be positive and finite");
        }

        if (!(EffectiveAlpha >= 0) || !double.IsFinite(EffectiveAlpha))
        {
            throw new ArgumentOutOfRangeException(nameof(Alpha), EffectiveAlpha, "the regularization strength must be finite and non-negative");
        }

        if (Perturbation == LimePerturbation.Mask && MaskToken is { } given && string.IsNullOrWhiteSpace(given))
        {
            throw new ArgumentException($"the mask string \"{given}\" is empty or blank: give the string that replaces a switched-off word, leave MaskToken null for the model's mask token, or use Perturbation = Remove to delete features", nameof(MaskToken));
        }
    }

    private ArgumentOutOfRangeException UnknownFeatures() =>
        new(nameof(Features), Features, "unknown LIME feature mode: use Words, WordsAndPunctuation or Tokens");

    private static ArgumentException TokensNeedTokenizer() =>
        new("token features need the model's tokenizer: use word features with a black-box predictor, or pass a tokenizer", "Features");

    // maskText: the mask string a run used; null for the attributor's own settings, where it may still be the model's.
    private IEnumerable<KeyValuePair<string, string>> DescribeSettings(ScoreOutput fitted = ScoreOutput.Probability, string? maskText = null)
    {
        var captum = Preset == LimePreset.Captum;
        yield return new("preset", Enum.IsDefined(Preset) ? Preset.Name() : Preset.ToString());
        yield return new("samples", Samples.ToString(CultureInfo.InvariantCulture));
        yield return new("seed", Seed.ToString(CultureInfo.InvariantCulture));
        yield return new("features", Enum.IsDefined(Features) ? Features.Name() : Features.ToString());
        yield return new("perturbation", Enum.IsDefined(Perturbation) ? Perturbation.Name() : Perturbation.ToString());
        if (Perturbation == LimePerturbation.Mask)
        {
            yield return new("mask-token", maskText ?? MaskToken ?? "the model's mask token");
        }

        yield return new("sampling", captum ? "bernoulli-0.5" : "uniform-count-plus-original");
        yield return new("distance", captum ? "cosine" : "100-cosine");
        yield return new("kernel", captum ? "exp(-d^2/(2w^2))" : "sqrt(exp(-d^2/w^2))");
        yield return new("kernel-width", EffectiveKernelWidth.ToString("R", CultureInfo.InvariantCulture));
        yield return new("surrogate", captum ? "lasso" : "ridge");
        yield return new("alpha", EffectiveAlpha.ToString("R", CultureInfo.InvariantCulture));
        yield return new("batch-size", BatchSize.ToString(CultureInfo.InvariantCulture));
        yield return new("token-budget", TokenBudget.ToString(CultureInfo.InvariantCulture));
        yield return new("score", fitted.Name());
    }
}
