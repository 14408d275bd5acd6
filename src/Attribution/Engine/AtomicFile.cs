using Attribution.Engine.Loading;

namespace Attribution.Engine;

/// <summary>
/// Writes a file whole or not at all: into a temporary file in the same folder, then renamed over the target
/// (<see cref="File.Move(string, string, bool)"/>, one rename within one file system). A failure midway (a full disk, a
/// renderer that throws) leaves the previous file as it was and no temporary file behind; writing in place truncated
/// the previous file first and left a partial one. The one such helper: the CLI's outputs and the library's
/// safetensors files go through it.
/// </summary>
internal static class AtomicFile
{
    /// <summary>The permission bits (rwx for user, group and others) an existing file passes on to its replacement.</summary>
    private const UnixFileMode PermissionBits = (UnixFileMode)0x1FF;

    /// <summary>Writes <paramref name="path"/> with what <paramref name="write"/> puts in the stream.</summary>
    /// <param name="path">The file. An existing regular file's permission bits (e.g. 0600 or 0640) are given to the
    /// new one: the rename would otherwise give it the temporary file's default mode (0644 under the usual umask),
    /// widening a file its user had restricted. A new file gets the default mode. (Ownership and the setuid, setgid and
    /// sticky bits are not carried over.)</param>
    /// <param name="write">Writes the content.</param>
    /// <param name="replaceLink">False (the CLI's outputs): a symbolic link is written through (its final target is
    /// replaced, not the link), and a device, FIFO or socket that exists there (<c>/dev/stdout</c>) is written in place,
    /// as a rename would replace it. True (<see cref="SafeTensors"/>' documented behaviour): whatever is at
    /// <paramref name="path"/>, a link included, is replaced by the new file.</param>
    public static void Write(string path, Action<Stream> write, bool replaceLink = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        if (!replaceLink)
        {
            if (Path.Exists(path) && new FileInfo(path) is { LinkTarget: not null } link && link.ResolveLinkTarget(returnFinalTarget: true) is { } target)
            {
                path = target.FullName;
            }

            if (Path.Exists(path) && !Directory.Exists(path) && OperatingSystem.IsLinux() && !FolderOwnership.IsRegularFile(path))
            {
                using var direct = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read);
                write(direct);
                return;
            }
        }

        var full = Path.GetFullPath(path);

        // Named after the file, cut to StagedFolder's stem: a valid name near the file systems' 255-byte limit plus the
        // suffix made a temporary name the system refused ("File name too long", about a path the caller never gave).
        var temporary = Path.Combine(Path.GetDirectoryName(full)!, $".{StagedFolder.Stem(Path.GetFileName(full))}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, BufferSize = 1 << 16 };
        UnixFileMode? keep = null;
        if (!OperatingSystem.IsWindows() && File.Exists(full) && new FileInfo(full).LinkTarget is null)
        {
            // Created with at most the old file's permissions, so the content is never readable more widely while it is
            // written, then given exactly those (the umask may have removed some).
            keep = File.GetUnixFileMode(full) & PermissionBits;
            options.UnixCreateMode = keep.Value;
        }

        try
        {
            using (var stream = new FileStream(temporary, options))
            {
                if (keep is { } mode && !OperatingSystem.IsWindows())
                {
                    File.SetUnixFileMode(stream.SafeFileHandle, mode);
                }

                write(stream);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, full, overwrite: true);
        }
        catch (Exception)
        {
            try
            {
                File.Delete(temporary);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The original failure is the one to report.
            }

            throw;
        }
    }

    /// <summary>
    /// Gives <paramref name="replacement"/> the permission bits of <paramref name="existing"/> when that is a regular
    /// file (not a link), before it is renamed over it; nothing on Windows or when there is no such file.
    /// </summary>
    internal static void KeepMode(string existing, string replacement)
    {
        if (!OperatingSystem.IsWindows() && File.Exists(existing) && new FileInfo(existing).LinkTarget is null)
        {
            File.SetUnixFileMode(replacement, File.GetUnixFileMode(existing) & PermissionBits);
        }
    }
}
