using Attribution.Methods;
using Attribution.Salience;

namespace Attribution.Tests.Salience;

/// <summary>The salience layer on a sentence pair built by hand: words per text, and dropping special tokens keeps the pair's per-token arrays aligned.</summary>
public sealed class SaliencePairTests
{
    // [CLS] aa bb [SEP] cc [SEP]: "aa bb" and the pair "cc".
    private static Explanation Pair() =>
        SalienceSamples.Hand("aa bb", ["[CLS]", "aa", "bb", "[SEP]", "cc", "[SEP]"], [101, 7, 8, 102, 9, 102],
            [null, (0, 2), (3, 5), null, (0, 2), null], [true, false, false, true, false, true], [0.5, 1.0, 2.0, -0.5, 4.0, 0.25]) with
        {
            TextPair = "cc",
            TokenTypeIds = [0, 0, 0, 0, 1, 1],
            Segments = [null, 0, 0, null, 1, null],
        };

    [Fact]
    public void Words_come_per_text_with_offsets_into_their_own_text()
    {
        var e = SalienceLayer.AggregateWords(Pair(), WordAggregation.Sum);
        e.Words.Select(w => (w.Text, w.Segment, w.Start, w.End, w.Score)).Should().Equal(
            ("aa", 0, 0, 2, 1.0), ("bb", 0, 3, 5, 2.0), ("cc", 1, 0, 2, 4.0));
        e.DisplayText.Should().Be("aa bb ‖ cc");
        e.DisplayPosition(1, 0).Should().Be(8, "\"aa bb\" (5) + \" ‖ \" (3)");
    }

    [Fact]
    public void A_single_text_that_displays_like_a_pair_is_another_group()
    {
        // "aa bb ‖ cc" typed as one text and the pair ("aa bb", "cc") show the same display text, but are two inputs
        // with different tokens: one group would put both rows under one heading as if they explained the same input.
        var single = SalienceSamples.Make("aa bb ‖ cc");
        var pair = Pair();
        single.DisplayText.Should().Be(pair.DisplayText);
        var groups = ExplanationGroup.ByText([single, pair]);
        groups.Should().HaveCount(2);
        groups[0].Explanations.Should().Equal(single);
        groups[1].Explanations.Should().Equal(pair);
        var mixed = () => new ExplanationGroup(pair.DisplayText, [single, pair]);
        mixed.Should().Throw<ArgumentException>().WithMessage("*explanations[1]*explains another text*");
    }

    [Theory]
    [InlineData(Granularity.Words, false)]
    [InlineData(Granularity.Tokens, false)]
    [InlineData(Granularity.Tokens, true)]
    public void The_html_report_shows_the_pair_separator_as_plain_text_not_as_unscored_input(Granularity granularity, bool keepSpecial)
    {
        // " ‖ " joins the two texts for display; it is in neither input, so it is not struck through as "not attributed".
        var e = SalienceLayer.AggregateWords(Pair(), WordAggregation.Sum);
        e = keepSpecial ? e : SalienceLayer.DropSpecialTokens(e);
        var html = HtmlReport.Render([e], "pair", new HtmlReportOptions { Granularity = granularity });
        var tokens = System.Text.RegularExpressions.Regex.Replace(html[html.IndexOf("<div class=\"tokens\" dir=\"auto\">", StringComparison.Ordinal)..], "<span[^>]*>|</span>", "|");
        tokens.Should().StartWith(keepSpecial ? "<div class=\"tokens\" dir=\"auto\">|[CLS]| |aa| |bb| |[SEP]| ‖ |cc| |[SEP]|</div>" : "<div class=\"tokens\" dir=\"auto\">|aa| |bb| ‖ |cc|</div>");
        html.Should().NotContain("class=\"uncovered\"");
    }

    [Fact]
    public void Dropping_special_tokens_keeps_token_types_and_segments_aligned()
    {
        var e = SalienceLayer.DropSpecialTokens(SalienceLayer.AggregateWords(Pair(), WordAggregation.Sum));
        e.Tokens.Should().Equal("aa", "bb", "cc");
        e.TokenTypeIds.Should().Equal(0, 0, 1);
        e.Segments.Should().Equal(0, 0, 1);
        e.Words.Select(w => w.TokenIndices.Single()).Should().Equal(0, 1, 2);
    }
}
