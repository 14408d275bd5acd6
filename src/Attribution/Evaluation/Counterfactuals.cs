using System.Globalization;
using System.Text.RegularExpressions;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Pipeline;
using Attribution.Text;
using Attribution.Text.Tokenizers;

namespace Attribution.Evaluation;

/// <summary>How a word of an edit lines up with the original text.</summary>
public enum WordChange
{
    /// <summary>The same word in both.</summary>
    Same,

    /// <summary>An original word replaced by another.</summary>
    Replaced,

    /// <summary>A word only the edit has.</summary>
    Inserted,

    /// <summary>A word only the original has.</summary>
    Deleted,
}

/// <summary>One row of an aligned comparison: an original word and its counterpart in the edit, with each method's scores.</summary>
/// <param name="Original">The original word, or null when inserted.</param>
/// <param name="Edited">The edit's word, or null when deleted.</param>
/// <param name="Change">How they line up.</param>
/// <param name="OriginalScores">Per method (in the report's order), the original word's score, or null.</param>
/// <param name="EditedScores">Per method, the edited word's score, or null.</param>
public sealed record AlignedWord(string? Original, string? Edited, WordChange Change, IReadOnlyList<double?> OriginalScores, IReadOnlyList<double?> EditedScores)
{
    /// <summary>Per method, edited − original where both exist (an inserted word counts from 0, a deleted one to 0).</summary>
    public IReadOnlyList<double> Differences => OriginalScores.Zip(EditedScores, (o, e) => (e ?? 0) - (o ?? 0)).ToArray();
}

/// <summary>One edit of the pinned original: its prediction and every method's word scores aligned with the original's.</summary>
/// <param name="Text">The edited text.</param>
/// <param name="Prediction">The model's label for it (for a multi-label model its top label; see <see cref="CounterfactualEdit.PredictedLabels"/>).</param>
/// <param name="Probability">The probability of that label (the score itself for a regression head).</param>
/// <param name="OriginalLabelProbability">The probability of the original's label for the edit.</param>
/// <param name="Flipped">
/// Whether the model's decision on the explained label (the original's predicted label) changed: for a single-label
/// model, the edit predicts another label; for a multi-label model, whose labels are decided one by one, the explained
/// label's probability crossed 0.5 (σ above 0.5 for one text and not for the other; a change of the top label alone
/// is no flip, since both labels may be predicted); never for a regression model, whose output is a score, not a label.
/// </param>
/// <param name="Words">The aligned words.</param>
/// <param name="Explanations">Per method, the edit's explanation (for the original's predicted class).</param>
public sealed record CounterfactualEdit(
    string Text, string Prediction, double Probability, double OriginalLabelProbability, bool Flipped, IReadOnlyList<AlignedWord> Words, IReadOnlyList<Explanation> Explanations)
{
    /// <summary>
    /// What the model predicts for the edit: for a multi-label model, whose labels are decided one by one, every label
    /// whose σ is above 0.5, in label order (none when no label is, though <see cref="Prediction"/> names the top one);
    /// otherwise the one label, <see cref="Prediction"/>.
    /// </summary>
    public required IReadOnlyList<string> PredictedLabels { get; init; }
}

/// <summary>LIT's comparison mode: a pinned original and its edits, side by side.</summary>
/// <param name="Original">The original text.</param>
/// <param name="Prediction">The original's predicted label (for a multi-label model its top label, the one explained; see <see cref="CounterfactualReport.PredictedLabels"/>).</param>
/// <param name="Probability">Its probability.</param>
/// <param name="Methods">The methods' names, in column order.</param>
/// <param name="Explanations">Per method, the original's explanation.</param>
/// <param name="Edits">The edits.</param>
public sealed record CounterfactualReport(
    string Original, string Prediction, double Probability, IReadOnlyList<string> Methods, IReadOnlyList<Explanation> Explanations, IReadOnlyList<CounterfactualEdit> Edits)
{
    /// <summary>
    /// What the model predicts for the original: for a multi-label model every label whose σ is above 0.5, in label
    /// order (none when no label is); otherwise the one label, <see cref="Prediction"/>.
    /// </summary>
    public required IReadOnlyList<string> PredictedLabels { get; init; }
}

