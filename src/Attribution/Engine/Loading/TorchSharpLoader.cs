using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Attribution.Engine.Loading;

/// <summary>How TorchSharp's native library was made available to this process.</summary>
public enum TorchLoadMode
{
    /// <summary>Nothing was attempted yet.</summary>
    NotAttempted,

    /// <summary>TorchSharp's own library loads on this system; the compatibility loader stayed out of the way.</summary>
    Stock,

    /// <summary>The system's libstdc++ is too old for TorchSharp's library; a patched copy was loaded (see <see cref="TorchSharpLoader"/>).</summary>
    Patched,

    /// <summary>The compatibility loader is turned off by <see cref="TorchSharpLoader.ModeVariable"/>; TorchSharp loads on its own or not at all.</summary>
    Disabled,

    /// <summary>Not Linux x64: TorchSharp's own loader is used unchanged.</summary>
    NotApplicable,

    /// <summary>Neither the stock load nor the patch worked; <see cref="TorchSharpLoader.Failure"/> says why.</summary>
    Failed,
}

/// <summary>
/// Makes TorchSharp 0.107 load on Linux systems whose libstdc++ predates GCC 13 (Debian 12, Ubuntu 22.04). TorchSharp's
/// <c>libLibTorchSharp.so</c> requires the version GLIBCXX_3.4.32 for one symbol that nothing calls; there the stock
/// load fails with a misleading "doesn't contain a reference to libtorch-cpu" message. Where that happens, this
/// loader writes a copy of the library whose requirement is weak (<see cref="ElfVersionPatch"/>) to a per-user
/// cache (keyed by the original's SHA-256, written atomically, only into folders this user owns and no one else can
/// write, below folders only this user or root own and others cannot write unless sticky; copies of
/// other TorchSharp versions unused for a month are removed),
/// loads libtorch from the package's native folder and then the copy, and resolves TorchSharp's imports to it.
/// Where the stock library loads, nothing is patched. Set <c>ATTRIBUTION_TORCHSHARP_COMPAT=off</c> to turn the
/// loader off, or <c>=force</c> to patch even where the stock library loads (for tests).
/// </summary>
/// <remarks>
/// It runs from this assembly's module initializer, and from one that the package's build files add to a
/// consuming C# project, because TorchSharp's static constructor tries to load its library once and fails for good:
/// the patch must be in place before anything touches <c>TorchSharp.torch</c>.
/// </remarks>
public static class TorchSharpLoader
{
    /// <summary>The environment variable that controls the loader: unset or <c>auto</c>, <c>off</c>, or <c>force</c>.</summary>
    public const string ModeVariable = "ATTRIBUTION_TORCHSHARP_COMPAT";

    /// <summary>The environment variable that overrides the cache folder of the patched copy (an absolute path).</summary>
    public const string CacheVariable = "ATTRIBUTION_NATIVE_CACHE";

    internal const string LibraryFile = "libLibTorchSharp.so";
    internal const string MissingVersion = "GLIBCXX_3.4.32";
    internal static readonly IReadOnlySet<string> AllowedSymbols = new HashSet<string>(StringComparer.Ordinal) { "_ZSt21ios_base_library_initv" };

    /// <summary>
    /// How long a patched copy of another TorchSharp version must have gone unused before a load removes it: a copy
    /// is dated to its last use (at most a day off), so only versions nothing has started for a month go.
    /// </summary>
    internal static readonly TimeSpan UnusedCopyLifetime = TimeSpan.FromDays(30);

    /// <summary>How old a temporary file in the cache must be before a load removes it as a killed writer's.</summary>
    internal static readonly TimeSpan TemporaryLifetime = TimeSpan.FromHours(1);

    /// <summary>Hex digits of the original's SHA-256 that name its copy's folder.</summary>
    private const int KeyLength = 16;

    private static readonly Lock Gate = new();
    private static IntPtr patchedHandle;

    /// <summary>How TorchSharp's native library was made available (after <see cref="EnsureLoaded"/>).</summary>
    public static TorchLoadMode Mode { get; private set; } = TorchLoadMode.NotAttempted;

    /// <summary>The patched copy in use, when <see cref="Mode"/> is <see cref="TorchLoadMode.Patched"/>.</summary>
    public static string? PatchedLibraryPath { get; private set; }

    /// <summary>Why loading failed, when <see cref="Mode"/> is <see cref="TorchLoadMode.Failed"/>.</summary>
    public static string? Failure { get; private set; }

#pragma warning disable CA2255 // A library module initializer is the point: it must run before TorchSharp's static constructor.
    [ModuleInitializer]
    internal static void Initialize() => TryEnsureLoaded();
#pragma warning restore CA2255

