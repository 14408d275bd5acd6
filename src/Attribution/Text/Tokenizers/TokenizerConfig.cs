using System.Text.Json;

namespace Attribution.Text.Tokenizers;

/// <summary>What this library reads from a Hugging Face <c>tokenizer_config.json</c>; null where the file is silent.</summary>
internal sealed record TokenizerConfig
{
    public static readonly TokenizerConfig Empty = new();

    /// <summary>Whether a <c>tokenizer_config.json</c> was read (false for <see cref="Empty"/>).</summary>
    public bool IsPresent { get; init; }

    /// <summary>The file read, or null for <see cref="Empty"/>.</summary>
    public string? Path { get; init; }

    /// <summary><c>tokenizer_class</c>, e.g. <c>BertTokenizer</c> or <c>PreTrainedTokenizerFast</c>.</summary>
    public string? TokenizerClass { get; init; }

    public bool? DoLowerCase { get; init; }

    /// <summary>Null both when absent and when JSON null: then accents are stripped exactly when lower-casing.</summary>
    public bool? StripAccents { get; init; }

    public bool? TokenizeChineseChars { get; init; }

    public bool? AddPrefixSpace { get; init; }

    public bool? TrimOffsets { get; init; }

    /// <summary>
    /// <c>model_max_length</c>, the longest input in tokens; null when absent or above 1e9 (Hugging Face writes 1e30 for
    /// an unknown limit). A value below 1 or not a whole number is refused (<see cref="TokenizerException"/>).
    /// </summary>
    public int? ModelMaxLength { get; init; }

    /// <summary>
    /// <c>truncation_side</c> (<c>"right"</c> or <c>"left"</c>), which transformers uses whenever it truncates; it takes
    /// precedence over tokenizer.json's <c>truncation.direction</c>.
    /// </summary>
    public string? TruncationSide { get; init; }

    public string? ClsToken { get; init; }

    public string? SepToken { get; init; }

    public string? BosToken { get; init; }

    public string? EosToken { get; init; }

    public string? PadToken { get; init; }

    public string? UnkToken { get; init; }

    public string? MaskToken { get; init; }

    /// <summary>
    /// <c>do_basic_tokenize</c> and <c>never_split</c> as written (absent or JSON null: none): read only by transformers'
    /// Python <c>BertTokenizer</c>, ignored by its fast tokenizer, so checked only where the Python tokenizer's reading
    /// matters (<see cref="RefuseSlowTokenizerSettings"/>) and otherwise ignored, whatever they hold.
    /// </summary>
    public JsonElement? DoBasicTokenize { get; init; }

    /// <inheritdoc cref="DoBasicTokenize"/>
    public JsonElement? NeverSplit { get; init; }

    /// <summary>The <c>added_tokens_decoder</c> entries (id, content and matching flags).</summary>
    public IReadOnlyList<AddedToken> AddedTokens { get; init; } = [];

