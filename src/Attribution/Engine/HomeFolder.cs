namespace Attribution.Engine;

/// <summary>
/// The user's home folder, as the per-user caches need it (the loader's patched copy of TorchSharp's native library,
/// the default model): one reading of it and one way of saying why it cannot be used.
/// </summary>
internal static class HomeFolder
{
    /// <summary>
    /// The home folder .NET answers, unverified: HOME when it is not empty, else the account database's, else "". A home
    /// that does not exist yet counts (verified, .NET answered "" for it, and a cache under it became relative to the
    /// current folder, or the loader refused to load).
    /// </summary>
    public static string Current => Environment.GetFolderPath(Environment.SpecialFolder.UserProfile, Environment.SpecialFolderOption.DoNotVerify);

    /// <summary>The value of HOME itself (null when unset), to say what went wrong.</summary>
    public static string? Variable => Environment.GetEnvironmentVariable("HOME");

    /// <summary>
    /// Null when <paramref name="home"/> is an absolute path; otherwise what is wrong with it, in words: HOME unset or
    /// empty (.NET then asks the account database, whose answer is <paramref name="home"/>), blank, or relative. A cache
    /// under a home that is not absolute would depend on the current folder.
    /// </summary>
    /// <param name="home">The home folder .NET answers (<see cref="Current"/>).</param>
    /// <param name="homeVariable">The value of HOME (<see cref="Variable"/>).</param>
    public static string? Unusable(string home, string? homeVariable)
    {
        if (!string.IsNullOrWhiteSpace(home) && Path.IsPathFullyQualified(home))
        {
            return null;
        }

        var account = home.Length == 0 ? "the account database gives no home folder either" : $"the account database's home folder '{home}' is not an absolute path";
        return homeVariable switch
        {
            null => $"HOME is unset and {account}",
            "" => $"HOME is set but empty and {account}",
            _ when string.IsNullOrWhiteSpace(homeVariable) => $"HOME is set to blanks ('{homeVariable}'), not an absolute path",
            _ when !Path.IsPathFullyQualified(homeVariable) => $"the home folder '{homeVariable}' is not an absolute path (HOME is relative)",
            _ => $"the home folder '{home}' is not an absolute path (HOME is '{homeVariable}')",
        };
    }
}
