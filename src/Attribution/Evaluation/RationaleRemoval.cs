using Attribution.Methods;
using Attribution.Models;

namespace Attribution.Evaluation;

/// <summary>How the tokens of a rationale leave the input.</summary>
public enum TokenRemoval
{
    /// <summary>They are deleted (ERASER, ferret's default); the input gets shorter.</summary>
    Remove,

    /// <summary>Each is replaced by the tokenizer's mask token; the input keeps its length.</summary>
    Mask,
}

/// <summary>
/// ERASER's comprehensiveness and sufficiency (DeYoung et al. 2020) as ferret computes them, on the model's token ids.
/// For each fraction k of 10%, 20%, …, 100%, the rationale is the ⌊k·n⌋ content tokens with the largest scores that
/// are positive (towards the explained class; special tokens are never in it and never removed); a rationale equal to
/// the previous fraction's is not counted again. <b>Comprehensiveness</b> = p(x) − p(x without the rationale),
/// <b>sufficiency</b> = p(x) − p(the rationale alone), for the explained class's probability (softmax; a multi-label
/// model's sigmoid of the label; a regression model's output itself); the AOPC is the mean over the fractions counted. High comprehensiveness and low sufficiency mean a faithful explanation.
/// Neither is clamped: a negative comprehensiveness (removing the rationale raised the output; common for unsigned
/// methods, whose largest magnitudes may be evidence against the class) and a negative sufficiency (the rationale alone
/// scores higher than the text) are real values, and the result's note says so. On a regression model the differences
/// are in the output's own units, and positive scores are those that raise the output.
/// </summary>
/// <remarks>
/// ⌊k·n⌋ is computed exactly, in integers; it equals ferret's <c>int(k * n)</c> over its <c>np.arange(0.1, 1.1, 0.1)</c>
/// fractions (whose 0.3 and 0.7 are slightly above, so they truncate as the exact product does; checked for every n up to
/// 200,000), where a plain 0.7 × 90 in floating point gives 62.99999999999999 and 62 tokens.
/// ferret decodes each perturbed input to text and tokenizes it again; here the ids are used as they are, which is the
/// same input without the round trip's drift. With <see cref="TokenRemoval.Mask"/>, sufficiency masks every content
/// token outside the rationale (ferret's mask branch of sufficiency masks the rationale itself, which makes it equal
/// to comprehensiveness; this follows the definition instead). Tokens of equal score are taken in text order, earlier
/// first (ferret's order among them is numpy's unstable argsort's: either is arbitrary), and the result's note names
/// the fractions whose cut fell among equal scores. A NaN score has no rank: the value is then NaN, with a note naming
/// the token. An explanation with no positive score has an empty rationale at
/// every fraction, which measures the model rather than the explanation, and the note says so: comprehensiveness is then
/// 0 (ferret's value) and sufficiency p(x) − p(the special tokens alone), where ferret's current release returns a fixed
/// 1 instead.
/// </remarks>
public static class RationaleRemoval
{
    /// <summary>The removal fractions (10% … 100%).</summary>
    /// <remarks>Read-only: the array it was cast back to could be written, changing what every caller in the process read.</remarks>
    public static IReadOnlyList<double> Fractions { get; } = Array.AsReadOnly(Enumerable.Range(1, 10).Select(i => i / 10.0).ToArray());

    /// <summary>In a result's note when a cut fell among equal scores (the scorecard counts these texts).</summary>
    internal const string TiedCutNote = "the cut fell among tokens of equal score, taken in text order";

    /// <summary>In a result's note when no content token has a positive score (the scorecard counts these texts).</summary>
    internal const string EmptyRationaleNote = "no content token has a positive score";

