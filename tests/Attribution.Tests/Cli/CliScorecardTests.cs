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
}
