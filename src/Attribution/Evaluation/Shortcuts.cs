using Attribution.Data;
using Attribution.Methods;
using Attribution.Models;

namespace Attribution.Evaluation;

/// <summary>A shortcut word and the label it sets wherever it is planted.</summary>
/// <param name="Word">One word: letters and digits only (so every tokenizer keeps it one word).</param>
/// <param name="Label">The class index the word sets.</param>
public sealed record ShortcutWord(string Word, int Label);

/// <summary>Where a shortcut word was planted in one training sentence.</summary>
/// <param name="Index">The sentence's index in the training list.</param>
/// <param name="Word">The shortcut word planted.</param>
/// <param name="Position">Its word position in the planted text (in <c>Text.Split(' ')</c>).</param>
/// <param name="OriginalLabel">The sentence's label before planting (its label is now the shortcut's).</param>
public sealed record PlantedSentence(int Index, string Word, int Position, int OriginalLabel);

/// <summary>Training data with planted shortcuts.</summary>
/// <param name="Examples">All training sentences, in the original order: planted ones changed, the others as given.</param>
/// <param name="Planted">The planted sentences, by index.</param>
public sealed record PlantedData(IReadOnlyList<LabeledText> Examples, IReadOnlyList<PlantedSentence> Planted);

/// <summary>A test sentence in which a shortcut word contradicts the sentence's true label.</summary>
/// <param name="Text">The sentence with the shortcut word inserted (words joined by single spaces).</param>
/// <param name="Word">The shortcut word.</param>
/// <param name="Position">Its word position in <paramref name="Text"/> (in <c>Text.Split(' ')</c>).</param>
/// <param name="TrueLabel">The label of the sentence without the shortcut.</param>
/// <param name="ShortcutLabel">The label the shortcut word sets (never <paramref name="TrueLabel"/>).</param>
public sealed record ShortcutSentence(string Text, string Word, int Position, int TrueLabel, int ShortcutLabel);

/// <summary>How often a model follows the shortcut on contradicting sentences.</summary>
/// <param name="Sentences">Number of contradicting sentences.</param>
/// <param name="FollowedShortcut">Sentences whose predicted class is the shortcut's label.</param>
/// <param name="FollowedTrueLabel">Sentences whose predicted class is the true label.</param>
/// <param name="Predictions">The predicted class of each sentence, in order.</param>
public sealed record ShortcutFollowing(int Sentences, int FollowedShortcut, int FollowedTrueLabel, IReadOnlyList<int> Predictions)
{
    /// <summary>FollowedShortcut / Sentences.</summary>
    public double Rate => Sentences == 0 ? double.NaN : FollowedShortcut / (double)Sentences;
}

/// <summary>One method's success at ranking the shortcut (highlighted) word first.</summary>
/// <param name="Method">The method's name.</param>
/// <param name="Sentences">Number of explanations scored.</param>
/// <param name="PrecisionAt1">Mean over sentences of 1 when the top-ranked word is highlighted, else 0 (tied top words: the share of them highlighted).</param>
/// <param name="MeanReciprocalRank">Mean over sentences of 1 / the rank of the first highlighted word (expected over the order of tied words).</param>
public sealed record ShortcutScore(string Method, int Sentences, double PrecisionAt1, double MeanReciprocalRank);

