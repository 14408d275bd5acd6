using Attribution.Text.Tokenizers;
using CsCheck;
using Encoding = Attribution.Text.Tokenizers.Encoding;

namespace Attribution.Tests.Text.Tokenizers;

/// <summary>
/// Property tests of both tokenizers on hostile text (<see cref="TokenizerFuzzing.Text"/>: accents, combining marks,
/// CJK, emoji and ZWJ sequences, astral letters, control and format characters, RTL text, Unicode spaces, words over
/// 100 letters, punctuation runs, literal special tokens), with the small vocabularies written here and the real ones
/// from ../shared (skipped with the reason when it is absent). Seeds and case counts are fixed (<see cref="PropertyDraws.ForAll{T}"/>), so every run
/// draws the same texts; each property takes well under a second here.
/// </summary>
public class TokenizerPropertyTests
{
    [Fact]
    public void Small_wordpiece_encodings_keep_offsets_content_and_coverage()
    {
        using var dir = new TempDirectory();
        var tokenizer = TokenizerFuzzing.SmallWordPiece(dir);
        PropertyDraws.ForAll(TokenizerFuzzing.Text, seed: 1, count: 400, text => { TokenizerPropertyChecks.EncodeAndCheck(tokenizer, TokenizerFamily.WordPieceUncased, text); });
    }

    /// <summary>Lower-casing without accent stripping: accents stay, and İ becomes i + U+0307, two characters from one.</summary>
    [Fact]
    public void Small_wordpiece_keeping_accents_encodings_keep_offsets_content_and_coverage()
    {
        using var dir = new TempDirectory();
        var tokenizer = TokenizerFuzzing.SmallWordPiece(dir, stripAccents: false);
        PropertyDraws.ForAll(TokenizerFuzzing.Text, seed: 22, count: 400, text => { TokenizerPropertyChecks.EncodeAndCheck(tokenizer, TokenizerFamily.WordPieceLowercasedWithAccents, text); });
    }

