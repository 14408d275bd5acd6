using Attribution.Engine;
using Attribution.Tests.Models.Small;
using TorchSharp;

namespace Attribution.Tests.Engine;

/// <summary>
/// <see cref="AtomicFile"/>, the one write-then-rename helper (the CLI's outputs, the library's safetensors files): the
/// rename gave the target the temporary file's mode, so a report or weights file its user had restricted to 0600 or
/// 0640 came back 0644 (the usual umask's default). An existing file's permission bits are kept now; a new file gets
/// the default. File modes are a Unix matter: these tests run on Linux only.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")] // For the analyzer: every test that sets a mode skips elsewhere.
public sealed class AtomicFileTests : IDisposable
{
    private const string LinuxOnly = "file modes (chmod) are what these tests check; Windows has none";

    private readonly string root = SmallModelKit.TempRoot("atomic-file-");

    public void Dispose() => Directory.Delete(root, recursive: true);

    private static UnixFileMode Mode(int octal) => (UnixFileMode)octal;

    private static void Write(string path, string content, bool replaceLink = false) =>
        AtomicFile.Write(path, stream => stream.Write(System.Text.Encoding.UTF8.GetBytes(content)), replaceLink);

    /// <summary>
    /// 0600 and 0640 are the restricted modes of the report; 0664 has a group-write bit that the usual umask (022)
    /// removes at creation, so it shows the mode is set, not only requested; 0444 is a read-only file (renaming over it
    /// needs only the folder's write permission, as before).
    /// </summary>
    [SkippableTheory]
    [InlineData(0b110_000_000)] // 0600
    [InlineData(0b110_100_000)] // 0640
    [InlineData(0b110_110_100)] // 0664
    [InlineData(0b100_100_100)] // 0444
    public void An_existing_files_mode_is_kept(int octal)
    {
        Skip.IfNot(OperatingSystem.IsLinux(), LinuxOnly);
        var path = Path.Combine(root, "report.html");
        File.WriteAllText(path, "old");
        File.SetUnixFileMode(path, Mode(octal));

        Write(path, "new");

        File.ReadAllText(path).Should().Be("new");
        File.GetUnixFileMode(path).Should().Be(Mode(octal));
    }

    /// <summary>A new file gets what any new file in the folder gets (a file made with File.WriteAllText, beside it).</summary>
    [SkippableFact]
    public void A_new_file_gets_the_default_mode()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), LinuxOnly);
        var reference = Path.Combine(root, "reference.txt");
        File.WriteAllText(reference, "x");
        var path = Path.Combine(root, "new.txt");

        Write(path, "new");

        File.GetUnixFileMode(path).Should().Be(File.GetUnixFileMode(reference));
    }

    /// <summary>Written through a symbolic link (the CLI's --output): the link's target keeps its mode, the link stays.</summary>
    [SkippableFact]
    public void Through_a_link_the_targets_mode_is_kept()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), LinuxOnly);
        var path = Path.Combine(root, "real.json");
        File.WriteAllText(path, "old");
        File.SetUnixFileMode(path, Mode(0b110_000_000));
        var link = Path.Combine(root, "link.json");
        File.CreateSymbolicLink(link, path);

        Write(link, "new");

        File.ReadAllText(path).Should().Be("new");
        new FileInfo(link).LinkTarget.Should().Be(path);
        File.GetUnixFileMode(path).Should().Be(Mode(0b110_000_000));
    }

    /// <summary>
    /// The temporary name was ".NAME.GUID.tmp": a valid name of 217 bytes or more (255 is the file systems' limit) made
    /// one the system refused, "File name too long", about a path the caller never gave. The name is cut as the staging
    /// folders' are. 255 ASCII characters are 255 bytes: the longest valid name.
    /// </summary>
    [Fact]
    public void A_name_at_the_file_systems_limit_is_written()
    {
        var path = Path.Combine(root, new string('r', 251) + ".txt");

        Write(path, "new");

        File.ReadAllText(path).Should().Be("new");
        Directory.EnumerateFileSystemEntries(root).Should().Equal(path);
    }

    /// <summary>
    /// <see cref="SafeTensors"/>.Save goes through the same helper: weights restricted to 0600 stayed 0600 only until
    /// the next save. Its documented link behaviour is unchanged: a link at the path is replaced, its target left alone.
    /// </summary>
    [SkippableFact]
    public void A_safetensors_file_keeps_its_mode_and_a_link_is_still_replaced()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), LinuxOnly);
        using var scope = torch.NewDisposeScope();
        var path = Path.Combine(root, "model.safetensors");
        SafeTensors.Save(path, new Dictionary<string, torch.Tensor> { ["w"] = torch.zeros(3) });
        File.SetUnixFileMode(path, Mode(0b110_000_000));

        SafeTensors.Save(path, new Dictionary<string, torch.Tensor> { ["w"] = torch.ones(3) });

        File.GetUnixFileMode(path).Should().Be(Mode(0b110_000_000));
        var link = Path.Combine(root, "link.safetensors");
        File.CreateSymbolicLink(link, path);
        SafeTensors.Save(link, new Dictionary<string, torch.Tensor> { ["w"] = torch.zeros(3) });
        new FileInfo(link).LinkTarget.Should().BeNull("Save replaces a link by the file, as documented");
        SafeTensors.Load(path)["w"].data<float>().ToArray().Should().Equal([1f, 1f, 1f], "the link's target is left alone");
    }

    /// <summary>
    /// A model folder written again (<see cref="StagedFolder"/>: Trainer.SaveFolder, WordVocabulary.Write, --save) had each
    /// file moved in over the old one with the staging file's default mode: a config.json restricted to 0600 and weights
    /// at 0640 came back 0644. Each replaced file keeps its mode now (the weights too, which are deleted before the new
    /// ones move in); a file new to the folder gets the default, as a file made with File.WriteAllText beside it does.
    /// </summary>
    [SkippableFact]
    public void A_staged_folder_keeps_the_modes_of_the_files_it_replaces()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), LinuxOnly);
        var folder = Path.Combine(root, "model");
        Directory.CreateDirectory(folder);
        var config = Path.Combine(folder, "config.json");
        var weights = Path.Combine(folder, StagedFolder.WeightsFile);
        File.WriteAllText(config, "old config");
        File.WriteAllText(weights, "old weights");
        File.SetUnixFileMode(config, Mode(0b110_000_000));
        File.SetUnixFileMode(weights, Mode(0b110_100_000));
        var reference = Path.Combine(root, "reference.txt");
        File.WriteAllText(reference, "x");

        StagedFolder.Write(folder, "directory", staging =>
        {
            File.WriteAllText(Path.Combine(staging, "config.json"), "new config");
            File.WriteAllText(Path.Combine(staging, StagedFolder.WeightsFile), "new weights");
            File.WriteAllText(Path.Combine(staging, "vocab.txt"), "new vocabulary");
        });

        File.ReadAllText(config).Should().Be("new config");
        File.ReadAllText(weights).Should().Be("new weights");
        File.GetUnixFileMode(config).Should().Be(Mode(0b110_000_000));
        File.GetUnixFileMode(weights).Should().Be(Mode(0b110_100_000));
        File.GetUnixFileMode(Path.Combine(folder, "vocab.txt")).Should().Be(File.GetUnixFileMode(reference));
    }
}