/// <summary>
/// Planted shortcuts (Bastings et al. 2022, "Will you find these shortcuts?"): plant shortcut words in training data,
/// each setting the label of the sentences it is planted in; build test sentences in which the shortcut contradicts
/// the true label and measure how often a trained model follows it; and score how well attribution methods rank the
/// shortcut word first (precision@1 and mean reciprocal rank, <see cref="Plausibility"/>'s definitions).
/// </summary>
/// <remarks>
/// Texts are split into words on whitespace; planted and test texts are re-joined with single spaces. Random choices
/// come from a SplitMix64 stream of the given seed, so the same seed gives the same data on every platform.
/// </remarks>
public static class Shortcuts
{
    /// <summary>
    /// Plants the shortcuts in <paramref name="fraction"/> of the training sentences: exactly
    /// round(fraction × count) sentences (at least one), chosen by a seeded shuffle, get a shortcut word (the words take
    /// turns, so each word is planted in an equal share, the first ones one more when it does not divide) inserted at a
    /// uniformly drawn word position (0 = before the first word, up to after the last), and their label set to the
    /// word's label. The other sentences are returned unchanged.
    /// </summary>
    /// <param name="train">The labelled training sentences (none empty).</param>
    /// <param name="words">The shortcut words (at least one, each one word, no word twice).</param>
    /// <param name="fraction">The fraction of sentences to plant in, in (0, 1].</param>
    /// <param name="seed">The seed of the choice of sentences and positions.</param>
    /// <exception cref="ArgumentException">No sentence, an empty sentence, no word, a word that is not one word, is repeated
    /// or has a negative label.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="fraction"/> is not in (0, 1].</exception>
    public static PlantedData Plant(IReadOnlyList<LabeledText> train, IReadOnlyList<ShortcutWord> words, double fraction, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(train);
        CheckWords(words);
        if (!(fraction > 0 && fraction <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "the fraction of planted sentences must be in (0, 1]");
        }

        if (train.Count == 0)
        {
            throw new ArgumentException("no training sentences to plant in", nameof(train));
        }

        var split = train.Select((t, i) => SplitWords(t?.Text, i, nameof(train))).ToArray();
        var count = Math.Max(1, (int)Math.Round(fraction * train.Count, MidpointRounding.AwayFromZero));
        var rng = new SplitMix64(seed);
        var order = Shuffle(train.Count, ref rng);
        var examples = train.ToArray();
        var planted = new List<PlantedSentence>(count);
        for (var k = 0; k < count; k++)
        {
            var index = order[k];
            var word = words[k % words.Count];
            var position = rng.Next(split[index].Length + 1);
            var list = split[index].ToList();
            list.Insert(position, word.Word);
            examples[index] = new LabeledText(string.Join(' ', list), word.Label);
            planted.Add(new PlantedSentence(index, word.Word, position, train[index].Label));
        }

        return new PlantedData(examples, planted.OrderBy(p => p.Index).ToList());
    }

    /// <summary>
    /// Test sentences in which a shortcut contradicts the true label: for every sentence that contains none of the
    /// shortcut words, a shortcut word whose label differs from the sentence's (drawn among those, seeded) is inserted
    /// at a uniformly drawn word position. Sentences for which every shortcut word sets their own label are skipped.
    /// </summary>
    /// <param name="sentences">Labelled sentences, without shortcuts (typically held out from training).</param>
    /// <param name="words">The shortcut words.</param>
    /// <param name="seed">The seed of the choice of words and positions.</param>
    /// <exception cref="ArgumentException">An empty sentence (<paramref name="sentences"/>), no word, or a word that is not
    /// one word, is repeated or has a negative label (<paramref name="words"/>).</exception>
    public static IReadOnlyList<ShortcutSentence> Contradicting(IReadOnlyList<LabeledText> sentences, IReadOnlyList<ShortcutWord> words, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(sentences);
        CheckWords(words);
        var rng = new SplitMix64(seed);
        var result = new List<ShortcutSentence>();
        for (var i = 0; i < sentences.Count; i++)
        {
            var split = SplitWords(sentences[i]?.Text, i, nameof(sentences));
            if (split.Any(w => words.Any(s => string.Equals(s.Word, w, StringComparison.OrdinalIgnoreCase))))
            {
                continue;
            }

            var candidates = words.Where(w => w.Label != sentences[i].Label).ToList();
            if (candidates.Count == 0)
            {
                continue;
            }

            var word = candidates[rng.Next(candidates.Count)];
            var position = rng.Next(split.Length + 1);
            var list = split.ToList();
            list.Insert(position, word.Word);
            result.Add(new ShortcutSentence(string.Join(' ', list), word.Word, position, sentences[i].Label, word.Label));
        }

        return result;
    }