    [SkippableFact]
    public void Bert_base_uncased_encodings_keep_offsets_content_and_coverage()
    {
        var tokenizer = TokenizerFuzzing.BertBaseUncased();
        PropertyDraws.ForAll(TokenizerFuzzing.Text, seed: 2, count: 400, text => { TokenizerPropertyChecks.EncodeAndCheck(tokenizer, TokenizerFamily.WordPieceUncased, text); });
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Small_byte_level_encodings_keep_offsets_bytes_and_coverage(bool addPrefixSpace)
    {
        using var dir = new TempDirectory();
        var tokenizer = TokenizerFuzzing.SmallByteLevel(dir, addPrefixSpace);
        var family = addPrefixSpace ? TokenizerFamily.ByteLevelPrefixSpace : TokenizerFamily.ByteLevel;
        PropertyDraws.ForAll(TokenizerFuzzing.Text, seed: 3, count: 400, text => { TokenizerPropertyChecks.EncodeAndCheck(tokenizer, family, text); });
    }

    [SkippableFact]
    public void Roberta_base_encodings_keep_offsets_bytes_and_coverage()
    {
        var tokenizer = TokenizerFuzzing.RobertaBase();
        PropertyDraws.ForAll(TokenizerFuzzing.Text, seed: 4, count: 400, text => { TokenizerPropertyChecks.EncodeAndCheck(tokenizer, TokenizerFamily.ByteLevel, text); });
    }

    /// <summary>
    /// docs/tokenizers.md: lone surrogates are not refused; byte-level BPE encodes them as U+FFFD and WordPiece reads them
    /// as U+FFFD (which cleaning removes). So a text with lone surrogates encodes exactly as the same text with U+FFFD in
    /// their place (same length, so the same offsets), and the invariants hold on it.
    /// </summary>
    [Fact]
    public void Lone_surrogates_encode_as_u_fffd_in_the_small_tokenizers()
    {
        using var dir = new TempDirectory();
        CheckLoneSurrogates(TokenizerFuzzing.SmallWordPiece(dir), TokenizerFamily.WordPieceUncased, 5);
        CheckLoneSurrogates(TokenizerFuzzing.SmallByteLevel(dir, addPrefixSpace: false), TokenizerFamily.ByteLevel, 6);
    }

    [SkippableFact]
    public void Lone_surrogates_encode_as_u_fffd_in_the_shared_tokenizers()
    {
        CheckLoneSurrogates(TokenizerFuzzing.BertBaseUncased(), TokenizerFamily.WordPieceUncased, 7);
        CheckLoneSurrogates(TokenizerFuzzing.RobertaBase(), TokenizerFamily.ByteLevel, 8);
    }

    /// <summary>
    /// ITokenizer.Encode: with maxLength n the result has at most n tokens; truncating on the right keeps a prefix of the
    /// untruncated input tokens (ids, offsets, words), on the left a suffix, between the same added tokens, and
    /// <see cref="Encoding.Truncated"/> counts the rest. An n below the added tokens' count is refused naming maxLength and n.
    /// </summary>
    [Fact]
    public void Truncation_keeps_a_prefix_or_suffix_of_the_small_tokenizers_encodings()
    {
        using var dir = new TempDirectory();
        CheckTruncation(TokenizerFuzzing.SmallWordPiece(dir), 9);
        CheckTruncation(TokenizerFuzzing.SmallByteLevel(dir, addPrefixSpace: true), 10);
    }

    [SkippableFact]
    public void Truncation_keeps_a_prefix_or_suffix_of_the_shared_tokenizers_encodings()
    {
        CheckTruncation(TokenizerFuzzing.BertBaseUncased(), 11);
        CheckTruncation(TokenizerFuzzing.RobertaBase(), 12);
    }

    /// <summary>
    /// Of a pair, each input's offsets index into that input and keep the offset invariants; truncated to n
    /// (longest_first) it has min(n, untruncated length) tokens, and each input keeps a prefix of its own tokens;
    /// only_first / only_second keep the other input whole, or refuse naming <c>strategy</c>.
    /// </summary>
    [Fact]
    public void Pairs_index_each_input_and_truncate_to_a_prefix_of_each()
    {
        using var dir = new TempDirectory();
        foreach (var (tokenizer, seed) in new[] { (TokenizerFuzzing.SmallWordPiece(dir), 13UL), (TokenizerFuzzing.SmallByteLevel(dir, addPrefixSpace: false), 14UL) })
        {
            PropertyDraws.ForAll(Gen.Select(TokenizerFuzzing.Text, TokenizerFuzzing.Text, Gen.Int[0, 60]), seed, count: 300, (a, b, n) =>
            {
                var full = tokenizer.Encode(a, b);
                var specials = full.SpecialTokensMask.Count(s => s);
                if (n < specials)
                {
                    var refusal = Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Encode(a, b, maxLength: n));
                    Assert.Equal("maxLength", refusal.ParamName);
                    return;
                }

                TokenizerPropertyChecks.CheckOffsets(a, full, sequence: 0);
                TokenizerPropertyChecks.CheckOffsets(b, full, sequence: 1);
                var cut = tokenizer.Encode(a, b, maxLength: n);
                Assert.Equal(Math.Min(n, full.Length), cut.Length);
                Assert.Equal(full.Length - cut.Length, cut.Truncated);
                for (var sequence = 0; sequence < 2; sequence++)
                {
                    var whole = Input(full, sequence);
                    var kept = Input(cut, sequence);
                    Assert.Equal(whole.Take(kept.Count), kept);
                }

                // only_first / only_second cut one input and refuse (naming strategy) when that input would have to be
                // emptied or could not make the pair fit.
                var (n1, n2, budget) = (Input(full, 0).Count, Input(full, 1).Count, n - specials);
                foreach (var strategy in new[] { TruncationStrategy.OnlyFirst, TruncationStrategy.OnlySecond })
                {
                    var (cuttable, other) = strategy == TruncationStrategy.OnlyFirst ? (n1, n2) : (n2, n1);
                    if (n1 + n2 > budget && budget - other <= 0)
                    {
                        var refusal = Assert.Throws<ArgumentException>(() => tokenizer.Encode(a, b, maxLength: n, strategy: strategy));
                        Assert.Equal("strategy", refusal.ParamName);
                        continue;
                    }

                    var one = tokenizer.Encode(a, b, maxLength: n, strategy: strategy);
                    var keep = Math.Min(cuttable, budget - other);
                    var (first, second) = strategy == TruncationStrategy.OnlyFirst ? (keep, n2) : (n1, keep);
                    Assert.Equal(Input(full, 0).Take(first), Input(one, 0));
                    Assert.Equal(Input(full, 1).Take(second), Input(one, 1));
                }
            });
        }
    }

