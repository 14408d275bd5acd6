using System.Globalization;

namespace Attribution.Tests;

/// <summary>
/// Cultures for tests that check numbers are written (or read) the same under any culture. Built from the invariant
/// culture rather than looked up ("de-DE"): in .NET's globalization-invariant mode (DOTNET_SYSTEM_GLOBALIZATION_INVARIANT,
/// no ICU) only the invariant culture exists, and GetCultureInfo("de-DE") threw CultureNotFoundException there.
/// </summary>
internal static class TestCultures
{
    /// <summary>A culture writing decimals as German does: 1.234,5 (comma for decimals, dot between thousands).</summary>
    public static CultureInfo DecimalComma
    {
        get
        {
            var culture = (CultureInfo)CultureInfo.InvariantCulture.Clone();
            culture.NumberFormat.NumberDecimalSeparator = ",";
            culture.NumberFormat.NumberGroupSeparator = ".";
            culture.NumberFormat.PercentDecimalSeparator = ",";
            culture.NumberFormat.PercentGroupSeparator = ".";
            culture.NumberFormat.CurrencyDecimalSeparator = ",";
            culture.NumberFormat.CurrencyGroupSeparator = ".";
            return CultureInfo.ReadOnly(culture);
        }
    }
}
