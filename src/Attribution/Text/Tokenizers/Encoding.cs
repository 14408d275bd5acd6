namespace Attribution.Text.Tokenizers;

/// <summary>
/// The result of tokenizing one input (or pair): parallel arrays with one entry per token, special and padding
/// tokens included.
/// </summary>
/// <remarks>
/// Offsets are UTF-16 code-unit indices into the original .NET string (<c>text.Substring(Start, End - Start)</c>
/// is the token's source text), so a character outside the Basic Multilingual Plane (an emoji, say) spans two.
/// They stay correct when normalization changes lengths (lower-casing, accent stripping). Several tokens can share
/// one span when a single character yields several tokens (the bytes of an emoji in byte-level BPE). Tokens of the
/// second input of a pair index into that input.
/// </remarks>
/// <param name="Ids">Token ids, ready for the model's <c>input_ids</c>.</param>
/// <param name="Tokens">Token strings as in the vocabulary (<c>##ing</c>, <c>Ġworld</c>, <c>[CLS]</c>).</param>
/// <param name="Offsets">
/// Per token, the <c>[Start, End)</c> span of the original input it came from, or null for tokens the tokenizer
/// added (<c>[CLS]</c>, <c>[SEP]</c>, padding). Byte-level BPE spans exclude the leading space a token carries.
/// </param>
/// <param name="TypeIds">Segment (token type) ids: 0 for the first input, 1 for the second of a BERT pair.</param>
/// <param name="AttentionMask">1 for real tokens, 0 for padding.</param>
/// <param name="SpecialTokensMask">
/// True for tokens the tokenizer added (<c>[CLS]</c>, <c>[SEP]</c>, padding). A special token typed literally in the
/// text is part of the input: false here, with an offset and a word.
/// </param>
/// <param name="WordIds">
/// Per token, the index of the word it belongs to (a word is a piece of the pre-tokenizer: a run of letters, a
/// punctuation mark, a CJK character, a literal special token), or null for added tokens. Words are numbered from
/// 0 across the whole encoding, so the words of a pair's second input continue after those of the first.
/// </param>
/// <param name="Truncated">How many tokens were dropped to honour <c>maxLength</c>; 0 when nothing was dropped.</param>
public sealed record Encoding(
    long[] Ids,
    string[] Tokens,
    (int Start, int End)?[] Offsets,
    long[] TypeIds,
    long[] AttentionMask,
    bool[] SpecialTokensMask,
    int?[] WordIds,
    int Truncated)
{
    /// <summary>
    /// Per token, which input it came from: 0 for the text, 1 for the second text of a pair, null for added and padding
    /// tokens. Offsets index into that input. Null when the tokenizer does not say (a single input is then input 0).
    /// </summary>
    public int?[]? SequenceIds { get; init; }

    /// <summary>The input token <paramref name="index"/> came from (0 or 1), or null for added and padding tokens.</summary>
    public int? SequenceOf(int index) => SequenceIds is { } ids ? ids[index] : Offsets[index] is null ? null : 0;

    /// <summary>Number of tokens, special and padding tokens included.</summary>
    public int Length => Ids.Length;
}
