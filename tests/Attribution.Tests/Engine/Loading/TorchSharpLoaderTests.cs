using System.Diagnostics;
using System.Security.Cryptography;
using Attribution.Engine.Loading;
using Attribution.Tests.Cli;

namespace Attribution.Tests.Engine.Loading;

/// <summary>
/// Each path of <see cref="TorchSharpLoader"/>, in a child process (this process loaded TorchSharp once, for good):
/// <c>attribution engine</c> from the test output, with <c>ATTRIBUTION_TORCHSHARP_COMPAT</c> and
/// <c>ATTRIBUTION_NATIVE_CACHE</c> set, reports how the native library was loaded. The stock path runs from a copy of
/// the app whose native folder holds a library that loads as it is (the patched copy under the stock name, links to
/// the rest), as on a system whose libstdc++ is GCC 13's.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class TorchSharpLoaderTests
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    internal static readonly string TestOutput = AppContext.BaseDirectory;

    [SkippableFact]
    public void Default_mode_writes_a_private_patched_copy_once_and_reuses_it()
    {
        var original = NativeLibraryFiles.RequireLibrary();
        RequireOldLibStdCxx();
        using var work = new TempFolder();
        var cache = Path.Combine(work.Path, "cache");
        var originalBytes = File.ReadAllBytes(original);
        var key = Convert.ToHexStringLower(SHA256.HashData(originalBytes))[..16];
        var expected = Path.Combine(cache, key, NativeLibraryFiles.LibraryFile);

        var first = Engine(TestOutput, work, cache, mode: null);

        first.Code.Should().Be(0, first.ToString());
        var info = Fields(first.Out);
        info["loader"].Should().Be("Patched (ATTRIBUTION_TORCHSHARP_COMPAT=auto)");
        info["patched library"].Should().Be(expected, "the copy is cached under the original's SHA-256");
        info["libtorch"].Should().StartWith("2.10");
        Directory.GetFileSystemEntries(cache, "*", SearchOption.AllDirectories).Should()
            .BeEquivalentTo([Path.GetDirectoryName(expected), expected], "nothing else (no temporary file) is left in the cache");
        File.GetUnixFileMode(cache).Should().Be(Private);
        File.GetUnixFileMode(Path.GetDirectoryName(expected)!).Should().Be(Private);
        File.GetUnixFileMode(expected).Should().Be(Private);
        var patched = File.ReadAllBytes(expected);
        patched.Length.Should().Be(originalBytes.Length);
        Enumerable.Range(0, patched.Length).Count(i => patched[i] != originalBytes[i]).Should().BeInRange(1, 2, "one flags word differs");

        // A second run loads the cached copy without writing it again.
        // An hour back: a rewrite would date it now, and a reuse redates only a copy over a day old (its last use).
        var stamp = DateTime.UtcNow.AddHours(-1);
        stamp = new DateTime(stamp.Ticks - stamp.Ticks % TimeSpan.TicksPerSecond, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(expected, stamp);
        var second = Engine(TestOutput, work, cache, mode: null);

        second.Code.Should().Be(0, second.ToString());
        Fields(second.Out)["patched library"].Should().Be(expected);
        File.GetLastWriteTimeUtc(expected).Should().Be(stamp, "the cached copy is reused, not rewritten");
        Directory.GetFileSystemEntries(cache, "*", SearchOption.AllDirectories).Should().HaveCount(2);
        File.ReadAllBytes(original).Should().Equal(originalBytes, "the package's own library is never modified");
    }

    [SkippableFact]
    public void A_home_folder_that_does_not_exist_yet_holds_the_patched_copy()
    {
        // HOME naming a folder that does not exist (a CI user's /nonexistent, a fresh container) made .NET's GetFolderPath
        // answer "", and the loader refused to load at all ("the home folder '' is not an absolute path (is HOME unset or
        // relative?)"), though HOME was set and absolute. The folder is read unverified and created with the cache.
        NativeLibraryFiles.RequireLibrary();
        RequireOldLibStdCxx();
        using var work = new TempFolder();
        var home = Path.Combine(work.Path, "no-such-home");
        var run = Engine(TestOutput, work, cache: string.Empty, mode: null,
            new Dictionary<string, string> { ["HOME"] = home, ["XDG_CACHE_HOME"] = string.Empty }, "engine");

        run.Code.Should().Be(0, run.ToString());
        Fields(run.Out)["patched library"].Should().StartWith(Path.Combine(home, ".cache", "attribution", "native") + Path.DirectorySeparatorChar);
        Directory.Exists(Path.Combine(work.Path, ".cache")).Should().BeFalse("the cache must not depend on the current folder");
    }

    [SkippableFact]
    public void Force_mode_loads_a_patched_copy()
    {
        NativeLibraryFiles.RequireLibrary();
        using var work = new TempFolder();
        var cache = Path.Combine(work.Path, "cache");

        var run = Engine(TestOutput, work, cache, mode: "force");

        run.Code.Should().Be(0, run.ToString());
        var info = Fields(run.Out);
        info["loader"].Should().Be("Patched (ATTRIBUTION_TORCHSHARP_COMPAT=force)");
        info["patched library"].Should().StartWith(cache + Path.DirectorySeparatorChar).And.EndWith(NativeLibraryFiles.LibraryFile);
        File.Exists(info["patched library"]).Should().BeTrue();
    }

    [SkippableFact]
    public void Off_mode_fails_with_one_line_naming_the_variable_before_any_command_runs()
    {
        NativeLibraryFiles.RequireLibrary();
        RequireOldLibStdCxx();
        using var work = new TempFolder();
        var cache = Path.Combine(work.Path, "cache");

        foreach (var args in new[] { new[] { "engine" }, ["predict", "--model", Path.Combine(work.Path, "no-model"), "--text", "a film"] })
        {
            var run = Engine(TestOutput, work, cache, mode: "off", args);

            run.Code.Should().Be(1, run.ToString());
            run.Out.Should().BeEmpty();
            var lines = run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            lines.Should().HaveCount(2, run.ToString());
            lines[0].Should().StartWith("error: TorchSharp cannot be loaded: ")
                .And.Contain("ATTRIBUTION_TORCHSHARP_COMPAT=off")
                .And.Contain("Unset ATTRIBUTION_TORCHSHARP_COMPAT")
                .And.Contain("GLIBCXX_3.4.32");
            lines[0].Should().NotContainAny(["TypeInitialization", "reference to libtorch", "model"], "the loader's reason comes first, not TorchSharp's or the command's");
            lines[1].Should().Be("(run again with --verbose for the stack trace)");
        }

        Directory.Exists(cache).Should().BeFalse("off writes nothing");
        var help = Engine(TestOutput, work, cache, mode: "off", "--help");
        help.Code.Should().Be(0, "help needs no TorchSharp: {0}", help);
    }

    [SkippableTheory]
    [InlineData("group")]
    [InlineData("other")]
    [InlineData("key-folder")]
    public void Cache_folder_writable_by_others_is_refused(string variant)
    {
        var original = NativeLibraryFiles.RequireLibrary();
        using var work = new TempFolder();
        var cache = Path.Combine(work.Path, "cache");
        Directory.CreateDirectory(cache);
        var key = Path.Combine(cache, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(original)))[..16]);
        var unsafeFolder = variant == "key-folder" ? key : cache;
        Directory.CreateDirectory(unsafeFolder);
        File.SetUnixFileMode(cache, Private);
        File.SetUnixFileMode(unsafeFolder, variant switch
        {
            "other" => Private | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute,
            _ => Private | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute,
        });

        // force: the same path as the default on an old libstdc++, on any system.
        var run = Engine(TestOutput, work, cache, mode: "force");

        run.Code.Should().Be(1, run.ToString());
        var first = run.Error.Split('\n')[0];
        first.Should().StartWith("error: TorchSharp cannot be loaded: ")
            .And.Contain($"the native cache folder {unsafeFolder} is writable by other users")
            .And.Contain("chmod go-w")
            .And.Contain("ATTRIBUTION_NATIVE_CACHE");
        Directory.GetFiles(cache, "*", SearchOption.AllDirectories).Should().BeEmpty("nothing is written into an unsafe folder");
    }

    [SkippableFact]
    public void Unknown_mode_is_a_clear_error()
    {
        NativeLibraryFiles.RequireLibrary();
        using var work = new TempFolder();
        var cache = Path.Combine(work.Path, "cache");

        var run = Engine(TestOutput, work, cache, mode: "sometimes");

        run.Code.Should().Be(1, run.ToString());
        run.Error.Split('\n')[0].Should().Be(
            "error: TorchSharp cannot be loaded: ATTRIBUTION_TORCHSHARP_COMPAT='sometimes' is not a mode of the TorchSharp " +
            "compatibility loader; use auto (the default), off or force");
        Directory.Exists(cache).Should().BeFalse();
    }

    [SkippableFact]
    public void Stock_library_that_loads_is_used_as_it_is_and_nothing_is_cached()
    {
        var original = NativeLibraryFiles.RequireLibrary();
        using var work = new TempFolder();
        var app = StockApp(work, original);
        var cache = Path.Combine(work.Path, "cache");

        var auto = Engine(app, work, cache, mode: null);
        auto.Code.Should().Be(0, auto.ToString());
        Fields(auto.Out)["loader"].Should().Be("Stock (ATTRIBUTION_TORCHSHARP_COMPAT=auto)");
        Fields(auto.Out)["patched library"].Should().Be("none");
        Fields(auto.Out)["libtorch"].Should().StartWith("2.10", "TorchSharp then loads that library itself");
        Directory.Exists(cache).Should().BeFalse("the stock path writes nothing");

        var relative = Engine(app, work, "relative-cache", mode: null);
        relative.Code.Should().Be(0, "a cache setting the stock path never uses cannot stop it: {0}", relative);
        Fields(relative.Out)["loader"].Should().Be("Stock (ATTRIBUTION_TORCHSHARP_COMPAT=auto)");
        var forced = Engine(app, work, "relative-cache", mode: "force");
        forced.Code.Should().Be(1, forced.ToString());
        forced.Error.Should().Contain("ATTRIBUTION_NATIVE_CACHE='relative-cache' is not an absolute path");

        var off = Engine(app, work, cache, mode: "off");
        off.Code.Should().Be(0, off.ToString());
        Fields(off.Out)["loader"].Should().Be("Disabled (ATTRIBUTION_TORCHSHARP_COMPAT=off)");
        Directory.Exists(cache).Should().BeFalse();

        var force = Engine(app, work, cache, mode: "force");
        force.Code.Should().Be(0, force.ToString());
        Fields(force.Out)["loader"].Should().Be("Patched (ATTRIBUTION_TORCHSHARP_COMPAT=force)", "force patches even where the stock library loads");
        File.Exists(Fields(force.Out)["patched library"]).Should().BeTrue();
    }

    /// <summary>
    /// An app whose folders lack libLibTorchSharp.so, with a copy that loads here on the system's library path
    /// (LD_LIBRARY_PATH): TorchSharp's own load finds it there, but the loader looked only in the app's folders and
    /// failed the app ("not found"). It now leaves such a library to TorchSharp (Stock), writing nothing.
    /// </summary>
    [SkippableFact]
    public void A_library_only_on_the_system_library_path_that_loads_is_left_to_TorchSharp()
    {
        var original = NativeLibraryFiles.RequireLibrary();
        using var work = new TempFolder();
        var app = StockApp(work, original);
        var system = Path.Combine(work.Path, "system-lib");
        Directory.Move(Path.Combine(app, "runtimes", "linux-x64", "native"), system);
        var cache = Path.Combine(work.Path, "cache");

        var run = Engine(app, work, cache, mode: null, new Dictionary<string, string> { ["LD_LIBRARY_PATH"] = system }, "engine");

        run.Code.Should().Be(0, run.ToString());
        Fields(run.Out)["loader"].Should().Be("Stock (ATTRIBUTION_TORCHSHARP_COMPAT=auto)");
        Fields(run.Out)["libtorch"].Should().StartWith("2.10", "TorchSharp loads the system's copy itself");
        Directory.Exists(cache).Should().BeFalse("nothing is patched");
    }

    [Fact]
    public void Engine_command_reports_this_process_s_loader()
    {
        var run = CliHarness.Run("engine");

        run.Code.Should().Be(0, run.ToString());
        var info = Fields(run.Out);
        info["TorchSharp"].Should().StartWith("0.107");
        info["libtorch"].Should().StartWith("2.10");
        int.Parse(info["threads"], System.Globalization.CultureInfo.InvariantCulture).Should().BePositive();
        info["loader"].Should().StartWith(TorchSharpLoader.Mode.ToString());
        info["patched library"].Should().Be(TorchSharpLoader.PatchedLibraryPath ?? "none");
    }

    private static void RequireOldLibStdCxx()
    {
        var provides = NativeLibraryFiles.SystemLibStdCxxProvidesVersion;
        Skip.If(provides is null, "no libstdc++.so.6 was found to tell whether TorchSharp's stock library loads here");
        Skip.If(provides == true, "this system's libstdc++ provides GLIBCXX_3.4.32: the stock library loads, so the default and off modes " +
            "take the stock path (Stock_library_that_loads_is_used_as_it_is_and_nothing_is_cached covers it)");
    }

    /// <summary>
    /// A copy of the test output's CLI whose native folder holds, under the stock name, a libLibTorchSharp.so that
    /// loads on this system (the patched copy), and links to the rest. The app's own files are copied, not linked: the
    /// .NET host resolves the app's real path and would take the native folder beside it.
    /// </summary>
    private static string StockApp(TempFolder work, string original)
    {
        var app = Path.Combine(work.Path, "app");
        var native = Path.Combine(app, "runtimes", "linux-x64", "native");
        Directory.CreateDirectory(native);
        foreach (var file in Directory.GetFiles(TestOutput))
        {
            var target = Path.Combine(app, Path.GetFileName(file));
            if (Path.GetFileName(file).StartsWith("Attribution.Cli.", StringComparison.Ordinal))
            {
                File.Copy(file, target);
            }
            else
            {
                File.CreateSymbolicLink(target, file);
            }
        }

        foreach (var file in Directory.GetFiles(Path.GetDirectoryName(original)!))
        {
            if (Path.GetFileName(file) != NativeLibraryFiles.LibraryFile)
            {
                File.CreateSymbolicLink(Path.Combine(native, Path.GetFileName(file)), file);
            }
        }

        var loadable = ElfVersionPatch.WeakenVersionNeed(
            File.ReadAllBytes(original), NativeLibraryFiles.Library, NativeLibraryFiles.Version, new HashSet<string> { NativeLibraryFiles.Symbol });
        File.WriteAllBytes(Path.Combine(native, NativeLibraryFiles.LibraryFile), loadable);
        return app;
    }

    /// <summary>The <c>name: value</c> lines of <c>attribution engine</c>.</summary>
    internal static Dictionary<string, string> Fields(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(": ", 2))
            .Where(p => p.Length == 2)
            .ToDictionary(p => p[0], p => p[1].TrimEnd('\r'));

    private static CliResult Engine(string app, TempFolder work, string cache, string? mode) => Engine(app, work, cache, mode, "engine");

    /// <summary>Runs <c>dotnet app/Attribution.Cli.dll args</c> with the loader's variables set (and the rest of the cache root in <paramref name="work"/>).</summary>
    private static CliResult Engine(string app, TempFolder work, string cache, string? mode, params string[] args) =>
        Engine(app, work, cache, mode, new Dictionary<string, string>(), args);

    /// <summary>As above, with further <paramref name="environment"/> variables set in the child process.</summary>
    internal static CliResult Engine(string app, TempFolder work, string cache, string? mode, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            WorkingDirectory = work.Path,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(app, "Attribution.Cli.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment.Remove(TorchSharpLoader.ModeVariable);
        if (mode is not null)
        {
            start.Environment[TorchSharpLoader.ModeVariable] = mode;
        }

        start.Environment[TorchSharpLoader.CacheVariable] = cache;
        start.Environment["XDG_CACHE_HOME"] = Path.Combine(work.Path, "xdg-cache");
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment.Remove(NativeHeap.ModeVariable);
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"attribution {string.Join(' ', args)} did not finish in 2 minutes");
        }

        return new CliResult(process.ExitCode, output.Result, error.Result);
    }

    internal sealed class TempFolder : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("attribution-loader-").FullName;

        // The tests only add group/other bits, so the owner can always delete; links are removed, not followed.
        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