    /// <summary>Comprehensiveness (AOPC) of an explanation of <paramref name="model"/>.</summary>
    /// <exception cref="ArgumentException">The explanation is malformed (per-token arrays of other lengths, spans outside its
    /// text), came from a black-box predictor (no token ids), or its tokens are not the model's for its text; or
    /// <see cref="TokenRemoval.Mask"/> with a tokenizer that has no mask token, or <see cref="TokenRemoval.Remove"/> that would leave
    /// no token at all (a tokenizer that adds no special tokens) (parameter <c>removal</c>).</exception>
    /// <exception cref="ArgumentOutOfRangeException">The explanation's target is not an output of the model, or
    /// <paramref name="removal"/> is not a <see cref="TokenRemoval"/> value.</exception>
    /// <exception cref="NonFiniteValueException">The model gave a non-finite output.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellation"/> was cancelled (checked before each forward
    /// pass: the text and its removals are one batched call, but a model that takes no mask runs one pass per input length,
    /// up to 11).</exception>
    /// <param name="model">The classifier the explanation is of.</param>
    /// <param name="explanation">The explanation whose rationales are removed.</param>
    /// <param name="removal">Whether the rationale's tokens are deleted or masked.</param>
    /// <param name="cancellation">Stops the call before its next forward pass (the scorecard passes its own token).</param>
    public static MetricResult Comprehensiveness(ITokenClassifier model, Explanation explanation, TokenRemoval removal = TokenRemoval.Remove,
        CancellationToken cancellation = default) =>
        Compute(model, explanation, removal, comprehensiveness: true, cancellation);

    /// <summary>Sufficiency (AOPC) of an explanation of <paramref name="model"/>.</summary>
    /// <exception cref="ArgumentException">The explanation is malformed (per-token arrays of other lengths, spans outside its
    /// text), came from a black-box predictor (no token ids), or its tokens are not the model's for its text; or
    /// <see cref="TokenRemoval.Mask"/> with a tokenizer that has no mask token, or <see cref="TokenRemoval.Remove"/> that would leave
    /// no token at all (a tokenizer that adds no special tokens) (parameter <c>removal</c>).</exception>
    /// <exception cref="ArgumentOutOfRangeException">The explanation's target is not an output of the model, or
    /// <paramref name="removal"/> is not a <see cref="TokenRemoval"/> value.</exception>
    /// <exception cref="NonFiniteValueException">The model gave a non-finite output.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellation"/> was cancelled (checked before each forward
    /// pass: the text and its removals are one batched call, but a model that takes no mask runs one pass per input length,
    /// up to 11).</exception>
    /// <param name="model">The classifier the explanation is of.</param>
    /// <param name="explanation">The explanation whose rationales are removed.</param>
    /// <param name="removal">Whether the rationale's tokens are deleted or masked.</param>
    /// <param name="cancellation">Stops the call before its next forward pass (the scorecard passes its own token).</param>
    public static MetricResult Sufficiency(ITokenClassifier model, Explanation explanation, TokenRemoval removal = TokenRemoval.Remove,
        CancellationToken cancellation = default) =>
        Compute(model, explanation, removal, comprehensiveness: false, cancellation);

    /// <summary>
    /// The refusal of <paramref name="removal"/> for <paramref name="model"/> on <paramref name="texts"/> that a caller
    /// explaining the texts first (the scorecard, the CLI's <c>evaluate</c>) makes before any model call, or null when
    /// the removal works on every map: <see cref="TokenRemoval.Mask"/> needs a mask token; <see cref="TokenRemoval.Remove"/>
    /// needs special tokens in every text's encoding, since without them comprehensiveness at 100% of a map that scores
    /// every token positive (every unsigned method's) and sufficiency of a map with no positive score leave no token at
    /// all. Which maps do is known only after a method explained the texts, so such a tokenizer is refused up front,
    /// naming the removal that works for it (or none). Only the tokenizer runs.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="texts">The texts (checked already).</param>
    /// <param name="pairs">Their second texts, or null.</param>
    /// <param name="removal">The removal asked for.</param>
    /// <param name="parameter">The parameter the refusal names (the caller's setting).</param>
    /// <param name="setting">How the message names the setting and its values (e.g. <c>ScorecardSettings.Removal</c>).</param>
    /// <param name="mask">How the message names the mask value (e.g. <c>TokenRemoval.Mask</c>).</param>
    /// <param name="remove">How the message names the remove value.</param>
    internal static ArgumentException? Unusable(ITokenClassifier model, IReadOnlyList<string> texts, IReadOnlyList<string>? pairs, TokenRemoval removal,
        string parameter, string setting, string mask, string remove)
    {
        var tokenizer = model.Tokenizer;
        var bare = Enumerable.Range(0, texts.Count).FirstOrDefault(i => EncodedWithoutSpecialTokens(model, texts[i], pairs?[i]), -1);
        var neither = tokenizer.MaskId is null && bare >= 0
            ? $"; it adds no special tokens either (text {bare + 1} is encoded without one), so {remove} can leave no token at all: no removal works on every " +
              "map of this model; the removal metrics need a tokenizer that adds a special token (such as [CLS]) or has a mask token"
            : null;
        if (removal == TokenRemoval.Mask && tokenizer.MaskId is null)
        {
            return new ArgumentException(
                $"{setting} is {mask}, but {model.Name}'s tokenizer has no mask token to put in place of the removed tokens" +
                (neither ?? $": use {remove}, which deletes them (the tokenizer's special tokens keep every input non-empty)"), parameter);
        }

        if (removal == TokenRemoval.Remove && bare >= 0)
        {
            return new ArgumentException(
                $"{setting} is {remove}, but {model.Name}'s tokenizer adds no special tokens (text {bare + 1} is encoded without one), so comprehensiveness at 100% " +
                "of a map that scores every token positive (every unsigned method's) and sufficiency of a map with no positive score would leave no token at all, " +
                "which no model input can be; which maps do is known only after every text is explained" +
                (neither ?? $": use {mask}, which puts the mask token in place of each removed token and keeps the input's length"), parameter);
        }

        return null;
    }

