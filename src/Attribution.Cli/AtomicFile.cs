using Attribution.Engine.Loading;

namespace Attribution.Cli;

/// <summary>
/// Writes a file whole or not at all: into a temporary file in the same folder, then renamed over the target
/// (<see cref="File.Move(string, string, bool)"/>, one rename within one file system). A failure midway (a full disk, a
/// renderer that throws) leaves the previous file as it was and no temporary file behind; writing in place truncated
/// the previous file first and left a partial one.
/// </summary>
internal static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> with what <paramref name="write"/> puts in the stream.</summary>
    /// <param name="path">The file; a symbolic link is written through (its final target is replaced, not the link). A
    /// device, FIFO or socket that exists there (<c>/dev/stdout</c>) is written in place: a rename would replace it.</param>
    /// <param name="write">Writes the content.</param>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
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

        var temporary = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
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
}
