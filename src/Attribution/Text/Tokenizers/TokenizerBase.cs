namespace Attribution.Text.Tokenizers;

/// <summary>A token of one input before special tokens are added: id, source span and word.</summary>
/// <param name="Id">Token id.</param>
/// <param name="Start">First UTF-16 index of its source text in the input.</param>
/// <param name="End">One past the last index.</param>
/// <param name="Word">Index of its word within the encoding.</param>
internal readonly record struct Piece(int Id, int Start, int End, int Word);

/// <summary>The ids of the tokens every model input is built with.</summary>
internal sealed record SpecialIds(int Cls, int Sep, int Pad, int? Unk, int? Mask);

/// <summary>
/// What every tokenizer shares: splitting out added tokens, truncation, the post-processor template, padding and
/// the id table. Subclasses only turn a stretch of plain text into pieces and pieces back into text.
/// </summary>
internal abstract class TokenizerBase : ITokenizer
{
    private readonly AddedTokenMatcher _matcher;
    private readonly PostProcessor _postProcessor;
    private readonly SpecialIds _specialIds;
    private readonly string?[] _idToToken;
    private readonly Dictionary<string, int> _tokenToId;
    private readonly HashSet<int> _skippedWhenDecoding;

    protected TokenizerBase(
        IReadOnlyDictionary<string, int> modelVocabulary,
        IReadOnlyList<AddedToken> addedTokens,
        PostProcessor postProcessor,
        SpecialIds specialIds,
        int? modelMaxLength,
        bool matchesNormalizedTokensItself = false)
    {
        // A subclass with a normalizer matches the normalized added tokens in its normalized text; the rest are
        // matched here, in the raw text, first (Hugging Face's order).
        _matcher = new AddedTokenMatcher(addedTokens.Where(a => !(matchesNormalizedTokensItself && a.Normalized)));
        _postProcessor = postProcessor;
        _specialIds = specialIds;
        ModelMaxLength = modelMaxLength;

        // Added tokens take precedence over model entries of the same spelling, as in Hugging Face.
        _tokenToId = new Dictionary<string, int>(modelVocabulary, StringComparer.Ordinal);
        foreach (var added in addedTokens)
        {
            _tokenToId[added.Content] = added.Id;
        }

        var size = Math.Max(modelVocabulary.Values.DefaultIfEmpty(-1).Max(), addedTokens.Select(a => a.Id).DefaultIfEmpty(-1).Max()) + 1;
        _idToToken = new string?[size];
        foreach (var (token, id) in modelVocabulary)
        {
            // Should two spellings share an id (vocab.json allows it), the id reads back as the first.
            _idToToken[id] ??= token;
        }

        foreach (var added in addedTokens)
        {
            _idToToken[added.Id] = added.Content;
        }

        _skippedWhenDecoding = addedTokens.Where(a => a.Special).Select(a => a.Id).ToHashSet();
        _skippedWhenDecoding.UnionWith(postProcessor.Pair.Concat(postProcessor.Single).SelectMany(i => i.Ids));
        _skippedWhenDecoding.Add(specialIds.Pad);
    }

    /// <inheritdoc />
    public int VocabularySize => _idToToken.Length;

    /// <inheritdoc />
    public int? ModelMaxLength { get; }

    /// <inheritdoc />
    public long ClsId => _specialIds.Cls;

    /// <inheritdoc />
    public long BosId => _specialIds.Cls;

    /// <inheritdoc />
    public long SepId => _specialIds.Sep;

    /// <inheritdoc />
    public long EosId => _specialIds.Sep;

    /// <inheritdoc />
    public long PadId => _specialIds.Pad;

    /// <inheritdoc />
    public long? UnkId => _specialIds.Unk;

    /// <inheritdoc />
    public long? MaskId => _specialIds.Mask;

    /// <inheritdoc />
    public string? IdToToken(long id) => id >= 0 && id < _idToToken.Length ? _idToToken[id] : null;

