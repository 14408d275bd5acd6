using Attribution.Methods;
using Attribution.Salience;

namespace Attribution.Tests.Salience;

/// <summary>
/// Word aggregation and normalization on inputs that real tokenizers and methods produce but the samples do not:
/// offsets that start in whitespace, tokens that belong to no word, huge, tiny and non-finite scores. Every expected
/// value is computed by hand from the text.
/// </summary>
public sealed class SalienceWordEdgeTests
{
    [Fact]
    public void Tokens_whose_offsets_start_in_the_space_before_a_word_belong_to_that_word()
    {
        // Byte-level BPE with trim_offsets false: "hello big world" → hello [0,5), Ġbig [5,9), Ġworld [9,15).
        // The words are hello [0,5), big [6,9), world [10,15); each token's span reaches into exactly one of them.
        var e = SalienceSamples.Hand(
            "hello big world", ["<s>", "hello", "Ġbig", "Ġworld", "</s>"], [0, 1, 2, 3, 2], [null, (0, 5), (5, 9), (9, 15), null],
            [true, false, false, false, true], [0.5, 1.0, 2.0, 4.0, 8.0]);
        var words = SalienceLayer.AggregateWords(e, WordAggregation.Sum).Words;
        words.Select(w => (w.Text, w.Start, w.End, w.Score)).Should().Equal(("hello", 0, 5, 1.0), ("big", 6, 9, 2.0), ("world", 10, 15, 4.0));
        words.Select(w => w.TokenIndices.Single()).Should().Equal(1, 2, 3);
        words.Select(w => e.Text.Substring(w.Start, w.End - w.Start)).Should().Equal(words.Select(w => w.Text));
    }

    [Fact]
    public void Special_tokens_with_hugging_face_style_empty_offsets_belong_to_no_word()
    {
        // Hugging Face tokenizers give [CLS] and [SEP] the span [0, 0), which starts in the first word: "good film" →
        // [CLS] [0,0) 10, good [0,4) 1, film [5,9) 2, [SEP] [0,0) 100. Special tokens belong to no word (docs/salience.md),
        // so good = 1 and film = 2 under every aggregation (before: good summed 10 + 1 + 100 = 111, and "first" gave 10).
        var e = SalienceSamples.Hand(
            "good film", ["[CLS]", "good", "film", "[SEP]"], [101, 1, 2, 102], [(0, 0), (0, 4), (5, 9), (0, 0)],
            [true, false, false, true], [10.0, 1.0, 2.0, 100.0]);
        foreach (var aggregation in Enum.GetValues<WordAggregation>())
        {
            var words = SalienceLayer.AggregateWords(e, aggregation).Words;
            words.Select(w => (w.Text, w.Score)).Should().Equal([("good", 1.0), ("film", 2.0)], aggregation.Name());
            words.Select(w => w.TokenIndices.Single()).Should().Equal(1, 2);
        }

        // Dropping the special tokens leaves every word its token, and the document is written.
        var applied = SalienceLayer.Apply(e, new SalienceOptions());
        applied.Words.Select(w => (w.Text, w.Score, w.TokenIndices.Single())).Should().Equal(("good", 1.0, 0), ("film", 2.0, 1));
        ExplanationJson.Parse(ExplanationJson.Serialize(ExplanationDocument.For([applied]))).Results[0].Words.Should().HaveCount(2);
    }

    [Fact]
    public void A_token_that_spans_only_whitespace_still_belongs_to_no_word()
    {
        // "a  b": a [0,1), a lone space token [1,2), Ġb [2,4) (untrimmed: it starts in the second space).
        var e = SalienceSamples.Hand("a  b", ["a", "Ġ", "Ġb"], [1, 2, 3], [(0, 1), (1, 2), (2, 4)], [false, false, false], [1.0, 2.0, 4.0]);
        var words = SalienceLayer.AggregateWords(e, WordAggregation.Sum).Words;
        words.Select(w => (w.Text, w.Score)).Should().Equal(("a", 1.0), ("b", 4.0));
        words[1].TokenIndices.Should().Equal(2);
    }

    [Fact]
    public void A_whitespace_token_after_the_last_word_belongs_to_no_word()
    {
        // "a b ": a [0,1), Ġb [1,3) (untrimmed), a lone Ġ [3,4) on the trailing space: past every word.
        var e = SalienceSamples.Hand("a b ", ["a", "Ġb", "Ġ"], [1, 2, 3], [(0, 1), (1, 3), (3, 4)], [false, false, false], [1.0, 2.0, 4.0]);
        var words = SalienceLayer.AggregateWords(e, WordAggregation.Sum).Words;
        words.Select(w => (w.Text, w.Score)).Should().Equal(("a", 1.0), ("b", 2.0));
    }

