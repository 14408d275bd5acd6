using Attribution.Tests.Cli;
using Attribution.Tests.Engine.Loading;

namespace Attribution.Tests.Text.Tokenizers;

/// <summary>
/// In .NET's globalization-invariant mode (no ICU; DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1, as many container images
/// set) string normalization leaves non-ASCII text as it is, so BERT's accent stripping did nothing and "café" became
/// [UNK] where Hugging Face reads "cafe": other tokens, other predictions, no error (the golden tokenizer tests failed
/// only there). Text with such a letter is now refused naming the mode and the fix; text without (ASCII, whitespace, emoji) works.
/// The mode is chosen at process start, so the command line runs in a child process.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class InvariantGlobalizationTests
{
    [SkippableFact]
    public void Accented_text_is_refused_in_invariant_mode_rather_than_read_as_unknown()
    {
        var model = CliHarness.TinyBert;
        using var work = new TorchSharpLoaderTests.TempFolder();
        var invariant = new Dictionary<string, string> { ["DOTNET_SYSTEM_GLOBALIZATION_INVARIANT"] = "1" };
        CliResult Predict(string text) => TorchSharpLoaderTests.Engine(TorchSharpLoaderTests.TestOutput, work, Path.Combine(work.Path, "native"),
            mode: null, invariant, "predict", "--model", model, "--text", text);

        var accented = Predict("a café film");
        accented.Code.Should().NotBe(0, accented.ToString());
        accented.Error.Should().Contain("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT").And.Contain("'é' (U+00E9)").And.Contain("Install ICU");

        // No letter to decompose (ASCII, a line separator, an emoji): read as with ICU.
        var plain = Predict("a fine\u2028film \U0001F3AC");
        plain.Code.Should().Be(0, plain.ToString());
    }
}
