using System.Text.Json;

namespace Attribution.Tests.Text.Tokenizers;

/// <summary>
/// A BERT-style tokenizer.json written by hand for tests: lower-casing BertNormalizer, BertPreTokenizer, BertProcessing
/// ([CLS] … [SEP]) and a WordPiece model, with the parts the tests vary given as arguments. Written as Hugging Face
/// tokenizers writes the file (<c>truncation</c> and <c>padding</c> null when unset).
/// </summary>
internal static class BertTokenizerJson
{
    /// <summary>The file's JSON, the vocabulary given as entries in id order.</summary>
    public static string Serialize(
        IReadOnlyList<string> vocabulary, object? truncation = null, object? padding = null, IReadOnlyList<object>? addedTokens = null,
        string unkToken = "[UNK]", string continuingSubwordPrefix = "##", int clsId = 2, int sepId = 3) =>
        Serialize(vocabulary.Select((w, i) => (w, i)).ToDictionary(p => p.w, p => p.i), truncation, padding, addedTokens, unkToken, continuingSubwordPrefix, clsId, sepId);

    /// <summary>The file's JSON, the vocabulary given as entry → id.</summary>
    public static string Serialize(
        IReadOnlyDictionary<string, int> vocabulary, object? truncation = null, object? padding = null, IReadOnlyList<object>? addedTokens = null,
        string unkToken = "[UNK]", string continuingSubwordPrefix = "##", int clsId = 2, int sepId = 3) =>
        JsonSerializer.Serialize(new
        {
            truncation,
            padding,
            added_tokens = addedTokens ?? [],
            normalizer = new { type = "BertNormalizer", clean_text = true, handle_chinese_chars = true, strip_accents = (bool?)null, lowercase = true },
            pre_tokenizer = new { type = "BertPreTokenizer" },
            post_processor = new { type = "BertProcessing", sep = new object[] { "[SEP]", sepId }, cls = new object[] { "[CLS]", clsId } },
            model = new
            {
                type = "WordPiece",
                unk_token = unkToken,
                continuing_subword_prefix = continuingSubwordPrefix,
                max_input_chars_per_word = 100,
                vocab = vocabulary,
            },
        });

    /// <summary>An <c>added_tokens</c> entry (no stripping).</summary>
    public static object AddedToken(int id, string content, bool special = true, bool normalized = false, bool singleWord = false) =>
        new { id, content, single_word = singleWord, lstrip = false, rstrip = false, normalized, special };
}
