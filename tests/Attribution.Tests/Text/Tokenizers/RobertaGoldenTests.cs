using Attribution.Text.Tokenizers;

namespace Attribution.Tests.Text.Tokenizers;

public class RobertaGoldenTests
{
    private static IReadOnlyList<GoldenCase> Golden() => GoldenTokenization.Load(SharedData.Require("golden/tokenization-roberta.json"));

    private static string RobertaDirectory() => Path.GetDirectoryName(SharedData.Require("tokenizers/roberta-base/tokenizer.json"))!;

    [SkippableFact]
    public void Tokenizer_json_matches_every_golden_entry()
    {
        var golden = Golden();
        var tokenizer = TokenizerLoader.FromDirectory(RobertaDirectory());

        golden.Should().HaveCount(200 + 17);
        GoldenTokenization.Mismatches(tokenizer, golden).Should().BeEmpty();
    }

    [SkippableFact]
    public void Vocab_json_and_merges_txt_match_every_golden_entry()
    {
        var golden = Golden();
        var dir = RobertaDirectory();
        var tokenizer = TokenizerLoader.FromBpeFiles(
            Path.Combine(dir, "vocab.json"), Path.Combine(dir, "merges.txt"), Path.Combine(dir, "tokenizer_config.json"));

        GoldenTokenization.Mismatches(tokenizer, golden).Should().BeEmpty();
    }

    [SkippableFact]
    public void Both_loaders_agree_on_special_ids_sizes_and_limits()
    {
        var dir = RobertaDirectory();
        var fromFiles = TokenizerLoader.FromBpeFiles(
            Path.Combine(dir, "vocab.json"), Path.Combine(dir, "merges.txt"), Path.Combine(dir, "tokenizer_config.json"));
        var fromJson = TokenizerLoader.FromTokenizerJson(Path.Combine(dir, "tokenizer.json"));

        foreach (var tokenizer in new[] { fromFiles, fromJson })
        {
            tokenizer.VocabularySize.Should().Be(50265);
            tokenizer.ModelMaxLength.Should().Be(512);
            (tokenizer.ClsId, tokenizer.SepId, tokenizer.PadId, tokenizer.UnkId, tokenizer.MaskId).Should().Be((0L, 2L, 1L, (long?)3, (long?)50264));
            tokenizer.TokenToId("Ġworld").Should().Be(232);
        }
    }
}
