namespace Attribution.Tests.Cli;

/// <summary>The counterfactual command's console table, with the texts a reviewer would try.</summary>
public sealed class CliCounterfactualTests
{
    [SkippableFact]
    public void The_table_makes_texts_printable_and_aligns_wide_words_by_terminal_columns()
    {
        // "\u001b[31m" would turn the terminal red; 映画 is two characters four columns wide. The word columns are 14
        // columns wide, so by hand: "  " + word + (14 − its columns) spaces, twice, then the change column.
        var run = CliHarness.Run("counterfactual", "--model", CliHarness.TinyBert, "--text", "a \u001b[31mred 映画", "--edit", "a \u001b[31mblue 映画",
            "--methods", "gradient");
        run.Code.Should().Be(0, run.ToString());
        run.Out.Should().NotContain("\u001b");
        run.Out.Should().Contain("original: a \uFFFD[31mred 映画 -> ").And.Contain("edit: a \uFFFD[31mblue 映画 -> ");
        var lines = run.Out.Split('\n');
        lines.Should().Contain(l => l.StartsWith("  \uFFFD[31mred      \uFFFD[31mblue     replaced  ", StringComparison.Ordinal));
        // An unchanged word: an empty change column (10 columns) before the scores.
        lines.Should().Contain(l => l.StartsWith("  映画" + new string(' ', 10) + "映画" + new string(' ', 10) + new string(' ', 10), StringComparison.Ordinal));
    }
}
