using Attribution.Models;
using Attribution.Tests.Models.Small;

namespace Attribution.Tests.Cli;

/// <summary>lrp-epsilon on a model it has no relevance rule for, from the command line.</summary>
public sealed class CliLrpTests
{
    /// <summary>
    /// LRP has no rule for an LSTM. The run exited 1 (an internal failure, "run again with --verbose") although the
    /// method was the user's choice, as attention-rollout on a model without attention exits 2; it is now a usage error
    /// (exit 2) naming --method and another method to use.
    /// </summary>
    [Fact]
    public void Lrp_on_a_model_without_rules_is_a_usage_error_naming_method()
    {
        var root = SmallModelKit.TempRoot("cli-lrp-");
        try
        {
            var folder = SmallModelKit.SaveRandom(root, SmallClassifierConfig.LstmType);
            var run = CliHarness.Run("explain", "--model", folder, "--method", "lrp-epsilon", "--text", "i loved this movie");
            run.Code.Should().Be(2, run.ToString());
            run.Error.Should().StartWith("error: --method: lrp-epsilon cannot explain this model").And.Contain("another method")
                .And.NotContain("--verbose");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
