using Attribution.Text.Tokenizers;
using Encoding = Attribution.Text.Tokenizers.Encoding;

namespace Attribution.Tests.Text;

/// <summary>
/// A tokenizer that is <paramref name="inner"/> in every member: tests derive from it and override the one member
/// they change (a mask token, a count of the texts encoded) instead of forwarding the whole interface again.
/// </summary>
internal abstract class DelegatingTokenizer(ITokenizer inner) : ITokenizer
{
    public virtual int VocabularySize => inner.VocabularySize;

    public virtual int? ModelMaxLength => inner.ModelMaxLength;

    public virtual long ClsId => inner.ClsId;

    public virtual long BosId => inner.BosId;

    public virtual long SepId => inner.SepId;

    public virtual long EosId => inner.EosId;

    public virtual long PadId => inner.PadId;

    public virtual long? UnkId => inner.UnkId;

    public virtual long? MaskId => inner.MaskId;

    public virtual Encoding Encode(string text, string? pair = null, int? maxLength = null, TruncationSide truncationSide = TruncationSide.Right,
        TruncationStrategy strategy = TruncationStrategy.LongestFirst) => inner.Encode(text, pair, maxLength, truncationSide, strategy);

    public virtual IReadOnlyList<Encoding> EncodeBatch(IReadOnlyList<string> texts, IReadOnlyList<string>? pairs = null, int? maxLength = null,
        TruncationSide truncationSide = TruncationSide.Right, TruncationStrategy strategy = TruncationStrategy.LongestFirst) =>
        inner.EncodeBatch(texts, pairs, maxLength, truncationSide, strategy);

    public virtual string Decode(IEnumerable<long> ids, bool skipSpecialTokens = true) => inner.Decode(ids, skipSpecialTokens);

    public virtual string? IdToToken(long id) => inner.IdToToken(id);

    public virtual long? TokenToId(string token) => inner.TokenToId(token);
}
