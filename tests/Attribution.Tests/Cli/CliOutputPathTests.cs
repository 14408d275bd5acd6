using Attribution.Models;
using Attribution.Tests.Models.Small;

namespace Attribution.Tests.Cli;

/// <summary>
/// Every command that writes a file: a missing folder on the way is created, and standard error says so naming the
/// option (a mistyped folder must not pass unnoticed).
/// </summary>
public sealed class CliOutputPathTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("attribution-cli-output-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    public static TheoryData<string, string[]> Writers() => new()
    {
        { "--output", ["predict", "--text", "a sometimes tedious film"] },
        { "--output", ["explain", "--text", "a sometimes tedious film", "--method", "gradient"] },
        { "--output", ["compare", "--text", "a sometimes tedious film", "--methods", "gradient,occlusion"] },
        { "--output", ["evaluate", "--text", "a sometimes tedious film", "--method", "gradient", "--metric", "sufficiency"] },
        { "--output", ["scorecard", "--text", "a sometimes tedious film", "--methods", "gradient,occlusion"] },
        { "--output", ["counterfactual", "--text", "a good film", "--edit", "a bad film"] },
        { "--output", ["sanity", "--text", "a sometimes tedious film", "--method", "gradient", "--mode", "independent"] },
        { "--plot", ["sanity", "--text", "a sometimes tedious film", "--method", "gradient", "--mode", "independent"] },
    };

    [Theory]
    [MemberData(nameof(Writers))]
    public void A_missing_folder_is_created_saying_so(string option, string[] args)
    {
        var model = SmallModelKit.SaveRandom(root, SmallClassifierConfig.MlpType, name: "mlp");
        var folder = Path.Combine(root, "not", "there");
        var file = Path.Combine(folder, "result.txt");

        var run = CliHarness.Run([.. args, "--model", model, option, file]);

        run.Code.Should().Be(0, run.ToString());
        run.Error.Should().Contain($"note: {option}: created the folder {folder}, which did not exist");
        Directory.EnumerateFiles(folder).Should().NotBeEmpty();

        // The folder exists now: nothing more to say about it.
        var again = CliHarness.Run([.. args, "--model", model, option, file]);
        again.Code.Should().Be(0, again.ToString());
        again.Error.Should().NotContain("created the folder");
    }
}
