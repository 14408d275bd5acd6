using Attribution.Methods;
using Attribution.Models;
using Attribution.Salience;

namespace Attribution.Tests.Salience;

public class ConsoleRendererTests
{
    private const string Text = "the movie was great";

    private static IReadOnlyList<ExplanationGroup> Groups() =>
        ExplanationGroup.ByText([SalienceSamples.Make(Text, SalienceSamples.WordScores(0.1, -0.6, 0.05, 1.2))]);

    [Fact]
    public void A_negative_top_k_is_refused_naming_the_option()
    {
        var options = new ConsoleRenderOptions { Color = ColorMode.Plain, TopK = -1 };
        FluentActions.Invoking(() => ConsoleRenderer.Render(Groups(), options)).Should().Throw<ArgumentOutOfRangeException>()
            .WithParameterName("options").WithMessage("options.TopK is -1: give 0 (no table of top units) or more*");
        FluentActions.Invoking(() => ConsoleRenderer.Write(new StringWriter(), Groups(), options)).Should().Throw<ArgumentOutOfRangeException>()
            .WithParameterName("options");
    }

    [Fact]
    public void Mixing_at_nan_is_refused_instead_of_painting_black()
    {
        // Math.Clamp keeps NaN, and each channel became (byte)NaN = 0: black, which no score is drawn as.
        FluentActions.Invoking(() => SalienceColors.Mix(SalienceColors.White, SalienceColors.Red, double.NaN))
            .Should().Throw<ArgumentOutOfRangeException>().WithParameterName("t").WithMessage("t is NaN*");

        // Outside [0, 1], the nearer end, as the doc says; halfway, 255 + (215 − 255)·0.5 = 235 (exact), and so on.
        SalienceColors.Mix(SalienceColors.White, SalienceColors.Red, 2).Should().Be(SalienceColors.Red);
        SalienceColors.Mix(SalienceColors.White, SalienceColors.Red, -1).Should().Be(SalienceColors.White);
        SalienceColors.Mix(SalienceColors.White, SalienceColors.Red, 0.5).Should().Be(new Rgb(235, 152, 147));
    }

    [Fact]
    public void Plain_output_writes_each_word_with_its_score_and_no_escape_codes()
    {
        var output = ConsoleRenderer.Render(Groups(), new ConsoleRenderOptions { Color = ColorMode.Plain, TopK = 0 });
        output.Should().Contain("the(+0.10) movie(-0.60) was(+0.05) great(+1.20)");
        output.Should().Contain("Text 1/1: the movie was great");
        output.Should().Contain("prediction: positive (p = 0.9770) · explained: positive (class 1, p = 0.9770)");
        output.Should().Contain("integrated-gradients · signed logit attribution, reduction sum, normalization none, words by sum · delta 0.00012 (logit units)");
        output.Should().NotContain("\u001b");
    }

    /// <summary>
    /// The delta is Σ attributions − (F(x) − F(baseline)) in the scored output's units, never normalized: next to scores
    /// that may be normalized, each rendering names the unit (a regression output is no logit).
    /// </summary>
    [Fact]
    public void The_convergence_delta_names_its_unit_in_every_rendering()
    {
        var logit = SalienceSamples.Make(Text);
        var probability = logit with { ScoreOutput = ScoreOutput.Probability };
        var logProbability = logit with { ScoreOutput = ScoreOutput.LogProbability };
        var regression = SalienceSamples.Make(Text, logits: [0.31], target: 0) with { Head = OutputHead.Regression, Probabilities = [] };
        string Console(Explanation e) => ConsoleRenderer.Render(ExplanationGroup.ByText([e]), new ConsoleRenderOptions { Color = ColorMode.Plain, TopK = 0 });
        Console(logit).Should().Contain("words by sum · delta 0.00012 (logit units)\n");
        Console(probability).Should().Contain("words by sum · delta 0.00012 (probability units)\n");
        Console(logProbability).Should().Contain("words by sum · delta 0.00012 (log-probability units)\n");
        Console(regression).Should().Contain("words by sum · delta 0.00012 (output units)\n");
        MarkdownRenderer.Render(ExplanationGroup.ByText([regression])).Should().Contain("words by sum · convergence delta 0.00012 (output units) · settings:");
        HtmlReport.Render(ExplanationGroup.ByText([probability]), "t").Should().Contain(" · convergence delta <b>0.00012</b> (probability units)");
    }

