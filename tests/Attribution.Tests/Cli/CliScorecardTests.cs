namespace Attribution.Tests.Cli;

/// <summary>The scorecard command's Markdown and HTML tables.</summary>
public sealed class CliScorecardTests
{
    /// <summary>
    /// Spearman's ρ needs two words: on one-word texts every method's agreement is undefined (NaN in the report, null
    /// with a note in JSON). Markdown and HTML printed "NaN" in the agreement column and dropped the rows' notes, so
    /// nothing said why; the cell is now "–" (as for a missing metric) and each row's notes follow the definitions.
    /// </summary>
    [SkippableTheory]
    [InlineData("markdown", "| – |", "- note (gradient): agreement is undefined on every text")]
    [InlineData("html", "<td>–</td>", "<li>note (gradient): agreement is undefined on every text")]
    public void An_undefined_agreement_is_a_dash_with_the_rows_note(string format, string dashCell, string note)
    {
        var run = CliHarness.Run("scorecard", "--model", CliHarness.TinyBert, "--text", "good", "bad", "--methods", "gradient,occlusion",
            "--format", format);
        run.Code.Should().Be(0, run.ToString());
        run.Out.Should().NotContain("NaN").And.Contain(dashCell).And.Contain(note);
    }

    /// <summary>
    /// Scorecard.Run explains each text's predicted class with each method's default output and takes no truncation,
    /// but the command offered --target, --score and --truncate: the first two were silently ignored (--target 1 gave
    /// the same report as none), and --truncate passed the command's length check only for the library to refuse the
    /// text, telling the user to pass --truncate. Each is now refused by name with its value, and hidden from the help.
    /// </summary>
    [Theory]
    [InlineData("--target", "1")]
    [InlineData("--target", "negative")]
    [InlineData("--score", "probability")]
    [InlineData("--truncate", null)]
    public void Options_the_scorecard_cannot_honour_are_refused_by_name_not_ignored(string option, string? value)
    {
        string[] extra = value is null ? [option] : [option, value];
        var run = CliHarness.Run(["scorecard", "--text", "a sometimes tedious film", "--methods", "gradient", .. extra]);

        run.Code.Should().Be(2, run.ToString());
        run.Error.Should().StartWith($"error: {option}: the scorecard explains each text's predicted class")
            .And.Contain($"cannot take {string.Join(' ', extra)}").And.Contain($"leave {option} out");
        run.Out.Should().BeEmpty();
    }

    [Fact]
    public void The_help_does_not_offer_what_the_scorecard_refuses_and_a_long_text_is_not_told_to_pass_truncate()
    {
        var help = CliHarness.Run("scorecard", "--help");
        help.Code.Should().Be(0);
        help.Out.Should().NotContain("--target").And.NotContain("--score ").And.NotContain("--truncate").And.Contain("--methods");

        var text = string.Join(' ', Enumerable.Repeat("good", 200));
        var run = CliHarness.Run("scorecard", "--text", text, "--methods", "gradient");
        run.Code.Should().Be(2, run.ToString());
        run.Error.Should().StartWith("error: --text: text 1 has").And.Contain("shorten it").And.NotContain("pass --truncate");
    }

    /// <summary>
    /// The Markdown and HTML scorecards printed Scorecard.Definitions (the default settings' wording) beside the table,
    /// while the JSON printed the report's own: a report run with other settings (samples, spread) would have been
    /// described by the defaults. Both now use the report's definitions (text here written by hand, not by Scorecard).
    /// </summary>
    [Fact]
    public void Markdown_and_HTML_describe_the_columns_with_the_reports_own_definitions()
    {
        var row = new Attribution.Evaluation.ScorecardRow("gradient", [], new Dictionary<string, double> { ["comprehensiveness"] = 0.25 }, 0.5, 1.0, []);
        var definitions = new Dictionary<string, string> { ["comprehensiveness"] = "drop after removing the top words (7 samples, this report's own)" };
        var report = new Attribution.Evaluation.ScorecardReport("tiny", 1, [row], definitions);

        Attribution.Cli.ScorecardCommand.Markdown(report).Should().Contain("- **comprehensiveness**: drop after removing the top words (7 samples, this report's own)");
        Attribution.Cli.ScorecardCommand.Html(report).Should().Contain("<li><b>comprehensiveness</b>: drop after removing the top words (7 samples, this report&#39;s own)</li>")
            .And.Contain("<th title=\"drop after removing the top words (7 samples, this report&#39;s own)\">comprehensiveness</th>");
    }
}
