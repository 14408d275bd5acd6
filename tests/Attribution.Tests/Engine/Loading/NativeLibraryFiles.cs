using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Attribution.Tests.Engine.Loading;

/// <summary>Where the test run's TorchSharp native library is, and what the system's tools and libstdc++ say about it.</summary>
internal static class NativeLibraryFiles
{
    public const string LibraryFile = "libLibTorchSharp.so";
    public const string Symbol = "_ZSt21ios_base_library_initv";
    public const string Version = "GLIBCXX_3.4.32";
    public const string Library = "libstdc++.so.6";

    private static readonly Lazy<bool?> SystemProvides = new(FindSystemProvides);

    /// <summary>TorchSharp-cpu's native folder in the test output (null when it is not there).</summary>
    public static string? NativeDirectory =>
        new[] { Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native"), AppContext.BaseDirectory }
            .FirstOrDefault(d => File.Exists(Path.Combine(d, LibraryFile)));

    /// <summary>The real libLibTorchSharp.so of the test output; skips the test when it is absent.</summary>
    public static string RequireLibrary()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64,
            "TorchSharp's libLibTorchSharp.so and its compatibility loader exist on Linux x64 only");
        var directory = NativeDirectory;
        Skip.If(directory is null, $"{LibraryFile} is not in the test output ({AppContext.BaseDirectory}runtimes/linux-x64/native): TorchSharp-cpu did not restore its Linux x64 backend");
        return Path.Combine(directory!, LibraryFile);
    }

    /// <summary>
    /// Whether the libstdc++ this process uses defines GLIBCXX_3.4.32 (then TorchSharp's stock library loads), found
    /// without the code under test: the library mapped in this process (libtorch loaded it), else the usual paths, and
    /// its version string. Null when no libstdc++ is found.
    /// </summary>
    public static bool? SystemLibStdCxxProvidesVersion => SystemProvides.Value;

    /// <summary>Runs <c>readelf</c> (C locale) and returns its output, or null when readelf is not installed.</summary>
    public static string? ReadElf(params string[] args)
    {
        var start = new ProcessStartInfo("readelf") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["LC_ALL"] = "C";
        try
        {
            using var process = Process.Start(start)!;
            var error = process.StandardError.ReadToEndAsync();
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 ? output : throw new InvalidOperationException($"readelf {string.Join(' ', args)} failed: {error.Result}");
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    private static bool? FindSystemProvides()
    {
        var candidates = new List<string>();
        if (File.Exists("/proc/self/maps"))
        {
            candidates.AddRange(File.ReadLines("/proc/self/maps")
                .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Where(f => f.Length >= 6 && Path.GetFileName(f[5]).StartsWith("libstdc++.so", StringComparison.Ordinal))
                .Select(f => f[5]));
        }

        candidates.AddRange(["/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib64/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6"]);
        var path = candidates.FirstOrDefault(File.Exists);
        if (path is null)
        {
            return null;
        }

        var needle = Encoding.ASCII.GetBytes(Version + "\0");
        return File.ReadAllBytes(path).AsSpan().IndexOf(needle) >= 0;
    }
}