/// <summary>
/// Counterfactual comparison: explains an original text and edited versions of it (given texts, or word replacements
/// such as <c>tedious=exciting</c>) with every method, for the original's predicted class, and aligns each edit's words
/// with the original's (replaced words paired, inserted and deleted words marked) so the scores can be compared word by
/// word.
/// </summary>
public static class Counterfactuals
{
    /// <summary>Compares the original with each edit.</summary>
    /// <param name="model">The classifier.</param>
    /// <param name="original">The pinned text.</param>
    /// <param name="edits">The edited texts (see <see cref="Replace"/> to make them from word replacements).</param>
    /// <param name="methods">The methods (two may not share a name).</param>
    /// <param name="options">
    /// Scored output and post-processing; the target is always the original's predicted class. For a sentence-pair model,
    /// <see cref="AttributionOptions.Pairs"/> holds the second text of the original, then of each edit (the edits change
    /// the first text); predictions and explanations are then of the pairs.
    /// </param>
    /// <exception cref="ArgumentException">No edit (<paramref name="edits"/>); no method, a null one or two sharing a name
    /// (<paramref name="methods"/>); a null, empty or whitespace text, or one the tokenizer drops entirely (no token but
    /// the special ones; refused before any forward pass) (<paramref name="original"/>, <paramref name="edits"/>),
    /// or <see cref="AttributionOptions.Pairs"/> not one per text (<c>Pairs</c>); or a method's settings or the batch settings
    /// do not fit the model (named by the setting, before any forward pass), or as for <see cref="Explainer.ExplainAll"/>.</exception>
    /// <exception cref="OperationCanceledException"><see cref="AttributionOptions.Cancellation"/> was cancelled (checked
    /// before each text's prediction, one forward pass each, and then by the methods).</exception>
    public static CounterfactualReport Compare(ITextClassifier model, string original, IReadOnlyList<string> edits, IReadOnlyList<IAttributor> methods, ExplainOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var lease = ModelLease.Enter(model);
        ArgumentNullException.ThrowIfNull(edits);
        ArgumentNullException.ThrowIfNull(methods);
        if (edits.Count == 0)
        {
            throw new ArgumentException("no edits to compare with the original: give edited texts or word replacements", nameof(edits));
        }

        Methods.Internal.TextArguments.CheckMethods(methods, nameof(methods));

        if (methods.Count == 0 || methods.Select(m => m.Name).Distinct().Count() != methods.Count)
        {
            throw new ArgumentException("give at least one method, each once", nameof(methods));
        }

        options ??= new ExplainOptions();

        // Named as the caller wrote them: checking [original, .. edits] together named "texts", no parameter of this method.
        Methods.Internal.TextArguments.CheckOne(original, nameof(original), "give the text the edits are compared with");
        for (var i = 0; i < edits.Count; i++)
        {
            if (edits[i] is null)
            {
                throw new ArgumentNullException(nameof(edits), $"edits[{i}] is null: give each edited text");
            }

            if (string.IsNullOrWhiteSpace(edits[i]))
            {
                throw new ArgumentException($"edits[{i}] is empty or whitespace: give each edited text", nameof(edits));
            }
        }

        string[] texts = [original, .. edits];
        TextPairs.Check(texts, options.Pairs, nameof(AttributionOptions.Pairs));

        // The batching settings before the predictions' forward passes (the target is replaced by the prediction's, so
        // it is not checked here).
        options.Validate();

        // The methods' settings against the model before the predictions' forward passes (the explanations check them
        // again; the target is the prediction's, which no settings check depends on).
        _ = MethodRunner.Checked(model, methods, options);
        // Every text encoded and checked before the first prediction pass: an edit the tokenizer drops entirely
        // (zero-width or format characters) was refused only by the explanations, after every text's prediction pass.
        var encodings = texts.Select((_, i) => Encode(model, texts, options.Pairs, i, options.Truncate)).ToArray();

        // One forward pass per text: the options' token is checked before each, as the methods check it before theirs
        // (before, every prediction ran after a cancellation, which only the first method's pass then saw).
        var predictions = encodings.Select((encoding, i) =>
        {
            options.Cancellation.ThrowIfCancellationRequested();
            return LogitMath.Predict(texts[i], TokenBatches.PredictLogits(model, [new TokenSequence(encoding.Ids, encoding.TypeIds)], options.Cancellation)[0],
                model.Labels, model.Head);
        }).ToArray();
        var label = predictions[0].Label;
        var explained = Explainer.ExplainAll(model, texts, methods, options with { Target = Target.Class(label) });
        var originalSpans = WordSpans.Of(original);
        var originalWords = originalSpans.Select(s => original[s.Start..s.End]).ToArray();
        var results = new List<CounterfactualEdit>();
        for (var i = 1; i < texts.Length; i++)
        {
            var editSpans = WordSpans.Of(texts[i]);
            var editWords = editSpans.Select(s => texts[i][s.Start..s.End]).ToArray();
            var rows = Align(originalWords, editWords).Select(pair => new AlignedWord(
                pair.Original is { } o ? originalWords[o] : null,
                pair.Edited is { } e ? editWords[e] : null,
                pair.Change,
                methods.Select((_, m) => pair.Original is { } o2 ? WordScore(explained[m][0], originalSpans[o2].Start) : null).ToArray(),
                methods.Select((_, m) => pair.Edited is { } e2 ? WordScore(explained[m][i], editSpans[e2].Start) : null).ToArray())).ToList();
            var p = predictions[i];
            results.Add(new CounterfactualEdit(
                texts[i], p.LabelName, Likelihood(p, p.Label), Likelihood(p, label), Flipped(predictions[0], p, label), rows, methods.Select((_, m) => explained[m][i]).ToArray())
            {
                PredictedLabels = PredictedLabels(p, model.Labels),
            });
        }

        return new CounterfactualReport(original, predictions[0].LabelName, Likelihood(predictions[0], label), methods.Select(m => m.Name).ToArray(),
            methods.Select((_, m) => explained[m][0]).ToArray(), results)
        {
            PredictedLabels = PredictedLabels(predictions[0], model.Labels),
        };
    }