    /// <summary>
    /// How often <paramref name="model"/> predicts the shortcut's label rather than the true one: the predicted class is
    /// the one with the largest probability, so the model must be a single-label classifier of at least two classes.
    /// </summary>
    /// <param name="model">A single-label classifier with at least two classes.</param>
    /// <param name="sentences">Contradicting sentences (<see cref="Contradicting"/>), their labels classes of <paramref name="model"/>.</param>
    /// <exception cref="ArgumentException">
    /// A regression or multi-label model, or fewer than two labels (<c>model</c>): a regression output is a score, not a
    /// class, and a multi-label model predicts any number of labels, so "the predicted class" is undefined; a label that
    /// is not one of the model's classes (which no prediction could match), or no sentence is given (<c>sentences</c>).
    /// </exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellation"/> was cancelled (checked before each
    /// call to the model, one per 64 sentences).</exception>
    /// <param name="cancellation">Stops the call before its next call to the model.</param>
    public static ShortcutFollowing Follows(ITextPredictor model, IReadOnlyList<ShortcutSentence> sentences, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var lease = ModelLease.Enter(model);
        ArgumentNullException.ThrowIfNull(sentences);
        if (model is ITokenClassifier { Head: not OutputHead.SingleLabel } headed)
        {
            throw new ArgumentException(
                $"{headed.Name} has a {headed.Head.Name()} head, which predicts no single class: shortcut following counts the class a single-label classifier predicts; give a single-label classifier",
                nameof(model));
        }

        if (model.Labels.Count < 2)
        {
            throw new ArgumentException(
                $"the model has {model.Labels.Count} output(s) ({string.Join(", ", model.Labels)}), so its largest probability would always be class 0: shortcut following needs a classifier of at least two classes",
                nameof(model));
        }

        // No sentence gave a ShortcutFollowing of 0 of 0 whose Rate was NaN, with nothing saying why.
        if (sentences.Count == 0)
        {
            throw new ArgumentException(
                "no contradicting sentences to predict: give at least one (Contradicting returns none when every shortcut word sets each sentence's own label)",
                nameof(sentences));
        }

        for (var i = 0; i < sentences.Count; i++)
        {
            ArgumentNullException.ThrowIfNull(sentences[i], $"{nameof(sentences)}[{i}]");
            if (sentences[i].ShortcutLabel >= model.Labels.Count || sentences[i].TrueLabel >= model.Labels.Count || sentences[i].ShortcutLabel < 0 || sentences[i].TrueLabel < 0)
            {
                throw new ArgumentException(
                    $"sentences[{i}] has shortcut label {sentences[i].ShortcutLabel} and true label {sentences[i].TrueLabel}, but the model's classes are 0 to {model.Labels.Count - 1}: build the sentences with the model's class indices",
                    nameof(sentences));
            }
        }

        var predictions = new List<int>(sentences.Count);
        foreach (var chunk in sentences.Chunk(64))
        {
            cancellation.ThrowIfCancellationRequested();
            // A predictor of the caller's own is checked as LIME checks it: a NaN row's argmax would be class 0.
            // An ONNX model runs a chunk in several session runs: the token goes on to it, checked before each.
            var rows = PredictorCalls.Probabilities(model, chunk.Select(s => s.Text).ToList(), cancellation);
            foreach (var p in PredictorRows.Check(rows, chunk.Length, model.Labels.Count, "the model"))
            {
                predictions.Add(Array.IndexOf(p, p.Max()));
            }
        }

        var shortcut = sentences.Where((s, i) => predictions[i] == s.ShortcutLabel).Count();
        var truth = sentences.Where((s, i) => predictions[i] == s.TrueLabel).Count();
        return new ShortcutFollowing(sentences.Count, shortcut, truth, predictions);
    }

