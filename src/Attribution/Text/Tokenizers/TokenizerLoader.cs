namespace Attribution.Text.Tokenizers;

/// <summary>
/// Loads a tokenizer from Hugging Face files. Every failure (missing file, malformed JSON, a vocabulary without
/// the tokens a model needs, a tokenizer type this library does not implement) is a <see cref="TokenizerException"/>
/// whose message names the file, the problem and the fix.
/// </summary>
public static class TokenizerLoader
{
    /// <summary>
    /// Loads the tokenizer saved in a directory, choosing by what is there: <c>tokenizer.json</c> (WordPiece or
    /// byte-level BPE, by its <c>model.type</c>), else <c>vocab.txt</c> (BERT WordPiece), else <c>vocab.json</c> +
    /// <c>merges.txt</c> (RoBERTa/GPT-2 byte-level BPE). A <c>tokenizer_config.json</c> beside them supplies
    /// <c>model_max_length</c>, special-token names and the normalization flags: for a WordPiece tokenizer.json its
    /// <c>do_lower_case</c>, <c>strip_accents</c> and <c>tokenize_chinese_chars</c> replace the BertNormalizer's
    /// flags by transformers' <c>BertTokenizerFast</c> rule, and for a byte-level BPE its <c>add_prefix_space</c> and
    /// <c>trim_offsets</c> replace the file's by <c>RobertaTokenizerFast</c>'s (see <see cref="FromTokenizerJson"/>).
    /// </summary>
    /// <param name="directory">A directory as written by Hugging Face's <c>save_pretrained</c>.</param>
    /// <exception cref="TokenizerException">The directory holds no usable tokenizer files.</exception>
    public static ITokenizer FromDirectory(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!Directory.Exists(directory))
        {
            throw new TokenizerException(directory, "the tokenizer directory does not exist. Pass the directory that holds tokenizer.json, vocab.txt or vocab.json + merges.txt.");
        }

        var config = Path.Combine(directory, TokenizerFiles.ConfigFileName);
        var configPath = File.Exists(config) ? config : null;
        var tokenizerJson = Path.Combine(directory, "tokenizer.json");
        if (File.Exists(tokenizerJson))
        {
            return TokenizerFiles.LoadTokenizerJson(tokenizerJson, configPath);
        }

        var vocabTxt = Path.Combine(directory, "vocab.txt");
        if (File.Exists(vocabTxt))
        {
            return TokenizerFiles.LoadWordPieceVocab(vocabTxt, configPath);
        }

        var vocabJson = Path.Combine(directory, "vocab.json");
        var merges = Path.Combine(directory, "merges.txt");
        if (File.Exists(vocabJson) && File.Exists(merges))
        {
            return TokenizerFiles.LoadBpeFiles(vocabJson, merges, configPath);
        }

        if (File.Exists(vocabJson))
        {
            throw new TokenizerException(merges, "vocab.json is present but merges.txt is missing; byte-level BPE needs both. Copy merges.txt from the same tokenizer, or save it with tokenizer.save_pretrained(...).");
        }

        throw new TokenizerException(directory, "no tokenizer files found: expected tokenizer.json, vocab.txt (WordPiece) or vocab.json + merges.txt (byte-level BPE). Save the tokenizer there with tokenizer.save_pretrained(...).");
    }

    /// <summary>
    /// Loads a Hugging Face fast-tokenizer file of model type <c>WordPiece</c> (BertNormalizer, BertPreTokenizer,
    /// TemplateProcessing or BertProcessing) or <c>BPE</c> (ByteLevel pre-tokenizer, RobertaProcessing,
    /// TemplateProcessing or BertProcessing). A <c>tokenizer_config.json</c> in the same directory supplies
    /// <c>model_max_length</c> and the pad and mask tokens when present, and, as transformers' <c>BertTokenizerFast</c>
    /// does, rebuilds a BertNormalizer whose <c>lowercase</c>, <c>strip_accents</c> or <c>handle_chinese_chars</c>
    /// differs from the config's <c>do_lower_case</c> (default true), <c>strip_accents</c> (default null: strip when
    /// lower-casing) or <c>tokenize_chinese_chars</c> (default true), taking all three from the config; likewise, as
    /// <c>RobertaTokenizerFast</c> does, its <c>add_prefix_space</c> (default false) and <c>trim_offsets</c> (default
    /// true) replace a byte-level BPE's. A config whose <c>tokenizer_class</c> is <c>PreTrainedTokenizerFast</c>, or no
    /// config, leaves the file's settings.
    /// </summary>
    /// <param name="path">The <c>tokenizer.json</c> file.</param>
    /// <exception cref="TokenizerException">The file is missing, malformed or describes an unsupported pipeline.</exception>
    public static ITokenizer FromTokenizerJson(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var config = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".", TokenizerFiles.ConfigFileName);
        return TokenizerFiles.LoadTokenizerJson(path, File.Exists(config) ? config : null);
    }

    /// <summary>Loads a BERT WordPiece tokenizer from a <c>vocab.txt</c> (one token per line, id = line number).</summary>
    /// <param name="vocabPath">The <c>vocab.txt</c> file.</param>
    /// <param name="configPath">
    /// An optional <c>tokenizer_config.json</c> (<c>do_lower_case</c>, default true; <c>strip_accents</c>, default:
    /// as lower-casing; <c>tokenize_chinese_chars</c>, default true; <c>model_max_length</c>; special-token names).
    /// </param>
    /// <exception cref="TokenizerException">A file is missing or malformed, or a special token is not in the vocabulary.</exception>
    public static ITokenizer FromWordPieceVocab(string vocabPath, string? configPath = null)
    {
        ArgumentNullException.ThrowIfNull(vocabPath);
        return TokenizerFiles.LoadWordPieceVocab(vocabPath, configPath);
    }

    /// <summary>Loads a RoBERTa-style byte-level BPE tokenizer from <c>vocab.json</c> and <c>merges.txt</c>.</summary>
    /// <param name="vocabPath">The <c>vocab.json</c> file (token to id).</param>
    /// <param name="mergesPath">The <c>merges.txt</c> file (one merge per line, by rank, optional <c>#version</c> header).</param>
    /// <param name="configPath">
    /// An optional <c>tokenizer_config.json</c> (<c>add_prefix_space</c>, default false; <c>trim_offsets</c>, default
    /// true; <c>model_max_length</c>; special tokens, default <c>&lt;s&gt; &lt;/s&gt; &lt;pad&gt; &lt;unk&gt; &lt;mask&gt;</c>).
    /// </param>
    /// <exception cref="TokenizerException">A file is missing or malformed, or a special token is not in the vocabulary.</exception>
    public static ITokenizer FromBpeFiles(string vocabPath, string mergesPath, string? configPath = null)
    {
        ArgumentNullException.ThrowIfNull(vocabPath);
        ArgumentNullException.ThrowIfNull(mergesPath);
        return TokenizerFiles.LoadBpeFiles(vocabPath, mergesPath, configPath);
    }
}
