using Attribution.Text.Tokenizers;

namespace Attribution.Tests.Text.Tokenizers;

/// <summary>
/// Characters the golden files do not cover, through bert-base-uncased's normalization (clean text, CJK, strip accents,
/// lower-case) and pre-tokenization, with tokens and offsets worked out by hand from Hugging Face's definitions:
/// cleaning drops NUL, U+FFFD and categories Cc, Cf, Cs, Co, Cn except \t \n \r (so U+0085, \v, \f and U+001F join
/// the letters around them); White_Space splits; punctuation is ASCII 33–47, 58–64, 91–96, 123–126 plus P*; accents
/// are stripped by NFD and dropping Mn; lower-casing is per character (no final sigma).
/// </summary>
public class WordPieceUnicodeTests
{
    private static readonly string[] Vocabulary =
    [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "ab", "cd", "ef", "gh", "a", "b", "c", "d", "u", "v", "w", "x", "y", "z",
        "¿", "«", "_", "^", "`", "~", "|", "+", "€", "##b", "©", "\u1112", "##\u1161", "##\u11AB", "οδοσ", "οδος",
    ];

    public static TheoryData<string, string[], (int, int)[]> Cases => new()
    {
        // Control characters outside \t \n \r are removed, not turned into spaces: the letters around them join.
        { "a\u0085b c\u000Bd e\u001Ff g\u000Ch", ["ab", "cd", "ef", "gh"], [(0, 3), (4, 7), (8, 11), (12, 15)] },
        // No-break, ideographic, line and paragraph separators and Ogham space mark are whitespace.
        { "x\u00A0y\u3000z\u2028w\u2029v\u1680u", ["x", "y", "z", "w", "v", "u"], [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (10, 11)] },
        // Format characters (ZWJ, BOM, soft hyphen, word joiner) are removed; a token's span still covers what it spans.
        { "a\u200Db \uFEFFc \u00ADd\u2060", ["ab", "c", "d"], [(0, 3), (5, 6), (8, 9)] },
        // ASCII symbols in the BERT ranges and Unicode P* are split off; € (Sc) and © (So) are not punctuation.
        { "¿a« _^`~|+ €b ©", ["¿", "a", "«", "_", "^", "`", "~", "|", "+", "€", "##b", "©"],
            [(0, 1), (1, 2), (2, 3), (4, 5), (5, 6), (6, 7), (7, 8), (8, 9), (9, 10), (11, 12), (12, 13), (14, 15)] },
        // A lone combining mark vanishes; marks inside a word leave the letters joined, the span covering them.
        { "\u0301 a\u0301\u0301b", ["ab"], [(2, 6)] },
        // NFD splits a Hangul syllable into its jamo, each spanning the syllable.
        { "\uD55C", ["\u1112", "##\u1161", "##\u11AB"], [(0, 1), (0, 1), (0, 1)] },
        // Per-character lower-casing: a final capital sigma becomes σ, not ς.
        { "ΟΔΟΣ", ["οδοσ"], [(0, 4)] },
        // A lone surrogate is not a character (read as U+FFFD, which cleaning removes).
        { "\uD800a \uDC00", ["a"], [(1, 2)] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Tokens_and_offsets_follow_the_bert_definitions(string text, string[] tokens, (int, int)[] offsets)
    {
        using var dir = new TempDirectory();
        var tokenizer = TokenizerLoader.FromWordPieceVocab(dir.Write("vocab.txt", string.Join("\n", Vocabulary) + "\n"));

        var encoding = tokenizer.Encode(text);

        encoding.Ids.Should().Equal(new long[] { 2 }.Concat(tokens.Select(t => (long)Array.IndexOf(Vocabulary, t))).Append(3));
        encoding.Offsets.Skip(1).SkipLast(1).Should().Equal(offsets.Select(o => ((int, int)?)o));
    }

    /// <summary>
    /// Accents are stripped per character (decompose, drop Mn), where Hugging Face decomposes the whole text, which also
    /// puts combining marks in canonical order (by combining class). After dropping Mn the two agree on any text in NFC
    /// or NFD; they differ only where the text holds, out of canonical order, two of the 25 combining marks that are not
    /// Mn (Unicode 14.0: Mc with a non-zero class), such as the musical combining augmentation dot U+1D16D (class 226)
    /// before the combining stem U+1D165 (class 216): Hugging Face reads "\U0001D165\U0001D16D", this library keeps the
    /// text's order. Whole-text NFD and NFC of both orders are "\U0001D165\U0001D16D" (Python's unicodedata); a Mn between
    /// them (U+0301, class 230) changes nothing. Both hold with ICU and with the library's own table (invariant mode).
    /// </summary>
    [Fact]
    public void Marks_out_of_canonical_order_keep_the_texts_order_unless_the_text_is_normalized()
    {
        string[] vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "\U0001D165\U0001D16D", "\U0001D16D\U0001D165"];
        using var dir = new TempDirectory();
        var tokenizer = TokenizerLoader.FromWordPieceVocab(dir.Write("vocab.txt", string.Join("\n", vocabulary) + "\n"));
        long Id(string text) => tokenizer.Encode(text).Ids.Should().HaveCount(3).And.Subject.ElementAt(1);

        // The NFC and the NFD of either order (Python's unicodedata): stem, then dot.
        Id("\U0001D165\U0001D16D").Should().Be(5);

        // Not normalized: the known difference from Hugging Face (which gives id 5 for both).
        Id("\U0001D16D\U0001D165").Should().Be(6);
        Id("\U0001D16D\u0301\U0001D165").Should().Be(6);
    }
}
