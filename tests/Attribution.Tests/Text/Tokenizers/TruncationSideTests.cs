using Attribution.Text.Tokenizers;

namespace Attribution.Tests.Text.Tokenizers;

/// <summary>
/// A tokenizer that truncates on the left (tokenizer.json's <c>truncation.direction</c>, or tokenizer_config.json's
/// <c>truncation_side</c>, which wins as in transformers' <c>PreTrainedTokenizerFast.__init__</c>) is refused with an
/// error naming the field: the models and methods here always truncate on the right, so they would otherwise keep
/// other tokens of a long text than Hugging Face does.
/// </summary>
public class TruncationSideTests
{
    // [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 un=4 aff=5 able=6 ##aff=7 the=8 cat=9 sat=10
    private static readonly string[] Vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "aff", "able", "##aff", "the", "cat", "sat"];

    private static string WordPieceJson(object? truncation = null) => BertTokenizerJson.Serialize(Vocabulary, truncation);

    [Theory]
    [InlineData("Left")]
    [InlineData("left")]
    public void Left_truncation_in_tokenizer_json_is_refused_naming_the_field(string direction)
    {
        using var dir = new TempDirectory();
        var path = dir.Write("tokenizer.json", WordPieceJson(truncation: new { direction, max_length = 512, strategy = "LongestFirst", stride = 0 }));

        var error = FluentActions.Invoking(() => TokenizerLoader.FromDirectory(dir.Path)).Should().Throw<TokenizerException>().Which;

        error.Path.Should().Be(path);
        error.Message.Should().Contain($"\"truncation.direction\" is \"{direction}\"").And.Contain("TruncationSide.Left");
    }

    [Fact]
    public void Left_truncation_side_in_tokenizer_config_is_refused_for_every_loader()
    {
        using var dir = new TempDirectory();
        var vocab = dir.Write("vocab.txt", string.Join("\n", Vocabulary) + "\n");
        var config = dir.Write("tokenizer_config.json", """{"truncation_side": "left"}""");

        FluentActions.Invoking(() => TokenizerLoader.FromWordPieceVocab(vocab, config))
            .Should().Throw<TokenizerException>().Which.Message.Should().StartWith(config).And.Contain("\"truncation_side\" is \"left\"");

        dir.Write("tokenizer.json", WordPieceJson());
        FluentActions.Invoking(() => TokenizerLoader.FromDirectory(dir.Path))
            .Should().Throw<TokenizerException>().WithMessage("*\"truncation_side\" is \"left\"*");

        var bpeVocab = dir.Write("vocab.json", """{"<s>": 0, "</s>": 1, "<pad>": 2, "a": 3}""");
        var merges = dir.Write("merges.txt", "#version: 0.2\n");
        FluentActions.Invoking(() => TokenizerLoader.FromBpeFiles(bpeVocab, merges, config))
            .Should().Throw<TokenizerException>().WithMessage("*\"truncation_side\" is \"left\"*");
    }

    [Fact]
    public void A_config_truncating_on_the_right_overrides_the_files_direction_as_transformers_does()
    {
        // PreTrainedTokenizerFast.__init__ only setdefaults truncation_side from tokenizer.json, so the config wins.
        using var dir = new TempDirectory();
        dir.Write("tokenizer.json", WordPieceJson(truncation: new { direction = "Left", max_length = 7, strategy = "LongestFirst", stride = 0 }));
        dir.Write("tokenizer_config.json", """{"truncation_side": "right"}""");

        var tokenizer = TokenizerLoader.FromDirectory(dir.Path);

        tokenizer.Encode("the cat sat", maxLength: 4).Ids.Should().Equal(2, 8, 9, 3);
    }

    [Fact]
    public void A_truncation_side_that_is_neither_side_is_refused()
    {
        using var dir = new TempDirectory();
        var vocab = dir.Write("vocab.txt", string.Join("\n", Vocabulary) + "\n");
        var config = dir.Write("tokenizer_config.json", """{"truncation_side": "middle"}""");

        FluentActions.Invoking(() => TokenizerLoader.FromWordPieceVocab(vocab, config))
            .Should().Throw<TokenizerException>().WithMessage("*\"truncation_side\" is \"middle\"; it should be \"right\" or \"left\"*");
    }
}
