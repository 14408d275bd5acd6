using Attribution.Text;

namespace Attribution.Tests.Text;

/// <summary>
/// StrictUtf8.FirstInvalid names the first byte that is not UTF-8 by its offset in the file and its line, lines ending
/// as .NET's readers end them (LF, CRLF, or a lone CR). Expected offsets and lines counted by hand from each byte string.
/// </summary>
public sealed class StrictUtf8Tests
{
    [Theory]
    // 0xFF first, no BOM: offset 0, line 1.
    [InlineData(new byte[] { 0xFF, (byte)'a' }, 0, 1)]
    // a CRLF is one line end: "a\r\n" then 0xFF at offset 3 on line 2.
    [InlineData(new byte[] { (byte)'a', 0x0D, 0x0A, 0xFF }, 3, 2)]
    // two lone CRs end two lines: 0xFF at offset 2 on line 3.
    [InlineData(new byte[] { 0x0D, 0x0D, 0xFF }, 2, 3)]
    // a CR at the end of a line before LF-ended lines: "a\rb\nc" then 0xC3 without its continuation byte at offset 5, line 3.
    [InlineData(new byte[] { (byte)'a', 0x0D, (byte)'b', 0x0A, (byte)'c', 0xC3, (byte)'x' }, 5, 3)]
    // a BOM, then "é" (C3 A9, valid), then a lone continuation byte 0xA9 at offset 5, line 1.
    [InlineData(new byte[] { 0xEF, 0xBB, 0xBF, 0xC3, 0xA9, 0xA9 }, 5, 1)]
    public void The_first_invalid_byte_is_named_by_its_offset_and_line(byte[] bytes, int offset, int line) =>
        StrictUtf8.FirstInvalid(bytes).Should().Be((offset, line));

    [Fact]
    public void The_encoding_refuses_what_the_scan_names()
    {
        var decode = () => StrictUtf8.Encoding.GetString([(byte)'a', 0xFF]);
        decode.Should().Throw<System.Text.DecoderFallbackException>();
    }
}
