using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Attribution.Methods;
using Attribution.Salience;

namespace Attribution.Tests.Salience;

public partial class HtmlReportTests
{
    private const string Text = "the movie was great";

    [GeneratedRegex("<span class=\"u( special)?\" style=\"background:(#[0-9a-f]{6});color:(#[0-9a-f]{6})\" title=\"([^\"]*)\">([^<]*)</span>")]
    private static partial Regex UnitSpan();

    /// <summary>The coloured units of the report in order: (shown text, background, tooltip, special).</summary>
    private static List<(string Shown, string Background, string Tooltip, bool Special)> Units(string html) =>
        UnitSpan().Matches(html).Select(m => (WebUtility.HtmlDecode(m.Groups[5].Value), m.Groups[2].Value, WebUtility.HtmlDecode(m.Groups[4].Value), m.Groups[1].Success)).ToList();

    private static Explanation Signed() => SalienceSamples.Make(Text, SalienceSamples.WordScores(0.1, -0.6, 0.05, 1.2));

    private static Explanation Unsigned() =>
        SalienceSamples.Make(Text, [0.2, 0.1, 0.5, 0.3, 0.9, 0.4], method: "gradient", signed: false, settings: [new("layer", "embeddings")], delta: null);

    [Fact]
    public void Untrusted_text_is_escaped_everywhere()
    {
        var evil = "<script>alert('x')</script> <img src=x onerror=alert(1)> \"quotes\" & ampersands";
        var e = SalienceSamples.Make(evil) with { Notes = ["<b>note</b>"], TargetLabel = "<i>label</i>" };
        var html = HtmlReport.Render([e], "<title> & report", new HtmlReportOptions { Granularity = Granularity.Tokens });

        html.Should().NotContain("<script").And.NotContain("<img").And.NotContain("<b>note").And.NotContain("<i>label").And.NotContain("<title> &");
        html.Should().Contain("&lt;script&gt;alert&#40;&#39;x&#39;)&lt;&#47;script&gt;");
        html.Should().Contain("&lt;title&gt; &amp; report");
        html.Should().Contain("&lt;b&gt;note&lt;&#47;b&gt;");
        Units(html).Select(u => u.Shown).Should().Contain("<scr", "escaped token text decodes back to the original");
    }

    [Fact]
    public void Bidi_overrides_cannot_reorder_the_report()
    {
        // "good \u202Ebad movie" would show "eivom dab" after "good": the override (and embeddings, isolates) become U+FFFD.
        HtmlReport.Escape("good \u202Ebad \u2066movie\u2069 \u202Ax\u202C").Should().Be("good \uFFFDbad \uFFFDmovie\uFFFD \uFFFDx\uFFFD");
        HtmlReport.Escape("\u200F\u061C rtl marks stay").Should().Be("\u200F\u061C rtl marks stay", "a mark has no scope to leak");
        var html = HtmlReport.Render([SalienceSamples.Make("good \u202Ebad movie")], "r");
        html.Should().NotContain("\u202E");
    }

    [Theory]
    [InlineData("good\rbad", "good\nbad")]
    [InlineData("good\r\nbad\r", "good\nbad\n")]
    [InlineData("a\r\rb", "a\n\nb")]
    public void Carriage_returns_are_line_breaks_so_words_never_run_together(string text, string escaped)
    {
        // A lone CR separates words (WordSpans takes it as whitespace) and ends a line in old Mac text.
        HtmlReport.Escape(text).Should().Be(escaped);
        var html = HtmlReport.Render([SalienceSamples.Make("good\rbad")], "report");
        html.Should().Contain("<p class=\"source\" dir=\"auto\">good\nbad</p>").And.NotContain("goodbad");
    }

    [Fact]
    public void The_page_references_nothing_outside_itself()
    {
        var e = SalienceSamples.Make("see https://evil.example/x.js and http://a.b @import url(x.css) src=y <link rel=stylesheet>");
        var html = HtmlReport.Render([e, Unsigned()], "report");
        foreach (var forbidden in new[] { "http://", "https://", "src=", "<link", "@import", "url(", "<script", "<img", "<iframe", "href=" })
        {
            html.Should().NotContainEquivalentOf(forbidden);
        }

        html.Should().Contain("Content-Security-Policy").And.Contain("default-src 'none'");
        html.Should().StartWith("<!DOCTYPE html>").And.Contain("<meta charset=\"utf-8\">").And.EndWith("</html>\n");
    }

