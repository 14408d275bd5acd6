using Attribution.Engine.Loading;

namespace Attribution.Tests.Engine.Loading;

/// <summary>
/// <see cref="TorchSharpLoader.WritePatchedCopy"/> in this process, on a hand-built library (<see cref="SyntheticElf"/>)
/// and a temporary cache folder: concurrent writers, a stale or truncated copy, and a write that fails. Nothing is loaded.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PatchedCopyCacheTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("attribution-patch-cache-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private (string Original, byte[] Patched) Library()
    {
        var original = Path.Combine(root, "package", NativeLibraryFiles.LibraryFile);
        Directory.CreateDirectory(Path.GetDirectoryName(original)!);
        var bytes = SyntheticElf.Build(new SyntheticElfOptions()).Bytes;
        File.WriteAllBytes(original, bytes);
        return (original, ElfVersionPatch.WeakenVersionNeed(bytes, NativeLibraryFiles.Library, NativeLibraryFiles.Version, TorchSharpLoader.AllowedSymbols));
    }

    private static string[] Leftovers(string cache) =>
        Directory.GetFiles(cache, "*", SearchOption.AllDirectories).Where(f => Path.GetFileName(f) != NativeLibraryFiles.LibraryFile).ToArray();

    [SkippableFact]
    public void Writers_racing_on_a_stale_copy_never_expose_a_partial_file()
    {
        Skip.IfNot(OperatingSystem.IsLinux());
        var (original, patched) = Library();
        var cache = Path.Combine(root, "cache");
        var target = TorchSharpLoader.WritePatchedCopy(original, cache);
        var stale = patched.AsSpan(0, patched.Length / 2).ToArray();
        var seen = new List<string>();
        for (var round = 0; round < 50; round++)
        {
            // A truncated copy (a crash of an older, non-atomic writer) is what both writers find and replace.
            File.WriteAllBytes(target, stale);
            using var start = new Barrier(3);
            var writers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
            {
                start.SignalAndWait();
                return TorchSharpLoader.WritePatchedCopy(original, cache);
            })).ToArray();
            start.SignalAndWait();
            while (!writers.All(w => w.IsCompleted))
            {
                // The loader's reader is dlopen by path: whatever it opens must be the old file or the new one, whole.
                var bytes = File.ReadAllBytes(target);
                if (!bytes.AsSpan().SequenceEqual(stale) && !bytes.AsSpan().SequenceEqual(patched))
                {
                    seen.Add($"round {round}: {bytes.Length} bytes, neither the stale copy nor the patched one");
                }
            }

            writers.Select(w => w.Result).Should().AllBe(target);
            File.ReadAllBytes(target).Should().Equal(patched, "round {0} ends with the patched copy", round);
        }

        seen.Should().BeEmpty();
        Leftovers(cache).Should().BeEmpty("every writer renames its own temporary file");
    }

    [SkippableFact]
    public void A_copy_of_another_version_sits_beside_this_one_and_a_corrupt_one_is_rewritten()
    {
        Skip.IfNot(OperatingSystem.IsLinux());
        var (original, patched) = Library();
        var cache = Path.Combine(root, "cache");
        var first = TorchSharpLoader.WritePatchedCopy(original, cache);

        // Another TorchSharp version: another original, so another key folder; the first copy is left as it is.
        var other = original + ".other";
        File.WriteAllBytes(other, [.. File.ReadAllBytes(original), 0]);
        var second = TorchSharpLoader.WritePatchedCopy(other, cache);
        Path.GetDirectoryName(second).Should().NotBe(Path.GetDirectoryName(first));
        File.ReadAllBytes(first).Should().Equal(patched);

        foreach (var corrupt in new[] { patched[..100], [], patched.Select((b, i) => i == 10 ? (byte)~b : b).ToArray() })
        {
            File.WriteAllBytes(first, corrupt);
            TorchSharpLoader.WritePatchedCopy(original, cache).Should().Be(first);
            File.ReadAllBytes(first).Should().Equal(patched, "a truncated or altered copy is written again");
        }
    }

    /// <summary>
    /// Each TorchSharp version the user ever ran left its patched copy (a folder per key), and a writer killed between
    /// write and rename its temporary copy; nothing removed either. Now a load removes another version's copy unused
    /// for 30 days and temporary files over an hour old, and keeps a copy used recently (another process may load it
    /// now), a recent temporary file (a writer at work), its own copy however old (it is dated anew on reuse) and
    /// folders that are not keys.
    /// </summary>
    [SkippableFact]
    public void Copies_of_other_versions_unused_for_a_month_and_killed_writers_temporary_files_are_removed()
    {
        Skip.IfNot(OperatingSystem.IsLinux());
        var (original, patched) = Library();
        var cache = Path.Combine(root, "cache");
        var current = TorchSharpLoader.WritePatchedCopy(original, cache);
        var now = DateTime.UtcNow;

        string Copy(string key, TimeSpan age)
        {
            var path = Path.Combine(cache, key, NativeLibraryFiles.LibraryFile);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, patched);
            File.SetLastWriteTimeUtc(path, now - age);
            return path;
        }

        string Temporary(string folder, TimeSpan age)
        {
            var path = Path.Combine(folder, $".{NativeLibraryFiles.LibraryFile}.4242.{Guid.NewGuid():N}.tmp");
            File.WriteAllBytes(path, patched[..100]);
            File.SetLastWriteTimeUtc(path, now - age);
            return path;
        }

        var unused = Copy("00000000000000aa", TimeSpan.FromDays(40));
        var used = Copy("00000000000000bb", TimeSpan.FromDays(20));
        var beingWritten = Copy("00000000000000cc", TimeSpan.FromDays(40));
        var writing = Temporary(Path.GetDirectoryName(beingWritten)!, TimeSpan.FromSeconds(5));
        var killed = Temporary(Path.GetDirectoryName(current)!, TimeSpan.FromDays(2));
        var notAKey = Copy("not-a-key", TimeSpan.FromDays(400));
        File.SetLastWriteTimeUtc(current, now - TimeSpan.FromDays(90));

        TorchSharpLoader.WritePatchedCopy(original, cache).Should().Be(current);

        Directory.Exists(Path.GetDirectoryName(unused)).Should().BeFalse("another version's copy unused for 40 days is removed");
        File.Exists(killed).Should().BeFalse("a two-day-old temporary file is a killed writer's");
        File.Exists(used).Should().BeTrue("a copy used 20 days ago may be loaded again");
        File.Exists(beingWritten).Should().BeTrue("a folder with a writer at work is left alone");
        File.Exists(writing).Should().BeTrue("a five-second-old temporary file may be written now");
        File.Exists(notAKey).Should().BeTrue("only key folders are the cache's");
        File.ReadAllBytes(current).Should().Equal(patched);
        File.GetLastWriteTimeUtc(current).Should().BeAfter(now - TimeSpan.FromMinutes(1), "the reused copy is dated to its use, so no other process removes it");
    }

    [SkippableFact]
    public void A_write_that_fails_leaves_no_temporary_file_behind()
    {
        Skip.IfNot(OperatingSystem.IsLinux());
        var (original, _) = Library();
        var cache = Path.Combine(root, "cache");
        var target = TorchSharpLoader.WritePatchedCopy(original, cache);

        // A folder in the copy's place makes the final rename fail (as a full disk fails the write before it); the
        // tests run as root, so a read-only folder would not stop them.
        File.Delete(target);
        Directory.CreateDirectory(target);
        ((Action)(() => TorchSharpLoader.WritePatchedCopy(original, cache))).Should().Throw<Exception>();
        Leftovers(cache).Should().BeEmpty("before, the whole temporary copy stayed in the cache");
    }

    [SkippableFact]
    public void A_cache_that_cannot_be_written_is_a_load_error_naming_the_folder_and_the_variable()
    {
        Skip.IfNot(OperatingSystem.IsLinux());
        var (original, _) = Library();

        // A file where the cache folder should be, and a folder where the copy should be: before, the reason was the
        // bare IOException ("File exists", "Is a directory") with no folder and no fix.
        var blocked = Path.Combine(root, "blocked");
        File.WriteAllText(blocked, "not a folder");
        var cache = Path.Combine(root, "cache");
        var target = TorchSharpLoader.WritePatchedCopy(original, cache);
        File.Delete(target);
        Directory.CreateDirectory(target);
        foreach (var folder in new[] { blocked, cache })
        {
            ((Action)(() => TorchSharpLoader.WritePatchedCopy(original, folder))).Should().Throw<TorchLoadException>()
                .WithMessage($"cannot write the patched copy of libLibTorchSharp.so into the native cache folder {folder}: *point ATTRIBUTION_NATIVE_CACHE at a private folder*");
        }
    }

    [SkippableFact]
    public void A_library_the_patcher_refuses_is_a_load_error_naming_the_file_and_the_way_out()
    {
        Skip.IfNot(OperatingSystem.IsLinux());

        // A second symbol bound to GLIBCXX_3.4.32 (as a later TorchSharp might bind): before, the load's whole reason
        // was the patcher's "symbol _ZSt4cout needs GLIBCXX_3.4.32 and is not in the allow-list", an ElfPatchException
        // naming neither the library nor what to do.
        var original = Path.Combine(root, "package", NativeLibraryFiles.LibraryFile);
        Directory.CreateDirectory(Path.GetDirectoryName(original)!);
        File.WriteAllBytes(original, SyntheticElf.Build(new SyntheticElfOptions(Symbol: "_ZSt4cout")).Bytes);
        var cache = Path.Combine(root, "cache");
        ((Action)(() => TorchSharpLoader.WritePatchedCopy(original, cache))).Should().Throw<TorchLoadException>()
            .WithMessage($"the compatibility loader will not patch {original} (to make its GLIBCXX_3.4.32 requirement weak): " +
                "symbol _ZSt4cout needs GLIBCXX_3.4.32 and is not in the allow-list. Install a libstdc++ that provides GLIBCXX_3.4.32 (GCC 13 or later)*");
        Directory.Exists(cache).Should().BeFalse("nothing is written for a library that is not patched");
    }

    [Fact]
    public void The_cache_variable_must_be_an_absolute_path_and_a_relative_xdg_cache_home_is_ignored()
    {
        // Before: "cache" or "  " were taken relative to the current folder, so each working folder got its own copy
        // (one named by two spaces, even) of a library the process then loads.
        foreach (var bad in new[] { "cache", "./cache", "  ", "~/cache" })
        {
            ((Action)(() => TorchSharpLoader.CacheDirectory(bad, null, "/home/u", "/home/u"))).Should().Throw<TorchLoadException>()
                .WithMessage($"ATTRIBUTION_NATIVE_CACHE='{bad}' is not an absolute path; set it to the absolute path of a private folder*");
        }

        TorchSharpLoader.CacheDirectory("/var/cache/x/../y", null, "/home/u", "/home/u").Should().Be("/var/cache/y");
        TorchSharpLoader.CacheDirectory(null, "/xdg", "/home/u", "/home/u").Should().Be("/xdg/attribution/native");
        TorchSharpLoader.CacheDirectory("", "relative/xdg", "/home/u", "/home/u").Should().Be("/home/u/.cache/attribution/native", "the XDG spec: a relative XDG_CACHE_HOME is invalid and ignored");
    }

    /// <summary>
    /// Before, every case said "the home folder '' is not an absolute path (is HOME unset or relative?)", a guess, though
    /// the loader can tell: HOME unset, set but empty (.NET then asks the account database: <paramref name="home"/> is its
    /// answer, here none or a relative one), blank, or relative. The messages are written out by hand.
    /// </summary>
    [Theory]
    [InlineData(null, "", "HOME is unset and the account database gives no home folder either, so")]
    [InlineData(null, "rel", "HOME is unset and the account database's home folder 'rel' is not an absolute path, so")]
    [InlineData("", "", "HOME is set but empty and the account database gives no home folder either, so")]
    [InlineData(" ", " ", "HOME is set to blanks (' '), not an absolute path, so")]
    [InlineData("home/u", "home/u", "the home folder 'home/u' is not an absolute path (HOME is relative), so")]
    public void A_home_folder_that_is_not_absolute_is_an_error_saying_why_unless_a_cache_folder_is_set(string? homeVariable, string home, string why)
    {
        // Before: an unset HOME ("") or a relative one gave ".cache/attribution/native" or "home/u/.cache/...", relative
        // to the current folder: the library the process loads would come from wherever it was started.
        ((Action)(() => TorchSharpLoader.CacheDirectory(null, null, home, homeVariable))).Should().Throw<TorchLoadException>()
            .Which.Message.Should().Be(why + " there is no per-user cache folder for the patched copy of libLibTorchSharp.so; " +
                "set HOME to an absolute path, or point ATTRIBUTION_NATIVE_CACHE at the absolute path of a private folder");
        ((Action)(() => TorchSharpLoader.CacheDirectory(null, "relative/xdg", home, homeVariable))).Should().Throw<TorchLoadException>();
        TorchSharpLoader.CacheDirectory("/var/cache/a", null, home, homeVariable).Should().Be("/var/cache/a");
        TorchSharpLoader.CacheDirectory(null, "/xdg", home, homeVariable).Should().Be("/xdg/attribution/native");
    }
}
