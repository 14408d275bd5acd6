using Attribution.Text.Tokenizers;

namespace Attribution.Tests.Text.Tokenizers;

public class TokenizerLoaderErrorTests
{
    [Fact]
    public void Missing_vocab_file_names_the_file()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "vocab.txt");

        var error = FluentActions.Invoking(() => TokenizerLoader.FromWordPieceVocab(path)).Should().Throw<TokenizerException>().Which;

        error.Path.Should().Be(path);
        error.Message.Should().Contain(path).And.Contain("not found");
    }

    [Fact]
    public void Missing_directory_and_empty_directory_are_explained()
    {
        using var dir = new TempDirectory();

        FluentActions.Invoking(() => TokenizerLoader.FromDirectory(Path.Combine(dir.Path, "nope")))
            .Should().Throw<TokenizerException>().WithMessage("*does not exist*");
        FluentActions.Invoking(() => TokenizerLoader.FromDirectory(dir.Path))
            .Should().Throw<TokenizerException>().WithMessage("*tokenizer.json*vocab.txt*merges.txt*");
    }

    [Fact]
    public void Vocab_json_without_merges_asks_for_merges()
    {
        using var dir = new TempDirectory();
        dir.Write("vocab.json", """{"<s>": 0}""");

        FluentActions.Invoking(() => TokenizerLoader.FromDirectory(dir.Path))
            .Should().Throw<TokenizerException>().WithMessage("*merges.txt is missing*");
    }

    [Fact]
    public void Malformed_tokenizer_json_is_reported_as_invalid_json()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("tokenizer.json", """{"model": {"type": "WordPiece", "vocab": {"a": 0,""");

        var error = FluentActions.Invoking(() => TokenizerLoader.FromDirectory(dir.Path)).Should().Throw<TokenizerException>().Which;

        error.Message.Should().Contain(path).And.Contain("not valid JSON");
        error.InnerException.Should().BeAssignableTo<System.Text.Json.JsonException>();
    }

    [Theory]
    [InlineData("""{"version": "1.0"}""", "*\"model\" is missing*")]
    [InlineData("""{"model": {"type": "WordPiece", "vocab": {}}}""", "*\"model.vocab\" is empty*")]
    [InlineData("""{"model": {"type": "WordPiece", "vocab": {"a": "zero"}}}""", "*\"model.vocab.a\" should be an integer*")]
    [InlineData("""{"model": {"type": "Unigram", "vocab": {"a": 0}}}""", "*\"Unigram\"*WordPiece*BPE*")]
    [InlineData("""{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b c"]}, "pre_tokenizer": {"type": "ByteLevel"}}""", "*\"model.merges[0]\"*")]
    [InlineData("""{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}, "pre_tokenizer": {"type": "Whitespace"}}""", "*\"Whitespace\"*BertPreTokenizer*")]
    [InlineData("""{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}, "pre_tokenizer": {"type": "BertPreTokenizer"}}""", "*post_processor*missing*")]
    [InlineData("""{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2}}, "pre_tokenizer": {"type": "BertPreTokenizer"}, "post_processor": {"type": "Sequence", "processors": [{"type": "BertProcessing", "sep": ["[SEP]", 2], "cls": ["[CLS]", 1]}, {"type": "ByteLevel"}, {"type": "BertProcessing", "sep": ["[SEP]", 2], "cls": ["[CLS]", 1]}]}}""", "*\"post_processor.processors[2]\" is a second processor that adds special tokens*")]
    [InlineData("""{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2}}, "pre_tokenizer": {"type": "BertPreTokenizer"}, "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "[CLS]"}}, {"Sequence": {"id": "A"}}, {"SpecialToken": {"id": "[SEP]"}}], "pair": [{"SpecialToken": {"id": "[CLS]"}}, {"Sequence": {"id": "A"}}, {"SpecialToken": {"id": "[SEP]"}}, {"Sequence": {"id": "A", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]"}}], "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [1], "tokens": ["[CLS]"]}, "[SEP]": {"id": "[SEP]", "ids": [2], "tokens": ["[SEP]"]}}}}""", "*\"post_processor\"*pair template should hold A and B once each*")]
    public void Structural_problems_in_tokenizer_json_name_the_entry(string json, string pattern)
    {
        using var dir = new TempDirectory();
        dir.Write("tokenizer.json", json);

        FluentActions.Invoking(() => TokenizerLoader.FromDirectory(dir.Path)).Should().Throw<TokenizerException>().WithMessage(pattern);
    }

    [Fact]
    public void Empty_vocab_txt_is_rejected()
    {
        using var dir = new TempDirectory();
        dir.Write("vocab.txt", "\n");

        FluentActions.Invoking(() => TokenizerLoader.FromDirectory(dir.Path))
            .Should().Throw<TokenizerException>().WithMessage("*vocab.txt: the vocabulary is empty*");
    }

    [Fact]
    public void Vocab_txt_without_special_tokens_names_the_missing_one()
    {
        using var dir = new TempDirectory();
        dir.Write("vocab.txt", "[PAD]\n[UNK]\nthe\n");

        FluentActions.Invoking(() => TokenizerLoader.FromDirectory(dir.Path))
            .Should().Throw<TokenizerException>().WithMessage("*cls_token \"[CLS]\" is not in the vocabulary*");
    }

    [Fact]
    public void Bad_merges_line_and_unknown_merge_tokens_are_reported()
    {
        using var dir = new TempDirectory();
        var vocab = dir.Write("vocab.json", """{"<s>": 0, "</s>": 1, "<pad>": 2, "a": 3, "b": 4}""");
        var badLine = dir.Write("merges.txt", "#version: 0.2\na b\nab\n");
        FluentActions.Invoking(() => TokenizerLoader.FromBpeFiles(vocab, badLine))
            .Should().Throw<TokenizerException>().WithMessage("*line 3*");

        var unknown = dir.Write("merges2.txt", "#version: 0.2\na b\n");
        FluentActions.Invoking(() => TokenizerLoader.FromBpeFiles(vocab, unknown))
            .Should().Throw<TokenizerException>().WithMessage("*\"ab\", which is not in the vocabulary*");
    }

    [Fact]
    public void Malformed_tokenizer_config_is_reported()
    {
        using var dir = new TempDirectory();
        var vocab = dir.Write("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n");
        var config = dir.Write("tokenizer_config.json", """{"do_lower_case": "yes"}""");

        FluentActions.Invoking(() => TokenizerLoader.FromWordPieceVocab(vocab, config))
            .Should().Throw<TokenizerException>().WithMessage("*tokenizer_config.json*\"do_lower_case\" should be true or false*");
    }
}
