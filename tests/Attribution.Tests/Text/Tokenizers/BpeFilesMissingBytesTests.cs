using System.Text.Json;
using Attribution.Text.Tokenizers;

namespace Attribution.Tests.Text.Tokenizers;

/// <summary>
/// vocab.json + merges.txt (byte-level BPE without tokenizer.json) whose vocabulary lacks some bytes' symbols. Such a
/// byte became &lt;unk&gt;; Hugging Face's fast tokenizer built from these files (tokenizers' BPE with unk_token None, as
/// transformers' RobertaConverter makes it) drops it instead (BPE::merge_word adds nothing for a piece missing from the
/// vocabulary when there is no unk_token), and the slow RobertaTokenizer gives it &lt;unk&gt;. The load now refuses the
/// vocabulary, naming the missing bytes; a vocabulary with all 256 loads and encodes every byte.
/// </summary>
public class BpeFilesMissingBytesTests
{
    /// <summary>&lt;s&gt;=0 &lt;pad&gt;=1 &lt;/s&gt;=2 &lt;unk&gt;=3, then byte b at 4 + b, without the bytes in <paramref name="without"/>; no merges.</summary>
    private static (string Vocab, string Merges) Write(TempDirectory dir, params int[] without)
    {
        var vocabulary = new Dictionary<string, int> { ["<s>"] = 0, ["<pad>"] = 1, ["</s>"] = 2, ["<unk>"] = 3 };
        var symbols = Gpt2ByteAlphabet.Characters;
        for (var b = 0; b < 256; b++)
        {
            if (!without.Contains(b))
            {
                vocabulary[symbols[b].ToString()] = 4 + b;
            }
        }

        return (dir.Write("vocab.json", JsonSerializer.Serialize(vocabulary)), dir.Write("merges.txt", "#version: 0.2\n"));
    }

    [Fact]
    public void A_vocabulary_without_some_bytes_is_refused_naming_them()
    {
        // "é" is C3 A9 in UTF-8; GPT-2 writes those bytes as "Ã" and "©".
        using var dir = new TempDirectory();
        var (vocab, merges) = Write(dir, 0xC3, 0xA9);

        var error = FluentActions.Invoking(() => TokenizerLoader.FromBpeFiles(vocab, merges)).Should().Throw<TokenizerException>().Which;
        error.Path.Should().Be(vocab);
        error.Message.Should().Contain("lacks the symbols of 2 of the 256 bytes: 0xA9 (\"©\"), 0xC3 (\"Ã\")")
            .And.Contain("use the vocab.json saved with the model");
        FluentActions.Invoking(() => TokenizerLoader.FromDirectory(dir.Path)).Should().Throw<TokenizerException>().WithMessage("*0xA9*0xC3*");
    }

    [Fact]
    public void A_vocabulary_with_every_byte_encodes_each_byte_as_its_own_id()
    {
        using var dir = new TempDirectory();
        var (vocab, merges) = Write(dir);

        // <s> a é </s>: "a" is byte 0x61 (id 4 + 97), "é" the bytes C3 A9 (ids 4 + 195, 4 + 169).
        TokenizerLoader.FromBpeFiles(vocab, merges).Encode("a\u00E9").Ids.Should().Equal(0, 101, 199, 173, 2);
    }
}