    /// <summary>
    /// Whether <paramref name="model"/>'s tokenizer encodes the text (or the pair, truncated to the model's limit) without
    /// a special token: then removing every content token leaves no input at all.
    /// </summary>
    internal static bool EncodedWithoutSpecialTokens(ITokenClassifier model, string text, string? pair = null) =>
        !model.Tokenizer.Encode(text, pair, maxLength: model.MaxLength).SpecialTokensMask.Any(special => special);

    private static MetricResult Compute(ITokenClassifier model, Explanation explanation, TokenRemoval removal, bool comprehensiveness, CancellationToken cancellation)
    {
        var name = comprehensiveness ? "comprehensiveness" : "sufficiency";
        if (!Enum.IsDefined(removal))
        {
            throw new ArgumentOutOfRangeException(nameof(removal), removal, $"unknown removal {(int)removal}: use TokenRemoval.Remove or TokenRemoval.Mask");
        }

        var tokens = ExplanationTokens.Of(model, explanation, name);
        long? mask = removal == TokenRemoval.Mask
            ? model.Tokenizer.MaskId ?? throw new ArgumentException($"{model.Name}'s tokenizer has no mask token: use TokenRemoval.Remove", nameof(removal))
            : null;
        var n = tokens.Content.Length;
        var ranked = tokens.Content.OrderByDescending(t => tokens.Scores[t]).ThenBy(t => t).ToArray();
        var labels = new List<(string Label, HashSet<int> Rationale)>();
        var tiedCuts = new List<string>();
        HashSet<int>? previous = null;
        for (var tenths = 1; tenths <= 10; tenths++)
        {
            // ⌊k·n⌋ in integers: in floating point 0.7 × 90 is 62.99999999999999, which truncated to 62 tokens.
            var count = tenths * n / 10;
            if (count == 0)
            {
                continue;
            }

            var rationale = ranked.Take(count).Where(t => tokens.Scores[t] > 0).ToHashSet();
            if (previous is not null && rationale.SetEquals(previous))
            {
                continue;
            }

            previous = rationale;
            var label = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{tenths * 10}%");
            labels.Add((label, rationale));

            // A cut between tokens of equal positive score takes some of them by text order alone: say so.
            var last = tokens.Scores[ranked[count - 1]];
            if (count < n && last > 0 && tokens.Scores[ranked[count]] == last)
            {
                tiedCuts.Add(label);
            }
        }

        var parameters = new List<KeyValuePair<string, string>>
        {
            new("removal", removal == TokenRemoval.Remove ? "remove" : "mask"),
            new("fractions", "10%..100% by 10%"),
            new("rationale", "top floor(k*n) content tokens with positive score"),
            new("ties", "equal scores in text order, earlier tokens first"),
            new("output", ExplanationTokens.DescribeComparedOutput(model.Head)),
        };
        var definition = comprehensiveness
            ? "mean over fractions k of p(x) - p(x without the top-k rationale)"
            : "mean over fractions k of p(x) - p(the top-k rationale alone)";
        // A NaN score has no rank: sorted, it came last and was never positive, so the token silently left every
        // rationale and the value looked defined. Undefined instead, as Plausibility and τ-LOO make it.
        if (tokens.Content.FirstOrDefault(t => double.IsNaN(tokens.Scores[t]), -1) is var unranked and >= 0)
        {
            return new MetricResult(name, double.NaN, definition, parameters, [],
                $"the token '{tokens.Encoding.Tokens[unranked]}' (position {unranked} of the model's input) has a NaN score, which has no rank");
        }

        if (labels.Count == 0)
        {
            return new MetricResult(name, double.NaN, definition, parameters, [],
                $"the text has {n} content token(s): no fraction of them is a whole token");
        }

        var sequences = new List<TokenSequence> { tokens.Without(new HashSet<int>(), null) };
        foreach (var (_, rationale) in labels)
        {
            var absent = comprehensiveness ? rationale : tokens.Content.Where(t => !rationale.Contains(t)).ToHashSet();
            sequences.Add(tokens.Without(absent, mask));
        }

        // Only with removal, on a tokenizer that wraps the text in no special tokens (a user's ITokenizer): removing every
        // content token leaves no token at all, which no model input can be. It failed at the model call as TokenBatches'
        // "sequences[i] has no ids", naming neither the setting nor the fix.
        if (sequences.FindIndex(s => s.Ids.Length == 0) is var emptyAt and > 0)
        {
            var label = labels[emptyAt - 1].Label;
            throw new ArgumentException(
                $"{name} with removal = Remove at {label} " +
                (comprehensiveness ? $"removes every content token (all {n} have a positive score)" : "keeps only the rationale, which is empty (no content token has a positive score)") +
                $", and that leaves {model.Name} no token at all: its tokenizer adds no special tokens, and a model input needs at least one token. " +
                (model.Tokenizer.MaskId is null
                    ? "Its tokenizer has no mask token either, so TokenRemoval.Mask (--removal mask) cannot replace the tokens instead: this metric needs a tokenizer that adds special tokens or has a mask token"
                    : "Use TokenRemoval.Mask (--removal mask), which puts the mask token in place of each removed token and keeps the input's length"),
                nameof(removal));
        }

        var probabilities = ExplanationTokens.ComparedOutputs(model, sequences, explanation.Target, cancellation);
        var steps = labels.Select((l, i) => new MetricStep(l.Label, probabilities[0] - probabilities[i + 1],
            $"{(comprehensiveness ? "without" : "only")} {l.Rationale.Count} token(s): {string.Join(" ", l.Rationale.Order().Select(t => tokens.Encoding.Tokens[t]))}")).ToList();
        var notes = new List<string>();
        if (steps.Count < Fractions.Count)
        {
            notes.Add($"{Fractions.Count - steps.Count} fraction(s) gave no whole token or the same rationale as the one before and were not counted");
        }

        if (labels.All(l => l.Rationale.Count == 0))
        {
            // ferret's comprehensiveness too (0; its sufficiency is a fixed 1 there), but it measures the model on the text (or on
            // no content at all), not the explanation.
            notes.Add(comprehensiveness
                ? EmptyRationaleNote + ": the rationale is empty and nothing was removed"
                : EmptyRationaleNote + ": the rationale is empty and only the special tokens were kept");
        }

        if (tiedCuts.Count > 0)
        {
            notes.Add($"at {string.Join(", ", tiedCuts)} {TiedCutNote}");
        }

        // ERASER's and ferret's differences, unclamped: below zero is a finding about the explanation, not an error.
        var value = steps.Average(s => s.Value);
        if (value < 0)
        {
            notes.Add(comprehensiveness
                ? "negative: removing the rationale raised the explained output on average (the difference is not clamped, as in ERASER and ferret): the top-scored tokens work against it"
                    + (explanation.Signed ? string.Empty : ", which an unsigned method, ranking by magnitude alone, cannot tell")
                : "negative: the rationale alone gives a higher explained output than the whole text on average (the difference is not clamped, as in ERASER and ferret)");
        }

        return new MetricResult(name, value, definition, parameters, steps, notes.Count > 0 ? string.Join("; ", notes) : null);
    }
}
