using System.Text.RegularExpressions;

namespace Attribution.Engine;

/// <summary>
/// Writes a model folder as a whole: the files go into a hidden staging folder beside the target
/// (<c>.NAME.tmp-PID-GUID</c>) and are moved in once all are written, so a failure while writing leaves the target as it
/// was and no staging folder. Staging folders that a killed process left behind are removed by a later write once
/// they are <see cref="StaleAfter"/> old.
/// </summary>
internal static partial class StagedFolder
{
    /// <summary>
    /// How long a staging folder must have gone unchanged before another run removes it: far longer than any write
    /// or training takes, so a folder that a running process is still filling is never touched.
    /// </summary>
    internal static readonly TimeSpan StaleAfter = TimeSpan.FromDays(1);

    /// <summary>The file moved in last, after the target's old copy is removed: a folder without it never loads as a model.</summary>
    internal const string WeightsFile = "model.safetensors";

    private const string Marker = ".tmp-";

    /// <summary>
    /// Runs <paramref name="write"/> on a new staging folder beside <paramref name="directory"/>, then moves its files in
    /// (<see cref="Publish"/>). Whatever happens, the staging folder is gone afterwards.
    /// </summary>
    /// <param name="directory">The target folder.</param>
    /// <param name="parameterName">The argument that named it, for the errors.</param>
    /// <param name="write">Writes the files into the staging folder it is given.</param>
    /// <param name="writerFiles">See <see cref="Publish"/>.</param>
    internal static void Write(string directory, string parameterName, Action<string> write, IReadOnlyCollection<string>? writerFiles = null)
    {
        var target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        var parent = Path.GetDirectoryName(target)
            ?? throw new ArgumentException($"{directory} is a file system root; pass a folder inside one", parameterName);
        if (File.Exists(target))
        {
            // File.Exists is true for a symbolic link that points nowhere (or at a file): "is a file" sent users looking
            // for a file that is not there.
            var link = new FileInfo(target).LinkTarget;
            throw new ArgumentException(
                link is null
                    ? $"{directory} is a file; pass a folder (new or holding a model)"
                    : $"{directory} is a symbolic link to {link}, which is not a folder (it points nowhere or at a file); remove the link, point it at a folder, or pass another folder",
                parameterName);
        }

        Directory.CreateDirectory(parent);
        RemoveStale(parent, Path.GetFileName(target));
        var staging = StagingPath(target);
        try
        {
            Directory.CreateDirectory(staging);
            write(staging);
            Publish(staging, target, writerFiles);
        }
        finally
        {
            TryDelete(staging);
        }
    }

    /// <summary>A new staging path for <paramref name="target"/> (a full path), in the same folder so that moves are renames.</summary>
    internal static string StagingPath(string target) =>
        Path.Combine(Path.GetDirectoryName(target)!, $".{Stem(Path.GetFileName(target))}{Marker}{Environment.ProcessId}-{Guid.NewGuid():N}");

    /// <summary>The most UTF-8 bytes of the target's name a staging name carries.</summary>
    internal const int StemBytes = 150;

    /// <summary>
    /// The target's name as its staging names carry it: whole, or its first <see cref="StemBytes"/> UTF-8 bytes (whole
    /// characters). A staging name adds up to 47 bytes to it, and file systems allow 255 bytes a name: a valid target
    /// name of 210 bytes or more made a staging name the system refused ("File name too long", about a path the
    /// caller never gave).
    /// </summary>
    internal static string Stem(string name)
    {
        var bytes = 0;
        var end = 0;
        foreach (var rune in name.EnumerateRunes())
        {
            if (bytes + rune.Utf8SequenceLength > StemBytes)
            {
                break;
            }

            bytes += rune.Utf8SequenceLength;
            end += rune.Utf16SequenceLength;
        }

        return name[..end];
    }

