using Attribution.Text.Tokenizers;

namespace Attribution.Tests.Text.Tokenizers;

/// <summary>
/// An added token marked <c>single_word</c> matches only where no word character touches it. Hugging Face tokenizers
/// (<c>added_vocabulary.rs</c>) tests that with Rust's Unicode <c>\w</c>: Alphabetic, marks, decimal digits, connector
/// punctuation and the joiners, so a combining mark before the token is part of a word (its own test
/// <c>test_single_word_is_unicode_correct</c>, whose text and expected splits are reused here).
/// </summary>
public class AddedTokenSingleWordTests
{
    // [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 <mask>=4 ,=5 -=6 <=7 mask=8 >=9 ◌=10 a=11 _=12 ⅻ=13
    private static readonly string[] Vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "<mask>", ",", "-", "<", "mask", ">", "\u25CC", "a", "_", "\u217B"];

    private static ITokenizer Load(TempDirectory dir, string[]? vocabulary = null, params (string Content, int Id, bool SingleWord)[] added)
    {
        added = added.Length == 0 ? [("<mask>", 4, true)] : added;
        vocabulary ??= Vocabulary;
        dir.Write("tokenizer.json", BertTokenizerJson.Serialize(
            vocabulary, addedTokens: added.Select(a => BertTokenizerJson.AddedToken(a.Id, a.Content, singleWord: a.SingleWord)).ToArray()));
        return TokenizerLoader.FromDirectory(dir.Path);
    }

    [Fact]
    public void A_combining_mark_before_the_token_makes_it_part_of_a_word_as_in_hugging_faces_own_test()
    {
        using var dir = new TempDirectory();
        var tokenizer = Load(dir);

        // Hugging Face splits "<mask>, <mask>- ◌̰<mask>" into <mask> | ", " | <mask> | "- ◌̰<mask>" (the last <mask>
        // follows U+0330, a mark). The plain stretch then goes through BERT: "-" is punctuation, "◌" keeps nothing of
        // U+0330 (accents stripped), and "<", "mask", ">" are words of their own.
        var text = "<mask>, <mask>- \u25CC\u0330<mask>";
        var encoding = tokenizer.Encode(text);

        encoding.Ids.Should().Equal(2, 4, 5, 4, 6, 10, 7, 8, 9, 3);
        encoding.Offsets.Should().Equal(null, (0, 6), (6, 7), (8, 14), (14, 15), (16, 17), (18, 19), (19, 23), (23, 24), null);
    }

    [Theory]
    [InlineData("\u24B6<mask>")] // Ⓐ: a symbol (So) but Other_Alphabetic
    [InlineData("\u24E9<mask>")] // ⓩ, the last circled letter
    [InlineData("\U0001F130<mask>")] // squared A .. Z: the first and the last
    [InlineData("\U0001F149<mask>")]
    [InlineData("\U0001F150<mask>")] // negative circled A .. Z
    [InlineData("\U0001F169<mask>")]
    [InlineData("\U0001F170<mask>")] // negative squared A .. Z
    [InlineData("\U0001F189<mask>")]
    [InlineData("\u217B<mask>")] // ⅻ: a letter number (Nl), Alphabetic
    [InlineData("<mask>\u0301")] // a combining accent after the token
    [InlineData("<mask>\u200D")] // zero-width joiner (Join_Control)
    [InlineData("\u203F<mask>")] // ‿ undertie: connector punctuation (Pc), like '_'
    public void Other_word_characters_of_rust_regex_keep_the_token_from_matching(string text)
    {
        using var dir = new TempDirectory();
        var tokenizer = Load(dir);

        tokenizer.Encode(text).Ids.Should().NotContain(4, $"\"{text}\" glues <mask> to a \\w character");
    }

    [Theory]
    [InlineData("a <mask> a")]
    [InlineData("-<mask>,")]
    [InlineData("\u00A9<mask>")] // © is a symbol (So), not Alphabetic
    public void Spaces_punctuation_and_plain_symbols_let_the_token_match(string text)
    {
        using var dir = new TempDirectory();
        var tokenizer = Load(dir);

        tokenizer.Encode(text).Ids.Should().Contain(4);
    }

    [Theory]
    [InlineData("abx", new long[] { 2, 4, 3 })]
    [InlineData("abcd", new long[] { 2, 5, 3 })]
    [InlineData("ab x", new long[] { 2, 8, 6, 3 })]
    [InlineData("abc", new long[] { 2, 9, 3 })]
    public void A_refused_match_is_skipped_whole_not_replaced_by_a_shorter_or_later_token(string text, long[] ids)
    {
        // Added: ab (single word) = 8, abc (single word) = 9, a = 10, bcd = 11. Hugging Face's leftmost-longest
        // search: "abx" finds "ab" at 0 (longest there), refused (x follows), goes on at 2, so "a" is never tried and
        // the whole text is the plain word "abx"; "abcd" finds "abc", refused (d follows), goes on at 3, so "bcd"
        // (starting inside it) is never found; "ab x" and "abc" are single words and match.
        string[] vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "abx", "abcd", "x", "bc"];
        using var dir = new TempDirectory();
        var tokenizer = Load(dir, vocabulary, ("ab", 8, true), ("abc", 9, true), ("a", 10, false), ("bcd", 11, false));

        tokenizer.Encode(text).Ids.Should().Equal(ids);
    }
}
