namespace Attribution.Methods.Internal;

/// <summary>Checks of enum settings, made with the other settings before any forward pass.</summary>
internal static class EnumSettings
{
    /// <summary>
    /// Throws unless <paramref name="value"/> is one of <typeparamref name="T"/>'s defined values (a cast integer would
    /// otherwise be taken for another value by the comparisons that read it, or fail mid-run).
    /// </summary>
    /// <param name="value">The setting's value.</param>
    /// <param name="setting">The setting, as the message names it (<c>Rule</c>, <c>options.Granularity</c>).</param>
    /// <param name="parameter">The parameter the exception names, where the setting is a member of one (<c>options</c>); the setting itself when null.</param>
    public static void Check<T>(T value, string setting, string? parameter = null)
        where T : struct, Enum
    {
        if (!Enum.IsDefined(value))
        {
            throw new ArgumentOutOfRangeException(parameter ?? setting, value,
                $"{setting} {value} is not a {typeof(T).Name}: use one of {string.Join(", ", Enum.GetNames<T>())}");
        }
    }
}
