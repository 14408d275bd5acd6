using System.Runtime.CompilerServices;

namespace Attribution.Tests;

/// <summary>
/// Locates ../shared (reference data beside the repository). Tests that need it call
/// <see cref="Require"/>, which skips them with the reason when it is absent (CI always has it).
/// </summary>
public static class SharedData
{
    private static readonly Lazy<string?> Root = new(() => Find());

    /// <summary>The shared folder, or null when it is not beside the repository.</summary>
    public static string? Directory => Root.Value;

    /// <summary>The full path of a file under shared/, skipping the test when shared/ or the file is absent.</summary>
    public static string Require(string relativePath)
    {
        var root = Root.Value;
        Skip.If(root is null, "../shared (reference data) is not beside the repository; set ATTRIBUTION_SHARED_DIR to run this test");
        var path = Path.Combine(root!, relativePath);
        Skip.If(!File.Exists(path) && !System.IO.Directory.Exists(path), $"{relativePath} is missing from {root}");
        return path;
    }

    private static string? Find([CallerFilePath] string sourceFile = "")
    {
        var configured = Environment.GetEnvironmentVariable("ATTRIBUTION_SHARED_DIR");
        if (!string.IsNullOrEmpty(configured) && System.IO.Directory.Exists(configured))
        {
            return Path.GetFullPath(configured);
        }

        // Walk up from the test binaries and from this source file to the folder that holds the
        // repository, then look for shared/ beside it.
        foreach (var start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(sourceFile) ?? string.Empty })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Attribution.sln")))
                {
                    var candidate = Path.Combine(dir.Parent?.FullName ?? dir.FullName, "shared");
                    return System.IO.Directory.Exists(candidate) ? candidate : null;
                }
            }
        }

        return null;
    }
}
