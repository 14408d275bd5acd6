using Attribution.Text.Tokenizers;

namespace Attribution.Tests.Text.Tokenizers;

/// <summary>
/// The CJK ideograph ranges BERT's normalizer sets apart, bound by bound, against Hugging Face tokenizers'
/// <c>is_chinese_char</c> (normalizers/bert.rs), copied here as the eight inclusive ranges it lists. Every first and
/// last code point of a range is inside; the code points just outside are outside unless the next range starts there.
/// </summary>
public sealed class BertCharactersTests
{
    private static readonly (int First, int Last)[] HuggingFaceRanges =
    [
        (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
        (0x2B740, 0x2B81F), (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F),
    ];

    private static bool InReference(int codePoint) => HuggingFaceRanges.Any(r => codePoint >= r.First && codePoint <= r.Last);

    [Fact]
    public void Every_range_bound_and_its_neighbours_match_Hugging_Face()
    {
        var probes = HuggingFaceRanges.SelectMany(r => new[] { r.First - 1, r.First, r.First + 1, r.Last - 1, r.Last, r.Last + 1 }).ToArray();
        foreach (var codePoint in probes)
        {
            BertCharacters.IsCjk(codePoint).Should().Be(InReference(codePoint), $"U+{codePoint:X4}");
        }

        // The gap Python's BasicTokenizer fills and Hugging Face tokenizers does not: U+2B820..U+2B91F.
        BertCharacters.IsCjk(0x2B820).Should().BeFalse();
        BertCharacters.IsCjk(0x2B91F).Should().BeFalse();
    }

    [Fact]
    public void Hangul_kana_and_fullwidth_forms_are_not_set_apart()
    {
        // Korean and Japanese kana are written with spaces between words, so BERT does not split them per character.
        foreach (var codePoint in new[] { 0xAC00, 0x3042, 0x30A2, 0xFF21, 0x3000, 0x3001 })
        {
            BertCharacters.IsCjk(codePoint).Should().BeFalse($"U+{codePoint:X4}");
        }
    }

    /// <summary>
    /// Which characters newer than the decomposition table the tokenizer refuses in .NET's globalization-invariant mode
    /// (where it decomposes with its own Unicode 14.0 table): those NFD may change. By hand from the Unicode data: since
    /// Unicode 3.2 only letters and marks (Lo, Mc, Mn) were given decompositions, so accented Latin, Greek, Cyrillic, Hangul
    /// and kana letters, the CJK compatibility ideographs (U+F900…, U+2F800…: they decompose to unified ones), spacing
    /// (U+0903) and non-spacing (U+0301) marks; not ASCII (letters, '^', '`'), CJK unified ideographs, separators, emoji,
    /// punctuation or modifier symbols (U+00B4, the Greek question mark and ano teleia decompose, but have since Unicode 1.1,
    /// so the table answers for them).
    /// </summary>
    [Theory]
    [InlineData(0x00E9, true)]
    [InlineData(0x03A9, true)]
    [InlineData(0x0436, true)]
    [InlineData(0xAC00, true)]
    [InlineData(0x30A2, true)]
    [InlineData(0xF900, true)]
    [InlineData(0x2F800, true)]
    [InlineData(0x0903, true)]
    [InlineData(0x00B4, false)]
    [InlineData(0x037E, false)]
    [InlineData(0x0387, false)]
    [InlineData('a', false)]
    [InlineData('^', false)]
    [InlineData('`', false)]
    [InlineData(';', false)]
    [InlineData(0x4E2D, false)]
    [InlineData(0x20000, false)]
    [InlineData(0x2028, false)]
    [InlineData(0x00A0, false)]
    [InlineData(0x1F600, false)]
    [InlineData(0x0301, true)]
    [InlineData(0x00BF, false)]
    public void Characters_nfd_may_change_are_the_ones_refused_without_icu(int codePoint, bool may) =>
        BertCharacters.MayDecompose(new System.Text.Rune(codePoint)).Should().Be(may, $"U+{codePoint:X4}");
}
