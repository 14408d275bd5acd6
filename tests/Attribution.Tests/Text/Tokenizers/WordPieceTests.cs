using Attribution.Text.Tokenizers;

namespace Attribution.Tests.Text.Tokenizers;

/// <summary>WordPiece behaviour on a vocab.txt written here: needs nothing from shared/.</summary>
public class WordPieceTests
{
    // Ids are line numbers: [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4 the=5 cat=6 sat=7 on=8 mat=9 ##s=10 .=11 ,=12
    // un=13 ##aff=14 ##able=15 cafe=16 東=17 a=18 ##a=19 !=20
    private static readonly string[] Vocabulary =
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "##s", ".", ",", "un", "##aff", "##able", "cafe", "東", "a", "##a", "!"];

    private static ITokenizer Load(TempDirectory dir, string? config = null) => TokenizerLoader.FromWordPieceVocab(
        dir.Write("vocab.txt", string.Join("\n", Vocabulary) + "\n"), config is null ? null : dir.Write("tokenizer_config.json", config));

    [Fact]
    public void Splits_words_greedily_into_longest_pieces()
    {
        using var dir = new TempDirectory();
        var tokenizer = Load(dir);

        var encoding = tokenizer.Encode("The CATS sat, unaffable. Dogs!");

        encoding.Tokens.Should().Equal("[CLS]", "the", "cat", "##s", "sat", ",", "un", "##aff", "##able", ".", "[UNK]", "!", "[SEP]");
        encoding.Ids.Should().Equal(2, 5, 6, 10, 7, 12, 13, 14, 15, 11, 1, 20, 3);
        encoding.WordIds.Should().Equal(null, 0, 1, 1, 2, 3, 4, 4, 4, 5, 6, 7, null);
        encoding.Offsets.Should().Equal(null, (0, 3), (4, 7), (7, 8), (9, 12), (12, 13), (14, 16), (16, 19), (19, 23), (23, 24), (25, 29), (29, 30), null);
        encoding.TypeIds.Should().OnlyContain(t => t == 0);
        encoding.AttentionMask.Should().OnlyContain(m => m == 1);
        encoding.SpecialTokensMask.Should().Equal(true, false, false, false, false, false, false, false, false, false, false, false, true);
        encoding.Truncated.Should().Be(0);
    }

    [Fact]
    public void Normalization_changes_lengths_but_offsets_index_the_original()
    {
        using var dir = new TempDirectory();
        var tokenizer = Load(dir);

        // CAFÉ written with a combining accent (5 units), NUL and U+FFFD removed, a CJK ideograph split off.
        var text = "CAFE\u0301\0\uFFFD東cat";
        var encoding = tokenizer.Encode(text);

        encoding.Tokens.Should().Equal("[CLS]", "cafe", "東", "cat", "[SEP]");
        encoding.Offsets.Should().Equal(null, (0, 4), (7, 8), (8, 11), null);
    }

    [Fact]
    public void Words_over_100_code_points_are_unknown_counting_surrogate_pairs_once()
    {
        using var dir = new TempDirectory();
        var tokenizer = Load(dir);

        tokenizer.Encode(new string('a', 100)).Tokens.Should().HaveCount(102).And.NotContain("[UNK]");
        tokenizer.Encode(new string('a', 101)).Tokens.Should().Equal("[CLS]", "[UNK]", "[SEP]");

        // 99 letters and one astral character are 100 code points (101 UTF-16 units): still within the limit,
        // so the word is looked up (and is unknown only because the emoji is not in the vocabulary).
        var astral = new string('a', 99) + "😀";
        var encoding = tokenizer.Encode(astral);
        encoding.Tokens.Should().Equal("[CLS]", "[UNK]", "[SEP]");
        encoding.Offsets[1].Should().Be((0, 101));
    }

    [Fact]
    public void Literal_special_tokens_stay_whole_and_case_sensitive()
    {
        using var dir = new TempDirectory();
        var tokenizer = Load(dir);

        var encoding = tokenizer.Encode("the [MASK] sat [mask][SEP]");

        encoding.Tokens.Should().Equal("[CLS]", "the", "[MASK]", "sat", "[UNK]", "[UNK]", "[UNK]", "[SEP]", "[SEP]");
        encoding.Offsets[2].Should().Be((4, 10));
        encoding.SpecialTokensMask[2].Should().BeFalse("a special token typed in the text is part of the input");
        encoding.WordIds[2].Should().Be(1);
    }

    [Fact]
    public void Pairs_get_type_ids_and_offsets_into_their_own_text()
    {
        using var dir = new TempDirectory();
        var tokenizer = Load(dir);

        var encoding = tokenizer.Encode("the cat", "on mat");

        encoding.Tokens.Should().Equal("[CLS]", "the", "cat", "[SEP]", "on", "mat", "[SEP]");
        encoding.TypeIds.Should().Equal(0, 0, 0, 0, 1, 1, 1);
        encoding.Offsets[4].Should().Be((0, 2));
        encoding.WordIds.Should().Equal(null, 0, 1, null, 2, 3, null);
    }

    [Fact]
    public void Truncation_happens_only_when_asked_and_is_reported()
    {
        using var dir = new TempDirectory();
        var tokenizer = Load(dir);
        var text = "the cat sat on the mat";

        tokenizer.Encode(text).Length.Should().Be(8);

        var right = tokenizer.Encode(text, maxLength: 5);
        right.Tokens.Should().Equal("[CLS]", "the", "cat", "sat", "[SEP]");
        right.Truncated.Should().Be(3);

        var left = tokenizer.Encode(text, maxLength: 5, truncationSide: TruncationSide.Left);
        left.Tokens.Should().Equal("[CLS]", "on", "the", "mat", "[SEP]");
        left.Truncated.Should().Be(3);

        tokenizer.Encode(text, maxLength: 8).Truncated.Should().Be(0);
        FluentActions.Invoking(() => tokenizer.Encode(text, maxLength: 1)).Should().Throw<ArgumentOutOfRangeException>()
            .WithParameterName("maxLength").WithMessage("maxLength must leave room for the 2 special tokens this tokenizer adds.*");

        // The strategy refusals ITokenizer.Encode documents: only_second of a single text that must be cut; only_first
        // when the second text alone (6 tokens) fills the budget of 7 - 3 = 4.
        FluentActions.Invoking(() => tokenizer.Encode(text, maxLength: 5, strategy: TruncationStrategy.OnlySecond)).Should().Throw<ArgumentException>()
            .WithParameterName("strategy").WithMessage("truncation only_second needs a second text, but there is none and the text has 6 tokens for a budget of 3*");
        FluentActions.Invoking(() => tokenizer.Encode("the cat", text, maxLength: 7, strategy: TruncationStrategy.OnlyFirst)).Should().Throw<ArgumentException>()
            .WithParameterName("strategy").WithMessage("truncation only_first would have to remove the whole first text (2 tokens) and still not fit: the second text alone has 6 tokens for a budget of 4*");

        // The second text (6 tokens) exactly fills the budget of 9 - 3 = 6: the pair would fit only with the first text
        // empty, which Hugging Face refuses too; the message says so rather than that it would not fit.
        FluentActions.Invoking(() => tokenizer.Encode("the cat", text, maxLength: 9, strategy: TruncationStrategy.OnlyFirst)).Should().Throw<ArgumentException>()
            .WithParameterName("strategy").WithMessage("truncation only_first would have to remove the whole first text (2 tokens) and leave it empty: the second text alone has 6 tokens for a budget of 6*");

        // Mirrored: only_second with the first text (6 tokens) over the budget of 7 - 3 = 4 names the texts the other way round.
        FluentActions.Invoking(() => tokenizer.Encode(text, "the cat", maxLength: 7, strategy: TruncationStrategy.OnlySecond)).Should().Throw<ArgumentException>()
            .WithParameterName("strategy").WithMessage("truncation only_second would have to remove the whole second text (2 tokens) and still not fit: the first text alone has 6 tokens for a budget of 4*");
    }

    [Fact]
    public void Pair_truncation_takes_from_the_longer_input_first()
    {
        using var dir = new TempDirectory();
        var tokenizer = Load(dir);

        // 2 + 6 content tokens, budget 9 - 3 = 6: the shorter keeps both, the longer keeps 4.
        var unequal = tokenizer.Encode("the cat", "the cat sat on the mat", maxLength: 9);
        unequal.Tokens.Should().Equal("[CLS]", "the", "cat", "[SEP]", "the", "cat", "sat", "on", "[SEP]");
        unequal.Truncated.Should().Be(2);

        // 4 + 6 content tokens, budget 7 - 3 = 4: neither fits alone, so 2 each.
        var both = tokenizer.Encode("the cat sat on", "the cat sat on the mat", maxLength: 7);
        both.Tokens.Should().Equal("[CLS]", "the", "cat", "[SEP]", "the", "cat", "[SEP]");
        both.Truncated.Should().Be(6);
    }

    [Fact]
    public void Batches_are_padded_to_the_longest()
    {
        using var dir = new TempDirectory();
        var tokenizer = Load(dir);

        var batch = tokenizer.EncodeBatch(["the cat sat", "on"], ["mat", "the mat"]);

        batch.Should().HaveCount(2);
        batch[0].Ids.Should().Equal(2, 5, 6, 7, 3, 9, 3);
        batch[1].Ids.Should().Equal(2, 8, 3, 5, 9, 3, 0);
        batch[1].AttentionMask.Should().Equal(1, 1, 1, 1, 1, 1, 0);
        batch[1].TypeIds.Should().Equal(0, 0, 0, 1, 1, 1, 0);
        batch[1].SpecialTokensMask[^1].Should().BeTrue();
        batch[1].Offsets[^1].Should().BeNull();
        batch[1].WordIds[^1].Should().BeNull();
        batch[1].Tokens[^1].Should().Be("[PAD]");
        FluentActions.Invoking(() => tokenizer.EncodeBatch(["a", "b"], ["c"])).Should().Throw<ArgumentException>()
            .WithParameterName("pairs").WithMessage("pairs has 1 entries but texts has 2; give one pair per text.*");
    }

    [Fact]
    public void Decode_joins_pieces_and_tidies_punctuation()
    {
        using var dir = new TempDirectory();
        var tokenizer = Load(dir);

        var ids = tokenizer.Encode("The cats sat, unaffable.").Ids;

        tokenizer.Decode(ids).Should().Be("the cats sat, unaffable.");
        tokenizer.Decode(ids, skipSpecialTokens: false).Should().Be("[CLS] the cats sat, unaffable. [SEP]");
        FluentActions.Invoking(() => tokenizer.Decode([99])).Should().Throw<ArgumentOutOfRangeException>()
            .WithParameterName("ids").WithMessage("Id 99 is not in the vocabulary (size *");
    }

    /// <summary>
    /// The ideographs set apart as words are those of Hugging Face tokenizers' <c>is_chinese_char</c> (bert.rs), whose
    /// fifth range starts at U+2B920, not at U+2B820 as in Google's Python BasicTokenizer: U+2B81D (CJK Extension D) is isolated,
    /// U+2B820 (CJK Extension E) and U+2B91F stay in their word, U+2B920 is isolated again. None is in the vocabulary,
    /// so an isolated one is an [UNK] of its own and a glued one makes its whole word [UNK].
    /// </summary>
    [Fact]
    public void Ideographs_are_isolated_by_the_ranges_of_hugging_face_tokenizers()
    {
        using var dir = new TempDirectory();
        var tokenizer = Load(dir);

        tokenizer.Encode("a\U0002B81D").Tokens.Should().Equal("[CLS]", "a", "[UNK]", "[SEP]");
        tokenizer.Encode("a\U0002B820").Tokens.Should().Equal("[CLS]", "[UNK]", "[SEP]");
        tokenizer.Encode("a\U0002B91F").Tokens.Should().Equal("[CLS]", "[UNK]", "[SEP]");
        tokenizer.Encode("a\U0002B920").Tokens.Should().Equal("[CLS]", "a", "[UNK]", "[SEP]");
    }

    /// <summary>
    /// Hugging Face matches an added token marked <c>normalized</c> after the normalizer has run on the text and on the
    /// token (here lower-casing and accent stripping), and the others in the raw text, first and case-sensitively. So
    /// "FOO" is the added "Foo", "CAFÉ" the added "Café" (not the vocabulary's "cafe"), "[pad]" the pad token (its entry
    /// is normalized, as in bert-base-uncased's re-saved tokenizer.json), while "[mask]" stays text because [MASK] is not
    /// normalized. Offsets span the original characters.
    /// </summary>
    [Fact]
    public void Normalized_added_tokens_match_the_normalized_text()
    {
        using var dir = new TempDirectory();
        var tokenizer = TokenizerLoader.FromTokenizerJson(dir.Write("tokenizer.json", TokenizerJsonWithAddedTokens()));

        var encoding = tokenizer.Encode("a FOO CAFÉ b");
        encoding.Ids.Should().Equal(2, 5, 11, 12, 6, 3);
        encoding.Offsets.Should().Equal(null, (0, 1), (2, 5), (6, 10), (11, 12), null);
        encoding.WordIds.Should().Equal(null, 0, 1, 2, 3, null);

        tokenizer.Encode("[mask] [MASK] [pad]").Ids.Should().Equal(2, 8, 10, 9, 4, 0, 3);
        // As in the raw text, a match needs no word boundary unless the token is single_word.
        tokenizer.Encode("afoo").Ids.Should().Equal(2, 5, 11, 3);

        // Alone, without a non-ASCII character that sends any text to the search: an upper-case ASCII letter that
        // lower-cases to an added token's first character, and the token's own first character.
        tokenizer.Encode("FOO").Ids.Should().Equal(2, 11, 3);
        tokenizer.Encode("foo").Ids.Should().Equal(2, 11, 3);
        tokenizer.Encode("[pad]").Ids.Should().Equal(2, 0, 3);
    }

    private static string TokenizerJsonWithAddedTokens()
    {
        // [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4 a=5 b=6 cafe=7 [=8 ]=9 mask=10; added: Foo=11, Café=12.
        string[] words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "cafe", "[", "]", "mask"];
        object Added(int id, string content, bool special, bool normalized) => BertTokenizerJson.AddedToken(id, content, special, normalized);
        return BertTokenizerJson.Serialize(words, addedTokens:
        [
            Added(0, "[PAD]", true, true), Added(1, "[UNK]", true, false), Added(2, "[CLS]", true, false), Added(3, "[SEP]", true, false),
            Added(4, "[MASK]", true, false), Added(11, "Foo", false, true), Added(12, "Café", false, true),
        ]);
    }

    [Fact]
    public void Cased_config_keeps_case_and_accents()
    {
        using var dir = new TempDirectory();
        var tokenizer = Load(dir, """{"do_lower_case": false, "model_max_length": 128}""");

        tokenizer.Encode("The cat").Tokens.Should().Equal("[CLS]", "[UNK]", "cat", "[SEP]");
        tokenizer.Encode("cafe\u0301").Tokens.Should().Equal("[CLS]", "[UNK]", "[SEP]");
        tokenizer.ModelMaxLength.Should().Be(128);
    }

    [Fact]
    public void Without_config_the_model_limit_is_unknown()
    {
        using var dir = new TempDirectory();
        Load(dir).ModelMaxLength.Should().BeNull();
    }

    /// <summary>
    /// model_max_length below 1 was read as no limit, and a fraction was cut to a whole number, without a word; now both
    /// are refused naming the field. 1e30 (Hugging Face's mark for an unknown limit) is still no limit.
    /// </summary>
    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("512.5")]
    public void A_model_max_length_that_is_no_token_count_is_refused(string value)
    {
        using var dir = new TempDirectory();
        FluentActions.Invoking(() => Load(dir, "{\"model_max_length\": " + value + "}"))
            .Should().Throw<TokenizerException>().WithMessage($"*model_max_length*is {value}; it should be a whole number of tokens, at least 1*");
        Load(dir, "{\"model_max_length\": 1e30}").ModelMaxLength.Should().BeNull();
        Load(dir, "{\"model_max_length\": 1}").ModelMaxLength.Should().Be(1);
    }
}
