using Attribution.Methods;
using Attribution.Models;
using Attribution.Text.Tokenizers;

namespace Attribution.Tests.Methods;

/// <summary>
/// Words the tokenizer drops entirely (U+200B, a zero-width space, and U+0007, a control character: BERT's cleaning
/// deletes both, and .NET counts neither as white space, so each is a word of its own) have no token. They are no
/// feature of LIME or of the perturbation methods, for a single text as for a pair, and a note names them; tokens of no
/// character (byte-level BPE's lone <c>Ġ</c>, whose span is empty) belong to no feature. Expected features, coefficients
/// and scores are written out by hand from a model whose probability is additive in its tokens.
/// </summary>
public sealed class LimeTokenlessWordTests
{
    /// <summary><see cref="AdditiveTokenModel"/> (its weights, or <paramref name="weights"/>), which also takes texts.</summary>
    private sealed class Additive(ITokenizer tokenizer, IReadOnlyDictionary<(string Token, long Type), double>? weights = null) : ITokenClassifier
    {
        public string Name => "additive";

        public ITokenizer Tokenizer => tokenizer;

        public int? MaxLength => 512;

        public bool UsesTokenTypes => true;

        public IReadOnlyList<string> Labels => ["no", "yes"];

        public double[][] PredictLogits(IReadOnlyList<TokenSequence> sequences) =>
            sequences.Select(s => AdditiveTokenModel.Logits(tokenizer, s, weights)).ToArray();

        // A single text's perturbed texts come as texts (a pair's as ids): encoded with the same tokenizer.
        public double[][] PredictProbabilities(IReadOnlyList<string> texts) =>
            PredictLogits(texts.Select(t => tokenizer.Encode(t)).Select(e => new TokenSequence(e.Ids, e.TypeIds)).ToArray())
                .Select(l => l.Select(Math.Exp).ToArray()).ToArray();
    }

    private const string Text = "the film \u200B was good";
    private const string Pair = "the \u0007 cast was dull";

    private static Additive BertModel()
    {
        using var bert = ClassifierLoader.Load(SharedData.Require("models/bert-pair-random"));
        return new Additive(bert.Tokenizer);
    }

    // By hand: "the film \u200B was good" has the at [0, 3), film [4, 8), U+200B [9, 10), was [11, 14), good [15, 19);
    // "the \u0007 cast was dull" has the [0, 3), U+0007 [4, 5), cast [6, 10), was [11, 14), dull [15, 19).
    private static readonly (string, int, int, int)[] PairFeatures =
    [
        ("the", 0, 0, 3), ("film", 0, 4, 8), ("was", 0, 11, 14), ("good", 0, 15, 19),
        ("the", 1, 0, 3), ("cast", 1, 6, 10), ("was", 1, 11, 14), ("dull", 1, 15, 19),
    ];

    /// <summary>
    /// Unpenalised LIME (α = 0) on a model exactly linear in the words present recovers each word's weight; the two
    /// tokenless words are no features (before the fix, LIME on a pair, as on a text, fitted a coefficient for each).
    /// Tolerance 1e-9: the fit has no residual, so only rounding (p through log and softmax, ~1e-16, and the normal
    /// equations of 8 features) separates the coefficients from the weights.
    /// </summary>
    [SkippableTheory]
    [InlineData(LimePerturbation.Mask)]
    [InlineData(LimePerturbation.Remove)]
    public void Lime_on_a_pair_leaves_out_words_without_tokens_and_names_them(LimePerturbation perturbation)
    {
        var model = BertModel();
        model.Tokenizer.Encode("\u200B").SpecialTokensMask.Should().OnlyContain(special => special, "premise: the tokenizer drops U+200B");
        model.Tokenizer.Encode("\u0007").SpecialTokensMask.Should().OnlyContain(special => special, "premise: and U+0007");

        var e = new Lime { Samples = 400, Seed = 7, Alpha = 0, Perturbation = perturbation }
            .Explain(model, Text, new ExplainOptions { Pairs = [Pair], Target = Target.Class(1) });

        e.Surrogate!.Features.Select(f => (f.Text, f.Segment, f.Start, f.End)).Should().Equal(PairFeatures);
        var expected = new[] { 0.01, 0.03, -0.02, 0.15, -0.01, 0.02, 0.005, -0.12 };
        e.Surrogate.Coefficients.Zip(expected).Should().OnlyContain(c => Math.Abs(c.First - c.Second) < 1e-9);
        e.Scores.Sum().Should().BeApproximately(expected.Sum(), 1e-9, "every coefficient is carried by tokens now");
        e.Notes.Should().ContainSingle(n => n.Contains("no token in"))
            .Which.Should().StartWith("'\\u200B' (text, characters 9-10), '\\u0007' (pair, characters 4-5) have no token in additive's encoding")
            .And.Contain("they are not features");
    }

