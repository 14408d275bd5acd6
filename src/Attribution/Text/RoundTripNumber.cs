using System.Globalization;

namespace Attribution.Text;

/// <summary>The one way the library writes a double that must read back exactly (JSON, "exact" tooltips, settings, metric values).</summary>
internal static class RoundTripNumber
{
    /// <summary>
    /// The shortest invariant text that reads back to <paramref name="value"/> bit for bit. "R" is that on .NET Core 3.0+,
    /// except that .NET 10 writes two doubles one digit short, 2⁻²⁵ ("2.980232238769531E-08") and 2⁻⁹⁵⁸, which then read
    /// back one ulp below (2⁻²⁵ is a float32 value, so a score can be it): where "R" does not read back, "G17" does.
    /// Its exponent form (1E-07) is valid JSON, and −0 stays −0.
    /// </summary>
    public static string Format(double value)
    {
        var shortest = value.ToString("R", CultureInfo.InvariantCulture);
        return !double.IsFinite(value) || double.Parse(shortest, NumberStyles.Float, CultureInfo.InvariantCulture).Equals(value)
            ? shortest
            : value.ToString("G17", CultureInfo.InvariantCulture);
    }
}
