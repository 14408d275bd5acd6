namespace Attribution.Text.Tokenizers;

/// <summary>
/// Right-padding as <see cref="ITokenizer.EncodeBatch"/> defines it, written once: the tokenizers' batches use it, and
/// so do callers that tokenized texts one by one first (to sort them by length) and build batches from those encodings.
/// </summary>
internal static class EncodingPadding
{
    /// <summary>Every encoding padded to the longest of them with <paramref name="tokenizer"/>'s pad token.</summary>
    public static IReadOnlyList<Encoding> ToLongest(IReadOnlyList<Encoding> encodings, ITokenizer tokenizer)
    {
        var longest = encodings.Count == 0 ? 0 : encodings.Max(e => e.Length);
        var padToken = tokenizer.IdToToken(tokenizer.PadId) ?? string.Empty;
        var padded = new Encoding[encodings.Count];
        for (var i = 0; i < padded.Length; i++)
        {
            padded[i] = Pad(encodings[i], longest, tokenizer.PadId, padToken);
        }

        return padded;
    }

    /// <summary>
    /// <paramref name="encoding"/> padded to <paramref name="length"/> tokens: pad id and token, attention mask 0, type id 0,
    /// special-tokens mask set, no offset, no word, no input. An encoding already that long is returned as it is.
    /// </summary>
    public static Encoding Pad(Encoding encoding, int length, long padId, string padToken)
    {
        var n = encoding.Length;
        if (n == length)
        {
            return encoding;
        }

        var ids = encoding.Ids;
        Array.Resize(ref ids, length);
        Array.Fill(ids, padId, n, length - n);
        var tokens = encoding.Tokens;
        Array.Resize(ref tokens, length);
        Array.Fill(tokens, padToken, n, length - n);
        var special = encoding.SpecialTokensMask;
        Array.Resize(ref special, length);
        Array.Fill(special, true, n, length - n);

        // Array.Resize copies, so the unpadded encoding is left intact; offsets, type ids, attention and words
        // of padding are the new elements' defaults: null, 0, 0, null.
        var offsets = encoding.Offsets;
        Array.Resize(ref offsets, length);
        var typeIds = encoding.TypeIds;
        Array.Resize(ref typeIds, length);
        var attention = encoding.AttentionMask;
        Array.Resize(ref attention, length);
        var words = encoding.WordIds;
        Array.Resize(ref words, length);
        var sequences = encoding.SequenceIds;
        Array.Resize(ref sequences, length);
        return new Encoding(ids, tokens, offsets, typeIds, attention, special, words, encoding.Truncated) { SequenceIds = sequences };
    }
}
