namespace Attribution.Engine;

/// <summary>
/// Why a path that should be a readable file is not one, in words a user can act on: a folder in its place, a
/// symbolic link that loops or points nowhere. File.Exists says only "false" to all of these, and the messages built on
/// it ("does not exist") sent users looking for the wrong problem.
/// </summary>
internal static class FileChecks
{
    /// <summary>What is wrong with <paramref name="path"/> as a file, or null when it is a file or simply absent.</summary>
    public static string? Problem(string path)
    {
        if (Directory.Exists(path))
        {
            return $"{path} is a folder, not a file";
        }

        FileSystemInfo info = new FileInfo(path);
        string? target;
        try
        {
            target = info.LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }

        if (target is null)
        {
            return null;
        }

        try
        {
            var final = info.ResolveLinkTarget(returnFinalTarget: true);
            if (final is null || !final.Exists)
            {
                return $"{path} is a symbolic link to {target}, which does not exist";
            }
        }
        catch (IOException)
        {
            // ELOOP: "Too many levels of symbolic links".
            return $"{path} is a symbolic link that loops back on itself (through {target}); point it at a real file";
        }

        return null;
    }
}
