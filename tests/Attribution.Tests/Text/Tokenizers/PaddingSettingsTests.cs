using Attribution.Text.Tokenizers;

namespace Attribution.Tests.Text.Tokenizers;

/// <summary>
/// tokenizer.json's <c>padding</c> settings other than <c>pad_id</c> are ignored, on purpose (docs/tokenizers.md): a
/// batch is padded on the right to its longest text with type id 0 and attention 0, whatever the file's direction,
/// pad_type_id, pad_to_multiple_of or fixed length say. transformers switches that padding off itself unless padding
/// is asked for, and padding does not change a model's outputs here: pads are masked keys, right padding leaves every
/// real token's position as in the unpadded text (TransformerModelTests checks the logits of padded rows), and a pad's
/// type id only feeds the pad's own row.
/// </summary>
public class PaddingSettingsTests
{
    // [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 the=4 cat=5 sat=6
    private static string WordPieceJson(object? padding) => BertTokenizerJson.Serialize(
        new Dictionary<string, int> { ["[PAD]"] = 0, ["[UNK]"] = 1, ["[CLS]"] = 2, ["[SEP]"] = 3, ["the"] = 4, ["cat"] = 5, ["sat"] = 6 }, padding: padding);

    [Fact]
    public void Left_direction_pad_type_id_and_pad_to_multiple_of_leave_the_right_padded_batch_unchanged()
    {
        using var dir = new TempDirectory();
        dir.Write("tokenizer.json", WordPieceJson(new
        {
            strategy = new { Fixed = 16 },
            direction = "Left",
            pad_to_multiple_of = 8,
            pad_id = 0,
            pad_type_id = 1,
            pad_token = "[PAD]",
        }));
        var batch = TokenizerLoader.FromDirectory(dir.Path).EncodeBatch(["the cat sat", "cat"]);

        // By hand: [CLS] the cat sat [SEP] = 2 4 5 6 3; [CLS] cat [SEP] = 2 5 3, padded on the right to 5 with [PAD] = 0.
        batch[0].Ids.Should().Equal(2, 4, 5, 6, 3);
        batch[1].Ids.Should().Equal(2, 5, 3, 0, 0);
        batch[1].TypeIds.Should().Equal(0, 0, 0, 0, 0);
        batch[1].AttentionMask.Should().Equal(1, 1, 1, 0, 0);
    }
}
