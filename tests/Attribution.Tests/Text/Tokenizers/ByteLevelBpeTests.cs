using System.Text.Json;
using Attribution.Text.Tokenizers;

namespace Attribution.Tests.Text.Tokenizers;

/// <summary>Byte-level BPE on a tokenizer.json written here: needs nothing from shared/ (except one roberta-base test, skipped without it).</summary>
public class ByteLevelBpeTests
{
    // "  hello the  café 😀 ": indices 0-1 spaces, 2-6 hello, 7 space, 8-10 the, 11-12 spaces, 13-16 café,
    // 17 space, 18-19 the emoji's surrogate pair, 20 space.
    private const string Awkward = "  hello the  café 😀 ";

    [Fact]
    public void Merges_apply_by_rank_and_spaces_become_G_dot()
    {
        using var dir = new TempDirectory();
        var tokenizer = TokenizerLoader.FromTokenizerJson(dir.Write("tokenizer.json", TokenizerJson(addPrefixSpace: false)));

        var encoding = tokenizer.Encode(Awkward);

        // " the" merges h+e (rank 0) before Ġ+t (rank 4), so "Ġt h" never applies and "Ġt he" does.
        // é is two UTF-8 bytes (Ã ©), the emoji four (ð Ł ĺ Ģ), only the first two of which merge.
        encoding.Tokens.Should().Equal(
            "<s>", "Ġ", "Ġhello", "Ġthe", "Ġ", "Ġc", "a", "f", "Ã©", "Ġ", "ðŁ", "ĺ", "Ģ", "Ġ", "</s>");
        encoding.Ids.Should().Equal(encoding.Tokens.Select(t => tokenizer.TokenToId(t)!.Value));
        encoding.WordIds.Should().Equal(null, 0, 1, 2, 3, 4, 4, 4, 4, 5, 5, 5, 5, 6, null);
    }

    /// <summary>
    /// A batch is padded with this tokenizer's pad id (1 here, so a pad of zeros would show), and every per-token array
    /// of a padded encoding is padded too: "&lt;pad&gt;", attention 0, type 0, special, no offset, word or input.
    /// An empty batch is empty.
    /// </summary>
    [Fact]
    public void Batches_are_padded_with_the_pad_id_in_every_array()
    {
        using var dir = new TempDirectory();
        var tokenizer = TokenizerLoader.FromTokenizerJson(dir.Write("tokenizer.json", TokenizerJson(addPrefixSpace: true)));

        var batch = tokenizer.EncodeBatch(["hello the", "the"]);

        tokenizer.PadId.Should().Be(1);
        var padded = batch[1];
        var alone = tokenizer.Encode("the");
        alone.Length.Should().Be(3);
        padded.Length.Should().Be(4);
        padded.Ids.Should().Equal([.. alone.Ids, 1L]);
        padded.Tokens.Should().Equal([.. alone.Tokens, "<pad>"]);
        padded.AttentionMask.Should().Equal(1, 1, 1, 0);
        padded.TypeIds.Should().Equal(0, 0, 0, 0);
        padded.SpecialTokensMask.Should().Equal([.. alone.SpecialTokensMask, true]);
        padded.Offsets.Should().Equal([.. alone.Offsets, null]);
        padded.WordIds.Should().Equal([.. alone.WordIds, null]);
        padded.SequenceIds.Should().Equal([.. alone.SequenceIds!, null]);
        padded.Truncated.Should().Be(0);
        batch[0].Should().BeEquivalentTo(tokenizer.Encode("hello the"), "the longest is not padded");
        tokenizer.EncodeBatch([]).Should().BeEmpty();
    }

    [Fact]
    public void Offsets_exclude_the_leading_space_and_cover_whole_characters()
    {
        using var dir = new TempDirectory();
        var tokenizer = TokenizerLoader.FromTokenizerJson(dir.Write("tokenizer.json", TokenizerJson(addPrefixSpace: false)));

        var encoding = tokenizer.Encode(Awkward);

        // A token of spaces only keeps an empty span where it ends; bytes of one character share its span.
        encoding.Offsets.Should().Equal(
            null, (1, 1), (2, 7), (8, 11), (12, 12), (13, 14), (14, 15), (15, 16), (16, 17), (18, 18), (18, 20), (18, 20), (18, 20), (21, 21), null);
        for (var i = 0; i < encoding.Length; i++)
        {
            if (encoding.Offsets[i] is var (start, end) && tokenizer.IdToToken(encoding.Ids[i]) is { } token && !token.Contains('Ã') && !token.StartsWith("ð") && token is not ("ĺ" or "Ģ"))
            {
                Awkward[start..end].Should().Be(token.TrimStart('Ġ'));
            }
        }
    }

