using Attribution.Engine;
using Attribution.Tests.Models.Small;

namespace Attribution.Tests.Engine;

/// <summary>
/// Writing a folder as a whole (<see cref="StagedFolder"/>): a write that fails midway, after some files are written,
/// leaves the target as it was and no staging folder beside it.
/// </summary>
public sealed class StagedFolderTests : IDisposable
{
    private readonly string root = SmallModelKit.TempRoot("staged-folder-");

    public void Dispose() => Directory.Delete(root, recursive: true);

    private static Dictionary<string, string> Snapshot(string dir) =>
        Directory.GetFiles(dir).ToDictionary(f => Path.GetFileName(f)!, File.ReadAllText);

    /// <summary>Writes config.json and the weights, then fails: what a crash or full disk midway through a save does.</summary>
    private static void WriteThenFail(string staging)
    {
        File.WriteAllText(Path.Combine(staging, "config.json"), "new config");
        File.WriteAllText(Path.Combine(staging, StagedFolder.WeightsFile), "new weights");
        throw new InvalidOperationException("failed midway");
    }

    /// <summary>
    /// A target that is a symbolic link pointing nowhere was refused as "is a file", sending the user to look for a
    /// file that does not exist; the message now says it is a link and where it points. A plain file keeps its message.
    /// </summary>
    [Fact]
    public void A_dangling_link_at_the_target_is_named_a_link_not_a_file()
    {
        var link = Path.Combine(root, "model");
        File.CreateSymbolicLink(link, Path.Combine(root, "gone"));
        var act = () => StagedFolder.Write(link, "directory", _ => { });
        act.Should().Throw<ArgumentException>().Which.Message.Should()
            .Contain($"{link} is a symbolic link to {Path.Combine(root, "gone")}, which is not a folder").And.NotContain("is a file");

        var file = Path.Combine(root, "plain");
        File.WriteAllText(file, "x");
        act = () => StagedFolder.Write(file, "directory", _ => { });
        act.Should().Throw<ArgumentException>().Which.Message.Should().StartWith($"{file} is a file; pass a folder");
    }

    [Fact]
    public void A_write_that_fails_midway_leaves_the_target_as_it_was_and_no_staging_folder()
    {
        var fresh = Path.Combine(root, "fresh");
        var act = () => StagedFolder.Write(fresh, "directory", WriteThenFail);
        act.Should().Throw<InvalidOperationException>().WithMessage("failed midway");
        Directory.GetFileSystemEntries(root).Should().BeEmpty("neither the target nor the staging folder may remain");

        var saved = Path.Combine(root, "saved");
        StagedFolder.Write(saved, "directory", staging =>
        {
            File.WriteAllText(Path.Combine(staging, "config.json"), "old config");
            File.WriteAllText(Path.Combine(staging, StagedFolder.WeightsFile), "old weights");
        });
        File.WriteAllText(Path.Combine(saved, "README.md"), "the user's own file");
        var before = Snapshot(saved);

        act = () => StagedFolder.Write(saved, "directory", WriteThenFail);
        act.Should().Throw<InvalidOperationException>();
        Snapshot(saved).Should().BeEquivalentTo(before, "a failed write over a folder leaves every file as it was");
        Directory.GetFileSystemEntries(root).Select(Path.GetFileName).Should().Equal(["saved"]);
    }

    [Fact]
    public void A_target_whose_name_is_near_the_file_system_limit_is_written_and_its_stale_staging_is_removed()
    {
        // 240 bytes: a valid name (Linux allows 255), to which the staging name added 47 ('.', ".tmp-", a process id,
        // '-', 32 hex digits). Before: "File name too long" from creating the staging folder, a path the caller never gave.
        var name = "model with spaces é " + new string('x', 240 - 21);
        System.Text.Encoding.UTF8.GetByteCount(name).Should().Be(240);
        var target = Path.Combine(root, name);
        StagedFolder.Write(target, "directory", staging => File.WriteAllText(Path.Combine(staging, StagedFolder.WeightsFile), "weights"));
        File.ReadAllText(Path.Combine(target, StagedFolder.WeightsFile)).Should().Be("weights");
        Directory.GetFileSystemEntries(root).Select(Path.GetFileName).Should().Equal([name]);

        // A killed writer's staging folder of that target, two days old, is removed by the next write to it.
        var stale = StagedFolder.StagingPath(Path.GetFullPath(target));
        System.Text.Encoding.UTF8.GetByteCount(Path.GetFileName(stale)).Should().BeLessThanOrEqualTo(255);
        Directory.CreateDirectory(stale);
        Directory.SetLastWriteTimeUtc(stale, DateTime.UtcNow - TimeSpan.FromDays(2));
        StagedFolder.Write(target, "directory", staging => File.WriteAllText(Path.Combine(staging, StagedFolder.WeightsFile), "again"));
        Directory.GetFileSystemEntries(root).Select(Path.GetFileName).Should().Equal([name]);
    }
}
