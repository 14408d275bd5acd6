namespace Attribution.Tests.Text.Tokenizers;

/// <summary>
/// GPT-2's bytes_to_unicode, written out from its published definition independently of the library: the printable
/// bytes '!'..'~', '¡'..'¬' and '®'..'ÿ' stand for themselves; the other 68 bytes, in increasing order, become U+0100,
/// U+0101, …. The byte-level BPE tests build their vocabularies and read tokens back with it.
/// </summary>
internal static class Gpt2ByteAlphabet
{
    /// <summary>The character that stands for byte b, indexed by b (0–255).</summary>
    public static IReadOnlyList<char> Characters { get; } = Build();

    /// <summary>The byte each of the 256 characters stands for (the inverse of <see cref="Characters"/>).</summary>
    public static IReadOnlyDictionary<char, byte> ByteOf { get; } = Characters.Select((c, b) => (c, b)).ToDictionary(p => p.c, p => (byte)p.b);

    private static char[] Build()
    {
        var characters = new char[256];
        var shifted = 0;
        for (var b = 0; b < 256; b++)
        {
            var printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            characters[b] = printable ? (char)b : (char)(256 + shifted++);
        }

        return characters;
    }
}