    // Prediction.Labels falls back to the top label of a multi-label head when no σ is above 0.5: a counterfactual, whose
    // flips are σ crossing 0.5, shows none then rather than a label the model does not predict.
    private static string[] PredictedLabels(Prediction p, IReadOnlyList<string> names) =>
        p.Head == OutputHead.MultiLabel ? [.. p.Labels.Where(k => p.Logits[k] > 0).Select(k => names[k])] : [p.LabelName];

    /// <summary>
    /// The text with each <c>word=replacement</c> applied at word boundaries (whole words only, every occurrence,
    /// ignoring case), keeping the case of each occurrence (Word → Replacement, WORD → REPLACEMENT). The replacements
    /// apply together to the original text, not one after the other: <c>good=bad,bad=good</c> swaps the two words, and a
    /// replacement never rewrites what another one wrote.
    /// </summary>
    /// <param name="text">The original text.</param>
    /// <param name="replacements">
    /// Pairs written <c>word=replacement</c>, each word once, without whitespace around the pair or the <c>=</c>
    /// (<c>good= bad</c> is refused, not trimmed); the replacement may hold several words (<c>dull=not dull</c>).
    /// </param>
    /// <exception cref="ArgumentException">No replacement, or one that is not <c>word=replacement</c>, has whitespace
    /// around it or its <c>=</c>, names a word the text does not have or a word already replaced (<paramref name="replacements"/>).</exception>
    public static string Replace(string text, IReadOnlyList<string> replacements)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(replacements);
        if (replacements.Count == 0)
        {
            // An empty pattern matched everywhere and failed with an InvalidOperationException from inside the regex's evaluator.
            throw new ArgumentException("no replacement given: give at least one word=replacement (e.g. tedious=exciting)", nameof(replacements));
        }

        var pairs = new List<(string Word, string By)>();
        foreach (var replacement in replacements)
        {
            var at = replacement?.IndexOf('=', StringComparison.Ordinal) ?? -1;
            if (replacement is null || at <= 0 || at == replacement.Length - 1 || replacement.Trim() != replacement)
            {
                throw new ArgumentException($"'{replacement}' is not a replacement: write word=replacement (e.g. tedious=exciting)", nameof(replacements));
            }

            var (word, by) = (replacement[..at], replacement[(at + 1)..]);

            // "good= bad" replaced good by " bad" (a doubled space in the edit) and "good =bad" looked for "good ",
            // which no word is: refused rather than trimmed, as whitespace around the whole pair is.
            if (word.Trim() != word || by.Trim() != by)
            {
                throw new ArgumentException(
                    $"'{replacement}' has whitespace around '=': write word=replacement without spaces around '=' ('{word.Trim()}={by.Trim()}')", nameof(replacements));
            }
            if (!WordPattern(word).IsMatch(text))
            {
                throw new ArgumentException($"'{word}' is not a word of the text \"{text}\": nothing to replace", nameof(replacements));
            }

            if (pairs.Any(p => string.Equals(p.Word, word, StringComparison.OrdinalIgnoreCase)))
            {
                throw new ArgumentException($"'{word}' is replaced twice ('{replacement}' and '{word}={pairs.First(p => string.Equals(p.Word, word, StringComparison.OrdinalIgnoreCase)).By}'): give one replacement per word", nameof(replacements));
            }

            pairs.Add((word, by));
        }

