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
}
