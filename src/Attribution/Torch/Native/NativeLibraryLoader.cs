using System.Reflection;
using System.Runtime.InteropServices;

namespace Attribution.Torch.Native;

/// <summary>
/// Finds and loads the shim: ATTRIBUTION_NATIVE_LIBRARY (a file) or ATTRIBUTION_NATIVE_DIR (a folder),
/// then next to this assembly, then its runtimes/linux-x64/native folder (NuGet layout), then the
/// application folder, then the system search path. A failure lists every path tried with the loader's
/// reason and the command that installs libtorch; a shim of another ABI version is refused.
/// </summary>
internal static class NativeLibraryLoader
{
    private const string FileName = "libattribution_native.so";
    private static int registered;
    private static IntPtr loaded;

    internal static void EnsureRegistered()
    {
        if (Interlocked.Exchange(ref registered, 1) == 0)
        {
            NativeLibrary.SetDllImportResolver(typeof(NativeLibraryLoader).Assembly, Resolve);
        }
    }

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != NativeMethods.Library)
        {
            return IntPtr.Zero;
        }

        if (loaded != IntPtr.Zero)
        {
            return loaded;
        }

        loaded = Load(Candidates(assembly));
        return loaded;
    }

    /// <summary>Loads the first candidate that is a shim of our ABI; otherwise throws with every path and its reason.</summary>
    internal static IntPtr Load(IEnumerable<string> candidates)
    {
        var failures = new List<string>();
        foreach (var candidate in candidates)
        {
            if (candidate.Contains('/') && !File.Exists(candidate))
            {
                failures.Add($"{candidate}: no such file");
                continue;
            }

            IntPtr handle;
            try
            {
                handle = NativeLibrary.Load(candidate);
            }
            catch (DllNotFoundException e)
            {
                failures.Add($"{candidate}: {e.Message}");
                continue;
            }

            if (AbiProblem(handle, candidate) is { } problem)
            {
                failures.Add(problem);
                continue;
            }

            return handle;
        }

        throw new DllNotFoundException(
            "The Attribution native shim (libattribution_native.so) could not be loaded. Paths tried:" + Environment.NewLine +
            string.Join(Environment.NewLine, failures.Select(f => "  - " + f)) + Environment.NewLine +
            "It needs libtorch 1.13 and OpenBLAS: sudo apt-get install -y libtorch-dev libopenblas0-pthread " +
            "(scripts/install-system-deps.sh does this), then rebuild with `dotnet build` (which builds the shim), " +
            "or point ATTRIBUTION_NATIVE_LIBRARY at a built libattribution_native.so.");
    }

    private static IEnumerable<string> Candidates(Assembly assembly)
    {
        var file = Environment.GetEnvironmentVariable("ATTRIBUTION_NATIVE_LIBRARY");
        if (!string.IsNullOrEmpty(file))
        {
            yield return Path.GetFullPath(file);
        }

        var dir = Environment.GetEnvironmentVariable("ATTRIBUTION_NATIVE_DIR");
        if (!string.IsNullOrEmpty(dir))
        {
            yield return Path.Combine(Path.GetFullPath(dir), FileName);
        }

        var assemblyDir = Path.GetDirectoryName(assembly.Location);
        if (!string.IsNullOrEmpty(assemblyDir))
        {
            yield return Path.Combine(assemblyDir, FileName);
            yield return Path.Combine(assemblyDir, "runtimes", "linux-x64", "native", FileName);
        }

        yield return Path.Combine(AppContext.BaseDirectory, FileName);
        yield return FileName;
    }

    /// <summary>Why a loaded library is not a usable shim (no version export, or another ABI version), or null.</summary>
    private static unsafe string? AbiProblem(IntPtr handle, string path)
    {
        if (!NativeLibrary.TryGetExport(handle, "ath_abi_version", out var export))
        {
            return $"{path}: not the Attribution shim (no ath_abi_version export)";
        }

        var version = ((delegate* unmanaged<int>)export)();
        return version == NativeMethods.ExpectedAbiVersion
            ? null
            : $"{path}: ABI version {version}, but this assembly needs {NativeMethods.ExpectedAbiVersion}; rebuild the shim (dotnet build)";
    }
}
