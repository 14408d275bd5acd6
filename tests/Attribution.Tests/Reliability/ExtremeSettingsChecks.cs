using System.Globalization;
using Attribution.Methods;

namespace Attribution.Tests.Reliability;

/// <summary>The checks both extreme-settings audits make of a setting that works and of one that is refused.</summary>
internal static class ExtremeSettingsChecks
{
    /// <summary>A setting that works gives finite token and word scores (for each explanation the run returned).</summary>
    public static void ScoresAreFinite(object? result)
    {
        foreach (var e in result is IEnumerable<Explanation> list ? list : result is Explanation one ? [one] : [])
        {
            e.Scores.Should().OnlyContain(s => double.IsFinite(s), "a setting that works gives finite scores");
            e.Words.Should().OnlyContain(w => double.IsFinite(w.Score));
        }
    }

    /// <summary>
    /// The refusal's message names <paramref name="value"/>. .NET writes an ArgumentOutOfRangeException's actual value in
    /// the current culture (de-DE: 0,5000001 and ∞, where CI's invariant culture writes 0.5000001 and Infinity); the
    /// library's own text writes the invariant form. Either names the value.
    /// </summary>
    public static void MessageNamesTheValue(ArgumentException error, string value)
    {
        var local = double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
            ? number.ToString(CultureInfo.CurrentCulture)
            : value;
        (error.Message.Contains(value, StringComparison.Ordinal) || error.Message.Contains(local, StringComparison.Ordinal))
            .Should().BeTrue($"the message names the value {value} (or {local} in the current culture): {error.Message}");
    }
}
