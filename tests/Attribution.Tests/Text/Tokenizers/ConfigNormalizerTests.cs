using System.Text.Json;
using Attribution.Text.Tokenizers;

namespace Attribution.Tests.Text.Tokenizers;

/// <summary>
/// tokenizer_config.json's <c>do_lower_case</c>, <c>strip_accents</c> and <c>tokenize_chinese_chars</c> against a
/// tokenizer.json BertNormalizer, by the rule of transformers' <c>BertTokenizerFast.__init__</c>: when any of the three
/// arguments (defaults true, None, true) differs from the normalizer's field, the normalizer is rebuilt from the
/// arguments. Expected tokens are worked out by hand from that rule.
/// </summary>
public class ConfigNormalizerTests
{
    // [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4 the=5 The=6 cafe=7 café=8 Café=9 東=10 京=11 東京=12
    private static readonly string[] Vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "The", "cafe", "caf\u00e9", "Caf\u00e9", "東", "京", "東京"];

    private static ITokenizer Load(TempDirectory dir, object normalizer, string? config)
    {
        dir.Write("tokenizer.json", JsonSerializer.Serialize(new
        {
            normalizer,
            pre_tokenizer = new { type = "BertPreTokenizer" },
            post_processor = new { type = "BertProcessing", sep = new object[] { "[SEP]", 3 }, cls = new object[] { "[CLS]", 2 } },
            model = new { type = "WordPiece", unk_token = "[UNK]", vocab = Vocabulary.Select((w, i) => (w, i)).ToDictionary(p => p.w, p => p.i) },
        }));
        if (config is not null)
        {
            dir.Write("tokenizer_config.json", config);
        }

        return TokenizerLoader.FromDirectory(dir.Path);
    }

    private static object Normalizer(bool lowercase, bool? stripAccents = null, bool chinese = true) =>
        new { type = "BertNormalizer", clean_text = true, handle_chinese_chars = chinese, strip_accents = stripAccents, lowercase };

    private static string[] Words(ITokenizer tokenizer, string text) => tokenizer.Encode(text).Tokens.Skip(1).SkipLast(1).ToArray();

    [Fact]
    public void Config_without_lower_casing_keeps_case_and_accents_of_a_lower_casing_file()
    {
        using var dir = new TempDirectory();
        var tokenizer = Load(dir, Normalizer(lowercase: true), """{"do_lower_case": false}""");

        // Rebuilt with lowercase false, strip_accents None (so no stripping either).
        Words(tokenizer, "The Caf\u00e9").Should().Equal("The", "Caf\u00e9");
    }

    [Fact]
    public void Config_silent_on_lower_casing_lower_cases_a_cased_file_as_transformers_does()
    {
        using var dir = new TempDirectory();
        var tokenizer = Load(dir, Normalizer(lowercase: false), """{"model_max_length": 512}""");

        // do_lower_case defaults to true, which differs from the file's false: lowercase, and strip accents (None).
        Words(tokenizer, "The Caf\u00e9").Should().Equal("the", "cafe");
    }

    [Fact]
    public void Config_strip_accents_false_lower_cases_but_keeps_accents()
    {
        using var dir = new TempDirectory();
        var tokenizer = Load(dir, Normalizer(lowercase: true), """{"do_lower_case": true, "strip_accents": false}""");

        Words(tokenizer, "The Caf\u00e9").Should().Equal("the", "caf\u00e9");
    }

    [Fact]
    public void Config_strip_accents_null_replaces_a_files_false_so_accents_follow_lower_casing()
    {
        using var dir = new TempDirectory();
        var tokenizer = Load(dir, Normalizer(lowercase: true, stripAccents: false), """{"do_lower_case": true, "strip_accents": null}""");

        // The file's false differs from the argument None: rebuilt with None, which strips when lower-casing.
        Words(tokenizer, "The Caf\u00e9").Should().Equal("the", "cafe");
    }

    [Fact]
    public void Config_tokenize_chinese_chars_overrides_the_file()
    {
        using var dir = new TempDirectory();
        Words(Load(dir, Normalizer(lowercase: true, chinese: false), "{}"), "東京").Should().Equal("東", "京");

        using var other = new TempDirectory();
        Words(Load(other, Normalizer(lowercase: true), """{"tokenize_chinese_chars": false}"""), "東京").Should().Equal("東京");
    }

    [Fact]
    public void File_is_kept_without_a_config_or_for_PreTrainedTokenizerFast()
    {
        using var dir = new TempDirectory();
        Words(Load(dir, Normalizer(lowercase: true), null), "The Caf\u00e9").Should().Equal("the", "cafe");

        using var other = new TempDirectory();
        var generic = Load(other, Normalizer(lowercase: true), """{"tokenizer_class": "PreTrainedTokenizerFast", "do_lower_case": false}""");
        Words(generic, "The Caf\u00e9").Should().Equal("the", "cafe");
    }

    [Fact]
    public void Matching_config_leaves_the_file_as_it_is()
    {
        using var dir = new TempDirectory();
        var tokenizer = Load(dir, Normalizer(lowercase: false, stripAccents: true), """{"do_lower_case": false, "strip_accents": true}""");

        // Case kept, accents stripped: "Cafe" is not in the vocabulary.
        Words(tokenizer, "The Caf\u00e9").Should().Equal("The", "[UNK]");
    }

    [Fact]
    public void Config_differing_in_all_three_replaces_all_three()
    {
        using var dir = new TempDirectory();
        var tokenizer = Load(dir, Normalizer(lowercase: true, stripAccents: true, chinese: true),
            """{"do_lower_case": false, "strip_accents": false, "tokenize_chinese_chars": false}""");

        // Rebuilt with case and accents kept and CJK not set apart.
        Words(tokenizer, "The Caf\u00e9 東京").Should().Equal("The", "Caf\u00e9", "東京");
    }
}
