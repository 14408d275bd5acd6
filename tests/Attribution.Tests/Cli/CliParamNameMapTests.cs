using System.Globalization;
using Attribution.Cli;

namespace Attribution.Tests.Cli;

/// <summary>
/// The library names a bad value by its parameter; the CLI turns that name into the option the value came from
/// (CliApp.UsageMessage). Names the library throws that had no option: text (exact Shapley values of too long a text,
/// max-sensitivity's text, LIME's and HotFlip's text), pair (attention maps), words (Shortcuts; the CLI checks its --words first),
/// Rule (--integration), Reduce (--reduce), aggregation (--aggregate), Score (--score), inner (--inner).
/// </summary>
public sealed class CliParamNameMapTests
{
    [Theory]
    [InlineData("text", "--text")]
    [InlineData("pair", "--text-pair")]
    [InlineData("words", "--words")]
    [InlineData("Rule", "--integration")]
    [InlineData("Reduce", "--reduce")]
    [InlineData("aggregation", "--aggregate")]
    [InlineData("Score", "--score")]
    [InlineData("inner", "--inner")]
    public void A_library_parameter_name_is_shown_as_its_option(string parameter, string option) =>
        CliApp.UsageMessage(new ArgumentException("the value is refused", parameter)).Should().Be($"{option}: the value is refused");

    /// <summary>
    /// .NET appends "Actual value was …" to an out-of-range refusal, in the current culture; the CLI kept the message and
    /// dropped the value, so `--radius 1e400`-style refusals did not say what was refused. The value is now shown as the
    /// command line writes it, whatever the culture.
    /// </summary>
    [Fact]
    public void An_out_of_range_value_is_shown_as_written_on_the_command_line()
    {
        var before = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = TestCultures.DecimalComma;
            CliApp.UsageMessage(new ArgumentOutOfRangeException("Tolerance", 0.5, "the tolerance must be in (0, 0.5)"))
                .Should().Be("--tolerance: the tolerance must be in (0, 0.5) (got 0.5)");
            CliApp.UsageMessage(new ArgumentOutOfRangeException("Steps", 0, "at least 1 step"))
                .Should().Be("--steps: at least 1 step (got 0)");
            CliApp.UsageMessage(new ArgumentOutOfRangeException("Stdev", double.PositiveInfinity, "must be finite"))
                .Should().Be("--noise-stdev: must be finite (got Infinity)");

            // Without a value there is nothing to add.
            CliApp.UsageMessage(new ArgumentOutOfRangeException("Steps", "at least 1 step")).Should().Be("--steps: at least 1 step");
        }
        finally
        {
            CultureInfo.CurrentCulture = before;
        }
    }

    /// <summary>
    /// "path" is the parameter of ModulePaths.Submodule (a layer) and of .NET's Path.GetFullPath (a file): only the first is
    /// --layer. Messages as each throws them (ModulePaths: "no submodule '…' in …"; .NET: "The value cannot be an empty string.").
    /// </summary>
    [Fact]
    public void Path_is_the_layer_option_only_for_a_missing_submodule()
    {
        CliApp.UsageMessage(new ArgumentException("no submodule 'bert.x' in BertModel; closest paths: bert", "path"))
            .Should().Be("--layer: no submodule 'bert.x' in BertModel; closest paths: bert");
        CliApp.UsageMessage(new ArgumentException("The value cannot be an empty string.", "path"))
            .Should().Be("The value cannot be an empty string.");
    }

    /// <summary>Exact Shapley values of 13 words (more than the default 12 features) are refused by the method, naming its text.</summary>
    [SkippableFact]
    public void Exact_shapley_values_of_too_long_a_text_name_the_text_option()
    {
        var text = string.Join(' ', Enumerable.Repeat("film", 13));
        var run = CliHarness.Run("explain", "--model", CliHarness.TinyBert, "--text", text, "--method", "shapley");
        run.Code.Should().Be(ExitCodes.Usage, run.ToString());
        run.Error.TrimEnd().Split('\n').Should().ContainSingle().Which.Should()
            .StartWith("error: --text: exact Shapley values need all 2^13 coalitions of the text's 13 features");
    }
}
