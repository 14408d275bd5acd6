using System.Collections.Immutable;
using Attribution.Data;
using Attribution.Evaluation;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Salience;
using Attribution.Text.Tokenizers;

namespace Attribution.Tests.Evaluation;

/// <summary>
/// Planted shortcuts (<see cref="Shortcuts"/>): planting is seeded and exact (checked by counting and by taking the
/// planted word out again), the test sentences contradict, precision@1 / MRR equal hand computations on hand-made
/// explanations (a shortcut word of two WordPiece tokens included), and bad input names its parameter.
/// </summary>
public sealed class ShortcutTests : IDisposable
{
    private static readonly ShortcutWord[] Words = [new("zorblax", 0), new("quibbit", 1)];

    private readonly string root = Directory.CreateTempSubdirectory("attribution-shortcuts-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    /// <summary>200 sentences of 1 to 7 words ("s17 w1 w2"), labels alternating.</summary>
    private static List<LabeledText> Sentences(int count = 200) =>
        Enumerable.Range(0, count)
            .Select(i => new LabeledText(string.Join(' ', new[] { $"s{i}" }.Concat(Enumerable.Range(1, i % 7).Select(k => $"w{k}"))), i % 2))
            .ToList();

    private static string Without(string text, int position)
    {
        var words = text.Split(' ').ToList();
        words.RemoveAt(position);
        return string.Join(' ', words);
    }

    [Fact]
    public void Planting_changes_exactly_the_fraction_with_the_words_positions_and_labels_it_reports()
    {
        var train = Sentences();
        var planted = Shortcuts.Plant(train, Words, 0.25, seed: 7);

        // round(0.25 × 200) = 50 sentences, the two words taking turns: 25 each.
        planted.Planted.Should().HaveCount(50);
        planted.Planted.Count(p => p.Word == "zorblax").Should().Be(25);
        planted.Planted.Count(p => p.Word == "quibbit").Should().Be(25);
        planted.Examples.Should().HaveCount(200);
        planted.Examples.Where((e, i) => e != train[i]).Should().HaveCount(50, "only the planted sentences change");
        planted.Planted.Select(p => p.Index).Should().OnlyHaveUniqueItems();
        foreach (var p in planted.Planted)
        {
            var example = planted.Examples[p.Index];
            example.Text.Split(' ')[p.Position].Should().Be(p.Word);
            Without(example.Text, p.Position).Should().Be(train[p.Index].Text, "the word is inserted, nothing else changes");
            example.Label.Should().Be(Words.Single(w => w.Word == p.Word).Label);
            p.OriginalLabel.Should().Be(train[p.Index].Label);
            p.Position.Should().BeInRange(0, train[p.Index].Text.Split(' ').Length);
        }

        // Positions are drawn over the whole range: first, last and in between all occur.
        planted.Planted.Should().Contain(p => p.Position == 0);
        planted.Planted.Should().Contain(p => p.Position == train[p.Index].Text.Split(' ').Length && p.Position > 0);
        planted.Planted.Should().Contain(p => p.Position > 0 && p.Position < train[p.Index].Text.Split(' ').Length);

        // Seeded: the same seed gives the same data, another seed other sentences.
        Shortcuts.Plant(train, Words, 0.25, seed: 7).Examples.Should().Equal(planted.Examples);
        Shortcuts.Plant(train, Words, 0.25, seed: 8).Planted.Select(p => p.Index).Should().NotEqual(planted.Planted.Select(p => p.Index));
    }

    /// <summary>
    /// The exact data of a seed, computed outside the library with SplitMix64 as Steele, Lea and Flood define it
    /// (state += 0x9E3779B97F4A7C15; two xor-shift-multiply rounds; a final xor-shift; checked against the published
    /// stream of seed 1234567: 6457827717110365317, 3203168211198807973, 9817491932198370423), a draw below n taken as
    /// x mod n after rejecting x ≥ 2⁶⁴ − 1 − ((2⁶⁴ − 1) mod n), the sentences chosen by Fisher-Yates from the last index
    /// down, then one position per planted sentence (Plant) or a word and then a position per sentence (Contradicting).
    /// The other tests check properties any seeded stream has; this one pins the stream the docs promise on every platform.
    /// </summary>
    [Fact]
    public void Planting_and_contradicting_draw_the_documented_splitmix64_stream()
    {
        LabeledText[] train =
        [
            new("the plot was dull", 0), new("a gripping film", 1), new("superb", 1),
            new("not bad at all", 1), new("dull and slow", 0), new("the cast was fine", 0),
        ];
        ShortcutWord[] three = [new("zorblax", 0), new("quibbit", 1), new("frumple", 2)];

        var planted = Shortcuts.Plant(train, three, 0.5, seed: 42);
        planted.Planted.Should().Equal(
            new PlantedSentence(0, "frumple", 3, 0), new PlantedSentence(3, "quibbit", 0, 1), new PlantedSentence(4, "zorblax", 2, 0));
        planted.Examples.Should().Equal(
            new LabeledText("the plot was frumple dull", 2), train[1], train[2],
            new LabeledText("quibbit not bad at all", 1), new LabeledText("dull and zorblax slow", 0), train[5]);

        LabeledText[] sentences =
        [
            new("the plot was dull", 0), new("a gripping film", 1), new("superb", 2), new("has QUIBBIT here", 0), new("not bad at all", 1),
        ];
        Shortcuts.Contradicting(sentences, three, seed: 2026).Should().Equal(
            new ShortcutSentence("the frumple plot was dull", "frumple", 1, 0, 2),
            new ShortcutSentence("a gripping zorblax film", "zorblax", 2, 1, 0),
            new ShortcutSentence("superb quibbit", "quibbit", 1, 2, 1),
            new ShortcutSentence("not bad zorblax at all", "zorblax", 2, 1, 0));
    }

    [Fact]
    public void Missing_or_empty_arguments_are_refused_naming_them()
    {
        FluentActions.Invoking(() => Shortcuts.Plant(null!, Words, 0.5, 1))
            .Should().Throw<ArgumentNullException>().Where(e => e.ParamName == "train");
        FluentActions.Invoking(() => Shortcuts.Plant([], Words, 0.5, 1))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "train").WithMessage("no training sentences to plant in*");
        FluentActions.Invoking(() => Shortcuts.Plant(Sentences(), null!, 0.5, 1))
            .Should().Throw<ArgumentNullException>().Where(e => e.ParamName == "words");
        FluentActions.Invoking(() => Shortcuts.Plant(Sentences(), [], 0.5, 1))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "words").WithMessage("no shortcut word given*");
        FluentActions.Invoking(() => Shortcuts.Plant(Sentences(), [null!], 0.5, 1))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "words").WithMessage("shortcut word '' is not one word*");
        FluentActions.Invoking(() => Shortcuts.Contradicting(null!, Words, 1))
            .Should().Throw<ArgumentNullException>().Where(e => e.ParamName == "sentences");

        var model = new BlackBoxClassifier(texts => texts.Select(_ => new[] { 0.4, 0.6 }).ToArray(), ["negative", "positive"]);
        FluentActions.Invoking(() => Shortcuts.Follows(null!, []))
            .Should().Throw<ArgumentNullException>().Where(e => e.ParamName == "model");
        FluentActions.Invoking(() => Shortcuts.Follows(model, null!))
            .Should().Throw<ArgumentNullException>().Where(e => e.ParamName == "sentences");
        FluentActions.Invoking(() => Shortcuts.Follows(model, []))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "sentences").WithMessage("no contradicting sentences to predict*");

        var abc = Explained("a b c", [1, 2, 3], signed: true);
        FluentActions.Invoking(() => Shortcuts.Score(null!, []))
            .Should().Throw<ArgumentNullException>().Where(e => e.ParamName == "explanations");
        FluentActions.Invoking(() => Shortcuts.Score([abc], null!))
            .Should().Throw<ArgumentNullException>().Where(e => e.ParamName == "highlights");
        FluentActions.Invoking(() => Shortcuts.Score([abc, abc], [["a"]]))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "highlights").WithMessage("2 explanations but 1 sets of highlighted words*");
        FluentActions.Invoking(() => Shortcuts.Score([], []))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "explanations").WithMessage("no explanations to score*");
    }

    [Theory]
    [InlineData(1.0, 200)]
    [InlineData(0.1, 20)]
    [InlineData(0.0001, 1)] // at least one sentence
    [InlineData(0.0125, 3)] // 2.5 rounds away from zero
    public void Planted_count_is_the_rounded_fraction(double fraction, int expected) =>
        Shortcuts.Plant(Sentences(), Words, fraction, seed: 1).Planted.Should().HaveCount(expected);

    [Fact]
    public void Test_sentences_contradict_the_true_label()
    {
        var sentences = Sentences(60).Append(new LabeledText("already has quibbit", 0)).ToList();
        var tests = Shortcuts.Contradicting(sentences, Words, seed: 3);
        tests.Should().HaveCount(60, "the sentence that already holds a shortcut word is skipped");
        foreach (var t in tests)
        {
            t.ShortcutLabel.Should().NotBe(t.TrueLabel);
            t.ShortcutLabel.Should().Be(Words.Single(w => w.Word == t.Word).Label);
            t.Text.Split(' ')[t.Position].Should().Be(t.Word);
            var original = sentences.Single(s => s.Text == Without(t.Text, t.Position));
            original.Label.Should().Be(t.TrueLabel);
        }

        // One word setting class 1: only the class-0 sentences can contradict it.
        var one = Shortcuts.Contradicting(sentences, [new ShortcutWord("quibbit", 1)], seed: 3);
        one.Should().HaveCount(30).And.OnlyContain(t => t.TrueLabel == 0 && t.Word == "quibbit");
        Shortcuts.Contradicting(sentences, Words, seed: 3).Should().Equal(tests);
    }

    [Fact]
    public void Follows_counts_the_predictions_of_the_shortcut_label()
    {
        // A "model" that predicts class 1 when the text contains quibbit, else the true label (the parity of s<i>).
        static double[] Predict(string text)
        {
            var i = int.Parse(text.Split(' ').First(w => w.StartsWith('s'))[1..], System.Globalization.CultureInfo.InvariantCulture);
            return text.Contains("quibbit", StringComparison.Ordinal) || i % 2 == 1 ? [0.1, 0.9] : [0.8, 0.2];
        }

        var model = new Attribution.Models.BlackBoxClassifier(texts => texts.Select(Predict).ToArray(), ["negative", "positive"]);
        var tests = Shortcuts.Contradicting(Sentences(40), Words, seed: 5);
        var following = Shortcuts.Follows(model, tests);
        following.Sentences.Should().Be(40);
        following.FollowedShortcut.Should().Be(20, "it follows quibbit (20 class-0 sentences) but not zorblax");
        following.FollowedTrueLabel.Should().Be(20);
        following.Rate.Should().Be(0.5);
    }

    /// <summary>
    /// Each sentence's prediction is the argmax of its row, and the two counts are of predictions equal to each label,
    /// on an asymmetric set of three classes worked out by hand (the test above splits 20 / 20, so counting the
    /// predictions that differ, or taking the argmin on two classes, gave the same numbers; the sweep-1206g Stryker run
    /// found both alive).
    /// </summary>
    [Fact]
    public void Follows_takes_each_rows_argmax_and_counts_each_label_on_its_own()
    {
        var rows = new Dictionary<string, double[]>
        {
            ["a"] = [0.2, 0.7, 0.1], // predicts 1: the shortcut's label
            ["b"] = [0.6, 0.3, 0.1], // predicts 0: the true label
            ["c"] = [0.1, 0.2, 0.7], // predicts 2: neither
            ["d"] = [0.3, 0.4, 0.3], // predicts 1: neither
        };
        var model = new BlackBoxClassifier(texts => texts.Select(t => rows[t]).ToArray(), ["x", "y", "z"]);
        ShortcutSentence[] sentences =
        [
            new("a", "a", 0, TrueLabel: 0, ShortcutLabel: 1),
            new("b", "b", 0, TrueLabel: 0, ShortcutLabel: 2),
            new("c", "c", 0, TrueLabel: 0, ShortcutLabel: 1),
            new("d", "d", 0, TrueLabel: 0, ShortcutLabel: 2),
        ];

        var following = Shortcuts.Follows(model, sentences);

        following.Predictions.Should().Equal(1, 0, 2, 1);
        following.FollowedShortcut.Should().Be(1);
        following.FollowedTrueLabel.Should().Be(1);
        following.Rate.Should().Be(0.25);
    }

    /// <summary>A model with the given head whose every "probability" row is <paramref name="row"/> (what its head gives).</summary>
    private sealed class HeadModel(OutputHead head, string[] labels, double[] row) : ITokenClassifier
    {
        public string Name => "stub";

        public ITokenizer Tokenizer => throw new NotSupportedException();

        public int? MaxLength => null;

        public bool UsesTokenTypes => false;

        public IReadOnlyList<string> Labels => labels;

        public OutputHead Head => head;

        public double[][] PredictLogits(IReadOnlyList<TokenSequence> sequences) => throw new NotSupportedException();

        public double[][] PredictProbabilities(IReadOnlyList<string> texts) => texts.Select(_ => row).ToArray();
    }

    private sealed class OneOutput : ITextPredictor
    {
        public IReadOnlyList<string> Labels => ["score"];

        public double[][] PredictProbabilities(IReadOnlyList<string> texts) => texts.Select(_ => new[] { 1.0 }).ToArray();
    }

    [Fact]
    public void Follows_refuses_a_model_without_one_predicted_class()
    {
        var tests = Shortcuts.Contradicting(Sentences(10), Words, seed: 5);

        // A regression model gives a score and no probabilities (an empty row), a multi-label model a sigmoid per label:
        // neither predicts one class. The argmax of nothing threw an unnamed error; of independent sigmoids it counted
        // one label as "the" prediction.
        FluentActions.Invoking(() => Shortcuts.Follows(new HeadModel(OutputHead.Regression, ["score"], []), tests))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "model" && e.Message.Contains("regression"));
        FluentActions.Invoking(() => Shortcuts.Follows(new HeadModel(OutputHead.MultiLabel, ["x", "y"], [0.9, 0.8]), tests))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "model" && e.Message.Contains("multi_label"));

        // A predictor of one output: its largest "probability" is always class 0, which silently "followed" every
        // shortcut to class 0. (BlackBoxClassifier refuses one label; a predictor of the caller's own can have it.)
        var one = new OneOutput();
        FluentActions.Invoking(() => Shortcuts.Follows(one, tests))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "model" && e.Message.Contains("at least two classes"));

        // Labels the model does not have could never be matched: refused, naming the sentence.
        var two = new BlackBoxClassifier(texts => texts.Select(_ => new[] { 0.4, 0.6 }).ToArray(), ["negative", "positive"]);
        FluentActions.Invoking(() => Shortcuts.Follows(two, [new ShortcutSentence("s0 zorblax", "zorblax", 1, 0, 2)]))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "sentences" && e.Message.Contains("sentences[0]"));
        FluentActions.Invoking(() => Shortcuts.Follows(two, [new ShortcutSentence("s0 zorblax", "zorblax", 1, 1, 0), new ShortcutSentence("s1 zorblax", "zorblax", 1, 2, 0)]))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "sentences" && e.Message.Contains("sentences[1] has shortcut label 0 and true label 2"));
        FluentActions.Invoking(() => Shortcuts.Follows(two, [new ShortcutSentence("s0 zorblax", "zorblax", 1, -1, 0)]))
            .Should().Throw<ArgumentException>().Where(e => e.Message.Contains("true label -1"));
        FluentActions.Invoking(() => Shortcuts.Follows(two, [null!]))
            .Should().Throw<ArgumentNullException>().Where(e => e.ParamName == "sentences[0]");
    }

    /// <summary>
    /// A predictor of the caller's own (not a <see cref="BlackBoxClassifier"/>, which checks its function) is checked
    /// as LIME checks it: a NaN row's argmax "predicted" class 0 (NaN equals itself in Array.IndexOf), and a row with
    /// one value for two labels was read as a prediction of class 0, each counted as following the shortcut.
    /// </summary>
    [Fact]
    public void Follows_refuses_a_predictors_nan_or_short_rows()
    {
        var tests = Shortcuts.Contradicting(Sentences(10), Words, seed: 5);
        FluentActions.Invoking(() => Shortcuts.Follows(new HeadModel(OutputHead.SingleLabel, ["negative", "positive"], [double.NaN, 0.5]), tests))
            .Should().Throw<NonFiniteValueException>().WithMessage("*[NaN, 0.5] for text 0*");
        FluentActions.Invoking(() => Shortcuts.Follows(new HeadModel(OutputHead.SingleLabel, ["negative", "positive"], [0.7]), tests))
            .Should().Throw<InvalidOperationException>().WithMessage("*1 values for text 0*one probability per label (2)*");
    }

    [SkippableFact]
    public void Follows_refuses_the_shared_regression_model()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/bert-regression-random"));
        FluentActions.Invoking(() => Shortcuts.Follows(model, Shortcuts.Contradicting(Sentences(4), Words, seed: 5)))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "model" && e.Message.Contains("regression"));
    }

    /// <summary>A hand-made explanation of <paramref name="text"/> with the given scores per (non-special) token.</summary>
    private Explanation Explained(string text, double[] scores, bool signed)
    {
        var vocab = Path.Combine(root, "vocab.txt");
        File.WriteAllLines(vocab, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "c", "zor", "##blax"]);
        var encoding = TokenizerLoader.FromWordPieceVocab(vocab).Encode(text);
        encoding.Tokens.Length.Should().Be(scores.Length + 2);
        return SalienceLayer.Apply(new Explanation
        {
            Text = text,
            Model = "hand",
            Method = "hand-made",
            Settings = [],
            Tokens = [.. encoding.Tokens],
            TokenIds = [.. encoding.Ids],
            Offsets = [.. encoding.Offsets],
            IsSpecial = [.. encoding.SpecialTokensMask],
            Scores = [0, .. scores, 0],
            Target = 1,
            TargetLabel = "positive",
            Logits = [0, 1],
            Probabilities = [0.3, 0.7],
            ScoreOutput = ScoreOutput.Logit,
            Signedness = signed ? Signedness.Signed : Signedness.Unsigned,
            Reduction = ScoreReduction.Sum,
        }, new SalienceOptions());
    }

    [Fact]
    public void Precision_at_1_and_mrr_equal_the_hand_computation()
    {
        // "zorblax" is two tokens, zor + ##blax: its word score is their sum.
        // 1. signed: zorblax 0.3 + 0.4 = 0.7 > a 0.5 > c 0.1 > b -2: rank 1.
        // 2. signed: a 0.9 > b 0.4 > zorblax 0.2 + 0.1 = 0.3: rank 3.
        // 3. unsigned: zorblax 0.6 + 0.6 = 1.2 > a 1.0: rank 1.
        var explanations = new[]
        {
            Explained("a b zorblax c", [0.5, -2, 0.3, 0.4, 0.1], signed: true),
            Explained("a zorblax b", [0.9, 0.2, 0.1, 0.4], signed: true),
            Explained("zorblax a", [0.6, 0.6, 1.0], signed: false),
        };
        explanations[0].Words.Select(w => w.Text).Should().Equal("a", "b", "zorblax", "c");
        var score = Shortcuts.Score(explanations, [["zorblax"], ["zorblax"], ["ZORBLAX"]]);
        score.Sentences.Should().Be(3);
        score.PrecisionAt1.Should().BeApproximately(2.0 / 3, 1e-12);
        score.MeanReciprocalRank.Should().BeApproximately((1 + 1.0 / 3 + 1) / 3, 1e-12);

        // Unsigned, the first text ranks b (|-2|) first: zorblax second.
        var unsigned = Shortcuts.Score([Explained("a b zorblax c", [0.5, -2, 0.3, 0.4, 0.1], signed: false)], [["zorblax"]]);
        unsigned.PrecisionAt1.Should().Be(0);
        unsigned.MeanReciprocalRank.Should().Be(0.5);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-0.1)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void Fraction_outside_0_1_is_refused(double fraction) =>
        FluentActions.Invoking(() => Shortcuts.Plant(Sentences(), Words, fraction, 1))
            .Should().Throw<ArgumentOutOfRangeException>()
            .Where(e => e.ParamName == "fraction" && Equals(e.ActualValue, fraction))
            .WithMessage("the fraction of planted sentences must be in (0, 1]*");

    [Theory]
    [InlineData("two words")]
    [InlineData("don't")]
    [InlineData("")]
    public void A_shortcut_that_is_not_one_word_is_refused(string word)
    {
        FluentActions.Invoking(() => Shortcuts.Plant(Sentences(), [new ShortcutWord(word, 0)], 0.1, 1))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "words" && e.Message.Contains("not one word"));
        FluentActions.Invoking(() => Shortcuts.Contradicting(Sentences(), [new ShortcutWord(word, 0)], 1))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "words");
    }

    [Fact]
    public void Contradicting_refuses_an_empty_sentence_a_repeated_word_and_a_negative_label_naming_the_argument()
    {
        FluentActions.Invoking(() => Shortcuts.Contradicting([new LabeledText("a film", 0), new LabeledText("  ", 1)], Words, 1))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "sentences").WithMessage("sentences[1] has an empty text*");
        FluentActions.Invoking(() => Shortcuts.Contradicting(Sentences(), [new ShortcutWord("zorblax", 0), new ShortcutWord("ZORBLAX", 1)], 1))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "words").WithMessage("shortcut word 'zorblax' is given twice*");
        FluentActions.Invoking(() => Shortcuts.Plant(Sentences(), [new ShortcutWord("zorblax", -1)], 0.1, 1))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "words").WithMessage("shortcut word 'zorblax' has label -1; labels are class indices from 0*");
    }

    [Fact]
    public void Explanations_of_two_methods_are_refused()
    {
        // Averaged together they were reported under the first one's name.
        var first = Explained("a b c", [1, 2, 3], signed: true);
        FluentActions.Invoking(() => Shortcuts.Score([first, first with { Method = "other" }], [["a"], ["a"]]))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "explanations" && e.Message.Contains("hand-made, other"));
    }

    [Fact]
    public void An_explanation_with_a_NaN_word_score_is_refused_naming_it()
    {
        // Plausibility calls its figures undefined there; averaged in, they made both means NaN with nothing saying why.
        var explanations = new[] { Explained("a b c", [1, 2, 3], signed: true), Explained("a b c", [1, double.NaN, 3], signed: true) };
        FluentActions.Invoking(() => Shortcuts.Score(explanations, [["a"], ["a"]]))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "explanations")
            .WithMessage("explanations[1] cannot be ranked: the word 'b' (characters 2-3) has a NaN score, which has no rank*");
    }

    /// <summary>
    /// A bad set of highlighted words was refused naming <c>highlighted</c> (Plausibility.Compute's parameter), which is
    /// no parameter of Score: now <c>highlights</c>, with the set's index in the message. Likewise a null explanation, a
    /// null set and an explanation without words name Score's own parameters (they named <c>explanation</c> and
    /// <c>highlighted</c>).
    /// </summary>
    [Fact]
    public void A_highlight_that_is_not_in_the_text_is_refused_naming_highlights()
    {
        var abc = Explained("a b c", [1, 2, 3], signed: true);
        FluentActions.Invoking(() => Shortcuts.Score([abc, abc], [["a"], ["zorblax"]]))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "highlights")
            .WithMessage("highlights[1]: highlighted word(s) 'zorblax' are not words of \"a b c\" (its words: a, b, c)*");
        FluentActions.Invoking(() => Shortcuts.Score([abc], [["c", " "]]))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "highlights").WithMessage("highlights[0]: highlighted word 2 of 2 is blank*");
        FluentActions.Invoking(() => Shortcuts.Score([abc], [[]]))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "highlights").WithMessage("highlights[0]: no highlighted word given*");
        FluentActions.Invoking(() => Shortcuts.Score([abc, abc], [["a"], null!]))
            .Should().Throw<ArgumentNullException>().Where(e => e.ParamName == "highlights").WithMessage("highlights[1] is null*");
        FluentActions.Invoking(() => Shortcuts.Score([abc, null!], [["a"], ["a"]]))
            .Should().Throw<ArgumentNullException>().Where(e => e.ParamName == "explanations").WithMessage("explanations[1] is null*");
        FluentActions.Invoking(() => Shortcuts.Score([abc, abc with { Words = [] }], [["a"], ["a"]]))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "explanations").WithMessage("explanations[1] has no words to rank*");
    }
}
