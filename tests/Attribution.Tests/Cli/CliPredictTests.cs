using Attribution.Cli;

namespace Attribution.Tests.Cli;

/// <summary>The <c>predict</c> command's own messages: it classifies texts, it explains none.</summary>
public sealed class CliPredictTests
{
    [SkippableFact]
    public void A_text_too_long_to_predict_is_refused_speaking_of_predicting()
    {
        // The tiny BERT accepts 128 tokens; 200 words of one WordPiece each, with [CLS] and [SEP], are 202.
        var words = string.Join(' ', Enumerable.Repeat("film", 200));
        var run = CliHarness.Run("predict", "--model", CliHarness.TinyBert, "--text", words);

        run.Code.Should().Be(2, run.ToString());
        run.Error.Should().Contain("--text").And.Contain("202 tokens").And.Contain("at most 128")
            .And.Contain("pass --truncate to predict from its first 128 tokens");
        run.Error.Should().NotContain("explain", "predict explains nothing");
    }

    [Fact]
    public void An_empty_text_to_predict_is_refused_without_speaking_of_explaining()
    {
        var run = CliHarness.Run("predict", "--text", " ");

        run.Code.Should().Be(2, run.ToString());
        run.Error.Should().Contain("--text").And.Contain("the text is empty");
        run.Error.Should().NotContain("explain", "predict explains nothing");
    }

    /// <summary>
    /// predict's --batch-size help says "default 64" (the text every command shares), but predict used 16 without it.
    /// Progress is reported per chunk to a terminal: 65 texts in chunks of 64 report 64/65 then 65/65; in chunks of 16
    /// they reported 16/65 first.
    /// </summary>
    [SkippableFact]
    public void Predict_without_batch_size_uses_the_default_its_help_states()
    {
        var help = CliHarness.Run("predict", "--help");
        help.Out.Should().Contain("default 64,");

        var texts = Enumerable.Range(0, 65).Select(i => $"film {i}").ToArray();
        var run = CliHarness.Run(new CliContext { Out = TextWriter.Null, Error = TextWriter.Null, ErrorIsTerminal = true },
            ["predict", "--model", CliHarness.TinyBert, "--text", .. texts]);

        run.Code.Should().Be(0, run.ToString());
        run.Error.Should().Be("classified 64/65 texts\nclassified 65/65 texts\n");
    }

    [Theory]
    [InlineData("--model", "")]
    [InlineData("--model", "  ")]
    [InlineData("--input", "")]
    public void An_empty_path_to_predict_is_refused_naming_its_own_option(string option, string value)
    {
        // Before the check, an empty --model or --input reached Path.GetFullPath, whose ArgumentException (parameter
        // 'path') the CLI reported as "--layer: The value cannot be an empty string." (docs/reliability.md promises
        // the option's own name, as explain, compare and the other commands give it).
        string[] args = option == "--model" ? ["predict", option, value, "--text", "a film"] : ["predict", option, value];
        var run = CliHarness.Run(args);

        run.Code.Should().Be(2, run.ToString());
        run.Error.Should().Contain(option).And.Contain("the path is empty");
        run.Error.Should().NotContain("--layer");
    }
}
