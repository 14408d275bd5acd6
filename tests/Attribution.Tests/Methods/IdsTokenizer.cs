using System.Globalization;
using Attribution.Text.Tokenizers;

namespace Attribution.Tests.Methods;

/// <summary>
/// A test tokenizer for models recorded with token ids only: the text is the ids separated by spaces
/// ("101 375 396 102"); ids listed as special are marked as added tokens (no offset), every other id is a token
/// whose offset is its digits in the text.
/// </summary>
internal sealed class IdsTokenizer(long cls, long sep, long pad, int vocabularySize) : ITokenizer
{
    public int VocabularySize => vocabularySize;

    public int? ModelMaxLength => null;

    public long ClsId => cls;

    public long BosId => cls;

    public long SepId => sep;

    public long EosId => sep;

    public long PadId => pad;

    public long? UnkId => null;

    public long? MaskId => null;

    public Encoding Encode(string text, string? pair = null, int? maxLength = null, TruncationSide truncationSide = TruncationSide.Right,
        TruncationStrategy strategy = TruncationStrategy.LongestFirst)
    {
        var ids = new List<long>();
        var offsets = new List<(int, int)?>();
        var special = new List<bool>();
        var i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && text[i] == ' ')
            {
                i++;
            }

            var start = i;
            while (i < text.Length && text[i] != ' ')
            {
                i++;
            }

            if (i > start)
            {
                var id = long.Parse(text[start..i], CultureInfo.InvariantCulture);
                var isSpecial = id == cls || id == sep;
                ids.Add(id);
                offsets.Add(isSpecial ? null : (start, i));
                special.Add(isSpecial);
            }
        }

        var n = ids.Count;
        return new Encoding(ids.ToArray(), ids.Select(x => x.ToString(CultureInfo.InvariantCulture)).ToArray(), offsets.ToArray(),
            new long[n], Enumerable.Repeat(1L, n).ToArray(), special.ToArray(), special.Select((s, k) => s ? (int?)null : k).ToArray(), 0);
    }

    public IReadOnlyList<Encoding> EncodeBatch(IReadOnlyList<string> texts, IReadOnlyList<string>? pairs = null, int? maxLength = null, TruncationSide truncationSide = TruncationSide.Right,
        TruncationStrategy strategy = TruncationStrategy.LongestFirst)
    {
        var encodings = texts.Select(t => Encode(t)).ToList();
        var length = encodings.Max(e => e.Length);
        return encodings.Select(e =>
        {
            var padding = length - e.Length;
            return new Encoding(
                e.Ids.Concat(Enumerable.Repeat(pad, padding)).ToArray(),
                e.Tokens.Concat(Enumerable.Repeat("[PAD]", padding)).ToArray(),
                e.Offsets.Concat(Enumerable.Repeat<(int, int)?>(null, padding)).ToArray(),
                new long[length],
                e.AttentionMask.Concat(new long[padding]).ToArray(),
                e.SpecialTokensMask.Concat(Enumerable.Repeat(true, padding)).ToArray(),
                e.WordIds.Concat(new int?[padding]).ToArray(),
                0);
        }).ToList();
    }

    public string Decode(IEnumerable<long> ids, bool skipSpecialTokens = true) => string.Join(' ', ids);

    public string? IdToToken(long id) => id.ToString(CultureInfo.InvariantCulture);

    public long? TokenToId(string token) => long.TryParse(token, CultureInfo.InvariantCulture, out var id) ? id : null;
}