    [Theory]
    [InlineData(Normalization.L2, new[] { 3e200, -4e200 }, new[] { 0.6, -0.8 })]
    [InlineData(Normalization.L2, new[] { 3e-200, 4e-200 }, new[] { 0.6, 0.8 })]
    [InlineData(Normalization.L1, new[] { 1e308, -1e308 }, new[] { 0.5, -0.5 })]
    [InlineData(Normalization.L1, new[] { 1e-320, 3e-320 }, new[] { 0.25, 0.75 })]
    [InlineData(Normalization.MaxAbs, new[] { 1e308, -5e307 }, new[] { 1.0, -0.5 })]
    [InlineData(Normalization.MinMax, new[] { -1e308, 0.0, 1e308 }, new[] { 0.0, 0.5, 1.0 })]
    public void Huge_and_tiny_finite_scores_normalize_like_any_others(Normalization normalization, double[] scores, double[] expected)
    {
        // The norms by hand: √(9 + 16)·1e±200 = 5e±200; Σ|s| = 2e308 (beyond double) and 4e-320; range 2e308.
        var normalized = SalienceLayer.Normalize(scores, normalization, out var degenerate);
        degenerate.Should().BeFalse();
        normalized.Should().Equal(expected, (a, b) => Math.Abs(a - b) <= 1e-12);
    }

    [Theory]
    [InlineData(double.NaN, "NaN")]
    [InlineData(double.PositiveInfinity, "Infinity")]
    [InlineData(double.NegativeInfinity, "-Infinity")]
    public void A_non_finite_score_is_refused_by_every_normalization(double bad, string shown)
    {
        foreach (var normalization in new[] { Normalization.L1, Normalization.L2, Normalization.MaxAbs, Normalization.MinMax })
        {
            FluentActions.Invoking(() => SalienceLayer.Normalize([1.0, bad, 2.0], normalization, out _))
                .Should().Throw<ArgumentException>().WithParameterName("scores").WithMessage($"scores[1] is {shown}: {normalization.Name()} normalization needs finite scores*");
        }

        var e = SalienceSamples.Hand("aa bb", ["aa", "bb"], [7, 8], [(0, 2), (3, 5)], [false, false], [1.0, bad], signed: false);
        FluentActions.Invoking(() => SalienceLayer.Apply(e, new SalienceOptions { Normalization = Normalization.MinMax }))
            .Should().Throw<ArgumentException>().WithParameterName("explanation").WithMessage($"the score of token 1 ('bb') is {shown}: min-max normalization*");
    }

    [Theory]
    [InlineData(WordAggregation.Sum)]
    [InlineData(WordAggregation.Mean)]
    [InlineData(WordAggregation.AbsMax)]
    [InlineData(WordAggregation.L2)]
    public void A_NaN_token_score_makes_its_word_score_NaN_with_every_aggregation_that_reads_it(WordAggregation aggregation)
    {
        // NaN is no number: the sum, mean, largest magnitude and norm of {1, NaN} are undefined. (Abs-max ranked NaN
        // below 1 and gave 1, so the word looked fine and no renderer said a score was not finite.)
        double.IsNaN(SalienceLayer.Aggregate([1.0, double.NaN], aggregation)).Should().BeTrue();
        double.IsNaN(SalienceLayer.Aggregate([double.NaN, -3.0], aggregation)).Should().BeTrue();
        var e = SalienceSamples.Hand("unseen", ["un", "##seen"], [1, 2], [(0, 2), (2, 6)], [false, false], [0.5, double.NaN]);
        double.IsNaN(SalienceLayer.AggregateWords(e, aggregation).Words.Single().Score).Should().BeTrue();
    }

    [Fact]
    public void Word_aggregates_of_huge_and_tiny_scores_do_not_overflow_or_underflow()
    {
        // √(9 + 16)·1e200 = 5e200; √(9 + 16)·1e-200 = 5e-200; the mean of 1e308 and 1e308 is 1e308.
        SalienceLayer.Aggregate([3e200, 4e200], WordAggregation.L2).Should().BeApproximately(5e200, 5e188);
        SalienceLayer.Aggregate([3e-200, -4e-200], WordAggregation.L2).Should().BeApproximately(5e-200, 5e-212);
        SalienceLayer.Aggregate([1e308, 1e308], WordAggregation.Mean).Should().Be(1e308);
        SalienceLayer.Aggregate([3.0, 4.0], WordAggregation.L2).Should().Be(5.0);
        SalienceLayer.Aggregate([1.0, 2.0], WordAggregation.Mean).Should().Be(1.5);
    }