    [Fact]
    public void Add_prefix_space_spells_the_first_word_like_the_others_without_shifting_offsets()
    {
        using var dir = new TempDirectory();
        var tokenizer = TokenizerLoader.FromTokenizerJson(dir.Write("tokenizer.json", TokenizerJson(addPrefixSpace: true)));

        var encoding = tokenizer.Encode("hello the");

        encoding.Tokens.Should().Equal("<s>", "Ġhello", "Ġthe", "</s>");
        encoding.Offsets.Should().Equal(null, (0, 5), (6, 9), null);
    }

    [Fact]
    public void Without_a_prefix_space_the_first_word_is_spelled_from_single_bytes()
    {
        using var dir = new TempDirectory();
        var tokenizer = TokenizerLoader.FromTokenizerJson(dir.Write("tokenizer.json", TokenizerJson(addPrefixSpace: false)));

        tokenizer.Encode("hello").Tokens.Should().Equal("<s>", "hello", "</s>");
        tokenizer.Encode("the").Tokens.Should().Equal("<s>", "t", "he", "</s>");
    }

    [Fact]
    public void Special_tokens_in_the_text_stay_whole_and_mask_swallows_the_space_before_it()
    {
        using var dir = new TempDirectory();
        var tokenizer = TokenizerLoader.FromTokenizerJson(dir.Write("tokenizer.json", TokenizerJson(addPrefixSpace: false)));

        var encoding = tokenizer.Encode("hello <mask> the</s>");

        encoding.Tokens.Should().Equal("<s>", "hello", "<mask>", "Ġthe", "</s>", "</s>");
        encoding.Offsets.Should().Equal(null, (0, 5), (6, 12), (13, 16), (16, 20), null);
        encoding.SpecialTokensMask.Should().Equal(true, false, false, false, false, true);
    }

    [Fact]
    public void Pairs_use_the_roberta_template_with_a_single_type_id()
    {
        using var dir = new TempDirectory();
        var tokenizer = TokenizerLoader.FromTokenizerJson(dir.Write("tokenizer.json", TokenizerJson(addPrefixSpace: false)));

        var encoding = tokenizer.Encode("hello", " the");

        encoding.Tokens.Should().Equal("<s>", "hello", "</s>", "</s>", "Ġthe", "</s>");
        encoding.TypeIds.Should().OnlyContain(t => t == 0);
        encoding.Offsets[4].Should().Be((1, 4));
        encoding.WordIds.Should().Equal(null, 0, null, null, 1, null);
    }

    [Fact]
    public void Decode_restores_the_exact_text()
    {
        using var dir = new TempDirectory();
        var tokenizer = TokenizerLoader.FromTokenizerJson(dir.Write("tokenizer.json", TokenizerJson(addPrefixSpace: false)));

        var ids = tokenizer.Encode(Awkward).Ids;

        tokenizer.Decode(ids).Should().Be(Awkward);
        tokenizer.Decode(ids, skipSpecialTokens: false).Should().Be("<s>" + Awkward + "</s>");
    }

    [Fact]
    public void Astral_letters_and_digits_group_like_their_bmp_counterparts()
    {
        using var dir = new TempDirectory();
        var tokenizer = TokenizerLoader.FromTokenizerJson(dir.Write("tokenizer.json", TokenizerJson(addPrefixSpace: false)));

        // 𝐀 (U+1D400) is a letter and 𝟙 (U+1D7D9) a digit: "x𝐀" is one word, "𝟙2" another, "!" a third.
        var encoding = tokenizer.Encode("x𝐀 𝟙2!");

        encoding.WordIds.Where(w => w is not null).Distinct().Should().HaveCount(3);
        encoding.Offsets.Where(o => o is not null).Select(o => o!.Value.Start).Distinct().Should().Equal(0, 1, 4, 6, 7);
        tokenizer.Decode(encoding.Ids).Should().Be("x𝐀 𝟙2!");
    }