    [Fact]
    public void Signed_rows_run_from_red_through_white_to_green_scaled_by_the_row_maximum()
    {
        var html = HtmlReport.Render([Signed()], "report");
        var units = Units(html).ToDictionary(u => u.Shown, u => u.Background);
        units.Keys.Should().Equal("the", "movie", "was", "great");
        units["great"].Should().Be("#1a9850", "the largest positive word is the most saturated green");
        units["great"].Should().Be(SalienceColors.Green.ToHex());
        units["movie"].Should().Be(SalienceColors.Mix(SalienceColors.White, SalienceColors.Red, 0.5).ToHex(), "−0.6 is half the row's max |score| 1.2");
        units["the"].Should().Be(SalienceColors.Mix(SalienceColors.White, SalienceColors.Green, 0.1 / 1.2).ToHex());
        Saturation(units["great"]).Should().BeGreaterThan(Saturation(units["the"])).And.BeGreaterThan(Saturation(units["was"]));
        Rgb(units["movie"]).R.Should().BeGreaterThan(Rgb(units["movie"]).G, "negative is red");
    }

    [Fact]
    public void Unsigned_rows_run_from_white_to_purple()
    {
        var html = HtmlReport.Render([Unsigned()], "report");
        var units = Units(html).ToDictionary(u => u.Shown, u => u.Background);
        units["great"].Should().Be("#54278f");
        units["movie"].Should().Be(SalienceColors.Mix(SalienceColors.White, SalienceColors.Purple, 0.5 / 0.9).ToHex());
        html.Should().Contain("bar unsigned");
        html.Should().NotContain("class=\"bar signed\"", "only the legends of the kinds of scores shown");
    }

    [Fact]
    public void A_row_with_non_finite_scores_says_they_are_uncoloured_even_without_details()
    {
        // Words good NaN, bad −∞, ugly +2: 2 of 3 not finite; both painted white, the colour of a zero score.
        var e = SalienceSamples.Make("good bad ugly", [0, double.NaN, double.NegativeInfinity, 2.0, 0]);
        var html = HtmlReport.Render([e], "report", new HtmlReportOptions { ShowDetails = false });
        Units(html).Select(u => u.Background).Should().Equal("#ffffff", "#ffffff", "#1a9850");
        WebUtility.HtmlDecode(html).Should().Contain("<li>2 of 3 scores are not finite (NaN or ±infinity): they are left uncoloured, as a zero score would be, and the colour scale is that of the finite scores</li>");
        HtmlReport.Render([Signed()], "report").Should().NotContain("not finite");
    }

    [Fact]
    public void A_right_to_left_text_gets_its_own_direction()
    {
        // "هذا فيلم رائع" ("this is a great film") in a left-to-right block would start at the left edge, its final
        // punctuation on the wrong side; dir="auto" takes the direction from the text's first strong character.
        var html = HtmlReport.Render([SalienceSamples.Make("هذا فيلم رائع!", [0, 0.5, -0.2, 0.9, 0])], "report");
        html.Should().Contain("<p class=\"source\" dir=\"auto\">هذا فيلم رائع!</p>");
        html.Should().Contain("<div class=\"tokens\" dir=\"auto\">");
        html.Should().Contain("<html lang=\"en\">", "the page itself stays left-to-right");
    }

    [Fact]
    public void Every_unit_has_its_exact_score_in_its_tooltip()
    {
        var scores = new[] { 0.0, 0.12345678901234566, -0.6, 1e-9, 1.2, 0.0 };
        var html = HtmlReport.Render([SalienceSamples.Make(Text, scores)], "report", new HtmlReportOptions { Granularity = Granularity.Tokens });
        var units = Units(html);
        units.Should().HaveCount(6);
        units[1].Tooltip.Should().Contain("score 0.12345678901234566");
        units[3].Tooltip.Should().Contain("score 1E-09");
        units[0].Shown.Should().Be("[CLS]");
        units[0].Special.Should().BeTrue();
        units[0].Tooltip.Should().Contain("special token");
    }

