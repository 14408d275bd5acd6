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
