using System.Text.Json.Nodes;
using Attribution.Engine;
using Attribution.Text.Tokenizers;

namespace Attribution.Training;

/// <summary>
/// Makes a BERT-style WordPiece tokenizer whose vocabulary is a list of whole words (plus BERT's special tokens), for
/// the small classifiers trained here: every listed word is one token, anything else is <c>[UNK]</c>.
/// </summary>
public static class WordVocabulary
{
    /// <summary>The special tokens, first in the vocabulary in this order: [PAD] = 0, [UNK] = 1, [CLS] = 2, [SEP] = 3, [MASK] = 4.</summary>
    public static IReadOnlyList<string> SpecialTokens { get; } = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

    /// <summary>
    /// Writes <c>vocab.txt</c> (the special tokens, then <paramref name="words"/> in order, duplicates dropped) and
    /// <c>tokenizer_config.json</c> into <paramref name="directory"/> (created if needed), loads the tokenizer back
    /// with <see cref="TokenizerLoader"/> and checks that every word is a single token of its own. The files are
    /// written and checked in a staging folder beside <paramref name="directory"/> and moved in only when the check
    /// passes, so a refused vocabulary leaves <paramref name="directory"/> as it was.
    /// </summary>
    /// <param name="directory">The folder to write into (a model folder, typically).</param>
    /// <param name="words">The words; with <paramref name="doLowerCase"/> they must be lower-case.</param>
    /// <param name="modelMaxLength">The <c>model_max_length</c> to record (the model's longest input in tokens).</param>
    /// <param name="doLowerCase">Whether the tokenizer lower-cases (and strips accents from) its input.</param>
    /// <exception cref="ArgumentException">A word is empty, contains whitespace, is not lower-case while lower-casing, or
    /// would not be read as itself: split by BERT's pre-tokenizer (e.g. "don't"), or, while lower-casing, changed by the
    /// accent stripping that goes with it (e.g. "café"); the message shows what each such word reads as.</exception>
    public static ITokenizer Write(string directory, IEnumerable<string> words, int modelMaxLength, bool doLowerCase = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(words);
        ArgumentOutOfRangeException.ThrowIfLessThan(modelMaxLength, 3);
        var list = new List<string>(SpecialTokens);
        var seen = new HashSet<string>(SpecialTokens, StringComparer.Ordinal);
        foreach (var word in words)
        {
            if (string.IsNullOrEmpty(word) || word.Any(char.IsWhiteSpace))
            {
                throw new ArgumentException($"\"{word}\" is not a word: vocabulary entries must be non-empty and contain no whitespace", nameof(words));
            }

            if (doLowerCase && !string.Equals(word, word.ToLowerInvariant(), StringComparison.Ordinal))
            {
                throw new ArgumentException($"\"{word}\" has capitals but the tokenizer lower-cases its input, so it could never match; lower-case it", nameof(words));
            }

            if (seen.Add(word))
            {
                list.Add(word);
            }
        }

        // Written, loaded back and checked in a staging folder, moved in only once the check passes: a refused
        // vocabulary leaves nothing in the folder.
        ITokenizer? tokenizer = null;
        StagedFolder.Write(directory, nameof(directory), staging =>
        {
            File.WriteAllLines(Path.Combine(staging, "vocab.txt"), list);
            WriteConfig(staging, modelMaxLength, doLowerCase);
            var loaded = TokenizerLoader.FromDirectory(staging);
            // Each refused word is shown with what the tokenizer reads it as: the cause is not always punctuation
            // ("café" under lower-casing loses its accent and reads as [UNK]).
            var split = list.Skip(SpecialTokens.Count)
                .Select(w => (Word: w, Ids: loaded.Encode(w).Ids))
                .Where(e => e.Ids is not { Length: 3 } || e.Ids[1] != loaded.TokenToId(e.Word))
                .Take(10)
                .Select(e => $"\"{e.Word}\" reads as {(e.Ids.Length <= 2 ? "nothing" : string.Join(" ", e.Ids[1..^1].Select(id => loaded.IdToToken(id))))}")
                .ToList();
            if (split.Count > 0)
            {
                throw new ArgumentException(
                    $"these words would not be single tokens of their own: {string.Join(", ", split)}. BERT's pre-tokenizer splits punctuation " +
                    $"from letters{(doLowerCase ? " and, as it lower-cases, strips accents" : string.Empty)}; list the words as the tokenizer reads them " +
                    "(punctuation as words of its own)", nameof(words));
            }

            tokenizer = loaded;
        });
        return tokenizer!;
    }

    /// <summary>Writes <c>vocab.txt</c> and <c>tokenizer_config.json</c> for an existing WordPiece tokenizer (id order kept).</summary>
    /// <exception cref="ArgumentException">The tokenizer is not a WordPiece tokenizer.</exception>
    internal static void Save(string directory, ITokenizer tokenizer, int modelMaxLength, bool doLowerCase)
    {
        if (tokenizer is not WordPieceTokenizer)
        {
            throw new ArgumentException(
                $"only a WordPiece tokenizer can be saved as vocab.txt; this one is a {tokenizer.GetType().Name}", nameof(tokenizer));
        }

        var tokens = new string[tokenizer.VocabularySize];
        for (var id = 0; id < tokens.Length; id++)
        {
            tokens[id] = tokenizer.IdToToken(id) ?? throw new ArgumentException($"the tokenizer has no token for id {id}; its ids are not contiguous", nameof(tokenizer));
        }

        Directory.CreateDirectory(directory);
        File.WriteAllLines(Path.Combine(directory, "vocab.txt"), tokens);
        WriteConfig(directory, modelMaxLength, doLowerCase, tokenizer);
    }

    private static void WriteConfig(string directory, int modelMaxLength, bool doLowerCase, ITokenizer? tokenizer = null)
    {
        string Name(long? id, string fallback) => id is { } i && tokenizer?.IdToToken(i) is { } t ? t : fallback;
        var config = new JsonObject
        {
            ["tokenizer_class"] = "BertTokenizer",
            ["do_lower_case"] = doLowerCase,
            ["model_max_length"] = modelMaxLength,
            ["unk_token"] = Name(tokenizer?.UnkId, "[UNK]"),
            ["sep_token"] = Name(tokenizer?.SepId, "[SEP]"),
            ["pad_token"] = Name(tokenizer?.PadId, "[PAD]"),
            ["cls_token"] = Name(tokenizer?.ClsId, "[CLS]"),
            ["mask_token"] = Name(tokenizer?.MaskId, "[MASK]"),
        };
        File.WriteAllText(Path.Combine(directory, "tokenizer_config.json"), config.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
    }
}
