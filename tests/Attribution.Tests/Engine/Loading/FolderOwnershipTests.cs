using System.Diagnostics;
using Attribution.Engine.Loading;

namespace Attribution.Tests.Engine.Loading;

/// <summary>
/// The native cache folder and the folders above it: whoever can write to one of them can swap the library the loader
/// loads. Before, only the cache folders' group/other write bits were checked.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class FolderOwnershipTests : IDisposable
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode Shared = Private | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
    private const uint Stranger = 54321;

    private readonly string root = Directory.CreateTempSubdirectory("attribution-folder-owner-").FullName;

    public void Dispose()
    {
        if (OperatingSystem.IsLinux())
        {
            // Back to this user, who may then delete everything.
            foreach (var entry in Directory.GetFileSystemEntries(root, "*", SearchOption.AllDirectories).Append(root))
            {
                if (FolderOwnership.Examine(entry).Owner != FolderOwnership.CurrentUser)
                {
                    Chown(entry, FolderOwnership.CurrentUser);
                }
            }
        }

        Directory.Delete(root, recursive: true);
    }

    private (string Original, string Cache) Library()
    {
        var original = Path.Combine(root, "package", NativeLibraryFiles.LibraryFile);
        Directory.CreateDirectory(Path.GetDirectoryName(original)!);
        File.WriteAllBytes(original, SyntheticElf.Build(new SyntheticElfOptions()).Bytes);
        return (original, Path.Combine(root, "above", "cache"));
    }

    private static void Chown(string path, uint owner)
    {
        using var chown = Process.Start(new ProcessStartInfo("chown", ["-h", owner.ToString(System.Globalization.CultureInfo.InvariantCulture), path]))!;
        chown.WaitForExit();
        chown.ExitCode.Should().Be(0, "chown {0} {1}", owner, path);
    }

    [SkippableFact]
    public void Examine_reads_the_owner_and_mode_that_the_system_reports()
    {
        Skip.IfNot(OperatingSystem.IsLinux());

        // Expected values from outside the code under test: .NET's own mode reader, and / owned by root.
        var folder = Path.Combine(root, "folder");
        Directory.CreateDirectory(folder);
        File.SetUnixFileMode(folder, Private | UnixFileMode.StickyBit | UnixFileMode.OtherWrite);
        FolderOwnership.Examine(folder).Should().Be((FolderOwnership.CurrentUser, File.GetUnixFileMode(folder), false));
        FolderOwnership.Examine("/").Owner.Should().Be(0u);
        var link = Path.Combine(root, "link");
        File.CreateSymbolicLink(link, folder);
        FolderOwnership.Examine(link).IsLink.Should().BeTrue("a final symbolic link is examined, not followed");
        ((Action)(() => FolderOwnership.Examine(Path.Combine(root, "missing")))).Should().Throw<IOException>()
            .WithMessage($"cannot examine {Path.Combine(root, "missing")}: *");
    }

    [Theory]
    [InlineData(1000u, Private, null, null)]
    [InlineData(1000u, Private | UnixFileMode.GroupWrite, null, "is writable by other users (mode 0720)")]
    [InlineData(Stranger, Private, null, "is owned by user 54321, not by this process's user 1000")]
    [InlineData(0u, Shared, "/c", null)]
    [InlineData(1000u, Shared, "/c", null)]
    [InlineData(Stranger, Shared, "/c", "is owned by user 54321 (neither this process's user 1000 nor root)")]
    [InlineData(0u, Shared | UnixFileMode.OtherWrite, "/c", "is writable by other users (mode 0757) without the sticky bit")]
    [InlineData(0u, Shared | UnixFileMode.GroupWrite, "/c", "is writable by other users (mode 0775) without the sticky bit")]
    [InlineData(0u, Shared | UnixFileMode.OtherWrite | UnixFileMode.GroupWrite | UnixFileMode.StickyBit, "/c", null)]
    public void A_folder_is_safe_when_only_this_user_or_root_can_change_it(uint owner, UnixFileMode mode, string? above, string? problem)
    {
        var found = FolderOwnership.Problem("/f", owner, mode, 1000, above);
        if (problem is null)
        {
            found.Should().BeNull();
        }
        else
        {
            found.Should().Contain(problem).And.Contain("/f").And.Contain("ATTRIBUTION_NATIVE_CACHE");
        }
    }

    [SkippableFact]
    public void A_folder_above_the_cache_writable_by_others_is_refused_unless_sticky()
    {
        Skip.IfNot(OperatingSystem.IsLinux());
        var (original, cache) = Library();
        var above = Path.GetDirectoryName(cache)!;
        Directory.CreateDirectory(above);
        foreach (var extra in new[] { UnixFileMode.OtherWrite, UnixFileMode.GroupWrite })
        {
            File.SetUnixFileMode(above, Shared | extra);
            ((Action)(() => TorchSharpLoader.WritePatchedCopy(original, cache))).Should().Throw<TorchLoadException>()
                .WithMessage($"the folder {above}, above the native cache folder {cache}, is writable by other users (*) without the sticky bit*chmod go-w (or chmod +t) on {above}*ATTRIBUTION_NATIVE_CACHE*");
            Directory.GetFiles(cache, "*", SearchOption.AllDirectories).Should().BeEmpty("nothing is written below an unsafe folder");
        }

        // Sticky, as /tmp is (and the tests' own temporary folders sit in /tmp): accepted.
        File.SetUnixFileMode(above, Shared | UnixFileMode.OtherWrite | UnixFileMode.GroupWrite | UnixFileMode.StickyBit);
        File.Exists(TorchSharpLoader.WritePatchedCopy(original, cache)).Should().BeTrue();
    }

    [SkippableFact]
    public void A_cache_below_a_symbolic_link_is_checked_along_the_links_target_too()
    {
        Skip.IfNot(OperatingSystem.IsLinux());
        var (original, _) = Library();
        var exposed = Path.Combine(root, "exposed");
        Directory.CreateDirectory(Path.Combine(exposed, "real"));
        File.SetUnixFileMode(exposed, Shared | UnixFileMode.OtherWrite);
        var link = Path.Combine(root, "link");
        File.CreateSymbolicLink(link, Path.Combine(exposed, "real"));
        var cache = Path.Combine(link, "cache");
        ((Action)(() => TorchSharpLoader.WritePatchedCopy(original, cache))).Should().Throw<TorchLoadException>()
            .WithMessage($"the folder {exposed}, above the native cache folder {cache}, is writable by other users*");
    }

    [SkippableFact]
    public void A_cache_folder_or_a_folder_above_it_owned_by_another_user_is_refused()
    {
        Skip.IfNot(OperatingSystem.IsLinux());
        if (FolderOwnership.CurrentUser != 0)
        {
            // Only root can give a folder to another user; any other user finds one in /, which root owns. (Nothing
            // skips: the CI refuses skipped tests where the reference data is present.)
            ((Action)(() => FolderOwnership.CheckPrivate("/"))).Should().Throw<TorchLoadException>()
                .WithMessage($"the native cache folder / is owned by user 0, not by this process's user {FolderOwnership.CurrentUser}*");
            return;
        }

        var (original, cache) = Library();
        var first = TorchSharpLoader.WritePatchedCopy(original, cache);
        var key = Path.GetDirectoryName(first)!;
        foreach (var folder in new[] { cache, key })
        {
            Chown(folder, Stranger);
            ((Action)(() => TorchSharpLoader.WritePatchedCopy(original, cache))).Should().Throw<TorchLoadException>()
                .WithMessage($"the native cache folder {folder} is owned by user {Stranger}, not by this process's user 0*ATTRIBUTION_NATIVE_CACHE*");
            Chown(folder, 0);
        }

        var above = Path.GetDirectoryName(cache)!;
        Chown(above, Stranger);
        ((Action)(() => TorchSharpLoader.WritePatchedCopy(original, cache))).Should().Throw<TorchLoadException>()
            .WithMessage($"the folder {above}, above the native cache folder {cache}, is owned by user {Stranger} (neither this process's user 0 nor root)*");
        Chown(above, 0);
        TorchSharpLoader.WritePatchedCopy(original, cache).Should().Be(first);
    }
}