    /// <inheritdoc />
    public long? TokenToId(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return _tokenToId.TryGetValue(token, out var id) ? id : null;
    }

    /// <inheritdoc />
    public Encoding Encode(string text, string? pair = null, int? maxLength = null, TruncationSide truncationSide = TruncationSide.Right,
        TruncationStrategy strategy = TruncationStrategy.LongestFirst)
    {
        ArgumentNullException.ThrowIfNull(text);
        var first = TokenizeInput(text, firstWord: 0);
        var second = pair is null ? null : TokenizeInput(pair, firstWord: first.Count == 0 ? 0 : first[^1].Word + 1);

        var truncated = 0;
        if (maxLength is int limit)
        {
            var specials = _postProcessor.SpecialCount(pair is not null);
            if (limit < specials)
            {
                throw new ArgumentOutOfRangeException(
                    nameof(maxLength), limit, $"maxLength must leave room for the {specials} special tokens this tokenizer adds.");
            }

            truncated = Truncate(first, second, limit - specials, truncationSide, strategy);
        }

        return Assemble(first, second, truncated);
    }

    /// <inheritdoc />
    public IReadOnlyList<Encoding> EncodeBatch(
        IReadOnlyList<string> texts, IReadOnlyList<string>? pairs = null, int? maxLength = null, TruncationSide truncationSide = TruncationSide.Right,
        TruncationStrategy strategy = TruncationStrategy.LongestFirst)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (pairs is not null && pairs.Count != texts.Count)
        {
            throw new ArgumentException($"pairs has {pairs.Count} entries but texts has {texts.Count}; give one pair per text.", nameof(pairs));
        }

        var encodings = new Encoding[texts.Count];
        for (var i = 0; i < texts.Count; i++)
        {
            encodings[i] = Encode(texts[i], pairs?[i], maxLength, truncationSide, strategy);
        }