    /// <summary>
    /// Prepares TorchSharp's native library (idempotent, thread-safe) and never throws; returns the mode. Called by
    /// module initializers. Also tunes the C heap for libtorch's large tensors first (<see cref="NativeHeap"/>).
    /// </summary>
    public static TorchLoadMode TryEnsureLoaded()
    {
        // Before the first tensor, so libtorch's first large blocks already come from the tuned heap.
        NativeHeap.TryTune();
        lock (Gate)
        {
            if (Mode != TorchLoadMode.NotAttempted)
            {
                return Mode;
            }

            try
            {
                Mode = Load(Environment.GetEnvironmentVariable(ModeVariable), NativeDirectories(), CacheDirectory);
            }
#pragma warning disable CA1031 // A module initializer must not throw; the reason is kept for EnsureLoaded.
            catch (Exception e)
#pragma warning restore CA1031
            {
                Failure = e.Message;
                Mode = TorchLoadMode.Failed;
            }

            return Mode;
        }
    }

    /// <summary>
    /// Prepares TorchSharp's native library, or throws <see cref="TorchLoadException"/> saying why it cannot be
    /// loaded and what to do.
    /// </summary>
    public static void EnsureLoaded()
    {
        var mode = TryEnsureLoaded();
        if (mode == TorchLoadMode.Failed)
        {
            throw new TorchLoadException(Failure!);
        }
    }

    // The cache folder is asked for only when a copy is patched: a bad cache setting must never stop a stock load.
    internal static TorchLoadMode Load(string? setting, IReadOnlyList<string> nativeDirectories, Func<string> cacheDirectory)
    {
        var mode = (setting ?? string.Empty).Trim().ToLowerInvariant() switch
        {
            "" or "auto" or "on" or "1" => "auto",
            "off" or "0" or "false" => "off",
            "force" => "force",
            _ => throw new TorchLoadException(
                $"{ModeVariable}='{setting}' is not a mode of the TorchSharp compatibility loader; use auto (the default), off or force"),
        };
        if (mode == "off")
        {
            return TryFindLibrary(nativeDirectories, out var found) && Loads(found, out _) ? TorchLoadMode.Disabled : throw new TorchLoadException(
                $"TorchSharp's native library ({LibraryFile}) does not load on this system and the compatibility loader is " +
                $"turned off ({ModeVariable}={setting}). Unset {ModeVariable} to let it patch a private copy, or install a " +
                $"libstdc++ that provides {MissingVersion} (GCC 13 or later).");
        }

        if (!OperatingSystem.IsLinux())
        {
            return TorchLoadMode.NotApplicable;
        }

        if (RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            return TorchLoadMode.NotApplicable;
        }

        if (!TryFindLibrary(nativeDirectories, out var original))
        {
            // Not among the app's folders, but perhaps on the system's library path (LD_LIBRARY_PATH, ld.so.cache), where
            // TorchSharp's own load finds it too: if it loads as it is there, nothing to patch, so the loader stays out of the way.
            return mode == "auto" && Loads(LibraryFile, out _) ? TorchLoadMode.Stock : throw NotFound(nativeDirectories);
        }

        if (mode == "auto")
        {
            if (Loads(original, out var reason))
            {
                return TorchLoadMode.Stock;
            }

            if (!reason.Contains(MissingVersion, StringComparison.Ordinal))
            {
                throw new TorchLoadException(
                    $"TorchSharp's native library {original} does not load, for a reason the compatibility loader cannot fix: {reason}");
            }
        }

        var patched = WritePatchedCopy(original, cacheDirectory());
        var nativeDirectory = Path.GetDirectoryName(original)!;
        foreach (var dependency in new[] { "libc10.so", "libtorch_cpu.so", "libtorch.so" })
        {
            var path = Path.Combine(nativeDirectory, dependency);
            if (!File.Exists(path))
            {
                throw new TorchLoadException(
                    $"{path} is missing: TorchSharp needs a libtorch backend package next to it; reference TorchSharp-cpu " +
                    "(or libtorch-cpu-linux-x64) in the application");
            }

            NativeLibrary.Load(path);
        }

        patchedHandle = NativeLibrary.Load(patched);
        PatchedLibraryPath = patched;
        try
        {
            NativeLibrary.SetDllImportResolver(typeof(TorchSharp.torch).Assembly, Resolve);
        }
        catch (InvalidOperationException)
        {
            // Someone else registered a resolver for TorchSharp; the patched copy is loaded under its SONAME, and the
            // dynamic loader hands it out for later loads by that name.
        }

        return TorchLoadMode.Patched;
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath) =>
        name is "LibTorchSharp" or LibraryFile ? patchedHandle : IntPtr.Zero;