    [Fact]
    public void Methods_are_stacked_per_text_with_prediction_target_settings_and_delta()
    {
        var texts = new[] { Text, "a dull and tedious plot" };
        var ig = texts.Select(t => SalienceSamples.Make(t, logits: [0.5, -2.0], target: 0)).ToList();
        var grad = texts.Select(t => SalienceSamples.Make(t, method: "gradient", signed: false, logits: [0.5, -2.0], target: 0, delta: null, settings: [new("layer", "embeddings")])).ToList();
        var xi = texts.Select(t => SalienceSamples.Make(t, method: "gradient-x-input", logits: [0.5, -2.0], target: 0, delta: null, settings: [])).ToList();
        var groups = ExplanationGroup.FromMethods([ig, grad, xi]);
        var html = HtmlReport.Render(groups, "comparison", new HtmlReportOptions { Labels = SalienceSamples.Labels });

        var sections = html.Split("<section class=\"text\">").Skip(1).ToList();
        sections.Should().HaveCount(2);
        foreach (var section in sections)
        {
            Regex.Matches(section, "<div class=\"row\">").Should().HaveCount(3);
            var order = new[] { ">integrated-gradients<", ">gradient<", ">gradient-x-input<" }.Select(m => section.IndexOf(m, StringComparison.Ordinal)).ToList();
            order.Should().BeInAscendingOrder().And.NotContain(-1);
            section.Should().Contain("Prediction <b>negative</b> (p = 0.9241)");
            section.Should().Contain("Explained class <b>negative</b> (class 0");
            section.Should().Contain("convergence delta <b>0.00012</b> (logit units)");
            section.Should().Contain("settings steps&#61;50, rule&#61;gausslegendre, baseline&#61;pad");
            section.Should().Contain("settings layer&#61;embeddings");
        }

        html.Should().Contain("bar signed").And.Contain("bar unsigned");
        html.Should().Contain("scaled by that row's largest |score|");
        html.Should().Contain("methods integrated-gradients, gradient, gradient-x-input");
    }

    [Fact]
    public void The_predicted_class_is_named_from_the_labels_when_it_is_not_the_target()
    {
        var e = SalienceSamples.Make(Text, target: 1, logits: [3.0, -1.0]);
        HtmlReport.Render([e], "r", new HtmlReportOptions { Labels = SalienceSamples.Labels }).Should().Contain("Prediction <b>negative</b>");
        HtmlReport.Render([e], "r").Should().Contain("Prediction <b>class 0</b>");
        HtmlReport.Render(ExplanationDocument.For([e], ["neg", "pos"])).Should().Contain("Prediction <b>neg</b>");
    }

    [Fact]
    public void Token_granularity_shows_subwords_and_special_tokens_and_words_fall_back_when_missing()
    {
        var e = SalienceSamples.Make("unbelievable film");
        var tokens = Units(HtmlReport.Render([e], "r", new HtmlReportOptions { Granularity = Granularity.Tokens }));
        tokens.Select(u => u.Shown).Should().Equal("[CLS]", "unbe", "lievable", "film", "[SEP]");
        tokens.Select(u => u.Special).Should().Equal(true, false, false, false, true);
        tokens[2].Tooltip.Should().StartWith("##lievable");

        var words = Units(HtmlReport.Render([e], "r"));
        words.Select(u => u.Shown).Should().Equal("unbelievable", "film");

        var noWords = HtmlReport.Render([e with { Words = [] }], "r");
        Units(noWords).Should().HaveCount(5);
        noWords.Should().Contain("this result has no word scores; tokens are shown");
    }

    [Fact]
    public void A_token_with_an_empty_span_is_shown_as_a_marker()
    {
        // RoBERTa's "a  b": a [0,1), a lone Ġ with the trimmed, empty span [2,2), b [3,4).
        var e = SalienceSamples.Hand("a  b", ["a", "Ġ", "b"], [1, 2, 3], [(0, 1), (2, 2), (3, 4)], [false, false, false], [0.5, -1.0, 0.25]);
        var units = Units(HtmlReport.Render([e], "r", new HtmlReportOptions { Granularity = Granularity.Tokens }));
        units.Select(u => u.Shown).Should().Equal("a", "·", "b");
        units[1].Tooltip.Should().StartWith("Ġ\nscore -1 ").And.EndWith("covers no characters (an empty span)");
        units[1].Background.Should().Be(SalienceColors.Red.ToHex(), "the strongest score of the row is fully saturated");
    }

