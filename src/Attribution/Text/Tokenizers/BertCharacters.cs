using System.Collections.Concurrent;
using System.Globalization;

namespace Attribution.Text.Tokenizers;

/// <summary>Character classes exactly as BERT's normalizer and pre-tokenizer define them.</summary>
internal static class BertCharacters
{
    private static readonly ConcurrentDictionary<int, string> Decompositions = new();

    /// <summary>
    /// Control characters that cleaning removes: Unicode categories C* (Cc, Cf, Cs, Co, Cn), except tab, newline
    /// and carriage return, which count as whitespace.
    /// </summary>
    public static bool IsControl(int codePoint)
    {
        if (codePoint is '\t' or '\n' or '\r')
        {
            return false;
        }

        return CharUnicodeInfo.GetUnicodeCategory(codePoint) is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;
    }

    /// <summary>The Unicode White_Space property (which includes tab, newline and carriage return).</summary>
    public static bool IsWhitespace(int codePoint) => codePoint <= char.MaxValue && char.IsWhiteSpace((char)codePoint);

    /// <summary>BERT's punctuation: the ASCII ranges 33–47, 58–64, 91–96, 123–126 (so <c>$</c>, <c>+</c>, <c>^</c> count) and Unicode P*.</summary>
    public static bool IsPunctuation(int codePoint)
    {
        if (codePoint is (>= 33 and <= 47) or (>= 58 and <= 64) or (>= 91 and <= 96) or (>= 123 and <= 126))
        {
            return true;
        }

        return CharUnicodeInfo.GetUnicodeCategory(codePoint) is UnicodeCategory.ConnectorPunctuation
            or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation
            or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation
            or UnicodeCategory.OtherPunctuation;
    }

    /// <summary>
    /// The CJK Unified Ideographs blocks BERT isolates as words (Hangul, Hiragana and Katakana are not among them).
    /// The ranges are those of Hugging Face tokenizers' <c>is_chinese_char</c> (the fast tokenizer that reads
    /// tokenizer.json, and that transformers also builds from a vocab.txt), whose fifth range starts at U+2B920;
    /// Google's Python BasicTokenizer starts it at U+2B820, so the first 256 ideographs of Extension E differ.
    /// </summary>
    public static bool IsCjk(int codePoint) => codePoint is (>= 0x4E00 and <= 0x9FFF) or (>= 0x3400 and <= 0x4DBF)
        or (>= 0x20000 and <= 0x2A6DF) or (>= 0x2A700 and <= 0x2B73F) or (>= 0x2B740 and <= 0x2B81F)
        or (>= 0x2B920 and <= 0x2CEAF) or (>= 0xF900 and <= 0xFAFF) or (>= 0x2F800 and <= 0x2FA1F);

    /// <summary>
    /// Whether .NET decomposes here: in globalization-invariant mode (no ICU: DOTNET_SYSTEM_GLOBALIZATION_INVARIANT,
    /// InvariantGlobalization, many container images) <c>Normalize</c> leaves non-ASCII text as it is, so "café" kept its
    /// accent and became [UNK] where Hugging Face reads "cafe".
    /// </summary>
    private static readonly bool CanDecompose = DecomposesHere();

    /// <summary>The canonical decomposition (NFD) of one code point, cached because the same accented letters recur.</summary>
    /// <exception cref="PlatformNotSupportedException">.NET cannot decompose in this process (globalization-invariant mode).</exception>
    public static string Decompose(System.Text.Rune rune)
    {
        if (!CanDecompose && MayDecompose(rune))
        {
            throw new PlatformNotSupportedException(
                $"BERT's normalizer strips accents by Unicode decomposition (NFD), which .NET does not do in globalization-invariant " +
                $"mode (DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 or <InvariantGlobalization>true</InvariantGlobalization>, no ICU): " +
                $"the text's '{rune}' (U+{rune.Value:X4}) would not be read as the vocabulary's. Install ICU (libicu) and turn " +
                "invariant mode off, or give only ASCII text");
        }

        return Decompositions.GetOrAdd(rune.Value, static (_, r) => r.ToString().Normalize(System.Text.NormalizationForm.FormD), rune);
    }

    /// <summary>
    /// Whether NFD may change <paramref name="rune"/>: letters (CJK unified ideographs excepted; Hangul syllables, accented
    /// Latin, Greek, Cyrillic and kana decompose), spacing marks, modifier symbols and the two Greek punctuation marks that
    /// decompose. ASCII never does (its letters, '^' and '`' included); whitespace, other punctuation and symbols (emoji)
    /// stay as they are, so those are read without ICU.
    /// </summary>
    internal static bool MayDecompose(System.Text.Rune rune) => !rune.IsAscii && (
        (System.Text.Rune.IsLetter(rune) && !(IsCjk(rune.Value) && rune.Value is not ((>= 0xF900 and <= 0xFAFF) or (>= 0x2F800 and <= 0x2FA1F))))
        || System.Text.Rune.GetUnicodeCategory(rune) is UnicodeCategory.SpacingCombiningMark or UnicodeCategory.ModifierSymbol
        || rune.Value is 0x037E or 0x0387);

    private static bool DecomposesHere()
    {
        try
        {
            return "\u00E9".Normalize(System.Text.NormalizationForm.FormD) == "e\u0301";
        }
        catch (PlatformNotSupportedException)
        {
            return false;
        }
    }
}
