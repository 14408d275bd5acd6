using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;

namespace Attribution.Text.Tokenizers;

/// <summary>How the byte-level pre-tokenizer and post-processor treat spaces.</summary>
/// <param name="AddPrefixSpace">Put a space before text that does not start with one, so its first word is spelled like the others.</param>
/// <param name="TrimOffsets">Make offsets exclude the spaces a token carries (RoBERTa's default).</param>
/// <param name="UseRegex">Split with the GPT-2 pattern (otherwise the whole text is one word).</param>
/// <param name="IgnoreMerges">Take a word that is a vocabulary entry whole, without merging.</param>
/// <param name="FuseUnknown">Make consecutive bytes the vocabulary lacks one unknown token (Hugging Face's <c>fuse_unk</c>).</param>
internal sealed record ByteLevelOptions(bool AddPrefixSpace, bool TrimOffsets, bool UseRegex = true, bool IgnoreMerges = false, bool FuseUnknown = false);

/// <summary>
/// GPT-2/RoBERTa byte-level BPE: GPT-2 pre-tokenization, UTF-8 bytes written in the GPT-2 alphabet, then merges
/// applied lowest rank first.
/// </summary>
internal sealed class ByteLevelBpeTokenizer : TokenizerBase
{
    private const int CacheCapacity = 100_000;
    private const int MaxCachedWordLength = 256;
    private const byte Space = (byte)' ';

    private readonly Dictionary<string, int> _vocabulary;
    private readonly Dictionary<long, (int Rank, int Id)> _merges;
    private readonly int[] _charIds;
    private readonly int? _unkId;
    private readonly ByteLevelOptions _options;

    // Words recur constantly in natural text; merging is the expensive step, so its result is cached per word.
    private readonly ConcurrentDictionary<string, Symbol[]> _cache = new(StringComparer.Ordinal);

    public ByteLevelBpeTokenizer(
        IReadOnlyDictionary<string, int> vocabulary,
        IReadOnlyList<(string Left, string Right)> merges,
        IReadOnlyList<AddedToken> addedTokens,
        PostProcessor postProcessor,
        SpecialIds specialIds,
        int? modelMaxLength,
        int? unkId,
        ByteLevelOptions options,
        string source)
        : base(vocabulary, addedTokens, postProcessor, specialIds, modelMaxLength)
    {
        _vocabulary = new Dictionary<string, int>(vocabulary, StringComparer.Ordinal);
        _unkId = unkId;
        _options = options;

        _charIds = new int[ByteLevel.ByteToChar.Max() + 1];
        Array.Fill(_charIds, -1);
        foreach (var c in ByteLevel.ByteToChar)
        {
            _charIds[c] = _vocabulary.TryGetValue(c.ToString(), out var id) ? id : -1;
        }

        _merges = new Dictionary<long, (int, int)>(merges.Count);
        for (var rank = 0; rank < merges.Count; rank++)
        {
            var (left, right) = merges[rank];
            var merged = left + right;
            if (!_vocabulary.TryGetValue(left, out var leftId) || !_vocabulary.TryGetValue(right, out var rightId)
                || !_vocabulary.TryGetValue(merged, out var mergedId))
            {
                var missing = !_vocabulary.ContainsKey(left) ? left : !_vocabulary.ContainsKey(right) ? right : merged;
                throw new TokenizerException(source, $"merge {rank + 1} (\"{left} {right}\") uses \"{missing}\", which is not in the vocabulary. The merges and the vocabulary must come from the same tokenizer.");
            }

            // As in Hugging Face, a repeated merge takes the rank of its last occurrence.
            _merges[Key(leftId, rightId)] = (rank, mergedId);
        }
    }

    protected override void TokenizeText(string text, int start, int end, List<Piece> output, ref int word)
    {
        var segment = text.Substring(start, end - start);
        var prefixed = _options.AddPrefixSpace && segment[0] != ' ';
        var subject = prefixed ? " " + segment : segment;
        var pieces = _options.UseRegex ? ByteLevel.PreTokenize(subject) : [(0, subject.Length)];

        var bytes = new List<byte>();
        var starts = new List<int>();
        var ends = new List<int>();
        foreach (var (pieceStart, pieceEnd) in pieces)
        {
            bytes.Clear();
            starts.Clear();
            ends.Clear();
            ByteLevel.ToBytes(subject, pieceStart, pieceEnd, bytes, starts, ends);
            var key = string.Create(bytes.Count, bytes, static (chars, b) =>
            {
                for (var k = 0; k < chars.Length; k++)
                {
                    chars[k] = ByteLevel.ByteToChar[b[k]];
                }
            });

            foreach (var symbol in Tokenize(key))
            {
                var first = symbol.Start;
                var last = symbol.End - 1;
                if (_options.TrimOffsets)
                {
                    while (first <= last && bytes[first] == Space)
                    {
                        first++;
                    }

                    while (last >= first && bytes[last] == Space)
                    {
                        last--;
                    }
                }

                // A token of spaces only keeps an empty span where it ends, as Hugging Face's trimming leaves it.
                var (tokenStart, tokenEnd) = first <= last ? (starts[first], ends[last]) : (ends[symbol.End - 1], ends[symbol.End - 1]);
                output.Add(new Piece(symbol.Id, ToOriginal(tokenStart), ToOriginal(tokenEnd), word));
            }

            word++;
        }

        // The added prefix space occupies index 0 of the subject; it maps to an empty span where the text starts.
        int ToOriginal(int index) => start + Math.Max(index - (prefixed ? 1 : 0), 0);
    }

