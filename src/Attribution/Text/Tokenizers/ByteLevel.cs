using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Attribution.Text.Tokenizers;

/// <summary>GPT-2's byte-level alphabet and pre-tokenization.</summary>
internal static partial class ByteLevel
{
    /// <summary>
    /// GPT-2's <c>bytes_to_unicode</c>: printable Latin-1 bytes stand for themselves, the other 68 bytes
    /// (control characters, space, ...) are shifted to U+0100 onwards, so that a space byte reads <c>Ġ</c>.
    /// </summary>
    public static readonly char[] ByteToChar = BuildByteToChar();

    /// <summary>The inverse of <see cref="ByteToChar"/>.</summary>
    public static readonly Dictionary<char, byte> CharToByte =
        ByteToChar.Select((c, b) => (c, b)).ToDictionary(p => p.c, p => (byte)p.b);

    /// <summary>
    /// Splits <paramref name="text"/> with the GPT-2 pattern, returning the [start, end) ranges of the pieces.
    /// </summary>
    /// <remarks>
    /// .NET's regex works on UTF-16 units, where both halves of an astral character are category Cs, so an astral
    /// letter or digit would fall into the "other symbols" class instead of <c>\p{L}</c> or <c>\p{N}</c>. The
    /// pattern therefore runs on a copy in which such surrogate pairs are replaced by two BMP stand-ins of the same
    /// class (neither of them a contraction letter), which yields the pieces a code-point regex finds.
    /// </remarks>
    public static List<(int Start, int End)> PreTokenize(string text)
    {
        var subject = text;
        if (text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') >= 0)
        {
            var copy = text.ToCharArray();
            for (var i = 0; i + 1 < copy.Length; i++)
            {
                if (char.IsHighSurrogate(copy[i]) && char.IsLowSurrogate(copy[i + 1]))
                {
                    var category = CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(copy[i], copy[i + 1]));
                    var standIn = category switch
                    {
                        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => 'A',
                        UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => '0',
                        _ => '\0',
                    };
                    if (standIn != '\0')
                    {
                        copy[i] = copy[i + 1] = standIn;
                    }

                    i++;
                }
            }

            subject = new string(copy);
        }

        var pieces = new List<(int, int)>();
        foreach (var match in Gpt2Pattern().EnumerateMatches(subject))
        {
            pieces.Add((match.Index, match.Index + match.Length));
        }

        return pieces;
    }

    /// <summary>
    /// Appends the UTF-8 bytes of <c>text[start..end)</c> with, for each byte, the span <c>[start, end)</c> of the
    /// character it belongs to.
    /// </summary>
    public static void ToBytes(string text, int start, int end, List<byte> bytes, List<int> starts, List<int> ends)
    {
        Span<byte> utf8 = stackalloc byte[4];
        var i = start;
        while (i < end)
        {
            // Lone surrogates cannot be UTF-8 encoded; like .NET's encoder, write them as U+FFFD.
            if (Rune.DecodeFromUtf16(text.AsSpan(i, end - i), out var rune, out var length) != OperationStatus.Done)
            {
                rune = Rune.ReplacementChar;
            }

            var count = rune.EncodeToUtf8(utf8);
            for (var k = 0; k < count; k++)
            {
                bytes.Add(utf8[k]);
                starts.Add(i);
                ends.Add(i + length);
            }

            i += length;
        }
    }

    [GeneratedRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+", RegexOptions.CultureInvariant)]
    private static partial Regex Gpt2Pattern();

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is (>= '!' and <= '~') or (>= 0xA1 and <= 0xAC) or (>= 0xAE and <= 0xFF);
            map[b] = printable ? (char)b : (char)next++;
        }

        return map;
    }
}
