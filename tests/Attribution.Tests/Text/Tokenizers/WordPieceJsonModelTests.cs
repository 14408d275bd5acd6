using Attribution.Text.Tokenizers;

namespace Attribution.Tests.Text.Tokenizers;

/// <summary>
/// The WordPiece model's settings in tokenizer.json. Expected ids are worked out by hand from Hugging Face tokenizers'
/// <c>WordPiece::tokenize</c> (greedy longest match; a piece after the first is looked up as prefix + piece).
/// </summary>
public class WordPieceJsonModelTests
{
    // [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 un=4 aff=5 able=6 ##aff=7 the=8 cat=9 sat=10
    private static readonly string[] Vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "aff", "able", "##aff", "the", "cat", "sat"];

    private static string WordPieceJson(string continuingSubwordPrefix = "##") =>
        BertTokenizerJson.Serialize(Vocabulary, continuingSubwordPrefix: continuingSubwordPrefix);

    [Fact]
    public void An_empty_continuing_subword_prefix_continues_a_word_with_plain_entries()
    {
        // WordPiece::tokenize looks a piece after the first up as prefix + piece; with prefix "" that is the plain entry:
        // "unaffable" -> un (0,2), aff (2,5), able (5,9); "##aff" is then never used (it would need the text "##aff").
        using var dir = new TempDirectory();
        dir.Write("tokenizer.json", WordPieceJson(continuingSubwordPrefix: string.Empty));
        var tokenizer = TokenizerLoader.FromDirectory(dir.Path);

        var encoding = tokenizer.Encode("Unaffable cat");

        encoding.Ids.Should().Equal(2, 4, 5, 6, 9, 3);
        encoding.Offsets.Should().Equal(null, (0, 2), (2, 5), (5, 9), (10, 13), null);
        encoding.WordIds.Should().Equal(null, 0, 0, 0, 1, null);
    }

    [Fact]
    public void The_usual_prefix_still_keeps_plain_entries_out_of_the_middle_of_a_word()
    {
        // With "##", "able" may not continue a word and there is no "##able": the word has no complete split -> [UNK].
        using var dir = new TempDirectory();
        dir.Write("tokenizer.json", WordPieceJson());
        var tokenizer = TokenizerLoader.FromDirectory(dir.Path);

        tokenizer.Encode("unaffable unaff").Ids.Should().Equal(2, 1, 4, 7, 3);
    }
}