    public static TokenizerConfig Read(string? path)
    {
        if (path is null)
        {
            return Empty;
        }

        using var document = Json.Read(path);
        var root = document.RootElement;
        var where = new Json.Location(path, string.Empty);
        Json.RequireKind(root, JsonValueKind.Object, where);
        var added = new List<AddedToken>();
        if (Json.Optional(root, "added_tokens_decoder") is { } decoder)
        {
            var at = where.Child("added_tokens_decoder");
            Json.RequireKind(decoder, JsonValueKind.Object, at);
            foreach (var entry in decoder.EnumerateObject())
            {
                var entryAt = at.Child(entry.Name);
                if (!int.TryParse(entry.Name, out var id) || id < 0)
                {
                    throw new TokenizerException(path, $"{entryAt} should be keyed by a non-negative token id.");
                }

                Json.RequireKind(entry.Value, JsonValueKind.Object, entryAt);
                var special = Json.Bool(entry.Value, "special", false, entryAt);
                added.Add(new AddedToken(
                    Json.RequiredString(entry.Value, "content", entryAt),
                    id,
                    special,
                    Json.Bool(entry.Value, "single_word", false, entryAt),
                    Json.Bool(entry.Value, "lstrip", false, entryAt),
                    Json.Bool(entry.Value, "rstrip", false, entryAt),
                    Json.Bool(entry.Value, "normalized", !special, entryAt)));
            }
        }

        return new TokenizerConfig
        {
            IsPresent = true,
            Path = path,
            TokenizerClass = Json.OptionalString(root, "tokenizer_class", where),
            DoLowerCase = Json.OptionalBool(root, "do_lower_case", where),
            StripAccents = Json.OptionalBool(root, "strip_accents", where),
            TokenizeChineseChars = Json.OptionalBool(root, "tokenize_chinese_chars", where),
            AddPrefixSpace = Json.OptionalBool(root, "add_prefix_space", where),
            TrimOffsets = Json.OptionalBool(root, "trim_offsets", where),
            ModelMaxLength = ReadModelMaxLength(root, where),
            TruncationSide = ReadTruncationSide(root, where),
            ClsToken = TokenName(root, "cls_token", where),
            SepToken = TokenName(root, "sep_token", where),
            BosToken = TokenName(root, "bos_token", where),
            EosToken = TokenName(root, "eos_token", where),
            PadToken = TokenName(root, "pad_token", where),
            UnkToken = TokenName(root, "unk_token", where),
            MaskToken = TokenName(root, "mask_token", where),
            AddedTokens = added,
            DoBasicTokenize = Json.Optional(root, "do_basic_tokenize")?.Clone(),
            NeverSplit = Json.Optional(root, "never_split")?.Clone(),
        };
    }

    /// <summary>
    /// Refuses the settings only transformers' Python <c>BertTokenizer</c> reads, for a folder with vocab.txt and no
    /// tokenizer.json (<paramref name="added"/>: the contents of the added and special tokens, which are kept whole
    /// anyway). There <c>do_basic_tokenize: false</c> and a <c>never_split</c> word change the Python tokenizer's tokens,
    /// while the fast tokenizer converted from it (AutoTokenizer's default) ignores both; this library implements
    /// neither, so rather than tokenize like one of them silently it names the field. With a tokenizer.json they are
    /// ignored, as the fast tokenizer ignores them.
    /// </summary>
    public void RefuseSlowTokenizerSettings(IEnumerable<string> added)
    {
        const string Both = "with vocab.txt and no tokenizer.json, transformers' Python BertTokenizer reads it, but the fast tokenizer " +
            "converted from it (AutoTokenizer's default) ignores it, and this library implements neither that setting nor a choice between the two.";
        if (!IsPresent)
        {
            return;
        }

        var where = new Json.Location(Path!, string.Empty);
        if (DoBasicTokenize is { } doBasic && doBasic.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            throw new TokenizerException(Path!, $"{where.Child("do_basic_tokenize")} should be true or false but is {doBasic.GetRawText()}.");
        }

        if (DoBasicTokenize?.ValueKind == JsonValueKind.False)
        {
            throw new TokenizerException(Path!,
                $"\"do_basic_tokenize\" is false: the Python BertTokenizer then skips basic tokenization (no lower-casing, accent stripping " +
                $"or punctuation splitting, WordPiece on whitespace-separated words); {Both} Remove the field to tokenize as the fast " +
                "tokenizer does, or save the tokenizer the model was trained with as tokenizer.json (tokenizer.save_pretrained).");
        }

        var kept = added.ToHashSet(StringComparer.Ordinal);
        if (ReadNeverSplit(NeverSplit, where.Child("never_split"))?.FirstOrDefault(w => !kept.Contains(w)) is { } word)
        {
            throw new TokenizerException(Path!,
                $"\"never_split\" lists \"{word}\", which is not an added or special token: the Python BertTokenizer keeps such a word whole " +
                $"(not lower-cased or split); {Both} Remove the field to tokenize as the fast tokenizer does, or add the word as a token " +
                "(tokenizer.add_tokens) and save the tokenizer again.");
        }
    }

