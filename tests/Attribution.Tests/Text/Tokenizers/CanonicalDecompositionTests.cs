using System.Globalization;
using System.Text;
using Attribution.Text.Tokenizers;

namespace Attribution.Tests.Text.Tokenizers;

/// <summary>
/// The library's own canonical decomposition table (used where .NET cannot decompose: globalization-invariant mode,
/// no ICU) against .NET's ICU <c>Normalize(FormD)</c> in this process, which is an independent implementation
/// (libicu; 72.1, Unicode 15.0, where this was written) of the same Unicode data. Exact comparison: both are strings.
/// </summary>
public sealed class CanonicalDecompositionTests
{
    private static bool IcuDecomposes() => "\u00E9".Normalize(NormalizationForm.FormD) == "e\u0301";

    /// <summary>
    /// Every code point (surrogates aside): the table's decomposition equals ICU's, or the table refuses the code point
    /// because it is newer than the table's Unicode version and may decompose. Which ones ICU decomposes and the table
    /// refuses depends on the installed ICU: none with ICU 72 (Unicode 15.0 added no decomposition); Unicode 16.0
    /// added some (Kirat Rai, Gurung Khema, Tulu-Tigalari, Todhri), refused here (see the next test).
    /// U+FFFE is skipped: .NET's Normalize refuses that noncharacter with an ArgumentException; the table leaves it.
    /// </summary>
    [SkippableFact]
    public void Table_decomposes_every_code_point_as_icu_does_or_refuses_a_newer_one()
    {
        Skip.IfNot(IcuDecomposes(), "this process has no ICU to compare with (globalization-invariant mode)");

        var differing = new List<string>();
        var refusedButIcuDecomposes = new List<int>();
        var refused = 0;
        for (var codePoint = 0; codePoint <= 0x10FFFF; codePoint++)
        {
            if (codePoint is (>= 0xD800 and <= 0xDFFF) or 0xFFFE)
            {
                continue;
            }

            var rune = new Rune(codePoint);
            var text = rune.ToString();
            var icu = text.Normalize(NormalizationForm.FormD);
            string table;
            try
            {
                table = BertCharacters.DecomposeByTable(rune);
            }
            catch (PlatformNotSupportedException)
            {
                refused++;
                if (icu != text)
                {
                    refusedButIcuDecomposes.Add(codePoint);
                }

                continue;
            }

            if (table != icu)
            {
                differing.Add($"U+{codePoint:X4}: table {Hex(table)}, ICU {Hex(icu)}");
            }
        }

        differing.Should().BeEmpty();
        refusedButIcuDecomposes.Where(c => c < 0x10000).Should().BeEmpty("Unicode 15.0 and 16.0 added decompositions only to astral scripts");

        // The refused code points are newer than Unicode 14.0 and letters or marks; .NET 10's tables (Unicode 16.0) know
        // a few thousand such (Unicode 15.0 and 16.0 added 4,489 and 5,185 characters, most of them letters).
        refused.Should().BeInRange(1000, 12000);
    }

    /// <summary>
    /// The table's notion of "newer": the code points assigned in Unicode 14.0. Unicode 14.0 has 144,697 characters
    /// (graphic and format, the published count), plus 65 controls, 137,468 private-use code points and 2,048
    /// surrogates: 284,278 code points that are not Cn.
    /// </summary>
    [Fact]
    public void The_assigned_ranges_hold_as_many_code_points_as_unicode_14_assigns()
    {
        CanonicalDecompositionData.UnicodeVersion.Should().Be("14.0.0");
        var ranges = CanonicalDecompositionData.Assigned;
        long count = 0;
        for (var i = 0; i < ranges.Length; i += 2)
        {
            count += ranges[i + 1] - ranges[i] + 1;
        }

        count.Should().Be(144_697 + 65 + 137_468 + 2_048);
    }

    /// <summary>
    /// The lookup over those ranges, for every code point: exactly the 284,278 of Unicode 14.0 are not newer (a range's
    /// first or last code point missed or added would change the count by hundreds), and every code point that even
    /// .NET 10's later tables (Unicode 16.0) leave unassigned is newer.
    /// </summary>
    [Fact]
    public void Every_code_point_is_newer_than_the_table_exactly_when_unicode_14_leaves_it_unassigned()
    {
        var known = 0;
        var unassignedButKnown = new List<int>();
        for (var codePoint = 0; codePoint <= 0x10FFFF; codePoint++)
        {
            if (!BertCharacters.IsNewerThanTable(codePoint))
            {
                known++;
                if (System.Globalization.CharUnicodeInfo.GetUnicodeCategory(codePoint) == System.Globalization.UnicodeCategory.OtherNotAssigned)
                {
                    unassignedButKnown.Add(codePoint);
                }
            }
        }

        known.Should().Be(144_697 + 65 + 137_468 + 2_048);
        unassignedButKnown.Should().BeEmpty();
    }