    /// <summary>
    /// ITokenizer.EncodeBatch: each encoding is the text's own, right-padded to the longest with the pad id (attention 0,
    /// type 0, special, no offset, no word).
    /// </summary>
    [Fact]
    public void Batches_are_each_texts_encoding_padded_to_the_longest()
    {
        using var dir = new TempDirectory();
        foreach (var (tokenizer, seed) in new[] { (TokenizerFuzzing.SmallWordPiece(dir), 20UL), (TokenizerFuzzing.SmallByteLevel(dir, addPrefixSpace: true), 21UL) })
        {
            PropertyDraws.ForAll(TokenizerFuzzing.Text.Array[0, 5], seed, count: 100, texts =>
            {
                var batch = tokenizer.EncodeBatch(texts);
                Assert.Equal(texts.Length, batch.Count);
                var longest = texts.Select(t => tokenizer.Encode(t).Length).DefaultIfEmpty(0).Max();
                for (var i = 0; i < texts.Length; i++)
                {
                    var alone = tokenizer.Encode(texts[i]);
                    var padded = batch[i];
                    var pads = longest - alone.Length;
                    Assert.Equal(longest, padded.Length);
                    Assert.Equal([.. alone.Ids, .. Enumerable.Repeat(tokenizer.PadId, pads)], padded.Ids);
                    Assert.Equal([.. alone.Offsets, .. new (int, int)?[pads]], padded.Offsets);
                    Assert.Equal([.. alone.WordIds, .. new int?[pads]], padded.WordIds);
                    Assert.Equal([.. alone.AttentionMask, .. new long[pads]], padded.AttentionMask);
                    Assert.Equal([.. alone.TypeIds, .. new long[pads]], padded.TypeIds);
                    Assert.Equal([.. alone.SpecialTokensMask, .. Enumerable.Repeat(true, pads)], padded.SpecialTokensMask);
                }
            });
        }
    }

    private static void CheckLoneSurrogates(ITokenizer tokenizer, TokenizerFamily family, ulong seed)
    {
        PropertyDraws.ForAll(TokenizerFuzzing.TextWithLoneSurrogates, seed, count: 300, text =>
        {
            var encoding = TokenizerPropertyChecks.EncodeAndCheck(tokenizer, family, text);
            var replaced = tokenizer.Encode(TokenizerFuzzing.ReplaceLoneSurrogates(text));
            Assert.NotNull(encoding);
            Assert.Equal(replaced.Ids, encoding.Ids);
            Assert.Equal(replaced.Offsets, encoding.Offsets);
            Assert.Equal(replaced.WordIds, encoding.WordIds);
        });
    }

    private static void CheckTruncation(ITokenizer tokenizer, ulong seed)
    {
        PropertyDraws.ForAll(Gen.Select(TokenizerFuzzing.Text, Gen.Int[0, 40], Gen.Bool), seed, count: 300, (text, n, left) =>
        {
            var side = left ? TruncationSide.Left : TruncationSide.Right;
            var full = tokenizer.Encode(text);
            var specials = full.SpecialTokensMask.Count(s => s);
            if (n < specials)
            {
                var refusal = Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Encode(text, maxLength: n, truncationSide: side));
                Assert.Equal("maxLength", refusal.ParamName);
                Assert.Equal(n, refusal.ActualValue);
                Assert.Contains(n.ToString(System.Globalization.CultureInfo.InvariantCulture), refusal.Message, StringComparison.Ordinal);
                return;
            }

            var cut = tokenizer.Encode(text, maxLength: n, truncationSide: side);
            var whole = Input(full, 0);
            var kept = Input(cut, 0);
            var keep = Math.Min(n - specials, whole.Count);
            Assert.True(cut.Length <= n, $"{cut.Length} tokens for maxLength {n}");
            Assert.Equal(keep, kept.Count);
            Assert.Equal(whole.Count - keep, cut.Truncated);
            Assert.Equal(left ? whole.Skip(whole.Count - keep) : whole.Take(keep), kept);
            Assert.Equal(full.Ids.Where((_, i) => full.SpecialTokensMask[i]), cut.Ids.Where((_, i) => cut.SpecialTokensMask[i]));
            Assert.True(cut.SpecialTokensMask[0] && cut.SpecialTokensMask[^1], "the added tokens stay at both ends");
        });
    }

    /// <summary>The tokens of input <paramref name="sequence"/> as (id, span, word), in order.</summary>
    private static List<(long Id, (int, int)? Span, int? Word)> Input(Encoding encoding, int sequence) =>
        [.. Enumerable.Range(0, encoding.Length).Where(i => encoding.SequenceOf(i) == sequence).Select(i => (encoding.Ids[i], encoding.Offsets[i], encoding.WordIds[i]))];
}