    protected override string DecodeTokens(IReadOnlyList<string> tokens)
    {
        var bytes = new List<byte>();
        foreach (var token in tokens)
        {
            // Tokens outside the byte alphabet (added tokens such as <mask>) stand for their own UTF-8 bytes.
            if (token.All(ByteLevel.CharToByte.ContainsKey))
            {
                bytes.AddRange(token.Select(c => ByteLevel.CharToByte[c]));
            }
            else
            {
                bytes.AddRange(System.Text.Encoding.UTF8.GetBytes(token));
            }
        }

        return System.Text.Encoding.UTF8.GetString(CollectionsMarshal.AsSpan(bytes));
    }

    private static long Key(int left, int right) => ((long)left << 32) | (uint)right;

    private Symbol[] Tokenize(string word)
    {
        if (_cache.TryGetValue(word, out var cached))
        {
            return cached;
        }

        var symbols = Merge(word);
        if (word.Length > MaxCachedWordLength)
        {
            // Long words (a run of one letter, a base64 blob) rarely recur; caching them would let the cache's size
            // grow with their length.
            return symbols;
        }

        if (_cache.Count >= CacheCapacity)
        {
            _cache.Clear();
        }

        _cache[word] = symbols;
        return symbols;
    }

    private Symbol[] Merge(string word)
    {
        if (_options.IgnoreMerges && _vocabulary.TryGetValue(word, out var whole))
        {
            return [new Symbol(whole, 0, word.Length)];
        }

        // The symbols form a doubly linked list over arrays; a merged-away symbol gets id -1.
        var ids = new int[word.Length];
        var starts = new int[word.Length];
        var ends = new int[word.Length];
        var count = 0;
        var previousUnknown = false;
        for (var k = 0; k < word.Length; k++)
        {
            var id = _charIds[word[k]];
            var unknown = id < 0;
            if (unknown && _unkId is int unk)
            {
                if (_options.FuseUnknown && previousUnknown)
                {
                    // The unknown token before grows over this byte too.
                    ends[count - 1] = k + 1;
                    continue;
                }

                id = unk;
            }

            previousUnknown = unknown && id >= 0;

            // Without an unknown token, Hugging Face drops a byte the vocabulary lacks; so do we.
            if (id >= 0)
            {
                (ids[count], starts[count], ends[count]) = (id, k, k + 1);
                count++;
            }
        }

        if (count > 1)
        {
            MergeAll(ids, ends, count);
        }

        var alive = 0;
        for (var i = 0; i < count; i++)
        {
            alive += ids[i] >= 0 ? 1 : 0;
        }

        var result = new Symbol[alive];
        for (int i = 0, j = 0; i < count; i++)
        {
            if (ids[i] >= 0)
            {
                result[j++] = new Symbol(ids[i], starts[i], ends[i]);
            }
        }

        return result;
    }

    /// <summary>
    /// Repeatedly merges the adjacent pair of lowest rank, leftmost first (Hugging Face's order), in O(n log n): a
    /// priority queue holds candidate pairs keyed by (rank, position of the left symbol), and an entry whose
    /// symbols have changed since it was queued is skipped when it comes out (as in Hugging Face's
    /// <c>Word::merge_all</c>). A merged symbol keeps the left symbol's slot, so slot order is word order and the
    /// smallest key is always the lowest-ranked, leftmost pair present.
    /// </summary>
    private void MergeAll(int[] ids, int[] ends, int count)
    {
        var previous = new int[count];
        var next = new int[count];
        for (var i = 0; i < count; i++)
        {
            (previous[i], next[i]) = (i - 1, i + 1 < count ? i + 1 : -1);
        }

        var queue = new PriorityQueue<Candidate, long>(count);
        for (var i = 0; i + 1 < count; i++)
        {
            Enqueue(i, i + 1);
        }

        while (queue.TryDequeue(out var candidate, out _))
        {
            var left = candidate.Left;
            var right = next[left];

            // Stale: the left symbol was merged away or grew, or its right neighbour is no longer the one queued.
            if (ids[left] != candidate.LeftId || right < 0 || ids[right] != candidate.RightId)
            {
                continue;
            }

            ids[left] = candidate.MergedId;
            ends[left] = ends[right];
            ids[right] = -1;
            next[left] = next[right];
            if (next[left] >= 0)
            {
                previous[next[left]] = left;
            }

            if (previous[left] >= 0)
            {
                Enqueue(previous[left], left);
            }

            if (next[left] >= 0)
            {
                Enqueue(left, next[left]);
            }
        }

        void Enqueue(int left, int right)
        {
            if (_merges.TryGetValue(Key(ids[left], ids[right]), out var merge))
            {
                queue.Enqueue(new Candidate(left, ids[left], ids[right], merge.Id), ((long)merge.Rank << 32) | (uint)left);
            }
        }
    }

    /// <summary>A queued merge of the symbol in slot <c>Left</c> (then <c>LeftId</c>) with its neighbour (then <c>RightId</c>).</summary>
    private readonly record struct Candidate(int Left, int LeftId, int RightId, int MergedId);

    /// <summary>A token of a word and the byte range <c>[Start, End)</c> of the word it covers.</summary>
    private readonly record struct Symbol(int Id, int Start, int End);
}
