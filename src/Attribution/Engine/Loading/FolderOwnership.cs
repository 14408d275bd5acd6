using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Attribution.Engine.Loading;

/// <summary>
/// Who owns a folder and who else may write to it, for the native cache that <see cref="TorchSharpLoader"/> loads a
/// library from: whoever can write to the cache folder, or to any folder above it, can swap the library this process
/// loads. .NET reads modes (<see cref="File.GetUnixFileMode(string)"/>) but not owners, hence <c>statx</c> (one layout
/// on every architecture) and <c>geteuid</c> from glibc.
/// </summary>
[SupportedOSPlatform("linux")]
internal static class FolderOwnership
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxType = 0x1;
    private const uint StatxMode = 0x2;
    private const uint StatxUid = 0x8;
    private const int FileTypeMask = 0xF000;
    private const int SymbolicLink = 0xA000;
    private const int RegularFile = 0x8000;

    private const UnixFileMode OthersWrite = UnixFileMode.GroupWrite | UnixFileMode.OtherWrite;

    /// <summary>The process's effective user id: the user whose files it may trust.</summary>
    public static uint CurrentUser => geteuid();

    /// <summary>The owner and permission bits of <paramref name="path"/> (not following a final symbolic link), and whether it is one.</summary>
    /// <exception cref="IOException">It cannot be examined (the C library's reason).</exception>
    /// <exception cref="TorchLoadException">The C library predates statx (glibc 2.28).</exception>
    public static (uint Owner, UnixFileMode Mode, bool IsLink) Examine(string path)
    {
        // struct statx: stx_uid at byte 20, stx_mode (type and permission bits) at byte 28; 256 bytes in all.
        Span<byte> buffer = stackalloc byte[256];
        int result;
        try
        {
            unsafe
            {
                fixed (byte* statx = buffer)
                {
                    result = Statx(AtFdCwd, path, AtSymlinkNoFollow, StatxType | StatxMode | StatxUid, statx);
                }
            }
        }
        catch (EntryPointNotFoundException)
        {
            throw new TorchLoadException(
                $"cannot tell who owns {path}: this C library has no statx (glibc has it from 2.28); the compatibility loader " +
                "loads a patched library only from folders it can check");
        }

        if (result != 0)
        {
            throw new IOException($"cannot examine {path}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }

        var mode = BitConverter.ToUInt16(buffer[28..]);
        return (BitConverter.ToUInt32(buffer[20..]), (UnixFileMode)(mode & 0xFFF), (mode & FileTypeMask) == SymbolicLink);
    }

    /// <summary>
    /// What makes <paramref name="folder"/> unsafe to load from, or null. A cache folder (<paramref name="above"/> null)
    /// must be owned by <paramref name="user"/> and writable by no one else. A folder above the cache folder
    /// <paramref name="above"/> may also be owned by root, and writable by others only with the sticky bit (as /tmp is:
    /// then no one but an entry's owner can rename or remove it).
    /// </summary>
    public static string? Problem(string folder, uint owner, UnixFileMode mode, uint user, string? above)
    {
        if (above is null)
        {
            if (owner != user)
            {
                return $"the native cache folder {folder} is owned by user {owner}, not by this process's user {user}, who could " +
                    "replace the library loaded from it; refusing to load a library from it. Remove it (it is written again), or " +
                    $"point {TorchSharpLoader.CacheVariable} at a private folder";
            }

            return (mode & OthersWrite) != 0
                ? $"the native cache folder {folder} is writable by other users (mode {Octal(mode)}); refusing to load a library from it. " +
                    $"Run chmod go-w on it, or point {TorchSharpLoader.CacheVariable} at a private folder"
                : null;
        }

        if (owner != user && owner != 0)
        {
            return $"the folder {folder}, above the native cache folder {above}, is owned by user {owner} (neither this process's " +
                $"user {user} nor root), who could swap the cache folder and the library loaded from it; refusing to load a " +
                $"library from it. Point {TorchSharpLoader.CacheVariable} at a private folder whose parents only you and root own";
        }

        return (mode & OthersWrite) != 0 && (mode & UnixFileMode.StickyBit) == 0
            ? $"the folder {folder}, above the native cache folder {above}, is writable by other users (mode {Octal(mode)}) without the " +
                "sticky bit, so they could swap the cache folder and the library loaded from it; refusing to load a library " +
                $"from it. Run chmod go-w (or chmod +t) on {folder}, or point {TorchSharpLoader.CacheVariable} at a private folder"
            : null;
    }

    /// <summary>
    /// Whether <paramref name="path"/>, a final symbolic link followed, is a regular file: false when it is missing or
    /// cannot be examined, and for a folder, a device (<c>/dev/stdout</c>, <c>/dev/null</c>), a FIFO or a socket, which a
    /// writer must write in place rather than replace by renaming a new file over them.
    /// </summary>
    public static bool IsRegularFile(string path)
    {
        Span<byte> buffer = stackalloc byte[256];
        int result;
        try
        {
            unsafe
            {
                fixed (byte* statx = buffer)
                {
                    result = Statx(AtFdCwd, path, 0, StatxType, statx);
                }
            }
        }
        catch (EntryPointNotFoundException)
        {
            return File.Exists(path);
        }

        return result == 0 && (BitConverter.ToUInt16(buffer[28..]) & FileTypeMask) == RegularFile;
    }

    /// <summary>A mode as <c>chmod</c> and <c>stat</c> write it (e.g. <c>1777</c>, <c>0775</c>): UnixFileMode's own text lists every flag by name.</summary>
    internal static string Octal(UnixFileMode mode) => Convert.ToString((int)mode & 0xFFF, 8).PadLeft(4, '0');

    /// <summary>Throws <see cref="TorchLoadException"/> when a cache folder (one the loader created or found) is not private.</summary>
    public static void CheckPrivate(string folder)
    {
        var (owner, mode, _) = Examine(folder);
        if (Problem(folder, owner, mode, CurrentUser, above: null) is { } problem)
        {
            throw new TorchLoadException(problem);
        }
    }

    /// <summary>
    /// Throws <see cref="TorchLoadException"/> when a folder above <paramref name="cacheFolder"/> lets another user swap it:
    /// every folder up to the root on its path as given and on its real path (symbolic links resolved); a symbolic link
    /// itself is skipped (its own permission bits mean nothing; the folder holding it is checked, and so is its target).
    /// </summary>
    public static void CheckAbove(string cacheFolder)
    {
        var user = CurrentUser;
        var given = Path.GetFullPath(cacheFolder);
        var real = RealPath(given);
        foreach (var start in real == given ? [given] : new[] { given, real })
        {
            for (var folder = Path.GetDirectoryName(start); folder is not null; folder = Path.GetDirectoryName(folder))
            {
                var (owner, mode, isLink) = Examine(folder);
                if (!isLink && Problem(folder, owner, mode, user, cacheFolder) is { } problem)
                {
                    throw new TorchLoadException(problem);
                }
            }
        }
    }

    private static string RealPath(string path)
    {
        var resolved = realpath(path, IntPtr.Zero);
        if (resolved == IntPtr.Zero)
        {
            throw new IOException($"cannot resolve {path}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }

        try
        {
            return Marshal.PtrToStringUTF8(resolved)!;
        }
        finally
        {
            free(resolved);
        }
    }

#pragma warning disable SA1300, IDE1006 // C names.
    [DllImport("libc.so.6", EntryPoint = "statx", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern unsafe int Statx(int directory, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte* statx);

    [DllImport("libc.so.6")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern uint geteuid();

    [DllImport("libc.so.6", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern IntPtr realpath([MarshalAs(UnmanagedType.LPUTF8Str)] string path, IntPtr resolved);

    [DllImport("libc.so.6")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern void free(IntPtr pointer);
#pragma warning restore SA1300, IDE1006
}