    /// <summary>
    /// Whether the dynamic loader loads <paramref name="library"/> as it is (a path, or a bare name it looks up on the
    /// system's search path); if not, why.
    /// </summary>
    private static bool Loads(string library, out string reason)
    {
        reason = string.Empty;
        try
        {
            NativeLibrary.Free(NativeLibrary.Load(library));
            return true;
        }
        catch (DllNotFoundException e)
        {
            reason = e.Message;
            return false;
        }
    }

    /// <summary>Writes (once) the patched copy of <paramref name="original"/> into the cache and returns its path.</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    internal static string WritePatchedCopy(string original, string cacheDirectory)
    {
        var bytes = File.ReadAllBytes(original);
        byte[] patched;
        try
        {
            patched = ElfVersionPatch.WeakenVersionNeed(bytes, "libstdc++.so.6", MissingVersion, AllowedSymbols);
        }
        catch (ElfPatchException e)
        {
            // Alone, the patcher's reason ("symbol X ... is not in the allow-list") named neither the file nor a way out.
            throw new TorchLoadException(
                $"the compatibility loader will not patch {original} (to make its {MissingVersion} requirement weak): {e.Message}. " +
                $"Install a libstdc++ that provides {MissingVersion} (GCC 13 or later), or use a TorchSharp version whose library loads here");
        }

        var key = Convert.ToHexStringLower(SHA256.HashData(bytes))[..KeyLength];
        try
        {
            var target = WriteToCache(patched, Path.Combine(cacheDirectory, key));
            RemoveLeftovers(cacheDirectory, key);
            return target;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Alone, "Access to the path is denied" or "No space left on device" did not say which folder or what to do.
            throw new TorchLoadException(
                $"cannot write the patched copy of {LibraryFile} into the native cache folder {cacheDirectory}: {e.Message} " +
                $"Make that folder writable (or free space on its disk), or point {CacheVariable} at a private folder that is");
        }
    }

    /// <summary>Writes <paramref name="patched"/> into <paramref name="directory"/> unless an identical copy is there; returns its path.</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private static string WriteToCache(byte[] patched, string directory)
    {
        var cacheDirectory = Path.GetDirectoryName(directory)!;
        CreatePrivateDirectory(cacheDirectory);

        // The folders above it were not checked: one that others may write to lets them swap the whole cache folder.
        FolderOwnership.CheckAbove(cacheDirectory);
        CreatePrivateDirectory(directory);
        var target = Path.Combine(directory, LibraryFile);
        if (File.Exists(target) && File.ReadAllBytes(target).AsSpan().SequenceEqual(patched))
        {
            MarkUsed(target);
            return target;
        }

        var temporary = Path.Combine(directory, $".{LibraryFile}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            File.WriteAllBytes(temporary, patched);
            File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            File.Move(temporary, target, overwrite: true);
        }
        catch
        {
            // A full disk or a failed rename must not leave a partial copy behind: nothing else ever removes it.
            try
            {
                File.Delete(temporary);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The write's own failure is the one to report.
            }

            throw;
        }

        return target;
    }

