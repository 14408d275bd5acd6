using Attribution.Methods;
using Attribution.Salience;

namespace Attribution.Tests.Salience;

/// <summary>
/// Edge cases of <see cref="SalienceLayer"/> that the mutation run (docs/mutation-testing.md) showed untested: argument
/// checks, the early returns, word consistency when special tokens are dropped, the degenerate-normalization note and
/// word spans at the ends of a text. Every expected value is written out by hand.
/// </summary>
public sealed class SalienceLayerEdgeCaseTests
{
    /// <summary>"aa bb" as [CLS] aa bb [SEP]; the caller chooses scores and, where it matters, the words.</summary>
    private static Explanation Sample(double[]? scores = null, bool signed = true) =>
        SalienceSamples.Hand("aa bb", ["[CLS]", "aa", "bb", "[SEP]"], [101, 7, 8, 102], [null, (0, 2), (3, 5), null], [true, false, false, true],
            scores ?? [0.25, 1.0, 2.0, -0.5], signed);

    [Fact]
    public void Null_arguments_are_rejected_as_such()
    {
        FluentActions.Invoking(() => SalienceLayer.Apply(Sample(), null!)).Should().Throw<ArgumentNullException>().WithParameterName("options");
        FluentActions.Invoking(() => SalienceLayer.DropSpecialTokens(null!)).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => SalienceLayer.Normalize(null!, Normalization.None)).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => SalienceLayer.Normalize(null!, Normalization.L1)).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => SalienceLayer.Normalize((IReadOnlyList<double>)null!, Normalization.L1, out _)).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => SalienceLayer.Aggregate(null!, WordAggregation.Sum)).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => Attribution.Text.WordSpans.Of(null!)).Should().Throw<ArgumentNullException>();
    }

    public static TheoryData<string, string> Malformed => new()
    {
        // "aa bb" is [CLS] aa bb [SEP]: four tokens, text of five characters.
        { "short scores", "explanation.Scores has 3 entries for 4 tokens*" },
        { "long ids", "explanation.TokenIds has 5 entries for 4 tokens*" },
        { "short offsets", "explanation.Offsets has 2 entries for 4 tokens*" },
        { "short special mask", "explanation.IsSpecial has 3 entries for 4 tokens*" },
        { "short segments", "explanation.Segments has 1 entries for 4 tokens*" },
        { "offset past the text", "explanation.Offsets[2] ('bb') is [3, 9), not a span of its 5-character text*" },
        { "negative offset", "explanation.Offsets[1] ('aa') is [-1, 2), not a span of its 5-character text*" },
        { "reversed offset", "explanation.Offsets[1] ('aa') is [2, 0), not a span of its 5-character text*" },
        { "unset scores", "explanation.Scores is not set (a default ImmutableArray)*" },
    };

    private static Explanation Break(string how)
    {
        var e = Sample();
        return how switch
        {
            "short scores" => e with { Scores = [0.25, 1.0, 2.0] },
            "long ids" => e with { TokenIds = [101, 7, 8, 102, 0] },
            "short offsets" => e with { Offsets = [null, (0, 2)] },
            "short special mask" => e with { IsSpecial = [true, false, false] },
            "short segments" => e with { Segments = [null] },
            "offset past the text" => e with { Offsets = [null, (0, 2), (3, 9), null] },
            "negative offset" => e with { Offsets = [null, (-1, 2), (3, 5), null] },
            "reversed offset" => e with { Offsets = [null, (2, 0), (3, 5), null] },
            "unset scores" => e with { Scores = default },
            _ => throw new ArgumentOutOfRangeException(nameof(how)),
        };
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void A_malformed_explanation_is_refused_naming_the_field_by_every_operation_and_renderer(string how, string message)
    {
        // Before: arrays shorter than the tokens failed with an IndexOutOfRangeException that named nothing, and
        // offsets outside the text were grouped into words (bb's [3, 9) joined "bb", [-1, 2) joined "aa") and rendered.
        var e = Break(how);
        FluentActions.Invoking(() => SalienceLayer.AggregateWords(e, WordAggregation.Sum)).Should().Throw<ArgumentException>().WithMessage(message).WithParameterName("explanation");
        FluentActions.Invoking(() => SalienceLayer.Apply(e, new SalienceOptions())).Should().Throw<ArgumentException>().WithMessage(message).WithParameterName("explanation");
        FluentActions.Invoking(() => SalienceLayer.DropSpecialTokens(e)).Should().Throw<ArgumentException>().WithMessage(message).WithParameterName("explanation");
        FluentActions.Invoking(() => SalienceLayer.Normalize(e, Normalization.MaxAbs)).Should().Throw<ArgumentException>().WithMessage(message).WithParameterName("explanation");
        var inGroup = message.Replace("explanation.", "explanations[0].", StringComparison.Ordinal);
        FluentActions.Invoking(() => HtmlReport.Render([e], "report")).Should().Throw<ArgumentException>().WithMessage(inGroup).WithParameterName("explanations");
        FluentActions.Invoking(() => MarkdownRenderer.Render(ExplanationGroup.ByText([e]))).Should().Throw<ArgumentException>().WithMessage(inGroup);
        FluentActions.Invoking(() => ConsoleRenderer.Render(ExplanationGroup.ByText([e]))).Should().Throw<ArgumentException>().WithMessage(inGroup);
    }

    [Fact]
    public void Words_outside_the_text_or_pointing_past_the_tokens_are_refused_where_they_are_used()
    {
        var e = SalienceLayer.AggregateWords(Sample(), WordAggregation.Sum);
        var past = e with { Words = [e.Words[0], e.Words[1] with { TokenIndices = [2, 4] }] };
        FluentActions.Invoking(() => SalienceLayer.DropSpecialTokens(past)).Should().Throw<ArgumentException>()
            .WithMessage("explanation.Words[1] ('bb') has token indices [2, 4], not all among the 4 tokens*").WithParameterName("explanation");
        var outside = e with { Words = [e.Words[0], e.Words[1] with { End = 6 }] };
        FluentActions.Invoking(() => HtmlReport.Render([outside], "report")).Should().Throw<ArgumentException>()
            .WithMessage("explanations[0].Words[1] ('bb') is [3, 6) of segment 0, not a span of its text*");

        // Words are recomputed by AggregateWords, so broken ones do not stop it.
        SalienceLayer.AggregateWords(past, WordAggregation.Sum).Words.Select(w => (w.Text, w.Score)).Should().Equal(("aa", 1.0), ("bb", 2.0));
    }

    [Fact]
    public void Out_of_range_enum_values_are_rejected()
    {
        FluentActions.Invoking(() => SalienceLayer.Normalize([1.0, 2.0], (Normalization)99, out _)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => SalienceLayer.Aggregate([1.0, 2.0], (WordAggregation)99)).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void An_empty_word_is_rejected_with_a_message_that_says_why()
    {
        FluentActions.Invoking(() => SalienceLayer.Aggregate([], WordAggregation.Mean))
            .Should().Throw<ArgumentException>().WithMessage("a word has at least one token*").WithParameterName("scores");
    }

    [Fact]
    public void Dropping_special_tokens_twice_returns_the_same_explanation()
    {
        var dropped = SalienceLayer.DropSpecialTokens(Sample());
        dropped.SpecialTokensKept.Should().BeFalse();
        SalienceLayer.DropSpecialTokens(dropped).Should().BeSameAs(dropped);
    }

    [Fact]
    public void Dropping_special_tokens_renumbers_words_and_raw_attributions()
    {
        // A word that (unusually) lists [CLS] (index 0) as one of its tokens: [CLS] goes, "aa" (1) becomes 0 and "bb"
        // (2) becomes 1; nothing may point at a dropped token.
        var e = Sample() with
        {
            Words = [new WordScore("aa", 0, 2, 1.25, [0, 1]), new WordScore("bb", 3, 5, 2.0, [2, 3])],
            RawAttributions = [[0.5f], [1.5f], [2.5f], [3.5f]],
        };
        var dropped = SalienceLayer.DropSpecialTokens(e);
        dropped.Tokens.Should().Equal("aa", "bb");
        dropped.TokenIds.Should().Equal(7, 8);
        dropped.Offsets.Should().Equal((0, 2), (3, 5));
        dropped.IsSpecial.Should().Equal(false, false);
        dropped.Scores.Should().Equal(1.0, 2.0);
        dropped.SpecialTokensKept.Should().BeFalse();
        dropped.RawAttributions.Should().NotBeNull();
        dropped.RawAttributions!.Select(r => r.Single()).Should().Equal(1.5f, 2.5f);
        dropped.Words[0].TokenIndices.Should().Equal(0);
        dropped.Words[1].TokenIndices.Should().Equal(1);
        dropped.Words.Select(w => w.Score).Should().Equal(1.25, 2.0);

        SalienceLayer.DropSpecialTokens(Sample()).RawAttributions.Should().BeNull();
    }

    [Fact]
    public void No_normalization_returns_the_explanation_itself_even_when_it_is_already_normalized()
    {
        var e = Sample();
        SalienceLayer.Normalize(e, Normalization.None).Should().BeSameAs(e);
        var normalized = e with { Normalization = Normalization.L1 };
        SalienceLayer.Normalize(normalized, Normalization.None).Should().BeSameAs(normalized);
    }

    [Fact]
    public void Normalizing_twice_is_an_error_that_names_the_first_normalization()
    {
        var once = SalienceLayer.Normalize(Sample(), Normalization.MaxAbs);
        once.Normalization.Should().Be(Normalization.MaxAbs);
        FluentActions.Invoking(() => SalienceLayer.Normalize(once, Normalization.L1))
            .Should().Throw<InvalidOperationException>().WithMessage("the scores are already normalized (max-abs)*");
    }

    [Fact]
    public void Grouping_the_words_of_normalized_scores_is_an_error_that_names_the_fix()
    {
        // Re-grouped from max-abs token scores a word of tokens at 1 and 1 would score 2 and still say "max-abs".
        var once = SalienceLayer.Normalize(SalienceLayer.AggregateWords(Sample(), WordAggregation.Sum), Normalization.MaxAbs);
        FluentActions.Invoking(() => SalienceLayer.AggregateWords(once, WordAggregation.Sum))
            .Should().Throw<InvalidOperationException>().WithMessage("the scores are normalized (max-abs): group the words of the original*");
        FluentActions.Invoking(() => SalienceLayer.Apply(once, new SalienceOptions { Normalization = Normalization.None }))
            .Should().Throw<InvalidOperationException>();
    }

    [Fact]
    public void A_zero_word_norm_leaves_the_word_scores_and_adds_a_note()
    {
        // One word "ab" of two tokens 1 and −1: tokens normalize (Σ|s| = 2), the word's sum is 0 so its norm is zero.
        var e = Sample() with
        {
            Text = "ab",
            Tokens = ["a", "##b"],
            TokenIds = [1, 2],
            Offsets = [(0, 1), (1, 2)],
            IsSpecial = [false, false],
            Scores = [1.0, -1.0],
            Notes = ["earlier note"],
            SpecialTokensKept = false,
        };
        var words = SalienceLayer.AggregateWords(e, WordAggregation.Sum);
        words.Words.Single().Score.Should().Be(0);
        var normalized = SalienceLayer.Normalize(words, Normalization.L1);
        normalized.Scores.Should().Equal(0.5, -0.5);
        normalized.Words.Single().Score.Should().Be(0);
        normalized.Notes.Should().Equal("earlier note", "l1 normalization left the word scores unchanged: their norm is zero (the token scores are normalized)");
    }

    [Fact]
    public void A_zero_word_range_says_range_in_the_note()
    {
        // Unsigned tokens 1 and 3 of the single word "ab": tokens map to 0 and 1; one word score (4) has range 0.
        var e = Sample(signed: false) with
        {
            Text = "ab",
            Tokens = ["a", "##b"],
            TokenIds = [1, 2],
            Offsets = [(0, 1), (1, 2)],
            IsSpecial = [false, false],
            Scores = [1.0, 3.0],
            SpecialTokensKept = false,
        };
        var normalized = SalienceLayer.Normalize(SalienceLayer.AggregateWords(e, WordAggregation.Sum), Normalization.MinMax);
        normalized.Scores.Should().Equal(0, 1);
        normalized.Words.Single().Score.Should().Be(4);
        normalized.Notes.Should().Equal("min-max normalization left the word scores unchanged: their range is zero (the token scores are normalized)");
    }

    [Fact]
    public void The_degenerate_normalization_note_names_the_scores_it_left_unchanged()
    {
        // Unsigned "a bb" with tokens a, b, ##b all scoring 1: the token range is zero (left at 1, 1, 1), but the word
        // sums 1 and 2 have range 1 and map to 0 and 1. One token "a" scoring 2: both ranges are zero.
        var flatTokens = SalienceSamples.Hand("a bb", ["a", "b", "##b"], [1, 2, 3], [(0, 1), (2, 3), (3, 4)], [false, false, false], [1.0, 1.0, 1.0], signed: false);
        var normalized = SalienceLayer.Normalize(SalienceLayer.AggregateWords(flatTokens, WordAggregation.Sum), Normalization.MinMax);
        normalized.Scores.Should().Equal(1, 1, 1);
        normalized.Words.Select(w => w.Score).Should().Equal(0, 1);
        normalized.Notes.Should().Equal("min-max normalization left the token scores unchanged: their range is zero (the word scores are normalized)");

        var single = SalienceSamples.Hand("a", ["a"], [1], [(0, 1)], [false], [2.0], signed: false);
        var both = SalienceLayer.Normalize(SalienceLayer.AggregateWords(single, WordAggregation.Sum), Normalization.MinMax);
        (both.Scores.Single(), both.Words.Single().Score).Should().Be((2, 2));
        both.Notes.Should().Equal("min-max normalization left the token and word scores unchanged: their range is zero");
    }

    [Fact]
    public void A_normalization_with_nonzero_norms_adds_no_note()
    {
        // Content tokens 1 and 2, words aa = 1 and bb = 2: Σ|s| = 3 for both.
        var normalized = SalienceLayer.Apply(Sample(), new SalienceOptions { Normalization = Normalization.L1 });
        normalized.Notes.Should().BeEmpty();
        normalized.Scores.Should().Equal([1 / 3.0, 2 / 3.0], (a, b) => Math.Abs(a - b) < 1e-15);
        normalized.Words.Select(w => w.Score).Should().Equal([1 / 3.0, 2 / 3.0], (a, b) => Math.Abs(a - b) < 1e-15);
    }

    [Theory]
    [InlineData("", new int[0])]
    [InlineData("   ", new int[0])]
    [InlineData("a ", new[] { 0, 1 })]
    [InlineData(" ab  c ", new[] { 1, 3, 5, 6 })]
    [InlineData("ab\tcd\n", new[] { 0, 2, 3, 5 })]
    public void Word_spans_ignore_leading_and_trailing_whitespace(string text, int[] bounds)
    {
        var expected = Enumerable.Range(0, bounds.Length / 2).Select(i => (bounds[2 * i], bounds[(2 * i) + 1])).ToArray();
        Attribution.Text.WordSpans.Of(text).Select(s => (s.Start, s.End)).Should().Equal(expected);
    }

    [Fact]
    public void A_token_that_starts_after_the_last_word_belongs_to_no_word()
    {
        // "ab" and an end-of-sequence token with the empty offset (2, 2) at the end of the text (not flagged special).
        var e = Sample() with
        {
            Text = "ab",
            Tokens = ["ab", "</s>"],
            TokenIds = [1, 2],
            Offsets = [(0, 2), (2, 2)],
            IsSpecial = [false, false],
            Scores = [1.0, 5.0],
        };
        var words = SalienceLayer.AggregateWords(e, WordAggregation.Sum).Words;
        words.Should().ContainSingle();
        words[0].Text.Should().Be("ab");
        words[0].TokenIndices.Should().Equal(0);
        words[0].Score.Should().Be(1.0);
    }
}
