using Attribution.Text.Tokenizers;

namespace Attribution.Tests.Text.Tokenizers;

/// <summary>
/// tokenizer_config.json's <c>do_basic_tokenize</c> and <c>never_split</c> are read only by transformers' Python
/// <c>BertTokenizer</c>: with <c>do_basic_tokenize: false</c> it does not lower-case or split punctuation, and a
/// <c>never_split</c> word stays whole ("Foo-Bar" would be one unknown token there, "foo - bar" here). transformers' fast
/// tokenizer ignores both. With vocab.txt alone the two disagree and the loader refuses the setting, naming it; with a
/// tokenizer.json the fast tokenizer's reading is the one, and they are ignored.
/// </summary>
public class SlowTokenizerSettingsTests
{
    // [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4 foo=5 bar=6 -=7
    private static readonly string[] Vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "foo", "bar", "-"];

    private static string WordPieceJson() => BertTokenizerJson.Serialize(Vocabulary);

    [Theory]
    [InlineData("""{ "do_basic_tokenize": false }""", "\"do_basic_tokenize\" is false*Python BertTokenizer*fast tokenizer*ignores it*Remove the field*")]
    [InlineData("""{ "never_split": ["[CLS]", "Foo-Bar"] }""", "\"never_split\" lists \"Foo-Bar\", which is not an added or special token*keeps such a word whole*Remove the field*")]
    [InlineData("""{ "never_split": "Foo-Bar" }""", "\"never_split\" should be an array*")]
    public void With_vocab_txt_alone_a_setting_only_the_python_tokenizer_reads_is_refused_naming_it(string config, string expected)
    {
        using var dir = new TempDirectory();
        dir.Write("vocab.txt", string.Join('\n', Vocabulary) + "\n");
        var configFile = dir.Write("tokenizer_config.json", config);

        var act = () => TokenizerLoader.FromDirectory(dir.Path);

        act.Should().Throw<TokenizerException>().Where(e => e.Path == configFile).WithMessage($"{configFile}: {expected}");
    }

    [Theory]
    [InlineData("""{ "do_basic_tokenize": true, "never_split": null }""")]
    [InlineData("""{ "never_split": ["[CLS]", "[SEP]", "[UNK]", "[PAD]", "[MASK]"] }""")] // special tokens are kept whole anyway
    public void With_vocab_txt_alone_settings_that_change_nothing_load(string config)
    {
        using var dir = new TempDirectory();
        dir.Write("vocab.txt", string.Join('\n', Vocabulary) + "\n");
        dir.Write("tokenizer_config.json", config);

        // By hand: lower-cased and split at "-": [CLS] foo - bar [SEP].
        TokenizerLoader.FromDirectory(dir.Path).Encode("Foo-Bar").Ids.Should().Equal(2, 5, 7, 6, 3);
    }

    [Theory]
    [InlineData("""{ "do_basic_tokenize": false, "never_split": ["Foo-Bar"] }""")]
    [InlineData("""{ "do_basic_tokenize": "no", "never_split": "Foo-Bar" }""")] // not even their types are checked
    public void With_a_tokenizer_json_both_settings_are_ignored_as_the_fast_tokenizer_ignores_them(string config)
    {
        using var dir = new TempDirectory();
        dir.Write("tokenizer.json", WordPieceJson());
        dir.Write("vocab.txt", string.Join('\n', Vocabulary) + "\n");
        dir.Write("tokenizer_config.json", config);

        TokenizerLoader.FromDirectory(dir.Path).Encode("Foo-Bar").Ids.Should().Equal(2, 5, 7, 6, 3);
    }
}