        return EncodingPadding.ToLongest(encodings, this);
    }

    /// <inheritdoc />
    public string Decode(IEnumerable<long> ids, bool skipSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var tokens = new List<string>();
        foreach (var id in ids)
        {
            var token = IdToToken(id)
                ?? throw new ArgumentOutOfRangeException(nameof(ids), id, $"Id {id} is not in the vocabulary (size {VocabularySize}).");
            if (!(skipSpecialTokens && _skippedWhenDecoding.Contains((int)id)))
            {
                tokens.Add(token);
            }
        }

        return DecodeTokens(tokens);
    }

    /// <summary>
    /// Appends the pieces of <c>text[start..end)</c>, a stretch without added tokens, numbering words from
    /// <paramref name="word"/> and advancing it past the last word used.
    /// </summary>
    protected abstract void TokenizeText(string text, int start, int end, List<Piece> output, ref int word);

    /// <summary>Joins token strings back into text.</summary>
    protected abstract string DecodeTokens(IReadOnlyList<string> tokens);

    private List<Piece> TokenizeInput(string text, int firstWord)
    {
        var pieces = new List<Piece>();
        var word = firstWord;
        foreach (var segment in _matcher.Split(text))
        {
            if (segment.Token is { } added)
            {
                pieces.Add(new Piece(added.Id, segment.Start, segment.End, word++));
            }
            else
            {
                TokenizeText(text, segment.Start, segment.End, pieces, ref word);
            }
        }

        return pieces;
    }

    /// <summary>
    /// Cuts the inputs to <paramref name="budget"/> tokens (special tokens excluded) as Hugging Face's fast tokenizers
    /// do: <c>longest_first</c> lets the longer input give up tokens first; <c>only_first</c> / <c>only_second</c> cut
    /// one input and refuse when that cannot fit the pair without emptying it.
    /// </summary>
    private static int Truncate(List<Piece> first, List<Piece>? second, int budget, TruncationSide side, TruncationStrategy strategy)
    {
        var n1 = first.Count;
        var n2 = second?.Count ?? 0;
        if (n1 + n2 <= budget)
        {
            return 0;
        }

        int keep1, keep2;
        if (second is null)
        {
            if (strategy == TruncationStrategy.OnlySecond)
            {
                throw new ArgumentException(
                    $"truncation only_second needs a second text, but there is none and the text has {n1} tokens for a budget of {budget}: use longest_first or only_first",
                    nameof(strategy));
            }

            (keep1, keep2) = (budget, 0);
        }
        else if (strategy == TruncationStrategy.LongestFirst)
        {
            // The shorter input keeps everything if the longer one alone can absorb the cut; otherwise both get
            // half the budget, the odd token going to the longer one.
            var (shorter, longer) = n1 <= n2 ? (n1, n2) : (n2, n1);
            longer = shorter > budget ? shorter : Math.Max(shorter, budget - shorter);
            if (shorter + longer > budget)
            {
                shorter = budget / 2;
                longer = shorter + (budget % 2);
            }

            (keep1, keep2) = n1 <= n2 ? (shorter, longer) : (longer, shorter);
        }
        else
        {
            var cutFirst = strategy == TruncationStrategy.OnlyFirst;
            var (cut, other) = cutFirst ? (n1, n2) : (n2, n1);
            var keep = budget - other;
            if (keep <= 0)
            {
                // keep = 0: the other text fills the budget exactly, so the pair fits only with this text empty.
                throw new ArgumentException(
                    $"truncation {(cutFirst ? "only_first" : "only_second")} would have to remove the whole {(cutFirst ? "first" : "second")} text ({cut} tokens) " +
                    (keep == 0 ? "and leave it empty" : "and still not fit") +
                    $": the {(cutFirst ? "second" : "first")} text alone has {other} tokens for a budget of {budget}; use longest_first or the other strategy",
                    nameof(strategy));
            }

            (keep1, keep2) = cutFirst ? (keep, n2) : (n1, keep);
        }

        var dropped = Cut(first, keep1, side);
        if (second is not null)
        {
            dropped += Cut(second, keep2, side);
        }

        return dropped;
    }

    private static int Cut(List<Piece> pieces, int keep, TruncationSide side)
    {
        var drop = pieces.Count - keep;
        if (drop <= 0)
        {
            return 0;
        }

        pieces.RemoveRange(side == TruncationSide.Right ? keep : 0, drop);
        return drop;
    }

    private Encoding Assemble(List<Piece> first, List<Piece>? second, int truncated)
    {
        var template = second is null ? _postProcessor.Single : _postProcessor.Pair;
        var length = template.Sum(item => item.Sequence switch { 0 => first.Count, 1 => second!.Count, _ => item.Ids.Length });
        var ids = new long[length];
        var tokens = new string[length];
        var offsets = new (int Start, int End)?[length];
        var typeIds = new long[length];
        var attention = new long[length];
        var special = new bool[length];
        var words = new int?[length];
        var sequences = new int?[length];

        var k = 0;
        foreach (var item in template)
        {
            if (item.Sequence < 0)
            {
                for (var j = 0; j < item.Ids.Length; j++, k++)
                {
                    ids[k] = item.Ids[j];
                    tokens[k] = item.Tokens[j];
                    typeIds[k] = item.TypeId;
                    attention[k] = 1;
                    special[k] = true;
                }

                continue;
            }

            foreach (var piece in item.Sequence == 0 ? first : second!)
            {
                ids[k] = piece.Id;
                tokens[k] = _idToToken[piece.Id]!;
                offsets[k] = (piece.Start, piece.End);
                sequences[k] = item.Sequence;
                typeIds[k] = item.TypeId;
                attention[k] = 1;
                words[k] = piece.Word;
                k++;
            }
        }

        return new Encoding(ids, tokens, offsets, typeIds, attention, special, words, truncated) { SequenceIds = sequences };
    }
}
