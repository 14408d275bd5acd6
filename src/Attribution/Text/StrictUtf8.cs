using System.Text;

namespace Attribution.Text;

/// <summary>
/// Strict UTF-8 for the files users give (a corpus TSV, the CLI's <c>--input</c>): the default decoder turns bytes that
/// are not UTF-8 into U+FFFD silently, and a text read wrong would be trained on or explained without a word.
/// </summary>
internal static class StrictUtf8
{
    /// <summary>UTF-8 that throws a <see cref="DecoderFallbackException"/> on bytes that are not UTF-8 (and writes no BOM).</summary>
    public static readonly UTF8Encoding Encoding = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// The encoding a UTF-16 or UTF-32 byte-order mark at the start of <paramref name="start"/> names ("UTF-32 LE",
    /// "UTF-32 BE", "UTF-16 LE", "UTF-16 BE"), or null. A reader that detects byte-order marks (StreamReader's default)
    /// would silently switch to that encoding, with replacement characters for what does not decode, where the file is
    /// documented to be UTF-8: callers refuse such a file instead. UTF-32 LE is tested first (its mark begins with
    /// UTF-16 LE's).
    /// </summary>
    public static string? OtherEncodingMark(ReadOnlySpan<byte> start) => start switch
    {
        [0xFF, 0xFE, 0x00, 0x00, ..] => "UTF-32 LE",
        [0x00, 0x00, 0xFE, 0xFF, ..] => "UTF-32 BE",
        [0xFF, 0xFE, ..] => "UTF-16 LE",
        [0xFE, 0xFF, ..] => "UTF-16 BE",
        _ => null,
    };

    /// <summary>
    /// The first byte that does not start a valid UTF-8 sequence: its offset in <paramref name="bytes"/> (a leading BOM
    /// counted) and its line, 1-based, lines ending as readers end them (LF, CRLF or a lone CR). A reader's
    /// <see cref="DecoderFallbackException"/> cannot say either: it decodes a buffer ahead of the line it returns.
    /// For bytes that are all valid (callers ask only after a decoder refused them) the last byte is named.
    /// </summary>
    public static (int Offset, int Line) FirstInvalid(ReadOnlySpan<byte> bytes)
    {
        var line = 1;
        var at = bytes.StartsWith(System.Text.Encoding.UTF8.Preamble) ? System.Text.Encoding.UTF8.Preamble.Length : 0;
        while (at < bytes.Length)
        {
            if (Rune.DecodeFromUtf8(bytes[at..], out _, out var consumed) != System.Buffers.OperationStatus.Done)
            {
                return (at, line);
            }

            if (bytes[at] == (byte)'\n' || (bytes[at] == (byte)'\r' && (at + 1 == bytes.Length || bytes[at + 1] != (byte)'\n')))
            {
                line++;
            }

            at += consumed;
        }

        return (Math.Max(0, bytes.Length - 1), line);
    }
}