    /// <summary>
    /// Merges over "a" and "b" with overlapping pairs ("a a" in "aaa"), one token made by two different merges
    /// ("abab" from "ab ab" and from "aba b") and merges of merged tokens. Every token is used only after all the
    /// merges that make it, as in a trained merges file.
    /// </summary>
    private static readonly (string, string)[] RepeatMerges =
    [
        ("a", "b"), ("b", "a"), ("a", "a"), ("ab", "a"), ("aa", "b"), ("b", "b"), ("aa", "aa"), ("ab", "ab"),
        ("aba", "b"), ("aab", "aab"), ("ba", "ba"), ("aaaa", "a"), ("abab", "abab"), ("a", "bb"), ("abb", "a"),
        ("abba", "abba"),
    ];

    [Theory]
    [InlineData("a", 300)]
    [InlineData("ab", 150)]
    [InlineData("aab", 100)]
    [InlineData("aba", 100)]
    [InlineData("abba", 75)]
    [InlineData("aabab", 60)]
    public void A_long_repeated_word_merges_like_the_textbook_algorithm(string unit, int repeats)
    {
        using var dir = new TempDirectory();
        var tokenizer = TokenizerLoader.FromTokenizerJson(dir.Write("tokenizer.json", TokenizerJson(addPrefixSpace: false, RepeatMerges)));
        var word = string.Concat(Enumerable.Repeat(unit, repeats));

        var encoding = tokenizer.Encode(word);

        var expected = ReferenceBpe(word, RepeatMerges);
        string[] expectedTokens = ["<s>", .. expected, "</s>"];
        encoding.Tokens.Should().Equal(expectedTokens);

        // One ASCII word: each token's span is its own letters, end to end.
        var ends = expected.Select((_, i) => expected.Take(i + 1).Sum(t => t.Length)).ToArray();
        (int Start, int End)?[] expectedOffsets = [null, .. expected.Select((t, i) => ((int, int)?)(ends[i] - t.Length, ends[i])), null];
        encoding.Offsets.Should().Equal(expectedOffsets);
    }

    [Fact]
    public void A_sixteen_thousand_letter_word_is_tokenized_exactly()
    {
        using var dir = new TempDirectory();
        var tokenizer = TokenizerLoader.FromTokenizerJson(dir.Write("tokenizer.json", TokenizerJson(addPrefixSpace: false, RepeatMerges)));
        var word = new string('a', 16_000);

        var encoding = tokenizer.Encode(word);

        // a a → aa (8,000), then aa aa → aaaa (4,000); no lone "a" is left for "aaaa a". A merge that rescans the
        // whole word after every step is quadratic in its length here.
        var tokens = encoding.Tokens.Skip(1).SkipLast(1).ToArray();
        tokens.Should().HaveCount(4_000).And.OnlyContain(t => t == "aaaa");
        tokens.Should().Equal(ReferenceBpe(word, RepeatMerges));
        string.Concat(tokens).Should().Be(word);
    }

    [SkippableFact]
    public void Roberta_tokenizes_a_sixteen_thousand_letter_word_completely()
    {
        var tokenizer = TokenizerLoader.FromDirectory(Path.GetDirectoryName(SharedData.Require("tokenizers/roberta-base/tokenizer.json"))!);
        var state = 12345u;
        var random = new string(Enumerable.Range(0, 16_000).Select(_ => (char)('a' + ((state = (state * 1_103_515_245) + 12_345) >> 16) % 26)).ToArray());

        foreach (var (word, expectedCount) in new[] { (new string('a', 16_000), (int?)4_000), (random, null) })
        {
            var encoding = tokenizer.Encode(word);

            // Lowercase ASCII letters are their own byte characters, so the tokens spell the word and their offsets tile it.
            var tokens = encoding.Tokens.Skip(1).SkipLast(1).ToArray();
            string.Concat(tokens).Should().Be(word);
            var offsets = encoding.Offsets.Skip(1).SkipLast(1).Select(o => o!.Value).ToArray();
            offsets.Select(o => o.End - o.Start).Should().Equal(tokens.Select(t => t.Length));
            offsets.Zip(offsets.Skip(1)).Should().OnlyContain(p => p.First.End == p.Second.Start);
            (offsets[0].Start, offsets[^1].End).Should().Be((0, word.Length));
            tokenizer.Decode(encoding.Ids).Should().Be(word);
            if (expectedCount is int count)
            {
                tokens.Should().HaveCount(count);
            }
        }
    }