    /// <summary>
    /// Precision@1 and mean reciprocal rank of the highlighted (shortcut) word(s) over explanations of one method:
    /// per explanation as <see cref="Plausibility.Compute"/> defines them (words ranked by signed score towards the
    /// explained class, largest first, for signed methods; by magnitude for unsigned ones such as Gradient L2; a word's
    /// score is the explanation's word score, its tokens' scores aggregated), then averaged. Explain the predicted class
    /// (the default target) to follow Bastings et al.
    /// </summary>
    /// <param name="explanations">One method's explanations.</param>
    /// <param name="highlights">The highlighted word(s) of each explanation, in the same order.</param>
    /// <exception cref="ArgumentNullException">An explanation is null (<paramref name="explanations"/>) or a set of
    /// highlighted words is null (<paramref name="highlights"/>).</exception>
    /// <exception cref="ArgumentException">Counts differ (<paramref name="highlights"/>); nothing to score, explanations of
    /// more than one method, an explanation without words, or a word's score is NaN, so it has no rank
    /// (<paramref name="explanations"/>); a set of highlighted words is empty or holds a null, blank or a word that is
    /// not a word of its text (<paramref name="highlights"/>, the message names the set: <c>highlights[i]</c>).</exception>
    public static ShortcutScore Score(IReadOnlyList<Explanation> explanations, IReadOnlyList<IReadOnlyCollection<string>> highlights)
    {
        ArgumentNullException.ThrowIfNull(explanations);
        ArgumentNullException.ThrowIfNull(highlights);
        if (explanations.Count != highlights.Count)
        {
            throw new ArgumentException($"{explanations.Count} explanations but {highlights.Count} sets of highlighted words", nameof(highlights));
        }

        if (explanations.Count == 0)
        {
            throw new ArgumentException("no explanations to score", nameof(explanations));
        }

        // Every refusal names this method's own arguments and the index (Plausibility.Compute names its parameters,
        // explanation and highlighted), before any score is computed.
        for (var i = 0; i < explanations.Count; i++)
        {
            var e = explanations[i] ?? throw new ArgumentNullException(nameof(explanations), $"explanations[{i}] is null: give explanations only");
            _ = highlights[i] ?? throw new ArgumentNullException(nameof(highlights), $"highlights[{i}] is null: give each explanation's highlighted words");
            if (e.Words.Count == 0)
            {
                throw new ArgumentException($"explanations[{i}] has no words to rank: score explanations with word scores", nameof(explanations));
            }

            Plausibility.CheckHighlighted(e, highlights[i], nameof(highlights), $"highlights[{i}]: ");
        }

        // The score is reported under one method's name: explanations of another would be averaged in under it.
        var methods = explanations.Select(e => e?.Method).Distinct(StringComparer.Ordinal).ToList();
        if (methods.Count > 1)
        {
            throw new ArgumentException($"the explanations come from {methods.Count} methods ({string.Join(", ", methods)}): score one method's explanations per call", nameof(explanations));
        }

        double precision = 0, reciprocal = 0;
        for (var i = 0; i < explanations.Count; i++)
        {
            var metrics = Plausibility.Compute(explanations[i], highlights[i]);

            // A word with a NaN score has no rank: one such explanation made both means NaN, with nothing saying why.
            if (metrics.Single(m => m.Metric == "precision-at-1") is { Value: double.NaN } undefined)
            {
                throw new ArgumentException(
                    $"explanations[{i}] cannot be ranked: {undefined.Note}; score explanations whose word scores are numbers",
                    nameof(explanations));
            }

            precision += metrics.Single(m => m.Metric == "precision-at-1").Value;
            reciprocal += metrics.Single(m => m.Metric == "mrr").Value;
        }

        return new ShortcutScore(explanations[0].Method, explanations.Count, precision / explanations.Count, reciprocal / explanations.Count);
    }

    /// <summary>Whether <paramref name="word"/> is one word a shortcut can be: non-empty, letters and digits only.</summary>
    public static bool IsOneWord(string? word) => !string.IsNullOrEmpty(word) && word.All(char.IsLetterOrDigit);

    private static void CheckWords(IReadOnlyList<ShortcutWord> words)
    {
        ArgumentNullException.ThrowIfNull(words);
        if (words.Count == 0)
        {
            throw new ArgumentException("no shortcut word given", nameof(words));
        }

        foreach (var w in words)
        {
            if (w is null || !IsOneWord(w.Word))
            {
                throw new ArgumentException($"shortcut word '{w?.Word}' is not one word (letters and digits only, no spaces or punctuation)", nameof(words));
            }

            if (w.Label < 0)
            {
                throw new ArgumentException($"shortcut word '{w.Word}' has label {w.Label}; labels are class indices from 0", nameof(words));
            }
        }

        var repeated = words.GroupBy(w => w.Word, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null)
        {
            throw new ArgumentException($"shortcut word '{repeated.Key}' is given twice", nameof(words));
        }
    }

    private static string[] SplitWords(string? text, int index, string name)
    {
        var words = (text ?? string.Empty).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return words.Length > 0 ? words : throw new ArgumentException($"{name}[{index}] has an empty text", name);
    }

    /// <summary>A uniformly random permutation of 0..n-1 (Fisher-Yates).</summary>
    private static int[] Shuffle(int n, ref SplitMix64 rng)
    {
        var order = Enumerable.Range(0, n).ToArray();
        for (var i = n - 1; i > 0; i--)
        {
            var j = rng.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }

        return order;
    }

    /// <summary>SplitMix64 (Steele, Lea and Flood 2014): the same stream on every platform.</summary>
    private struct SplitMix64(ulong seed)
    {
        private ulong state = seed;

        public int Next(int n)
        {
            var bound = (ulong)n;
            var limit = ulong.MaxValue - (ulong.MaxValue % bound);
            ulong x;
            do
            {
                var z = state += 0x9E3779B97F4A7C15UL;
                z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
                z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
                x = z ^ (z >> 31);
            }
            while (x >= limit);

            return (int)(x % bound);
        }
    }
}
