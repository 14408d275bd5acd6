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
}