    [Fact]
    public void Auto_is_plain_when_writing_anywhere_but_the_console()
    {
        using var writer = new StringWriter();
        ConsoleRenderer.Write(writer, Groups());
        writer.ToString().Should().Contain("great(+1.20)").And.NotContain("\u001b");
        ConsoleRenderer.Render(Groups()).Should().NotContain("\u001b");
    }

    [Fact]
    public void Forced_true_colour_paints_backgrounds_with_lits_colours()
    {
        var output = ConsoleRenderer.Render(Groups(), new ConsoleRenderOptions { Color = ColorMode.TrueColor });
        output.Should().Contain("\u001b[48;2;26;152;80m", "the largest positive word is full green");
        var half = SalienceColors.Mix(SalienceColors.White, SalienceColors.Red, 0.5);
        output.Should().Contain($"\u001b[48;2;{half.R};{half.G};{half.B}m\u001b[38;2;17;17;17mmovie\u001b[0m");
        output.Should().NotContain("great(+1.20)");
    }

    [Fact]
    public void A_token_with_an_empty_span_is_painted_as_a_marker()
    {
        // "a  b" with a lone Ġ at the empty span [2,2) scoring −1, the row's largest |score|: fully red, visible.
        var e = SalienceSamples.Hand("a  b", ["a", "Ġ", "b"], [1, 2, 3], [(0, 1), (2, 2), (3, 4)], [false, false, false], [0.5, -1.0, 0.25]);
        var output = ConsoleRenderer.Render(ExplanationGroup.ByText([e]), new ConsoleRenderOptions { Color = ColorMode.TrueColor, Granularity = Granularity.Tokens, TopK = 0 });
        output.Should().Contain("\u001b[48;2;215;48;39m\u001b[38;2;255;255;255m·\u001b[0m");
    }

    [Fact]
    public void Forced_256_colours_use_the_xterm_palette()
    {
        var output = ConsoleRenderer.Render(Groups(), new ConsoleRenderOptions { Color = ColorMode.Ansi256 });
        output.Should().Contain($"\u001b[48;5;{ConsoleRenderer.ToAnsi256(SalienceColors.Green)}m");
        output.Should().NotContain("\u001b[48;2;");
        ConsoleRenderer.ToAnsi256(new Rgb(255, 255, 255)).Should().Be(231);
        ConsoleRenderer.ToAnsi256(new Rgb(0, 0, 0)).Should().Be(16);
        ConsoleRenderer.ToAnsi256(new Rgb(255, 0, 0)).Should().Be(196);
        ConsoleRenderer.ToAnsi256(new Rgb(128, 128, 128)).Should().Be(244);
        ConsoleRenderer.ToAnsi256(new Rgb(0, 135, 95)).Should().Be(29);
    }

    [Theory]
    [InlineData(true, null, "xterm-256color", "truecolor", ColorMode.Plain)]
    [InlineData(false, "1", "xterm-256color", "truecolor", ColorMode.Plain)]
    [InlineData(false, "", "xterm-256color", "truecolor", ColorMode.TrueColor)]
    [InlineData(false, null, "dumb", null, ColorMode.Plain)]
    [InlineData(false, null, "xterm-256color", "24bit", ColorMode.TrueColor)]
    [InlineData(false, null, "xterm-256color", null, ColorMode.Ansi256)]
    [InlineData(false, null, null, null, ColorMode.Ansi256)]
    public void Colour_detection_honours_redirection_no_color_and_term(bool redirected, string? noColor, string? term, string? colorTerm, ColorMode expected)
    {
        var environment = new Dictionary<string, string?> { ["NO_COLOR"] = noColor, ["TERM"] = term, ["COLORTERM"] = colorTerm };
        ConsoleRenderer.DetectColorMode(redirected, name => environment.GetValueOrDefault(name)).Should().Be(expected);
    }

    [Fact]
    public void The_top_k_table_ranks_signed_scores_by_magnitude()
    {
        var output = ConsoleRenderer.Render(Groups(), new ConsoleRenderOptions { Color = ColorMode.Plain, TopK = 3 });
        var lines = output.Split('\n');
        var header = Array.FindIndex(lines, l => l.Contains("score", StringComparison.Ordinal) && l.Contains("word", StringComparison.Ordinal));
        header.Should().BePositive();
        lines[header].Should().Be("     #  word   score");
        lines[header + 1].Should().Be("     1  great  +1.20");
        lines[header + 2].Should().Be("     2  movie  -0.60");
        lines[header + 3].Should().Be("     3  the    +0.10");
        lines[header + 4].Should().BeEmpty();
    }