    /// <summary>A single text: the same words as the pair's first text, the same note (before the fix LIME kept U+200B as feature 2).</summary>
    [SkippableTheory]
    [InlineData(LimePerturbation.Mask)]
    [InlineData(LimePerturbation.Remove)]
    public void Lime_on_a_single_text_leaves_them_out_too(LimePerturbation perturbation)
    {
        var model = BertModel();
        var e = new Lime { Samples = 200, Seed = 3, Alpha = 0, Perturbation = perturbation }
            .Explain(model, Text, new ExplainOptions { Target = Target.Class(1) });

        e.Surrogate!.Features.Select(f => (f.Text, f.Start, f.End)).Should().Equal(("the", 0, 3), ("film", 4, 8), ("was", 11, 14), ("good", 15, 19));
        e.Surrogate.Coefficients.Zip(new[] { 0.01, 0.03, -0.02, 0.15 }).Should().OnlyContain(c => Math.Abs(c.First - c.Second) < 1e-9);
        e.Notes.Should().ContainSingle(n => n.Contains("no token in"))
            .Which.Should().StartWith("'\\u200B' (text, characters 9-10) has no token in additive's encoding").And.Contain("it is not a feature");

        // A text whose every word has tokens gets no such note.
        new Lime { Samples = 64, Seed = 1, Perturbation = perturbation }.Explain(model, "the film was good").Notes
            .Should().NotContain(n => n.Contains("no token in"));
    }

    /// <summary>
    /// The perturbation methods had already left such words out (their ids cannot be perturbed), silently: they agree
    /// with LIME on the features and now carry the same note.
    /// </summary>
    [SkippableFact]
    public void The_perturbation_methods_leave_out_the_same_words_with_the_same_note()
    {
        var model = BertModel();
        var run = new Occlusion().Run(model, Text, new AttributionOptions { Pairs = [Pair], Target = Target.Class(1), Score = ScoreOutput.Probability });
        run.Features.Select(f => (f.Text, f.Segment, f.Start, f.End)).Should().Equal(PairFeatures);
        run.Notes.Should().ContainSingle(n => n.Contains("no token in"))
            .Which.Should().StartWith("'\\u200B' (text, characters 9-10), '\\u0007' (pair, characters 4-5) have no token in additive's encoding");

        // Occlusion of a word of this additive model is its weight (1e-12: p through log and softmax and back).
        run.FeatureScores.Zip(new[] { 0.01, 0.03, -0.02, 0.15, -0.01, 0.02, 0.005, -0.12 }).Should().OnlyContain(c => Math.Abs(c.First - c.Second) < 1e-12);
    }

    /// <summary>
    /// RoBERTa's byte-level BPE has no merge of <c>Ġ</c> with 中's first byte (0xE4), so " 中文" is <c>Ġ</c> then the
    /// characters' byte tokens, and the trimmed <c>Ġ</c> has the empty span [5, 5) where 中文 starts. It holds no
    /// character of the word: LIME gives it no share of 中文's coefficient (before the fix, single-text LIME mapped it to
    /// the word it starts in and split the coefficient with it, while pairs and the perturbation methods gave it 0).
    /// By hand: p = 0.5 + 0.1·[good] + 0.2·[ä¸Ń] (the first byte token of 中), so the coefficients are 0.1 and 0.2;
    /// 中文's 0.2 goes in equal shares to its tokens of characters only. Tolerance 1e-9 as above.
    /// </summary>
    [SkippableTheory]
    [InlineData(LimePerturbation.Mask)]
    [InlineData(LimePerturbation.Remove)]
    public void A_token_of_no_character_gets_no_share_of_a_word_s_coefficient(LimePerturbation perturbation)
    {
        var tokenizer = TokenizerLoader.FromDirectory(SharedData.Require("models/roberta-random"));
        var model = new Additive(tokenizer, new Dictionary<(string Token, long Type), double> { [("good", 0)] = 0.1, [("ä¸Ń", 0)] = 0.2 });
        const string text = "good 中文";
        var encoding = tokenizer.Encode(text);
        var space = Enumerable.Range(0, encoding.Length).Single(t => encoding.Tokens[t] == "Ġ");
        encoding.Offsets[space].Should().Be((5, 5), "premise: the lone Ġ has the empty span where 中文 starts");
        encoding.Tokens.Should().Contain("ä¸Ń", "premise: 中 is byte tokens");
        var wordTokens = Enumerable.Range(0, encoding.Length).Where(t => !encoding.SpecialTokensMask[t] && encoding.Offsets[t] is { } o && o.Start >= 5 && o.End > o.Start).ToArray();

        var e = new Lime { Samples = 64, Seed = 2, Alpha = 0, Perturbation = perturbation }.Explain(model, text, new ExplainOptions { Target = Target.Class(1), Salience = new Attribution.Salience.SalienceOptions { KeepSpecialTokens = true } });

        e.Tokens.Should().Equal(encoding.Tokens, "special tokens kept: token indices are the encoding's");
        e.Surrogate!.Coefficients.Zip(new[] { 0.1, 0.2 }).Should().OnlyContain(c => Math.Abs(c.First - c.Second) < 1e-9);
        e.Scores[space].Should().Be(0, "Ġ holds no character of 中文");
        foreach (var t in wordTokens)
        {
            e.Scores[t].Should().BeApproximately(0.2 / wordTokens.Length, 1e-9);
        }

        e.Words.Single(w => w.Text == "中文").Score.Should().BeApproximately(0.2, 1e-9);
    }
}
