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

    /// <summary>
    /// --output replaced an existing file without a word in the help or the README; both now say so. The file holds
    /// exactly what standard output would (no tail of the longer old content left behind).
    /// </summary>
    [Fact]
    public void An_existing_output_file_is_replaced_as_the_help_says()
    {
        CliHarness.Run("explain", "--help").Out.Should().Contain("an existing file is replaced");
        File.ReadAllText(CliHarness.RepositoryFile("README.md")).Should().Contain("`--output PATH` (an existing file is replaced;");

        var path = Path.Combine(root, "out.txt");
        File.WriteAllText(path, new string('x', 100_000));
        string[] args = ["predict", "--text", "a sometimes tedious film"];
        var run = CliHarness.Run([.. args, "--output", path]);

        run.Code.Should().Be(0, run.ToString());
        File.ReadAllText(path).Should().Be(CliHarness.Run(args).Out);
    }

    /// <summary>
    /// The --output file was written in place (File.WriteAllText truncates first), so a failure midway (a full disk, a
    /// renderer that throws) left a partial file where the previous results were. It is written to a temporary file in
    /// the same folder and renamed over the old one: here the writer puts half a document in, then fails, and the old
    /// file is byte for byte as it was, with no temporary file left in the folder.
    /// </summary>
    [Fact]
    public void A_write_that_fails_midway_leaves_the_previous_file_and_no_temporary_file()
    {
        var path = Path.Combine(root, "result.json");
        File.WriteAllText(path, "{\"previous\": true}\n");
        var context = new Attribution.Cli.CliContext { Out = TextWriter.Null, Error = TextWriter.Null };

        var write = () => Attribution.Cli.Output.WriteFile(stream =>
        {
            stream.Write("{\"new\": "u8);
            stream.Flush();
            throw new IOException("No space left on device");
        }, path, context);

        write.Should().Throw<IOException>().WithMessage($"cannot write {path}: No space left on device*");
        File.ReadAllText(path).Should().Be("{\"previous\": true}\n");
        Directory.EnumerateFileSystemEntries(root).Should().Equal(path);

        // A write that succeeds replaces the content; through a symbolic link, the link's target is replaced and the link kept.
        var link = Path.Combine(root, "link.json");
        File.CreateSymbolicLink(link, path);
        Attribution.Cli.Output.Write("new\n", link, context);
        File.ReadAllText(path).Should().Be("new\n");
        new FileInfo(link).LinkTarget.Should().Be(path);
        Directory.EnumerateFileSystemEntries(root).Order(StringComparer.Ordinal).Should().Equal(link, path);
    }
    /// <summary>
    /// The rename gave a replaced --output file the temporary file's mode: a report restricted to 0640 came back 0644.
    /// Its mode is kept now (AtomicFileTests covers the helper; this is the CLI's path to it). Linux only: file modes.
    /// </summary>
    [SkippableFact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void A_replaced_output_file_keeps_its_mode()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "file modes (chmod) are what this test checks; Windows has none");
        var path = Path.Combine(root, "report.md");
        File.WriteAllText(path, "old\n");
        File.SetUnixFileMode(path, (UnixFileMode)0b110_100_000);

        Attribution.Cli.Output.Write("new\n", path, new Attribution.Cli.CliContext { Out = TextWriter.Null, Error = TextWriter.Null });

        File.ReadAllText(path).Should().Be("new\n");
        File.GetUnixFileMode(path).Should().Be((UnixFileMode)0b110_100_000, "0640 as it was");
    }

    public static TheoryData<string[], string> ReadersOfFiles() => new()
    {
        { ["predict"], "--input" },
        { ["explain", "--method", "gradient"], "--input" },
        { ["compare", "--methods", "gradient,occlusion"], "--input" },
        { ["evaluate", "--method", "gradient", "--metric", "sufficiency"], "--input" },
        { ["scorecard", "--methods", "gradient,occlusion"], "--input" },
        { ["sanity", "--method", "gradient", "--mode", "independent", "--model", "never-loaded"], "--input" },
        { ["shortcut", "--words", "spielberg"], "--train" },
    };

    /// <summary>
    /// An --output naming the file the texts are read from is refused before anything runs, and the file keeps its
    /// texts: before, the run read it and then replaced it with its results (exit 0, "wrote texts.txt").
    /// </summary>
    [Theory]
    [MemberData(nameof(ReadersOfFiles))]
    public void An_output_that_is_the_input_file_is_refused_and_the_file_kept(string[] args, string inputOption)
    {
        var texts = Path.Combine(root, "texts.tsv");
        const string Content = "sentence\tlabel\na sometimes tedious film\t0\n";
        File.WriteAllText(texts, Content);
        var link = Path.Combine(root, "link.tsv");
        File.CreateSymbolicLink(link, texts);
        var context = new Attribution.Cli.CliContext { Out = TextWriter.Null, Error = TextWriter.Null, WorkingDirectory = root };

        // The same file as written, relatively, and through a symbolic link.
        foreach (var output in new[] { texts, "texts.tsv", "./sub/../texts.tsv", link })
        {
            var run = CliHarness.Run(context, [.. args, inputOption, "texts.tsv", "--output", output]);

            run.Code.Should().Be(Attribution.Cli.ExitCodes.Usage, run.ToString());
            run.Error.Should().StartWith($"error: --output: {output} is the file {inputOption} reads (texts.tsv): writing the results there would replace the texts", run.ToString());
            File.ReadAllText(texts).Should().Be(Content);
        }
    }

    /// <summary>
    /// The same file reached through a symbolic link to a folder higher up the path (d → data, then d/sub/texts.tsv) is
    /// refused too: only the file's own link and its own folder's were followed, so the run went ahead and replaced the texts.
    /// </summary>
    [Fact]
    public void An_output_reaching_the_input_through_a_linked_folder_higher_up_is_refused()
    {
        var sub = Directory.CreateDirectory(Path.Combine(root, "data", "sub")).FullName;
        const string Content = "sentence\tlabel\na sometimes tedious film\t0\n";
        File.WriteAllText(Path.Combine(sub, "texts.tsv"), Content);
        Directory.CreateSymbolicLink(Path.Combine(root, "d"), Path.Combine(root, "data"));
        var context = new Attribution.Cli.CliContext { Out = TextWriter.Null, Error = TextWriter.Null, WorkingDirectory = root };

        foreach (var output in new[] { "d/sub/texts.tsv", "d/sub/../sub/texts.tsv" })
        {
            var run = CliHarness.Run(context, ["predict", "--input", "data/sub/texts.tsv", "--output", output]);

            run.Code.Should().Be(Attribution.Cli.ExitCodes.Usage, run.ToString());
            run.Error.Should().StartWith($"error: --output: {output} is the file --input reads (data/sub/texts.tsv)", run.ToString());
            File.ReadAllText(Path.Combine(sub, "texts.tsv")).Should().Be(Content);
        }
    }
}