    /// <summary>
    /// GPT-2's original BPE, written independently of the library: find the adjacent pair of lowest rank, merge
    /// every occurrence of it left to right, repeat. (A repeated merge takes its last rank, as in Hugging Face.)
    /// For merges in which a token is used only after the merges that make it, this equals Hugging Face's
    /// lowest-rank, leftmost-first order.
    /// </summary>
    private static List<string> ReferenceBpe(string word, IReadOnlyList<(string, string)> merges)
    {
        var ranks = new Dictionary<(string, string), int>();
        for (var rank = 0; rank < merges.Count; rank++)
        {
            ranks[merges[rank]] = rank;
        }

        var parts = word.Select(c => c.ToString()).ToList();
        while (true)
        {
            var best = parts.Zip(parts.Skip(1))
                .Where(ranks.ContainsKey)
                .OrderBy(pair => ranks[pair])
                .Select(pair => ((string, string)?)pair)
                .FirstOrDefault();
            if (best is not var (left, right))
            {
                return parts;
            }

            var merged = new List<string>(parts.Count);
            for (var i = 0; i < parts.Count; i++)
            {
                if (i + 1 < parts.Count && parts[i] == left && parts[i + 1] == right)
                {
                    merged.Add(left + right);
                    i++;
                }
                else
                {
                    merged.Add(parts[i]);
                }
            }

            parts = merged;
        }
    }

    /// <summary>
    /// A RoBERTa-style tokenizer.json: the 256 byte characters, RoBERTa's special tokens and a few merges (or the
    /// given ones), half written as "a b" strings and half as [a, b] pairs (both forms occur in Hugging Face files).
    /// </summary>
    internal static string TokenizerJson(bool addPrefixSpace, (string, string)[]? customMerges = null)
    {
        var vocab = new Dictionary<string, int> { ["<s>"] = 0, ["<pad>"] = 1, ["</s>"] = 2, ["<unk>"] = 3 };
        foreach (var c in Gpt2ByteAlphabet.Characters)
        {
            vocab[c.ToString()] = vocab.Count;
        }

        var merges = customMerges ??
        [
            ("h", "e"), ("l", "l"), ("ll", "o"), ("he", "llo"), ("Ġ", "t"), ("Ġt", "h"), ("Ġt", "he"), ("Ġ", "hello"),
            ("Ã", "©"), ("ð", "Ł"), ("Ġ", "c"),
        ];
        foreach (var (a, b) in merges)
        {
            vocab.TryAdd(a + b, vocab.Count);
        }

        vocab["<mask>"] = vocab.Count;
        object[] serializedMerges = merges.Select((m, i) => i % 2 == 0 ? (object)$"{m.Item1} {m.Item2}" : new[] { m.Item1, m.Item2 }).ToArray();
        object Added(string content, int id, bool lstrip = false) =>
            new { id, content, single_word = false, lstrip, rstrip = false, normalized = false, special = true };

        return JsonSerializer.Serialize(new
        {
            version = "1.0",
            truncation = (object?)null,
            padding = (object?)null,
            added_tokens = new[] { Added("<s>", 0), Added("<pad>", 1), Added("</s>", 2), Added("<unk>", 3), Added("<mask>", vocab["<mask>"], lstrip: true) },
            normalizer = (object?)null,
            pre_tokenizer = new { type = "ByteLevel", add_prefix_space = addPrefixSpace, trim_offsets = true, use_regex = true },
            post_processor = new { type = "RobertaProcessing", sep = new object[] { "</s>", 2 }, cls = new object[] { "<s>", 0 }, trim_offsets = true, add_prefix_space = addPrefixSpace },
            decoder = new { type = "ByteLevel", add_prefix_space = true, trim_offsets = true, use_regex = true },
            model = new
            {
                type = "BPE",
                dropout = (object?)null,
                unk_token = (object?)null,
                continuing_subword_prefix = "",
                end_of_word_suffix = "",
                fuse_unk = false,
                byte_fallback = false,
                vocab,
                merges = serializedMerges,
            },
        });
    }
}