    /// <summary>
    /// Moves the files of <paramref name="staging"/> into <paramref name="target"/>: the whole folder in one rename when
    /// there is none yet; else file by file over the old ones, with the old <see cref="WeightsFile"/> removed first and
    /// the new one moved in last, so that no moment shows the new config with the old weights as a loadable model. A
    /// file that replaces another gets its permission bits (as <see cref="AtomicFile"/> does).
    /// </summary>
    /// <param name="staging">The staging folder, filled.</param>
    /// <param name="target">The target folder.</param>
    /// <param name="writerFiles">
    /// The names of all the files the writer ever writes there, or null: those of them in <paramref name="target"/> that
    /// this write did not produce are left over from an earlier write and describe something else, so they are removed
    /// (before the weights move in). Files of other names are never touched: the writer did not write them.
    /// </param>
    internal static void Publish(string staging, string target, IReadOnlyCollection<string>? writerFiles = null)
    {
        if (!Directory.Exists(target))
        {
            try
            {
                Directory.Move(staging, target);
                return;
            }
            catch (IOException) when (Directory.Exists(target))
            {
                // Created meanwhile: move the files in one by one.
            }
        }

        var files = Directory.GetFiles(staging);
        var weights = files.FirstOrDefault(f => Path.GetFileName(f) == WeightsFile);

        // Each file replaced keeps the mode of the one it replaces (a folder's files restricted to 0600 came back 0644).
        foreach (var file in files)
        {
            AtomicFile.KeepMode(Path.Combine(target, Path.GetFileName(file)), file);
        }

        if (weights is not null)
        {
            File.Delete(Path.Combine(target, WeightsFile));
        }

        foreach (var file in files.Where(f => f != weights).Order(StringComparer.Ordinal))
        {
            File.Move(file, Path.Combine(target, Path.GetFileName(file)), overwrite: true);
        }

        foreach (var stale in (writerFiles ?? []).Except(files.Select(Path.GetFileName).OfType<string>(), StringComparer.Ordinal))
        {
            File.Delete(Path.Combine(target, stale));
        }

        if (weights is not null)
        {
            File.Move(weights, Path.Combine(target, WeightsFile), overwrite: true);
        }
    }

    /// <summary>
    /// Deletes the staging folders of <paramref name="name"/> (all names when null) in <paramref name="parent"/> that
    /// nothing has written to for <see cref="StaleAfter"/>: what a process killed while writing left behind.
    /// </summary>
    internal static void RemoveStale(string parent, string? name = null)
    {
        List<string> folders;
        try
        {
            // Matched in code, not by a search pattern, where a '*' or '?' in the name would widen the match.
            folders = Directory.EnumerateDirectories(parent).Where(f => StagingName().Match(Path.GetFileName(f)) is { Success: true } m
                && (name is null || m.Groups["target"].Value == Stem(name))).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }

        var cutoff = DateTime.UtcNow - StaleAfter;
        foreach (var folder in folders)
        {
            if (LastWrite(folder) is { } last && last < cutoff)
            {
                TryDelete(folder);
            }
        }
    }

    /// <summary>The latest write time of the folder and everything in it; null when it cannot be read (then it is left alone).</summary>
    private static DateTime? LastWrite(string folder)
    {
        try
        {
            var latest = Directory.GetLastWriteTimeUtc(folder);
            foreach (var entry in Directory.EnumerateFileSystemEntries(folder, "*", SearchOption.AllDirectories))
            {
                var time = File.GetLastWriteTimeUtc(entry);
                if (time > latest)
                {
                    latest = time;
                }
            }

            return latest;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>A name <see cref="StagingPath"/> makes: the target's name, the process id and a GUID.</summary>
    [GeneratedRegex(@"^\.(?<target>.+)\.tmp-[0-9]+-[0-9a-f]{32}$", RegexOptions.CultureInvariant)]
    private static partial Regex StagingName();

    /// <summary>Deletes a folder if it can; a leftover is harmless and is retried later.</summary>
    internal static void TryDelete(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: the staging folder is hidden, and RemoveStale takes it once it is old.
        }
    }
}