    /// <summary>
    /// Dates a reused copy to now (at most once a day), so that its write time says when it was last used and
    /// <see cref="RemoveLeftovers"/> never takes a copy that a TorchSharp version still in use loads.
    /// </summary>
    private static void MarkUsed(string copy)
    {
        try
        {
            if (File.GetLastWriteTimeUtc(copy) < DateTime.UtcNow - TimeSpan.FromDays(1))
            {
                File.SetLastWriteTimeUtc(copy, DateTime.UtcNow);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A copy that cannot be dated still loads; at worst it is written again after a removal.
        }
    }

    /// <summary>
    /// Removes what accumulates in the cache: temporary files of writers killed between write and rename (older than
    /// <see cref="TemporaryLifetime"/>; a write takes well under a second), and the copies of other TorchSharp
    /// versions (other keys) unused for <see cref="UnusedCopyLifetime"/>. Never fails the load. A process that still
    /// has such a copy loaded keeps it (the file is only unlinked); one that starts with that version later writes it again.
    /// </summary>
    private static void RemoveLeftovers(string cacheDirectory, string currentKey)
    {
        var now = DateTime.UtcNow;
        try
        {
            foreach (var folder in Directory.EnumerateDirectories(cacheDirectory).ToList())
            {
                var name = Path.GetFileName(folder);
                if (name.Length != KeyLength || !name.All(char.IsAsciiHexDigitLower))
                {
                    continue;
                }

                foreach (var temporary in Directory.EnumerateFiles(folder, $".{LibraryFile}.*.tmp").ToList())
                {
                    if (File.GetLastWriteTimeUtc(temporary) < now - TemporaryLifetime)
                    {
                        File.Delete(temporary);
                    }
                }

                var copy = Path.Combine(folder, LibraryFile);
                if (name == currentKey || Directory.EnumerateFileSystemEntries(folder).Any(e => e != copy))
                {
                    // The copy in use, or a folder with something else in it (a writer at work): left alone.
                    continue;
                }

                var lastUsed = File.Exists(copy) ? File.GetLastWriteTimeUtc(copy) : Directory.GetLastWriteTimeUtc(folder);
                if (lastUsed < now - UnusedCopyLifetime)
                {
                    Directory.Delete(folder, recursive: true);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Cleaning up is a courtesy: the next load tries again.
        }
    }

    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private static void CreatePrivateDirectory(string directory)
    {
        if (!Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        // Its mode alone was checked: a folder owned by another user (who can chmod it back at will) passed.
        FolderOwnership.CheckPrivate(directory);
    }

    private static TorchLoadException NotFound(IReadOnlyList<string> directories) => new(
        $"{LibraryFile} was not found in {string.Join(", ", directories)}; the application must reference TorchSharp " +
        "together with a backend package (TorchSharp-cpu, or libtorch-cpu-linux-x64)");

    private static bool TryFindLibrary(IReadOnlyList<string> directories, out string path)
    {
        foreach (var directory in directories)
        {
            path = Path.Combine(directory, LibraryFile);
            if (File.Exists(path))
            {
                return true;
            }
        }

        path = string.Empty;
        return false;
    }

    /// <summary>The folders the runtime probes for native libraries (from the app's deps.json), then the usual places.</summary>
    internal static IReadOnlyList<string> NativeDirectories()
    {
        var directories = new List<string>();
        if (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") is string probed)
        {
            directories.AddRange(probed.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries));
        }

        var torchSharp = Path.GetDirectoryName(typeof(TorchSharp.torch).Assembly.Location);
        foreach (var baseDirectory in new[] { AppContext.BaseDirectory, torchSharp })
        {
            if (!string.IsNullOrEmpty(baseDirectory))
            {
                directories.Add(baseDirectory);
                directories.Add(Path.Combine(baseDirectory, "runtimes", "linux-x64", "native"));
            }
        }

        return directories.Select(d => Path.GetFullPath(d)).Distinct().ToList();
    }

    private static string CacheDirectory() => CacheDirectory(
        Environment.GetEnvironmentVariable(CacheVariable),
        Environment.GetEnvironmentVariable("XDG_CACHE_HOME"),
        // Unverified: a home folder that does not exist yet made GetFolderPath answer "", and the loader refused to load
        // (the cache folder under it is created as any missing cache folder is).
        HomeFolder.Current,
        HomeFolder.Variable);

    /// <summary>
    /// The cache folder: <see cref="CacheVariable"/> when set (an absolute path), else <c>$XDG_CACHE_HOME/attribution/native</c>
    /// when that is absolute (the XDG spec says to ignore a relative one), else <c>~/.cache/attribution/native</c>, and an
    /// error when the home folder is not an absolute path either, saying why: HOME unset or empty (.NET then asks the
    /// account database, whose answer is <paramref name="home"/>), blank, or relative.
    /// </summary>
    /// <param name="overridden">The value of <see cref="CacheVariable"/>.</param>
    /// <param name="xdgCacheHome">The value of XDG_CACHE_HOME.</param>
    /// <param name="home">The home folder .NET answers (HOME when it is not empty, else the account database's, else "").</param>
    /// <param name="homeVariable">The value of HOME itself (null when unset), to say what went wrong.</param>
    internal static string CacheDirectory(string? overridden, string? xdgCacheHome, string home, string? homeVariable)
    {
        if (!string.IsNullOrEmpty(overridden))
        {
            // A relative path (or blanks) would put a library this process loads wherever the current folder happens to be.
            if (string.IsNullOrWhiteSpace(overridden) || !Path.IsPathFullyQualified(overridden))
            {
                throw new TorchLoadException(
                    $"{CacheVariable}='{overridden}' is not an absolute path; set it to the absolute path of a private folder " +
                    $"(or unset it for {Path.Combine("~", ".cache", "attribution", "native")})");
            }

            return Path.GetFullPath(overridden);
        }

        if (!string.IsNullOrEmpty(xdgCacheHome) && Path.IsPathFullyQualified(xdgCacheHome))
        {
            return Path.Combine(xdgCacheHome, "attribution", "native");
        }

        // A home folder that is not absolute would make ".cache/..." relative to the current folder, as a relative
        // ATTRIBUTION_NATIVE_CACHE would.
        if (HomeFolder.Unusable(home, homeVariable) is { } what)
        {
            throw new TorchLoadException(
                $"{what}, so there is no per-user cache folder for the patched copy of {LibraryFile}; " +
                $"set HOME to an absolute path, or point {CacheVariable} at the absolute path of a private folder");
        }

        return Path.Combine(home, ".cache", "attribution", "native");
    }
}

/// <summary>TorchSharp's native library cannot be loaded; the message says why and what to do.</summary>
public sealed class TorchLoadException(string message) : Exception(message);
