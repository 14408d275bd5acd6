using Attribution.Text.Tokenizers;

namespace Attribution.Tests.Text.Tokenizers;

public class WordPieceGoldenTests
{
    private static IReadOnlyList<GoldenCase> Golden() => GoldenTokenization.Load(SharedData.Require("golden/tokenization.json"));

    private static string BertDirectory() => Path.GetDirectoryName(SharedData.Require("tokenizers/bert-base-uncased/vocab.txt"))!;

    [SkippableFact]
    public void Vocab_txt_with_config_matches_every_golden_entry()
    {
        var golden = Golden();
        var dir = BertDirectory();
        var tokenizer = TokenizerLoader.FromWordPieceVocab(Path.Combine(dir, "vocab.txt"), Path.Combine(dir, "tokenizer_config.json"));

        golden.Should().HaveCount(872 + 24);
        GoldenTokenization.Mismatches(tokenizer, golden).Should().BeEmpty();
    }

    [SkippableFact]
    public void Tokenizer_json_matches_every_golden_entry()
    {
        var golden = Golden();
        var tokenizer = TokenizerLoader.FromTokenizerJson(Path.Combine(BertDirectory(), "tokenizer.json"));

        GoldenTokenization.Mismatches(tokenizer, golden).Should().BeEmpty();
    }

    [SkippableFact]
    public void Directory_with_only_vocab_txt_loads_wordpiece_and_matches_golden()
    {
        var golden = Golden();
        var source = BertDirectory();
        var dir = Directory.CreateTempSubdirectory("wordpiece-").FullName;
        try
        {
            File.Copy(Path.Combine(source, "vocab.txt"), Path.Combine(dir, "vocab.txt"));
            File.Copy(Path.Combine(source, "tokenizer_config.json"), Path.Combine(dir, "tokenizer_config.json"));
            var tokenizer = TokenizerLoader.FromDirectory(dir);

            GoldenTokenization.Mismatches(tokenizer, golden.Take(100).Concat(golden.Where(g => g.Group == "tricky")).ToList()).Should().BeEmpty();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [SkippableFact]
    public void Both_loaders_agree_on_special_ids_sizes_and_limits()
    {
        var dir = BertDirectory();
        var fromVocab = TokenizerLoader.FromWordPieceVocab(Path.Combine(dir, "vocab.txt"), Path.Combine(dir, "tokenizer_config.json"));
        var fromJson = TokenizerLoader.FromDirectory(dir);

        foreach (var tokenizer in new[] { fromVocab, fromJson })
        {
            tokenizer.VocabularySize.Should().Be(30522);
            tokenizer.ModelMaxLength.Should().Be(512);
            (tokenizer.ClsId, tokenizer.SepId, tokenizer.PadId, tokenizer.UnkId, tokenizer.MaskId).Should().Be((101L, 102L, 0L, (long?)100, (long?)103));
            (tokenizer.BosId, tokenizer.EosId).Should().Be((101L, 102L));
            tokenizer.IdToToken(2023).Should().Be("this");
            tokenizer.TokenToId("##ing").Should().Be(2075);
            tokenizer.TokenToId("not-a-token").Should().BeNull();
            tokenizer.IdToToken(30522).Should().BeNull();
        }
    }
}
