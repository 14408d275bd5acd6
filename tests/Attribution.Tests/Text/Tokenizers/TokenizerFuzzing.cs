using System.Globalization;
using System.Text;
using Attribution.Text.Tokenizers;
using CsCheck;

namespace Attribution.Tests.Text.Tokenizers;

/// <summary>
/// What the tokenizer property tests share: hostile text generators, the tokenizers under test (small ones written
/// here, the real ones from ../shared) and reference definitions written from docs/tokenizers.md, not from the code.
/// </summary>
internal static class TokenizerFuzzing
{
    /// <summary>One piece of text: most of the Unicode a reviewer would throw at a tokenizer, but no lone surrogate.</summary>
    public static readonly Gen<string> Atom = Gen.Frequency(
        (8, Gen.Char['a', 'z'].Array[1, 8].Select(c => new string(c))),
        (2, Gen.Char['A', 'Z'].Array[1, 4].Select(c => new string(c))),
        (2, Gen.Char['0', '9'].Array[1, 4].Select(c => new string(c))),
        (5, Gen.OneOf(" ", " ", " ", "  ", "\t", "\n", "\r\n", " \n ")),
        (3, Gen.Char['\u00C0', '\u00FF'].Select(c => c.ToString())),
        (2, Gen.Char['\u0300', '\u036F'].Select(c => c.ToString())),
        (2, Gen.Char['\u4E00', '\u9FFF'].Select(c => c.ToString())),
        (2, Gen.OneOf("😀", "👍🏽", "👨‍👩‍👧", "🏳️‍🌈", "🇫🇷", "𝐀", "𝟙", "𠀀", "\U0002B820", "\U0001F600\u200D")),
        (1, Gen.Char['\u0000', '\u001F'].Select(c => c.ToString())),
        (2, Gen.OneOf("\u200B", "\u200C", "\u200D", "\u200E", "\u200F", "\uFEFF", "\u00AD", "\u2060", "\u180E", "\u0085", "\u007F")),
        (1, Gen.OneOf("שלום", "مرحبا", "\u202E", "\u202B", "\u061C", "עִבְרִית")),
        (2, Gen.OneOf("\u00A0", "\u2000", "\u2001", "\u2003", "\u2009", "\u3000", "\u2028", "\u2029", "\u1680", "\u202F", "\u205F")),
        (1, Gen.Char['a', 'z'].Array[101, 140].Select(c => new string(c))),
        (3, Gen.OneOf('!', '.', '?', ',', '-', '\'', '"', '(', ')', '[', ']', '<', '>', '#', '$', '`', '¿', '…', '—', '«').Array[1, 6].Select(c => new string(c))),
        (2, Gen.Int[0x80, 0x10FFFF].Where(c => c is < 0xD800 or > 0xDFFF).Select(char.ConvertFromUtf32)),
        (2, Gen.OneOf("[MASK]", "[mask]", "[CLS]", "[UNK]", "[PAD]", "[pad]", "<mask>", "<s>", "</s>", "'s", "'ll", "İ", "ß", "ﬁ", "한국어", "ΟΔΟΣ", "café", "cafe\u0301", "\uFFFD", "\u1FEF", "€", "©", "\uE000")));

    /// <summary>A text of up to 24 atoms, glued together (so words mix scripts) or separated by the atoms that are spaces.</summary>
    public static readonly Gen<string> Text = Atom.Array[0, 24].Select(string.Concat);

    /// <summary>Texts that also hold lone high and low surrogates (and, by chance, pairs formed from two of them).</summary>
    public static readonly Gen<string> TextWithLoneSurrogates = Gen.Frequency(
            (6, Atom),
            (1, Gen.Char['\uD800', '\uDBFF'].Select(c => c.ToString())),
            (1, Gen.Char['\uDC00', '\uDFFF'].Select(c => c.ToString())))
        .Array[1, 16].Select(string.Concat);

    /// <summary>Whether .NET here cannot decompose (globalization-invariant mode), where the docs allow a refusal.</summary>
    public static readonly bool InvariantGlobalization = "e\u0301".Normalize(NormalizationForm.FormC) != "\u00E9";

    /// <summary>The text with every unpaired surrogate replaced by U+FFFD (what the docs say both tokenizers read).</summary>
    public static string ReplaceLoneSurrogates(string text)
    {
        var chars = text.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (char.IsHighSurrogate(chars[i]) && i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(chars[i]))
            {
                chars[i] = '\uFFFD';
            }
        }

