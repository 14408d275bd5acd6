using System.Text.Json;
using Attribution.Text.Tokenizers;

namespace Attribution.Tests.Text.Tokenizers;

/// <summary>
/// Byte-level BPE whose vocabulary lacks some bytes, with an unknown token. Hugging Face's <c>BPE::merge_word</c> gives
/// each missing byte the unknown token, and with <c>fuse_unk</c> one unknown token for a run of them within a word.
/// </summary>
public class BpeUnknownBytesTests
{
    // <s>=0 </s>=1 <pad>=2 <unk>=3 a=4 b=5 unless given; no merges. é is C3 A9 and € is E2 82 AC in UTF-8: all five bytes missing.
    private static ITokenizer Load(TempDirectory dir, bool fuseUnknown, Dictionary<string, int>? vocabulary = null)
    {
        vocabulary ??= new Dictionary<string, int> { ["<s>"] = 0, ["</s>"] = 1, ["<pad>"] = 2, ["<unk>"] = 3, ["a"] = 4, ["b"] = 5 };
        dir.Write("tokenizer.json", JsonSerializer.Serialize(new
        {
            pre_tokenizer = new { type = "ByteLevel", add_prefix_space = false, trim_offsets = true, use_regex = true },
            post_processor = new
            {
                type = "RobertaProcessing", sep = new object[] { "</s>", vocabulary["</s>"] }, cls = new object[] { "<s>", vocabulary["<s>"] },
                trim_offsets = true, add_prefix_space = false,
            },
            model = new
            {
                type = "BPE",
                unk_token = "<unk>",
                fuse_unk = fuseUnknown,
                vocab = vocabulary,
                merges = Array.Empty<string>(),
            },
        }));
        return TokenizerLoader.FromDirectory(dir.Path);
    }

    [Fact]
    public void Ids_zero_are_ordinary_ids_for_a_byte_and_for_the_unknown_token()
    {
        // A byte at id 0 is in the vocabulary like any other ("a" stays "a"), and an unknown token at id 0 still fuses a run.
        using var first = new TempDirectory();
        var byteAtZero = new Dictionary<string, int> { ["a"] = 0, ["<s>"] = 1, ["</s>"] = 2, ["<pad>"] = 3, ["<unk>"] = 4, ["b"] = 5 };
        Load(first, fuseUnknown: false, byteAtZero).Encode("a\u00E9b").Ids.Should().Equal(1, 0, 4, 4, 5, 2);

        using var second = new TempDirectory();
        var unknownAtZero = new Dictionary<string, int> { ["<unk>"] = 0, ["<s>"] = 1, ["</s>"] = 2, ["<pad>"] = 3, ["a"] = 4, ["b"] = 5 };
        var encoding = Load(second, fuseUnknown: true, unknownAtZero).Encode("a\u00E9\u00E9b");
        encoding.Ids.Should().Equal(1, 4, 0, 5, 2);
        encoding.Offsets.Should().Equal(null, (0, 1), (1, 3), (3, 4), null);
    }

    [Fact]
    public void Fuse_unk_makes_a_run_of_missing_bytes_in_a_word_one_unknown_token()
    {
        // The GPT-2 pattern splits "aéé€b" into "aéé" (letters), "€" (a symbol) and "b": the four bytes of "éé" become one
        // <unk> spanning both characters, the three of "€" another (a new word starts a new run).
        using var dir = new TempDirectory();
        var encoding = Load(dir, fuseUnknown: true).Encode("a\u00E9\u00E9\u20ACb");

        encoding.Ids.Should().Equal(0, 4, 3, 3, 5, 1);
        encoding.Offsets.Should().Equal(null, (0, 1), (1, 3), (3, 4), (4, 5), null);
        encoding.WordIds.Should().Equal(null, 0, 0, 1, 2, null);
    }

    [Fact]
    public void Without_fuse_unk_every_missing_byte_is_an_unknown_token_of_its_character()
    {
        using var dir = new TempDirectory();
        var encoding = Load(dir, fuseUnknown: false).Encode("a\u00E9\u00E9\u20ACb");

        encoding.Ids.Should().Equal(0, 4, 3, 3, 3, 3, 3, 3, 3, 5, 1);
        encoding.Offsets.Should().Equal(null, (0, 1), (1, 2), (1, 2), (2, 3), (2, 3), (3, 4), (3, 4), (3, 4), (4, 5), null);
    }
}