    [Fact]
    public void The_top_k_table_aligns_wide_and_zero_width_characters_by_terminal_columns()
    {
        // 映画 is two CJK characters (2 UTF-16 units, 4 columns), 👍 one emoji (2 units, 2 columns), "café" a c-a-f-e
        // with a combining acute accent (5 units, 4 columns). The label column is as wide as its widest entry in
        // columns (4), so every score starts at column 4 + 2 + 2 + 4 + 2 = 14, counted by hand below.
        var e = SalienceSamples.Make("映画 👍 cafe\u0301 ok", SalienceSamples.WordScores(0.9, -0.7, 0.5, 0.1));
        var lines = ConsoleRenderer.Render(ExplanationGroup.ByText([e]), new ConsoleRenderOptions { Color = ColorMode.Plain, TopK = 3 }).Split('\n');
        var header = Array.FindIndex(lines, l => l.EndsWith("score", StringComparison.Ordinal));
        lines[header].Should().Be("     #  word  score");
        lines[header + 1].Should().Be("     1  映画  +0.90");
        lines[header + 2].Should().Be("     2  👍    -0.70");
        lines[header + 3].Should().Be("     3  cafe\u0301  +0.50");
    }

    [Theory]
    [InlineData("movie", 5)]
    [InlineData("映画", 4)]
    [InlineData("ｆｕｌｌ", 8)] // full-width Latin letters
    [InlineData("👍", 2)]
    [InlineData("\U0001F468\u200D\U0001F469\u200D\U0001F467", 2)] // a family: three emoji joined by ZWJ, one character
    [InlineData("cafe\u0301", 4)]
    [InlineData("a\u200Bb", 2)] // a zero-width space
    [InlineData("", 0)]
    public void Display_width_counts_terminal_columns(string text, int columns)
    {
        RenderSupport.DisplayWidth(text).Should().Be(columns);
    }

    [Fact]
    public void Non_finite_scores_are_written_as_such_and_the_row_says_they_are_uncoloured()
    {
        // Words: good NaN, bad +1, ugly +∞ (3 words, 2 of them not finite). Colour intensity 0 (white) is what a zero
        // score gets, so without the note a NaN would read as "no evidence".
        var e = SalienceSamples.Make("good bad ugly", [0, double.NaN, 1.0, double.PositiveInfinity, 0]);
        var plain = ConsoleRenderer.Render(ExplanationGroup.ByText([e]), new ConsoleRenderOptions { Color = ColorMode.Plain, TopK = 0 });
        plain.Should().Contain("good(NaN) bad(+1.00) ugly(+Infinity)", "NaN has no sign to show");
        foreach (var mode in new[] { ColorMode.Plain, ColorMode.TrueColor })
        {
            ConsoleRenderer.Render(ExplanationGroup.ByText([e]), new ConsoleRenderOptions { Color = mode })
                .Should().Contain("    note: 2 of 3 scores are not finite (NaN or ±infinity): they are left uncoloured");
        }

        ConsoleRenderer.Render(Groups(), new ConsoleRenderOptions { Color = ColorMode.Plain }).Should().NotContain("not finite");
    }

    [Fact]
    public void Small_scores_get_enough_decimals_and_tokens_can_be_shown()
    {
        var e = SalienceSamples.Make("unbelievable film", [0.0, 0.0021, -0.0004, 0.0013, 0.0]);
        var output = ConsoleRenderer.Render(ExplanationGroup.ByText([e]), new ConsoleRenderOptions { Color = ColorMode.Plain, Granularity = Granularity.Tokens, TopK = 0 });
        output.Should().Contain("[CLS](0.0000) unbe(+0.0021) ##lievable(-0.0004) film(+0.0013) [SEP](0.0000)");
    }

    [Fact]
    public void Scores_too_small_for_eight_decimals_are_written_in_scientific_notation()
    {
        // A saturated probability's gradients (|score| ~ 1e-9): eight decimals would print every one as 0.00000000.
        var e = SalienceSamples.Make("unbelievable film", [0.0, 2.1e-9, -4e-10, 1.3e-9, 0.0]);
        var output = ConsoleRenderer.Render(ExplanationGroup.ByText([e]), new ConsoleRenderOptions { Color = ColorMode.Plain, Granularity = Granularity.Tokens, TopK = 2 });
        output.Should().Contain("[CLS](0) unbe(+2.1E-9) ##lievable(-4.0E-10) film(+1.3E-9) [SEP](0)");
        output.Should().Contain(" 1  unbe   +2.1E-9");
        RenderSupport.Decimals(1.5e-7).Should().Be(8, "1.5e-7 shows as 0.00000015");
        RenderSupport.Decimals(9.9e-8).Should().Be(RenderSupport.Scientific);
    }