        return new string(chars);
    }

    /// <summary>Whether <paramref name="index"/> falls between the two halves of a surrogate pair.</summary>
    public static bool SplitsPair(string text, int index) =>
        index > 0 && index < text.Length && char.IsHighSurrogate(text[index - 1]) && char.IsLowSurrogate(text[index]);

    /// <summary>
    /// BERT's normalizer for uncased models, from docs/tokenizers.md: cleaning drops NUL, U+FFFD and categories C*
    /// (tab, newline, carriage return excepted, they are whitespace); accent stripping is NFD then removing Mn; lower-casing
    /// maps each character alone. A lone surrogate reads as U+FFFD.
    /// </summary>
    public static string BertUncased(string text) => BertLowercased(text, stripAccents: true);

    /// <summary>
    /// BERT's normalizer with lower-casing, accents stripped or not: without stripping, İ lower-cases to i + U+0307 as in
    /// Python and Rust (docs/tokenizers.md), every other character to one.
    /// </summary>
    public static string BertLowercased(string text, bool stripAccents)
    {
        var output = new StringBuilder();
        foreach (var rune in ReplaceLoneSurrogates(text).EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(rune);
            var control = rune.Value is not ('\t' or '\n' or '\r') && category is UnicodeCategory.Control or UnicodeCategory.Format
                or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;
            if (rune.Value is 0 or 0xFFFD || control)
            {
                continue;
            }

            if (!stripAccents)
            {
                output.Append(rune.Value == 0x130 ? "i\u0307" : Rune.ToLowerInvariant(rune).ToString());
                continue;
            }

            foreach (var part in rune.ToString().Normalize(NormalizationForm.FormD).EnumerateRunes())
            {
                if (Rune.GetUnicodeCategory(part) != UnicodeCategory.NonSpacingMark)
                {
                    output.Append(Rune.ToLowerInvariant(part).ToString());
                }
            }
        }

        return output.ToString();
    }

    /// <summary>The bytes a byte-level token stands for: its alphabet bytes, or (an added token such as &lt;mask&gt;) its UTF-8.</summary>
    public static byte[] BytesOf(string token) =>
        token.All(Gpt2ByteAlphabet.ByteOf.ContainsKey) ? [.. token.Select(c => Gpt2ByteAlphabet.ByteOf[c])] : System.Text.Encoding.UTF8.GetBytes(token);

    /// <summary>
    /// A small uncased WordPiece vocabulary: the specials, every ASCII letter and digit whole and as ##, a few words, and
    /// pieces that only a lower-casing without accent stripping reaches (é, i + U+0307 from İ); accents stripped unless said.
    /// </summary>
    public static ITokenizer SmallWordPiece(TempDirectory dir, bool stripAccents = true)
    {
        var vocabulary = new List<string> { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "##s", "un", "##able", "cafe", "東", "!", ".", "'", "-", "[", "]" };
        foreach (var c in "abcdefghijklmnopqrstuvwxyz0123456789")
        {
            vocabulary.Add(c.ToString());
            vocabulary.Add("##" + c);
        }

        vocabulary.AddRange(["i\u0307", "##\u0307", "\u00E9", "##\u00E9", "caf\u00E9"]);
        var vocabPath = dir.Write("vocab.txt", string.Join("\n", vocabulary) + "\n");
        return stripAccents
            ? TokenizerLoader.FromWordPieceVocab(vocabPath)
            : TokenizerLoader.FromWordPieceVocab(vocabPath, dir.Write("tokenizer_config.json", "{\"do_lower_case\": true, \"strip_accents\": false}"));
    }

    /// <summary>
    /// A small RoBERTa-style tokenizer.json: the 256 byte characters, RoBERTa's specials (&lt;mask&gt; with lstrip), and
    /// merges that join spaces to letters, the two bytes of é and the first bytes of emoji (so tokens split characters).
    /// </summary>
    public static ITokenizer SmallByteLevel(TempDirectory dir, bool addPrefixSpace)
    {
        (string, string)[] merges =
        [
            ("h", "e"), ("Ġ", "t"), ("Ġt", "he"), ("Ġ", "a"), ("a", "a"), ("aa", "aa"), ("Ã", "©"), ("ð", "Ł"), ("ðŁ", "ĺ"),
            ("Ġ", "Ġ"), ("Ċ", "Ċ"), ("Ġ", "c"), ("e", "r"), ("Ġ", "ð"), ("ä", "¸"),
        ];
        return TokenizerLoader.FromTokenizerJson(dir.Write("tokenizer.json", ByteLevelBpeTests.TokenizerJson(addPrefixSpace, merges)));
    }

    /// <summary>bert-base-uncased from ../shared (skips the test with the reason when it is absent).</summary>
    public static ITokenizer BertBaseUncased() =>
        TokenizerLoader.FromDirectory(Path.GetDirectoryName(SharedData.Require("tokenizers/bert-base-uncased/vocab.txt"))!);

    /// <summary>roberta-base from ../shared (skips the test with the reason when it is absent).</summary>
    public static ITokenizer RobertaBase() =>
        TokenizerLoader.FromDirectory(Path.GetDirectoryName(SharedData.Require("tokenizers/roberta-base/tokenizer.json"))!);
}
