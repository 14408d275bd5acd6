using System.Text.Json.Nodes;
using Attribution.Text.Tokenizers;

namespace Attribution.Tests.Text.Tokenizers;

/// <summary>
/// tokenizer_config.json's <c>add_prefix_space</c> and <c>trim_offsets</c> against roberta-base's tokenizer.json, by
/// the rule of transformers' <c>RobertaTokenizerFast.__init__</c>: the arguments (defaults false and true) replace
/// the ByteLevel pre-tokenizer's <c>add_prefix_space</c> and RobertaProcessing's <c>trim_offsets</c> where they differ.
/// Expected ids are roberta-base's, from transformers' own docstring: "Hello world" is <c>&lt;s&gt; Hello world &lt;/s&gt;</c>
/// = [0, 31414, 232, 2], and with a space before it [0, 20920, 232, 2] (ĠHello).
/// </summary>
public sealed class ConfigByteLevelTests
{
    private static ITokenizer Load(TempDirectory dir, bool fileAddsPrefix, string? config)
    {
        var json = JsonNode.Parse(File.ReadAllText(SharedData.Require("tokenizers/roberta-base/tokenizer.json")))!;
        json["pre_tokenizer"]!["add_prefix_space"] = fileAddsPrefix;
        dir.Write("tokenizer.json", json.ToJsonString());
        if (config is not null)
        {
            dir.Write("tokenizer_config.json", config);
        }

        return TokenizerLoader.FromDirectory(dir.Path);
    }

    [SkippableFact]
    public void Config_adding_a_prefix_space_spells_the_first_word_as_the_others()
    {
        using var dir = new TempDirectory();
        var encoding = Load(dir, fileAddsPrefix: false, """{"tokenizer_class": "RobertaTokenizer", "add_prefix_space": true}""").Encode("Hello world");
        encoding.Ids.Should().Equal(0, 20920, 232, 2);
        encoding.Offsets[1].Should().Be((0, 5), "the added space is not in the text");
    }

    [SkippableFact]
    public void Config_silent_on_the_prefix_space_adds_none_even_where_the_file_does_as_transformers_does()
    {
        using var dir = new TempDirectory();
        Load(dir, fileAddsPrefix: true, """{"tokenizer_class": "RobertaTokenizer"}""").Encode("Hello world").Ids.Should().Equal(0, 31414, 232, 2);
    }

    [SkippableFact]
    public void Without_a_config_or_with_PreTrainedTokenizerFast_the_file_decides()
    {
        using (var dir = new TempDirectory())
        {
            Load(dir, fileAddsPrefix: true, config: null).Encode("Hello world").Ids.Should().Equal(0, 20920, 232, 2);
        }

        using (var dir = new TempDirectory())
        {
            Load(dir, fileAddsPrefix: true, """{"tokenizer_class": "PreTrainedTokenizerFast"}""").Encode("Hello world").Ids.Should().Equal(0, 20920, 232, 2);
        }
    }

    [SkippableFact]
    public void Config_without_offset_trimming_keeps_the_space_in_the_second_words_offsets()
    {
        using var trimmed = new TempDirectory();
        Load(trimmed, fileAddsPrefix: false, """{"tokenizer_class": "RobertaTokenizer"}""").Encode("Hello world").Offsets[2].Should().Be((6, 11));

        using var untrimmed = new TempDirectory();
        Load(untrimmed, fileAddsPrefix: false, """{"tokenizer_class": "RobertaTokenizer", "trim_offsets": false}""").Encode("Hello world").Offsets[2].Should().Be((5, 11));
    }

    /// <summary>
    /// <c>GPT2TokenizerFast.__init__</c> (the class a config naming GPT2Tokenizer also loads) replaces the pre-tokenizer's
    /// <c>add_prefix_space</c> but never touches the post-processor: its config's <c>trim_offsets</c> leaves the file's
    /// (roberta-base's RobertaProcessing trims), where RoBERTa's class would not trim.
    /// </summary>
    [SkippableTheory]
    [InlineData("GPT2Tokenizer")]
    [InlineData("GPT2TokenizerFast")]
    public void A_gpt2_class_takes_the_prefix_space_from_the_config_and_offset_trimming_from_the_file(string tokenizerClass)
    {
        using var dir = new TempDirectory();
        var encoding = Load(dir, fileAddsPrefix: false, $$"""{"tokenizer_class": "{{tokenizerClass}}", "add_prefix_space": true, "trim_offsets": false}""").Encode("Hello world");
        encoding.Ids.Should().Equal(0, 20920, 232, 2);
        encoding.Offsets[2].Should().Be((6, 11), "the file's processor trims the space off 'Ġworld'");
    }

    /// <summary>
    /// A Sequence post-processor has no <c>trim_offsets</c> of its own at the top level, so
    /// <c>RobertaTokenizerFast.__init__</c> (<c>state.get("trim_offsets", trim_offsets) != trim_offsets</c> is false)
    /// leaves its inner ByteLevel processor as the file has it: here not trimming, so "Ġworld" spans its space, (5, 11).
    /// </summary>
    [SkippableFact]
    public void A_sequence_post_processor_keeps_the_files_offset_trimming_under_a_roberta_config()
    {
        var json = JsonNode.Parse(File.ReadAllText(SharedData.Require("tokenizers/roberta-base/tokenizer.json")))!;
        json["post_processor"] = JsonNode.Parse("""
            {"type": "Sequence", "processors": [
                {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": true},
                {"type": "TemplateProcessing",
                 "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                 "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}},
                          {"SpecialToken": {"id": "</s>", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                 "special_tokens": {"<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]}, "</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]}}}]}
            """);
        using var dir = new TempDirectory();
        dir.Write("tokenizer.json", json.ToJsonString());
        dir.Write("tokenizer_config.json", """{"tokenizer_class": "RobertaTokenizer"}""");

        var encoding = TokenizerLoader.FromDirectory(dir.Path).Encode("Hello world");

        encoding.Ids.Should().Equal(0, 31414, 232, 2);
        encoding.Offsets[2].Should().Be((5, 11));
    }
}
