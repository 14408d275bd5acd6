using System.Text.Json;
using Attribution.Text.Tokenizers;

namespace Attribution.Tests.Text.Tokenizers;

/// <summary>
/// The unknown token must be in the model's own vocabulary. Hugging Face tokenizers' <c>WordPiece::tokenize</c> looks
/// <c>unk_token</c> up in <c>model.vocab</c> alone and fails (MissingUnkToken) on a word it cannot split; its
/// <c>BPE::merge_word</c> does the same for a byte the vocabulary lacks (UnkTokenOutOfVocabulary). Added tokens are not
/// looked at, so an unknown token that is only an added token is refused at load (naming the field) instead of being
/// used with the added token's id. A byte-level vocabulary holding all 256 bytes never needs the unknown token, and then
/// one outside the vocabulary is accepted, as Hugging Face accepts it.
/// </summary>
public class UnknownTokenVocabularyTests
{
    private static object Added(string content, int id) => BertTokenizerJson.AddedToken(id, content);

    // [PAD]=0 [CLS]=1 [SEP]=2 the=3 cat=4; [UNK] only as an added token (id 5).
    private static string WordPieceJson(string unkToken) => BertTokenizerJson.Serialize(
        new Dictionary<string, int> { ["[PAD]"] = 0, ["[CLS]"] = 1, ["[SEP]"] = 2, ["the"] = 3, ["cat"] = 4 },
        addedTokens: [Added("[PAD]", 0), Added("[CLS]", 1), Added("[SEP]", 2), Added("[UNK]", 5)], unkToken: unkToken, clsId: 1, sepId: 2);

    // <s>=0 </s>=1 <pad>=2, then the byte-level characters of the given bytes; <unk> only as an added token (id 300).
    private static string BpeJson(IEnumerable<int> bytes)
    {
        var vocab = new Dictionary<string, int> { ["<s>"] = 0, ["</s>"] = 1, ["<pad>"] = 2 };
        foreach (var b in bytes)
        {
            vocab[Gpt2ByteAlphabet.Characters[b].ToString()] = vocab.Count;
        }

        return JsonSerializer.Serialize(new
        {
            added_tokens = new[] { Added("<s>", 0), Added("</s>", 1), Added("<pad>", 2), Added("<unk>", 300) },
            pre_tokenizer = new { type = "ByteLevel", add_prefix_space = false, trim_offsets = true, use_regex = true },
            post_processor = new { type = "RobertaProcessing", sep = new object[] { "</s>", 1 }, cls = new object[] { "<s>", 0 }, trim_offsets = true, add_prefix_space = false },
            model = new { type = "BPE", unk_token = "<unk>", fuse_unk = false, vocab, merges = Array.Empty<string>() },
        });
    }

    [Fact]
    public void A_wordpiece_unk_token_only_among_added_tokens_is_refused_naming_the_field()
    {
        using var dir = new TempDirectory();
        var file = dir.Write("tokenizer.json", WordPieceJson("[UNK]"));

        var act = () => TokenizerLoader.FromDirectory(dir.Path);

        act.Should().Throw<TokenizerException>().Where(e => e.Path == file)
            .WithMessage("*\"model.unk_token\" \"[UNK]\" is not in \"model.vocab\" (it is only in added_tokens, where WordPiece does not look)*Add it to \"model.vocab\"*");
    }

    [Fact]
    public void A_vocab_txt_unk_token_only_among_the_configs_added_tokens_is_refused_naming_the_field()
    {
        using var dir = new TempDirectory();
        dir.Write("vocab.txt", "[PAD]\n[CLS]\n[SEP]\nthe\ncat\n");
        dir.Write("tokenizer_config.json", """
            { "added_tokens_decoder": { "5": { "content": "[UNK]", "lstrip": false, "normalized": false, "rstrip": false, "single_word": false, "special": true } } }
            """);

        var act = () => TokenizerLoader.FromDirectory(dir.Path);

        act.Should().Throw<TokenizerException>()
            .WithMessage("*unk_token \"[UNK]\" is not in the vocabulary (it is only an added token*vocab.txt alone*\"unk_token\"*");
    }

    [Fact]
    public void A_bpe_unk_token_only_among_added_tokens_is_refused_when_a_byte_is_missing()
    {
        // Every byte but 0xC3 (the first byte of "é"): a text with "é" would need the unknown token.
        using var dir = new TempDirectory();
        var file = dir.Write("tokenizer.json", BpeJson(Enumerable.Range(0, 256).Where(b => b != 0xC3)));

        var act = () => TokenizerLoader.FromDirectory(dir.Path);

        act.Should().Throw<TokenizerException>().Where(e => e.Path == file)
            .WithMessage("*\"model.unk_token\" \"<unk>\" is not in \"model.vocab\" (it is only in added_tokens*lacks byte 0xC3 (\"Ã\")*set \"model.unk_token\" to null*");
    }

    [Fact]
    public void A_bpe_unk_token_outside_a_vocabulary_with_every_byte_is_never_needed_and_accepted()
    {
        // All 256 bytes: "é" is C3 A9, two byte-level characters, ids 3 + 0xC3 and 3 + 0xA9 (vocab order is byte order).
        using var dir = new TempDirectory();
        dir.Write("tokenizer.json", BpeJson(Enumerable.Range(0, 256)));

        var tokenizer = TokenizerLoader.FromDirectory(dir.Path);

        tokenizer.Encode("\u00E9").Ids.Should().Equal(0, 3 + 0xC3, 3 + 0xA9, 1);
    }
}