    [Fact]
    public void Tokens_outside_every_word_are_named_in_a_note_with_their_total_score()
    {
        // "a\n\nb" as byte-level BPE: a [0,1), Ċ [1,2), Ċ [2,3), b [3,4); the two newlines (0.25 and 0.5) are in no word.
        var e = SalienceSamples.Hand("a\n\nb", ["a", "Ċ", "Ċ", "b"], [1, 2, 2, 3], [(0, 1), (1, 2), (2, 3), (3, 4)], [false, false, false, false], [1.0, 0.25, 0.5, 2.0])
            with { Notes = ["earlier note"] };
        var words = SalienceLayer.AggregateWords(e, WordAggregation.Sum);
        words.Words.Select(w => (w.Text, w.Score)).Should().Equal(("a", 1.0), ("b", 2.0));
        const string note = "word scores include no token that lies outside every word: 2 such token(s) (Ċ Ċ), whitespace or past the last word, with scores summing to 0.75; the token scores have them";
        words.Notes.Should().Equal("earlier note", note);

        // Recomputing the words (another aggregation) replaces the note instead of repeating it.
        SalienceLayer.AggregateWords(words, WordAggregation.Mean).Notes.Should().Equal("earlier note", note);

        // Outside tokens that score exactly 0 (perturbation methods score word features only) leave nothing out.
        SalienceLayer.AggregateWords(e with { Scores = [1.0, 0.0, -0.0, 2.0] }, WordAggregation.Sum).Notes.Should().Equal("earlier note");
    }

    [Fact]
    public void A_word_cut_by_truncation_is_named_in_a_note()
    {
        // "hello wonderful day" truncated after "won": hello [0,5), won [6,9); "derful" and "day" have no tokens.
        var e = SalienceSamples.Hand("hello wonderful day", ["[CLS]", "hello", "won", "[SEP]"], [101, 1, 2, 102], [null, (0, 5), (6, 9), null],
            [true, false, false, true], [0.0, 1.0, 2.0, 0.0]);
        var words = SalienceLayer.AggregateWords(e, WordAggregation.Sum);
        words.Words.Select(w => (w.Text, w.Start, w.End, w.Score)).Should().Equal(("hello", 0, 5, 1.0), ("wonderful", 6, 15, 2.0));
        words.Notes.Should().Equal("word scores include 'wonderful' only in part: its tokens cover 'won', not 'derful' (the text was cut there)");
    }

    [Fact]
    public void A_word_without_a_token_of_its_own_is_named_in_a_note()
    {
        // An added token holding a space ("new york" [0, 8)) starts in "New" and covers "York" [4, 8): "York" gets no
        // word score of its own (its share is in "New"'s), and "#" [9, 10) got no token (a tokenizer that dropped it).
        // "today" [14, 19) lies past the last token: truncation's, reported by the method, not here.
        var e = SalienceSamples.Hand("New York # is today", ["[CLS]", "new york", "is", "[SEP]"], [101, 1, 2, 102], [null, (0, 8), (11, 13), null],
            [true, false, false, true], [0.0, 1.0, 2.0, 0.0]);
        var words = SalienceLayer.AggregateWords(e, WordAggregation.Sum);
        words.Words.Select(w => (w.Text, w.Score)).Should().Equal(("New", 1.0), ("is", 2.0));
        const string note = "word scores include no word for 2 word(s) of the text without a token of their own ('York', '#'): "
            + "a token of another word covers them, or the tokenizer dropped them";
        words.Notes.Should().Equal(note);

        // Recomputing the words replaces the note instead of repeating it.
        SalienceLayer.AggregateWords(words, WordAggregation.Mean).Notes.Should().Equal(note);
    }

    [Theory]
    [InlineData("ab\u200b")]
    [InlineData("ab\u0301")]
    [InlineData("ab\ufffd")]
    [InlineData("ab\U000E0001")]
    [InlineData("ab\u00ad")]
    public void A_word_whose_last_character_is_invisible_and_untokenized_is_not_called_cut(string text)
    {
        // WordPiece drops a zero-width space, a combining accent (lower-casing), U+FFFD, a tag character (U+E0001, a
        // surrogate pair) and a soft hyphen: "ab" [0,2) is all of the word that shows.
        var e = SalienceSamples.Hand(text, ["ab"], [1], [(0, 2)], [false], [1.0]);
        var words = SalienceLayer.AggregateWords(e, WordAggregation.Sum);
        words.Words.Single().Text.Should().Be(text);
        words.Notes.Should().BeEmpty();
    }
}