    private static List<string>? ReadNeverSplit(JsonElement? value, Json.Location at)
    {
        if (value is not { } array)
        {
            return null;
        }

        Json.RequireKind(array, JsonValueKind.Array, at);
        var words = new List<string>();
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            Json.RequireKind(item, JsonValueKind.String, at.Index(i++));
            words.Add(item.GetString()!);
        }

        return words;
    }

    /// <summary>The flags <c>added_tokens_decoder</c> gives a token, or plain special-token flags when it is silent.</summary>
    public AddedToken AddedTokenFor(string content, int id, bool lstrip = false) =>
        AddedTokens.FirstOrDefault(a => a.Content == content) ?? new AddedToken(content, id, Special: true, LStrip: lstrip);

    private static int? ReadModelMaxLength(JsonElement root, Json.Location where)
    {
        // Hugging Face writes 1e30 (VERY_LARGE_INTEGER) when the model's limit is unknown.
        if (Json.Optional(root, "model_max_length") is not { } value)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number)
        {
            throw new TokenizerException(where.File, $"{where.Child("model_max_length")} should be a number but is {value.ValueKind}.");
        }

        // A limit below 1 or with a fraction was read as no limit (or cut to a whole number) without a word.
        var limit = value.GetDouble();
        if (!(limit >= 1) || limit != Math.Floor(limit))
        {
            throw new TokenizerException(where.File,
                $"{where.Child("model_max_length")} is {value.GetRawText()}; it should be a whole number of tokens, at least 1 (or 1e30, Hugging Face's mark for an unknown limit).");
        }

        return limit <= 1_000_000_000 ? (int)limit : null;
    }

    /// <summary>
    /// Refuses a tokenizer that truncates on the left (<paramref name="fileDirection"/> is tokenizer.json's
    /// <c>truncation.direction</c>, overridden by <see cref="TruncationSide"/> as transformers'
    /// <c>PreTrainedTokenizerFast</c> does): this library's models and methods truncate on the right, so such a tokenizer
    /// would keep different tokens of a long text than Hugging Face does.
    /// </summary>
    public void RefuseLeftTruncation(string? fileDirection, string file, string fileField)
    {
        var (written, source, field) = TruncationSide is { } fromConfig
            ? (fromConfig, Path!, "\"truncation_side\"")
            : (fileDirection, file, fileField);
        if (string.Equals(written, "left", StringComparison.OrdinalIgnoreCase))
        {
            throw new TokenizerException(
                source,
                $"{field} is \"{written}\": this tokenizer truncates long texts on the left, but the models and methods here always keep " +
                $"the beginning of a text (right truncation), so they would see other tokens than Hugging Face does. Set {field} to " +
                "\"right\" or remove it; to keep the end of a text, call ITokenizer.Encode with TruncationSide.Left yourself.");
        }
    }

    private static string? ReadTruncationSide(JsonElement root, Json.Location where)
    {
        var side = Json.OptionalString(root, "truncation_side", where);
        if (side is not (null or "right" or "left"))
        {
            throw new TokenizerException(where.File, $"{where.Child("truncation_side")} is \"{side}\"; it should be \"right\" or \"left\".");
        }

        return side;
    }

    /// <summary>A special token given either as a string or as an AddedToken object with a <c>content</c>.</summary>
    private static string? TokenName(JsonElement root, string name, Json.Location where)
    {
        var value = Json.Optional(root, name);
        return value?.ValueKind switch
        {
            null => null,
            JsonValueKind.String => value.Value.GetString(),
            JsonValueKind.Object => Json.RequiredString(value.Value, "content", where.Child(name)),
            _ => throw new TokenizerException(where.File, $"{where.Child(name)} should be a string or an object with \"content\" but is {value.Value.ValueKind}."),
        };
    }
}
