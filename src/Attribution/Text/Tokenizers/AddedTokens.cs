using System.Globalization;

namespace Attribution.Text.Tokenizers;

/// <summary>
/// A token matched literally in the text (Hugging Face's added tokens, including the special tokens): <c>[MASK]</c> in
/// the input becomes the mask id rather than <c>[ mask ]</c>. A token that is not <paramref name="Normalized"/> is
/// matched in the raw text, case-sensitively; a normalized one is matched, as in Hugging Face, after the tokenizer's
/// normalizer has run on both the text and the token (so an uncased model's added <c>foo</c> also matches <c>FOO</c>).
/// </summary>
/// <param name="Content">The exact, case-sensitive text to match.</param>
/// <param name="Id">Its id.</param>
/// <param name="Special">Whether decoding with <c>skipSpecialTokens</c> leaves it out.</param>
/// <param name="SingleWord">Only match when not glued to letters or digits on either side.</param>
/// <param name="LStrip">Swallow the whitespace before a match.</param>
/// <param name="RStrip">Swallow the whitespace after a match.</param>
/// <param name="Normalized">Match it in the normalized text rather than the raw text (Hugging Face's <c>normalized</c>).</param>
internal sealed record AddedToken(string Content, int Id, bool Special, bool SingleWord = false, bool LStrip = false, bool RStrip = false, bool Normalized = false);

/// <summary>A stretch of the input: either plain text to tokenize, or one added token.</summary>
/// <param name="Start">First UTF-16 index (for an added token, of its content, excluding swallowed whitespace).</param>
/// <param name="End">One past the last index.</param>
/// <param name="Token">The added token matched here, or null for plain text.</param>
internal readonly record struct Segment(int Start, int End, AddedToken? Token);

/// <summary>Splits raw text around added tokens, leftmost-longest, as Hugging Face's added vocabulary does.</summary>
internal sealed class AddedTokenMatcher
{
    // Most characters start no added token, so a lookup by first character keeps the scan linear and cheap.
    private readonly Dictionary<char, AddedToken[]> _byFirstChar;

    public AddedTokenMatcher(IEnumerable<AddedToken> tokens)
    {
        _byFirstChar = tokens
            .Where(t => t.Content.Length > 0)
            .GroupBy(t => t.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).ToArray());
    }

    public List<Segment> Split(string text)
    {
        var segments = new List<Segment>();
        var textStart = 0;
        var pos = 0;
        while (pos < text.Length)
        {
            var match = _byFirstChar.Count == 0 ? null : MatchAt(text, pos);
            if (match is null)
            {
                pos++;
                continue;
            }

            var end = pos + match.Content.Length;
            if (match.SingleWord && (EndsWithWordChar(text.AsSpan(0, pos)) || StartsWithWordChar(text.AsSpan(end))))
            {
                // Hugging Face's leftmost-longest search drops a refused match whole and goes on after it: neither a
                // shorter token at the same place nor one starting inside it is tried.
                pos = end;
                continue;
            }

            var cutStart = pos;
            if (match.LStrip)
            {
                while (cutStart > textStart && char.IsWhiteSpace(text[cutStart - 1]))
                {
                    cutStart--;
                }
            }

            var cutEnd = end;
            if (match.RStrip)
            {
                while (cutEnd < text.Length && char.IsWhiteSpace(text[cutEnd]))
                {
                    cutEnd++;
                }
            }

            if (cutStart > textStart)
            {
                segments.Add(new Segment(textStart, cutStart, null));
            }

            segments.Add(new Segment(pos, end, match));
            textStart = pos = cutEnd;
        }

        if (textStart < text.Length)
        {
            segments.Add(new Segment(textStart, text.Length, null));
        }

        return segments;
    }

    private AddedToken? MatchAt(string text, int pos)
    {
        if (!_byFirstChar.TryGetValue(text[pos], out var candidates))
        {
            return null;
        }

        var rest = text.AsSpan(pos);
        foreach (var candidate in candidates)
        {
            if (rest.StartsWith(candidate.Content, StringComparison.Ordinal))
            {
                return candidate;
            }
        }

        return null;
    }

    private static bool StartsWithWordChar(ReadOnlySpan<char> text) =>
        System.Text.Rune.DecodeFromUtf16(text, out var rune, out _) == System.Buffers.OperationStatus.Done && IsWordChar(rune);

    private static bool EndsWithWordChar(ReadOnlySpan<char> text) =>
        System.Text.Rune.DecodeLastFromUtf16(text, out var rune, out _) == System.Buffers.OperationStatus.Done && IsWordChar(rune);

    /// <summary>
    /// A character of Hugging Face's <c>\w</c> (Rust regex, Unicode): Alphabetic, marks, decimal digits, connector
    /// punctuation and the joiners. Alphabetic is the letters, letter numbers and Other_Alphabetic, which is marks but
    /// for the circled and squared Latin letters listed here.
    /// </summary>
    private static bool IsWordChar(System.Text.Rune rune) =>
        System.Text.Rune.GetUnicodeCategory(rune) is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter
            or UnicodeCategory.TitlecaseLetter or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter
            or UnicodeCategory.LetterNumber or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark
            or UnicodeCategory.EnclosingMark or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.ConnectorPunctuation
        || rune.Value is 0x200C or 0x200D or (>= 0x24B6 and <= 0x24E9) or (>= 0x1F130 and <= 0x1F149)
            or (>= 0x1F150 and <= 0x1F169) or (>= 0x1F170 and <= 0x1F189);
}