    [Fact]
    public void Huge_scores_are_written_in_scientific_notation_not_with_every_digit()
    {
        // F2 would write 1e300 as 301 digits and ".00". Expected by hand: "0.0E+0" of 1e300, −1e308 and 3.
        var e = SalienceSamples.Make("good bad ugly", [0, 1e300, -1e308, 3.0, 0]);
        var output = ConsoleRenderer.Render(ExplanationGroup.ByText([e]), new ConsoleRenderOptions { Color = ColorMode.Plain, TopK = 1 });
        output.Should().Contain("good(+1.0E+300) bad(-1.0E+308) ugly(+3.0E+0)");
        output.Should().Contain("     1  bad   -1.0E+308\n");
        RenderSupport.Decimals(999_999).Should().Be(2, "999999.00 still reads");
        RenderSupport.Decimals(1e6).Should().Be(RenderSupport.Scientific);
    }

    [Fact]
    public void Control_characters_in_texts_cannot_reach_the_terminal()
    {
        var e = SalienceSamples.Make("evil \u001b[2Jclear\nnext\u202Eline");
        foreach (var mode in new[] { ColorMode.Plain, ColorMode.TrueColor })
        {
            var output = ConsoleRenderer.Render(ExplanationGroup.ByText([e]), new ConsoleRenderOptions { Color = mode });
            output.Should().NotContain("\u001b[2J").And.NotContain("\u202E");
            output.Should().Contain("\uFFFD[2Jclear");
        }
    }

    [Theory]
    [InlineData(ColorMode.Plain)]
    [InlineData(ColorMode.TrueColor)]
    public void Unpaired_surrogates_of_a_split_emoji_become_replacement_characters(ColorMode mode)
    {
        // Tokens (and, coloured, the text slices at their offsets) that split "👍"'s surrogate pair are each an unpaired
        // surrogate: a strict UTF-8 console or file writer threw on them. The text line keeps the whole pair.
        var e = SalienceSamples.Hand("\uD83D\uDC4D ok", ["\uD83D", "\uDC4D", "ok"], [1, 2, 3], [(0, 1), (1, 2), (3, 5)], [false, false, false], [1, 2, 3]);
        var output = ConsoleRenderer.Render(ExplanationGroup.ByText([e]), new ConsoleRenderOptions { Color = mode, Granularity = Granularity.Tokens });
        output.Should().Contain("Text 1/1:").And.Contain(" \uD83D\uDC4D ok\n");
        output.Count(c => c == '\uFFFD').Should().Be(4, "two units in the row and two in the top-k table");
        var strict = new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        strict.Invoking(u => u.GetBytes(output)).Should().NotThrow();
    }

    [Fact]
    public void Unicode_line_and_paragraph_separators_are_spaces_like_line_breaks()
    {
        // U+2028 and U+2029 are not control characters, but they break lines where they are honoured.
        var e = SalienceSamples.Make("one\u2028two\u2029three");
        var output = ConsoleRenderer.Render(ExplanationGroup.ByText([e]), new ConsoleRenderOptions { Color = ColorMode.Plain });
        output.Should().NotContain("\u2028").And.NotContain("\u2029");
        output.Should().Contain("one two three");
    }

    [Fact]
    public void Several_methods_are_listed_under_one_text_with_targets_when_they_differ()
    {
        var a = SalienceSamples.Make(Text);
        var b = SalienceSamples.Make(Text, method: "gradient", signed: false, target: 0, delta: null);
        var output = ConsoleRenderer.Render(ExplanationGroup.ByText([a, b]), new ConsoleRenderOptions { Color = ColorMode.Plain, TopK = 0 });
        output.Split("Text 1/1").Should().HaveCount(2);
        output.Should().Contain("  integrated-gradients · ").And.Contain("  gradient · unsigned logit attribution");
        output.Should().Contain("explains negative (class 0)").And.Contain("explains positive (class 1)");
        output.Should().NotContain("explained: ");
    }
}