        // One pass over the original: at each place the longest word given wins (as applying the longer one first did).
        var order = Enumerable.Range(0, pairs.Count).OrderByDescending(i => pairs[i].Word.Length).ToArray();
        var all = new Regex(string.Join("|", order.Select(i => $"(?<r{i}>{WordPattern(pairs[i].Word)})")), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
        return all.Replace(text, m => MatchCase(m.Value, pairs[order.First(i => m.Groups[$"r{i}"].Success)].By));
    }

    private static Regex WordPattern(string word) =>
        new($@"(?<![\w]){Regex.Escape(word)}(?![\w])", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    /// <summary>Aligns two word sequences by their longest common subsequence (case-insensitive); unmatched runs pair up as replacements.</summary>
    internal static IReadOnlyList<(int? Original, int? Edited, WordChange Change)> Align(IReadOnlyList<string> original, IReadOnlyList<string> edited)
    {
        var n = original.Count;
        var m = edited.Count;
        var lcs = new int[n + 1, m + 1];
        for (var i = n - 1; i >= 0; i--)
        {
            for (var j = m - 1; j >= 0; j--)
            {
                lcs[i, j] = Same(original[i], edited[j]) ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);
            }
        }

        var rows = new List<(int?, int?, WordChange)>();
        var (a, b) = (0, 0);
        var (gapA, gapB) = (new List<int>(), new List<int>());
        void Flush()
        {
            var paired = Math.Min(gapA.Count, gapB.Count);
            for (var k = 0; k < paired; k++)
            {
                rows.Add((gapA[k], gapB[k], WordChange.Replaced));
            }

            rows.AddRange(gapA.Skip(paired).Select(x => ((int?)x, (int?)null, WordChange.Deleted)));
            rows.AddRange(gapB.Skip(paired).Select(x => ((int?)null, (int?)x, WordChange.Inserted)));
            gapA.Clear();
            gapB.Clear();
        }

        while (a < n || b < m)
        {
            if (a < n && b < m && Same(original[a], edited[b]))
            {
                Flush();
                rows.Add((a++, b++, WordChange.Same));
            }
            else if (b >= m || (a < n && lcs[a + 1, b] >= lcs[a, b + 1]))
            {
                gapA.Add(a++);
            }
            else
            {
                gapB.Add(b++);
            }
        }

        Flush();
        return rows;
    }

    private static bool Same(string x, string y) => string.Equals(x, y, StringComparison.OrdinalIgnoreCase);

    private static string MatchCase(string found, string replacement) =>
        found.Length > 1 && found.All(c => !char.IsLetter(c) || char.IsUpper(c)) && found.Any(char.IsLetter) ? replacement.ToUpper(CultureInfo.InvariantCulture)
        : found.Length > 0 && char.IsUpper(found[0]) ? char.ToUpper(replacement[0], CultureInfo.InvariantCulture) + replacement[1..]
        : replacement;

    /// <summary>The score of the word starting at <paramref name="start"/>, or null when it has no tokens (dropped by the tokenizer).</summary>
    private static double? WordScore(Explanation e, int start) => e.Words.FirstOrDefault(w => w.Segment == 0 && w.Start == start)?.Score;

    // Truncated as the explanations are (options.Truncate), and refused as they are when too long without it; a pair
    // is predicted as the pair it is explained as (the first text alone is another input). A text with no token but the
    // special ones is refused naming the argument it came from (original, or edits[i − 1]) as the explanations refuse it.
    private static Encoding Encode(ITextClassifier model, IReadOnlyList<string> texts, IReadOnlyList<string>? pairs, int i, bool truncate)
    {
        var encoding = model.Tokenizer.Encode(texts[i], pairs?[i], maxLength: truncate ? model.MaxLength : null);
        TokenizedTexts.CheckLength(model, pairs, i, encoding.Length, truncate);
        TokenizedTexts.RequireTokens(texts[i], pairs?[i], i, encoding,
            i == 0 ? "original" : string.Create(CultureInfo.InvariantCulture, $"edits[{i - 1}]"), i == 0 ? "original" : "edits");
        return encoding;
    }

    // A multi-label head predicts each label whose logit is above 0 (σ above 0.5, OutputHeads.PredictedLabels): the top
    // label of an edit can change while the explained label stays predicted, or stay while it stops being predicted.
    private static bool Flipped(Prediction original, Prediction edit, int label) => original.Head == OutputHead.MultiLabel
        ? original.Logits[label] > 0 != edit.Logits[label] > 0
        : edit.Label != label;

    private static double Likelihood(Prediction p, int label) => p.Probabilities.Length > label ? p.Probabilities[label] : p.Logits[label];
}