    [Fact]
    public void Text_that_no_token_covers_is_shown_but_marked_unscored()
    {
        var e = SalienceSamples.Make("kept words here");
        var truncated = e with
        {
            Tokens = e.Tokens[..2],
            TokenIds = e.TokenIds[..2],
            Offsets = e.Offsets[..2],
            IsSpecial = e.IsSpecial[..2],
            Scores = e.Scores[..2],
            Words = [],
        };
        var html = HtmlReport.Render([truncated], "r", new HtmlReportOptions { Granularity = Granularity.Tokens });
        html.Should().Contain("<span class=\"uncovered\" title=\"not attributed\">words here</span>");
    }

    [Fact]
    public void A_demo_report_is_written_for_the_headless_browser_check()
    {
        var texts = new[]
        {
            "the movie was great , a joy from start to finish",
            "a dull , tedious and overlong plot <script>alert(1)</script>",
            "Naïve café — 日本語 😀 surprisingly good",
        };
        var ig = texts.Select((t, i) => SalienceSamples.Make(t, logits: i == 1 ? [2.0, -1.5] : [-1.0, 2.2], target: i == 1 ? 0 : 1)).ToList();
        var grad = texts.Select((t, i) => SalienceSamples.Make(t, method: "gradient", signed: false, logits: i == 1 ? [2.0, -1.5] : [-1.0, 2.2], target: i == 1 ? 0 : 1, delta: null, settings: [new("layer", "bert.embeddings.word_embeddings"), new("reduce", "l2")])).ToList();
        var html = HtmlReport.Render(ExplanationGroup.FromMethods([ig, grad]), "Attribution report (demo)", new HtmlReportOptions { Labels = SalienceSamples.Labels });
        var path = Path.Combine(AppContext.BaseDirectory, "salience-demo-report.html");
        File.WriteAllText(path, html);
        File.ReadAllText(path).Should().Be(html);
        Units(html).Should().HaveCount(2 * texts.Sum(t => t.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length));
    }

    private static (int R, int G, int B) Rgb(string hex) =>
        (int.Parse(hex[1..3], NumberStyles.HexNumber, CultureInfo.InvariantCulture),
         int.Parse(hex[3..5], NumberStyles.HexNumber, CultureInfo.InvariantCulture),
         int.Parse(hex[5..7], NumberStyles.HexNumber, CultureInfo.InvariantCulture));

    private static int Saturation(string hex)
    {
        var (r, g, b) = Rgb(hex);
        return Math.Max(r, Math.Max(g, b)) - Math.Min(r, Math.Min(g, b));
    }

    [Fact]
    public void Details_show_the_surrogate_fit_and_relevance_shares_escaped_and_only_when_asked()
    {
        var lime = SalienceSamples.Make(Text, method: "lime", delta: null) with
        {
            Surrogate = new SurrogateModel([new("the", 0, 3), new("movie", 4, 9)], [0.25, -0.125], 0.4321, 0.8765, 0.5, 32),
        };
        var lrp = SalienceSamples.Make(Text, method: "lrp-epsilon") with
        {
            RelevanceShares = new Dictionary<string, double> { ["embeddings.word_embeddings"] = 1.25, ["<b>positions</b>"] = -0.0625 },
        };
        var html = HtmlReport.Render([lime, lrp], "report");
        html.Should().Contain("surrogate R² 0.8765 &#40;unweighted 0.5), intercept 0.4321, 32 samples");
        html.Should().Contain("relevance embeddings.word_embeddings 1.25, &lt;b&gt;positions&lt;&#47;b&gt; -0.0625");
        html.Should().NotContain("<b>positions");

        var brief = HtmlReport.Render([lime, lrp], "report", new HtmlReportOptions { ShowDetails = false });
        brief.Should().NotContain("surrogate R²").And.NotContain("relevance embeddings");
        HtmlReport.Render([Signed()], "report").Should().NotContain("surrogate R²").And.NotContain("relevance ");
    }
}