    /// <summary>
    /// Decompositions by hand from the Unicode data: recursive ones (U+1E69 ṩ = s + dot below + dot above, in canonical
    /// order: dot below, class 220, before dot above, 230), singletons (Ohm sign, Angstrom sign, a compatibility
    /// ideograph), Greek with tonos and dialytika, Cyrillic й and ё, Vietnamese ệ, and Hangul syllables by the
    /// algorithm (각 = ᄀ ᅡ ᆨ; 가 has no final consonant). Characters without a decomposition stay as they are.
    /// </summary>
    [Theory]
    [InlineData("\u00E9", "e\u0301")]
    [InlineData("\u1E69", "s\u0323\u0307")]
    [InlineData("\u2126", "\u03A9")]
    [InlineData("\u212B", "A\u030A")]
    [InlineData("\U0002F800", "\u4E3D")]
    [InlineData("\u0390", "\u03B9\u0308\u0301")]
    [InlineData("\u0439", "\u0438\u0306")]
    [InlineData("\u0451", "\u0435\u0308")]
    [InlineData("\u1EC7", "e\u0323\u0302")]
    [InlineData("\uAC01", "\u1100\u1161\u11A8")]
    [InlineData("\uAC00", "\u1100\u1161")]
    [InlineData("\uD7A3", "\u1112\u1175\u11C2")]
    [InlineData("\u2260", "=\u0338")]
    [InlineData("\u0111", "\u0111")]
    [InlineData("\u043F", "\u043F")]
    [InlineData("\u4E2D", "\u4E2D")]
    [InlineData("\U0001F600", "\U0001F600")]
    public void Hand_checked_decompositions(string character, string expected) =>
        BertCharacters.DecomposeByTable(Rune.GetRuneAt(character, 0)).Should().Be(expected);

    /// <summary>
    /// Newer than Unicode 14.0: Kirat Rai's vowel sign AI (U+16D68, Unicode 16.0, which decomposes into two U+16D67),
    /// Gurung Khema's U+16121 (a mark), Cyrillic Tje (U+1C89, Unicode 16.0) are refused naming the character, the mode
    /// and the fix; a newer emoji (U+1FA77 pink heart, Unicode 15.0) is not. The rule reads .NET's categories of the
    /// character, so .NET must know it: .NET 10's tables are Unicode 16.0.
    /// </summary>
    [Fact]
    public void Newer_letters_and_marks_are_refused_newer_symbols_are_not()
    {
        foreach (var codePoint in new[] { 0x16D68, 0x16121, 0x1C89 })
        {
            var act = () => BertCharacters.DecomposeByTable(new Rune(codePoint));
            act.Should().Throw<PlatformNotSupportedException>()
                .WithMessage($"*DOTNET_SYSTEM_GLOBALIZATION_INVARIANT*(U+{codePoint:X4})*Unicode 14.0.0*Install ICU (libicu) and turn invariant mode off, or remove the character");
        }

        BertCharacters.DecomposeByTable(new Rune(0x1FA77)).Should().Be("\U0001FA77");
    }

    /// <summary>
    /// U+FFFE (a noncharacter) has no decomposition (Unicode data; Python's unicodedata.normalize leaves it), and reaches
    /// the decomposition when a BertNormalizer has clean_text off. .NET's Normalize throws an ArgumentException on it
    /// ("invalid Unicode code points", blaming its own parameter), so such text failed with ICU and passed without.
    /// </summary>
    [Fact]
    public void The_noncharacter_U_FFFE_stays_as_it_is_with_and_without_icu()
    {
        BertCharacters.Decompose(new Rune(0xFFFE)).Should().Be("\uFFFE");
        BertCharacters.DecomposeByTable(new Rune(0xFFFE)).Should().Be("\uFFFE");
    }

    private static string Hex(string text) => string.Join(' ', text.EnumerateRunes().Select(r => r.Value.ToString("X4", CultureInfo.InvariantCulture)));
}
