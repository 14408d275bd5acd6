using System.Globalization;
using System.Text.Json;

namespace Attribution.Text.Tokenizers;

/// <summary>Builds tokenizers from Hugging Face files: <c>tokenizer.json</c>, <c>vocab.txt</c>, <c>vocab.json</c> + <c>merges.txt</c>.</summary>
internal static class TokenizerFiles
{
    public const string ConfigFileName = "tokenizer_config.json";

    private const string SaveAdvice = "Re-save the tokenizer with a current Hugging Face tokenizers library, or load a BERT/RoBERTa-style tokenizer.";

    public static ITokenizer LoadTokenizerJson(string path, string? configPath)
    {
        var config = TokenizerConfig.Read(configPath);
        using var document = Json.Read(path);
        var root = document.RootElement;
        var top = new Json.Location(path, string.Empty);
        Json.RequireKind(root, JsonValueKind.Object, top);
        var modelAt = top.Child("model");
        var model = Json.RequiredObject(root, "model", top);

        // Older files leave the model type implicit; the fields that only one type has tell them apart.
        var type = Json.OptionalString(model, "type", modelAt)
            ?? (model.TryGetProperty("merges", out _) ? "BPE" : model.TryGetProperty("max_input_chars_per_word", out _) ? "WordPiece" : null)
            ?? throw new TokenizerException(path, $"{modelAt.Child("type")} is missing. {SaveAdvice}");
        var vocabulary = Json.Vocabulary(Json.Required(model, "vocab", modelAt), modelAt.Child("vocab"));
        var added = ReadAddedTokens(root, top);
        var truncation = Json.Optional(root, "truncation");
        var maxLength = config.ModelMaxLength
            ?? (truncation is { } limits ? Json.OptionalInt(limits, "max_length", top.Child("truncation")) : null);
        config.RefuseLeftTruncation(
            truncation is { } t ? Json.OptionalString(t, "direction", top.Child("truncation")) : null, path, top.Child("truncation").Child("direction").ToString());

        return type switch
        {
            "WordPiece" => WordPieceFromJson(root, model, vocabulary, added, config, maxLength, top),
            "BPE" => BpeFromJson(root, model, vocabulary, added, config, maxLength, top),
            _ => throw new TokenizerException(path, $"{modelAt.Child("type")} is \"{type}\"; only WordPiece (BERT) and BPE (byte-level, RoBERTa/GPT-2) are implemented."),
        };
    }

    public static ITokenizer LoadWordPieceVocab(string vocabPath, string? configPath)
    {
        var config = TokenizerConfig.Read(configPath);
        config.RefuseLeftTruncation(null, vocabPath, string.Empty);
        var lines = Json.ReadText(vocabPath).Split(["\r\n", "\n", "\r"], StringSplitOptions.None);

        // The file's final newline ends the last token rather than starting an empty one.
        var count = lines.Length > 0 && lines[^1].Length == 0 ? lines.Length - 1 : lines.Length;
        if (count == 0 || lines.Take(count).All(string.IsNullOrWhiteSpace))
        {
            throw new TokenizerException(vocabPath, "the vocabulary is empty. vocab.txt must list one token per line (id = line number); download it again.");
        }

        var vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            // Like Hugging Face, a token listed twice answers to its later line.
            vocabulary[lines[i]] = i;
        }

        int? Lookup(string token) =>
            config.AddedTokens.FirstOrDefault(a => a.Content == token)?.Id ?? (vocabulary.TryGetValue(token, out var id) ? id : null);

        var names = new (string Key, string Name, bool Required)[]
        {
            ("cls_token", config.ClsToken ?? "[CLS]", true),
            ("sep_token", config.SepToken ?? "[SEP]", true),
            ("pad_token", config.PadToken ?? "[PAD]", true),
            ("unk_token", config.UnkToken ?? "[UNK]", true),
            ("mask_token", config.MaskToken ?? "[MASK]", false),
        };
        var ids = new int?[names.Length];
        for (var i = 0; i < names.Length; i++)
        {
            // WordPiece looks its unknown token up in its own vocabulary only (transformers' converter builds it from
            // vocab.txt; the tokenizers crate fails with MissingUnkToken on a word it cannot split otherwise).
            ids[i] = names[i].Key == "unk_token" ? (vocabulary.TryGetValue(names[i].Name, out var unk) ? unk : null) : Lookup(names[i].Name);
            if (ids[i] is null && names[i].Required)
            {
                var addedOnly = names[i].Key == "unk_token" && config.AddedTokens.Any(a => a.Content == names[i].Name)
                    ? " (it is only an added token of tokenizer_config.json, and WordPiece looks the unknown token up in vocab.txt alone: " +
                      "Hugging Face's fast tokenizer fails on any word it cannot split)"
                    : string.Empty;
                throw new TokenizerException(vocabPath, $"the {names[i].Key} \"{names[i].Name}\" is not in the vocabulary{addedOnly}. Use the vocab.txt of a BERT model, or name the model's own token in tokenizer_config.json (\"{names[i].Key}\").");
            }
        }

        var added = config.AddedTokens.ToList();
        for (var i = 0; i < names.Length; i++)
        {
            if (ids[i] is int id && added.All(a => a.Content != names[i].Name))
            {
                added.Add(new AddedToken(names[i].Name, id, Special: true));
            }
        }

        config.RefuseSlowTokenizerSettings(added.Select(a => a.Content));
        var lowercase = config.DoLowerCase ?? true;
        var normalization = new BertNormalization(
            CleanText: true,
            HandleChineseChars: config.TokenizeChineseChars ?? true,
            StripAccents: config.StripAccents ?? lowercase,
            Lowercase: lowercase);
        var specials = new SpecialIds(ids[0]!.Value, ids[1]!.Value, ids[2]!.Value, ids[3], ids[4]);
        return new WordPieceTokenizer(
            vocabulary,
            added,
            PostProcessor.Bert(specials.Cls, names[0].Name, specials.Sep, names[1].Name),
            specials,
            config.ModelMaxLength,
            normalization,
            ids[3]!.Value,
            "##",
            100);
    }

    public static ITokenizer LoadBpeFiles(string vocabPath, string mergesPath, string? configPath)
    {
        var config = TokenizerConfig.Read(configPath);
        config.RefuseLeftTruncation(null, vocabPath, string.Empty);
        Dictionary<string, int> vocabulary;
        using (var document = Json.Read(vocabPath))
        {
            vocabulary = Json.Vocabulary(document.RootElement, new Json.Location(vocabPath, string.Empty));
        }

        var merges = new List<(string, string)>();
        var lines = Json.ReadText(mergesPath).Split(["\r\n", "\n", "\r"], StringSplitOptions.None);
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if ((i == 0 && line.StartsWith("#version", StringComparison.Ordinal)) || line.Length == 0)
            {
                continue;
            }

            var parts = line.Split(' ');
            if (parts.Length != 2)
            {
                throw new TokenizerException(mergesPath, $"line {i + 1} (\"{line}\") is not two tokens separated by one space. merges.txt must be GPT-2's format: an optional \"#version\" line, then one merge per line.");
            }

            merges.Add((parts[0], parts[1]));
        }

        int? Lookup(string token) =>
            config.AddedTokens.FirstOrDefault(a => a.Content == token)?.Id ?? (vocabulary.TryGetValue(token, out var id) ? id : null);

        var names = new (string Key, string Name, bool Required)[]
        {
            ("cls_token", config.ClsToken ?? config.BosToken ?? "<s>", true),
            ("sep_token", config.SepToken ?? config.EosToken ?? "</s>", true),
            ("pad_token", config.PadToken ?? "<pad>", true),
            ("unk_token", config.UnkToken ?? "<unk>", false),
            ("mask_token", config.MaskToken ?? "<mask>", false),
        };
        var ids = new int?[names.Length];
        for (var i = 0; i < names.Length; i++)
        {
            ids[i] = Lookup(names[i].Name);
            if (ids[i] is null && names[i].Required)
            {
                throw new TokenizerException(vocabPath, $"the {names[i].Key} \"{names[i].Name}\" is not in the vocabulary. Only RoBERTa-style inputs (<s> ... </s>) are implemented; name the model's own token in tokenizer_config.json (\"{names[i].Key}\").");
            }
        }

        var added = config.AddedTokens.ToList();
        for (var i = 0; i < names.Length; i++)
        {
            if (ids[i] is int id && added.All(a => a.Content != names[i].Name))
            {
                // RoBERTa's mask token swallows the space before it, so "a <mask>" predicts " word".
                added.Add(config.AddedTokenFor(names[i].Name, id, lstrip: names[i].Key == "mask_token"));
            }
        }

        var specials = new SpecialIds(ids[0]!.Value, ids[1]!.Value, ids[2]!.Value, ids[3], ids[4]);
        var tokenizer = new ByteLevelBpeTokenizer(
            vocabulary,
            merges,
            added,
            PostProcessor.Roberta(specials.Cls, names[0].Name, specials.Sep, names[1].Name),
            specials,
            config.ModelMaxLength,
            ids[3],
            new ByteLevelOptions(config.AddPrefixSpace ?? false, config.TrimOffsets ?? true),
            mergesPath);
        RequireEveryByte(vocabulary, vocabPath);
        return tokenizer;
    }

    /// <summary>
    /// Refuses a byte-level vocabulary without the symbol of every byte. Hugging Face disagrees with itself on such a
    /// byte: the fast tokenizer transformers builds from these files (BPE without unk_token, as RobertaConverter makes it)
    /// drops it from the text, the slow RobertaTokenizer gives it the unknown token; either way the model never sees the
    /// character. GPT-2's and RoBERTa's vocabularies hold all 256 bytes, so a gap means the file is not such a vocabulary.
    /// </summary>
    private static void RequireEveryByte(IReadOnlyDictionary<string, int> vocabulary, string vocabPath)
    {
        var missing = Enumerable.Range(0, 256).Where(b => !vocabulary.ContainsKey(ByteLevel.ByteToChar[b].ToString())).ToArray();
        if (missing.Length == 0)
        {
            return;
        }

        const int Shown = 16;
        var listed = string.Join(", ", missing.Take(Shown).Select(b => string.Create(CultureInfo.InvariantCulture, $"0x{b:X2} (\"{ByteLevel.ByteToChar[b]}\")")));
        throw new TokenizerException(vocabPath,
            $"the byte-level vocabulary lacks the symbols of {missing.Length} of the 256 bytes: {listed}{(missing.Length > Shown ? ", …" : string.Empty)}. " +
            "Hugging Face's fast tokenizer drops such a byte from the text and its slow one turns it into <unk>, so texts with them would not tokenize as " +
            "the model was trained. A byte-level BPE vocabulary (GPT-2's, RoBERTa's) has all 256: use the vocab.json saved with the model, or its " +
            "tokenizer.json (which states how unknown bytes are handled).");
    }

    private static ITokenizer WordPieceFromJson(
        JsonElement root, JsonElement model, Dictionary<string, int> vocabulary, List<AddedToken> added, TokenizerConfig config, int? maxLength, Json.Location top)
    {
        var path = top.File;
        var normalization = new BertNormalization(false, false, false, false);
        if (Json.Optional(root, "normalizer") is { } normalizer)
        {
            var at = top.Child("normalizer");
            var type = Json.RequiredString(normalizer, "type", at);
            if (type != "BertNormalizer")
            {
                throw new TokenizerException(path, $"{at.Child("type")} is \"{type}\"; with WordPiece only BertNormalizer is implemented. {SaveAdvice}");
            }

            var lowercase = Json.Bool(normalizer, "lowercase", true, at);
            normalization = new BertNormalization(
                Json.Bool(normalizer, "clean_text", true, at),
                Json.Bool(normalizer, "handle_chinese_chars", true, at),
                Json.OptionalBool(normalizer, "strip_accents", at) ?? lowercase,
                lowercase);
            normalization = ConfigNormalization(normalizer, normalization, config, at) ?? normalization;
        }

        var preAt = top.Child("pre_tokenizer");
        var preType = Json.Optional(root, "pre_tokenizer") is { } pre ? Json.RequiredString(pre, "type", preAt) : "none";
        if (preType != "BertPreTokenizer")
        {
            throw new TokenizerException(path, $"{preAt} is {(preType == "none" ? "missing" : $"\"{preType}\"")}; with WordPiece only BertPreTokenizer is implemented. {SaveAdvice}");
        }

        var modelAt = top.Child("model");
        var unkToken = Json.OptionalString(model, "unk_token", modelAt) ?? "[UNK]";
        var lookup = Lookup(vocabulary, added);

        // Hugging Face's WordPiece looks unk_token up in model.vocab alone, never among added_tokens, and fails
        // (MissingUnkToken) on the first word it cannot split; such words are common (any character the vocabulary lacks).
        var unkId = vocabulary.TryGetValue(unkToken, out var unk) ? unk
            : throw new TokenizerException(path, $"{modelAt.Child("unk_token")} \"{unkToken}\" is not in {modelAt.Child("vocab")}" +
                (added.Any(a => a.Content == unkToken) ? " (it is only in added_tokens, where WordPiece does not look)" : string.Empty) +
                $"; WordPiece needs it for words it cannot split. Add it to {modelAt.Child("vocab")}, or name a token of the vocabulary in {modelAt.Child("unk_token")}.");
        var (postProcessor, specials, _) = ReadPostProcessor(root, top);
        var ids = ResolveSpecialIds(root, specials, config, lookup, unkToken, "[PAD]", "[MASK]", top);
        return new WordPieceTokenizer(
            vocabulary,
            added,
            postProcessor,
            ids,
            maxLength,
            normalization,
            unkId,
            Json.OptionalString(model, "continuing_subword_prefix", modelAt) ?? "##",
            Json.OptionalInt(model, "max_input_chars_per_word", modelAt) ?? 100);
    }

    /// <summary>
    /// The normalization transformers' BERT-family fast tokenizers (<c>BertTokenizerFast.__init__</c>) put in place of
    /// the file's BertNormalizer, or null where they keep it. With a tokenizer_config.json, the tokenizer's arguments
    /// <c>do_lower_case</c> (default true), <c>strip_accents</c> (default null: strip exactly when lower-casing) and
    /// <c>tokenize_chinese_chars</c> (default true) are compared with the normalizer's <c>lowercase</c>,
    /// <c>strip_accents</c> and <c>handle_chinese_chars</c> (a field the normalizer leaves out counts as equal); if any
    /// differs, the normalizer is rebuilt with all three arguments and its own <c>clean_text</c>. So a config saying
    /// <c>do_lower_case: false</c> keeps case even where tokenizer.json says lowercase, and a config silent on it
    /// lower-cases. A config naming <c>PreTrainedTokenizerFast</c> (which takes tokenizer.json as it is), or none at
    /// all, leaves the normalizer alone.
    /// </summary>
    private static BertNormalization? ConfigNormalization(JsonElement normalizer, BertNormalization fromFile, TokenizerConfig config, Json.Location at)
    {
        if (!config.IsPresent || config.TokenizerClass == "PreTrainedTokenizerFast")
        {
            return null;
        }

        var doLowerCase = config.DoLowerCase ?? true;
        var stripAccents = config.StripAccents;
        var chineseChars = config.TokenizeChineseChars ?? true;

        // Python's state.get(key, argument) != argument: an absent key never differs; JSON null is None.
        bool Differs(string key, bool? argument) =>
            normalizer.TryGetProperty(key, out _) && Json.OptionalBool(normalizer, key, at) != argument;

        if (!Differs("lowercase", doLowerCase) && !Differs("strip_accents", stripAccents) && !Differs("handle_chinese_chars", chineseChars))
        {
            return null;
        }

        return fromFile with { Lowercase = doLowerCase, StripAccents = stripAccents ?? doLowerCase, HandleChineseChars = chineseChars };
    }

    private static ITokenizer BpeFromJson(
        JsonElement root, JsonElement model, Dictionary<string, int> vocabulary, List<AddedToken> added, TokenizerConfig config, int? maxLength, Json.Location top)
    {
        var path = top.File;
        if (Json.Optional(root, "normalizer") is { } normalizer)
        {
            throw new TokenizerException(path, $"{top.Child("normalizer")} is {normalizer.GetRawText()}; with BPE only byte-level tokenizers without a normalizer (RoBERTa, GPT-2) are implemented. {SaveAdvice}");
        }

        var preAt = top.Child("pre_tokenizer");
        var pre = Json.Optional(root, "pre_tokenizer");
        var preType = pre is { } p ? Json.RequiredString(p, "type", preAt) : "none";
        if (preType != "ByteLevel")
        {
            throw new TokenizerException(path, $"{preAt} is {(preType == "none" ? "missing" : $"\"{preType}\"")}; with BPE only the ByteLevel pre-tokenizer (RoBERTa, GPT-2) is implemented. {SaveAdvice}");
        }

        var modelAt = top.Child("model");
        if (Json.Optional(model, "dropout") is { } dropout && dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() > 0)
        {
            throw new TokenizerException(path, $"{modelAt.Child("dropout")} is {dropout.GetRawText()}; BPE dropout makes tokenization random and is meant for training only. Set it to null.");
        }

        foreach (var affix in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
        {
            if (!string.IsNullOrEmpty(Json.OptionalString(model, affix, modelAt)))
            {
                throw new TokenizerException(path, $"{modelAt.Child(affix)} is set; byte-level BPE with subword prefixes or suffixes is not implemented. {SaveAdvice}");
            }
        }

        if (Json.Bool(model, "byte_fallback", false, modelAt))
        {
            throw new TokenizerException(path, $"{modelAt.Child("byte_fallback")} is true; byte-fallback BPE (SentencePiece style) is not implemented. {SaveAdvice}");
        }

        var merges = ReadMerges(Json.Required(model, "merges", modelAt), modelAt.Child("merges"));
        var lookup = Lookup(vocabulary, added);
        var unkToken = Json.OptionalString(model, "unk_token", modelAt);
        var unkId = BpeUnknownId(vocabulary, added, unkToken, modelAt);
        var (postProcessor, specials, trimOffsets) = ReadPostProcessor(root, top);
        var ids = ResolveSpecialIds(root, specials, config, lookup, unkToken ?? config.UnkToken ?? "<unk>", "<pad>", "<mask>", top);
        var options = new ByteLevelOptions(
            AddPrefixSpace: Json.Bool(pre!.Value, "add_prefix_space", true, preAt),
            TrimOffsets: trimOffsets ?? false,
            UseRegex: Json.Bool(pre.Value, "use_regex", true, preAt),
            IgnoreMerges: Json.Bool(model, "ignore_merges", false, modelAt),
            FuseUnknown: Json.Bool(model, "fuse_unk", false, modelAt));
        // transformers replaces trim_offsets only where the post-processor's own state has the field: a RobertaProcessing
        // (a ByteLevel processor alone adds no special tokens and is refused); a Sequence has none at its top level.
        var processorTrims = Json.OptionalString(root.GetProperty("post_processor"), "type", top.Child("post_processor")) == "RobertaProcessing";
        return new ByteLevelBpeTokenizer(vocabulary, merges, added, postProcessor, ids, maxLength, unkId, ConfigByteLevel(options, processorTrims, config), path);
    }

    /// <summary>
    /// The byte-level settings transformers' RoBERTa-family fast tokenizers put in place of the file's
    /// (<c>RobertaTokenizerFast.__init__</c>; <c>GPT2TokenizerFast</c> only for the pre-tokenizer). With a
    /// tokenizer_config.json, the arguments <c>add_prefix_space</c> (default false) and <c>trim_offsets</c> (default
    /// true) replace the ByteLevel pre-tokenizer's <c>add_prefix_space</c> and the post-processor's <c>trim_offsets</c>
    /// (a RobertaProcessing always has one; other processors, a Sequence holding a ByteLevel included, have none at
    /// their top level, and keep the file's).
    /// So a config silent on <c>add_prefix_space</c> adds no space before the first word, even where tokenizer.json
    /// says it does. A config naming <c>PreTrainedTokenizerFast</c>, or none at all, leaves the file's settings.
    /// </summary>
    private static ByteLevelOptions ConfigByteLevel(ByteLevelOptions fromFile, bool processorTrims, TokenizerConfig config)
    {
        if (!config.IsPresent || config.TokenizerClass == "PreTrainedTokenizerFast")
        {
            return fromFile;
        }

        var trims = processorTrims && config.TokenizerClass is not ("GPT2Tokenizer" or "GPT2TokenizerFast");
        return fromFile with
        {
            AddPrefixSpace = config.AddPrefixSpace ?? false,
            TrimOffsets = trims ? config.TrimOffsets ?? true : fromFile.TrimOffsets,
        };
    }

    /// <summary>
    /// The id of byte-level BPE's unknown token. Hugging Face's BPE looks <c>unk_token</c> up in <c>model.vocab</c> alone
    /// (never among added_tokens) and only when a byte of the text is missing from the vocabulary, failing then with
    /// UnkTokenOutOfVocabulary. So an unk_token outside the vocabulary is refused when some byte is missing (a text with
    /// it would fail), and unused (null) when every byte is there, since no text can need it.
    /// </summary>
    private static int? BpeUnknownId(Dictionary<string, int> vocabulary, List<AddedToken> added, string? unkToken, Json.Location modelAt)
    {
        if (unkToken is null)
        {
            return null;
        }

        if (vocabulary.TryGetValue(unkToken, out var id))
        {
            return id;
        }

        var missing = Enumerable.Range(0, 256).Cast<int?>().FirstOrDefault(b => !vocabulary.ContainsKey(ByteLevel.ByteToChar[b!.Value].ToString()));
        if (missing is null)
        {
            return null;
        }

        throw new TokenizerException(modelAt.File,
            $"{modelAt.Child("unk_token")} \"{unkToken}\" is not in {modelAt.Child("vocab")}" +
            (added.Any(a => a.Content == unkToken) ? " (it is only in added_tokens, where BPE does not look)" : string.Empty) +
            $", and the vocabulary lacks byte 0x{missing.Value:X2} (\"{ByteLevel.ByteToChar[missing.Value]}\"), which would need it: Hugging Face's BPE fails on any text " +
            $"with such a byte. Add \"{unkToken}\" to {modelAt.Child("vocab")}, or set {modelAt.Child("unk_token")} to null to drop the bytes the vocabulary lacks.");
    }

    private static Func<string, int?> Lookup(Dictionary<string, int> vocabulary, List<AddedToken> added) =>
        token => added.FirstOrDefault(a => a.Content == token)?.Id ?? (vocabulary.TryGetValue(token, out var id) ? id : null);

    private static List<AddedToken> ReadAddedTokens(JsonElement root, Json.Location top)
    {
        var tokens = new List<AddedToken>();
        if (Json.Optional(root, "added_tokens") is not { } array)
        {
            return tokens;
        }

        var at = top.Child("added_tokens");
        Json.RequireKind(array, JsonValueKind.Array, at);
        var index = 0;
        foreach (var entry in array.EnumerateArray())
        {
            var entryAt = at.Index(index++);
            Json.RequireKind(entry, JsonValueKind.Object, entryAt);

            // Hugging Face matches a "normalized" added token in the normalized text, the others in the raw text; an
            // entry that does not say is normalized unless special, as Hugging Face's AddedToken defaults.
            var special = Json.Bool(entry, "special", false, entryAt);
            tokens.Add(new AddedToken(
                Json.RequiredString(entry, "content", entryAt),
                Json.AsInt(Json.Required(entry, "id", entryAt), entryAt.Child("id")),
                special,
                Json.Bool(entry, "single_word", false, entryAt),
                Json.Bool(entry, "lstrip", false, entryAt),
                Json.Bool(entry, "rstrip", false, entryAt),
                Json.Bool(entry, "normalized", !special, entryAt)));
        }

        return tokens;
    }

    /// <summary>Merges as <c>"a b"</c> strings (older files) or <c>["a", "b"]</c> pairs (newer ones).</summary>
    private static List<(string, string)> ReadMerges(JsonElement merges, Json.Location at)
    {
        Json.RequireKind(merges, JsonValueKind.Array, at);
        var result = new List<(string, string)>(merges.GetArrayLength());
        var index = 0;
        foreach (var merge in merges.EnumerateArray())
        {
            var mergeAt = at.Index(index++);
            if (merge.ValueKind == JsonValueKind.String)
            {
                var parts = merge.GetString()!.Split(' ');
                if (parts.Length != 2)
                {
                    throw new TokenizerException(at.File, $"{mergeAt} (\"{merge.GetString()}\") is not two tokens separated by one space.");
                }

                result.Add((parts[0], parts[1]));
            }
            else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2
                && merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String)
            {
                result.Add((merge[0].GetString()!, merge[1].GetString()!));
            }
            else
            {
                throw new TokenizerException(at.File, $"{mergeAt} should be \"a b\" or [\"a\", \"b\"] but is {merge.GetRawText()}.");
            }
        }

        return result;
    }

    /// <summary>
    /// The post-processor's template, the ids of the tokens that open and close a sequence, and whether it trims
    /// offsets (null when it does not say).
    /// </summary>
    private static (PostProcessor Template, (int Cls, int Sep) Specials, bool? TrimOffsets) ReadPostProcessor(JsonElement root, Json.Location top)
    {
        var at = top.Child("post_processor");
        var processor = Json.Optional(root, "post_processor")
            ?? throw new TokenizerException(top.File, $"{at} is missing, so nothing says which tokens open and close a sequence. Add a TemplateProcessing, BertProcessing or RobertaProcessing post_processor.");
        return ReadProcessor(processor, at);
    }

    private static (PostProcessor Template, (int Cls, int Sep) Specials, bool? TrimOffsets) ReadProcessor(JsonElement processor, Json.Location at)
    {
        var type = Json.RequiredString(processor, "type", at);
        switch (type)
        {
            case "BertProcessing":
            case "RobertaProcessing":
            {
                var (cls, clsId) = TokenAndId(processor, "cls", at);
                var (sep, sepId) = TokenAndId(processor, "sep", at);
                return type == "BertProcessing"
                    ? (PostProcessor.Bert(clsId, cls, sepId, sep), (clsId, sepId), null)
                    : (PostProcessor.Roberta(clsId, cls, sepId, sep), (clsId, sepId), Json.Bool(processor, "trim_offsets", true, at));
            }

            case "TemplateProcessing":
                return ReadTemplate(processor, at);

            case "Sequence":
            {
                // e.g. [ByteLevel (offset trimming), TemplateProcessing (special tokens)].
                var processors = Json.Required(processor, "processors", at);
                Json.RequireKind(processors, JsonValueKind.Array, at.Child("processors"));
                bool? trim = null;
                (PostProcessor, (int, int), bool?)? template = null;
                var index = 0;
                foreach (var inner in processors.EnumerateArray())
                {
                    var innerAt = at.Child("processors").Index(index++);
                    var innerType = Json.RequiredString(inner, "type", innerAt);
                    if (innerType == "ByteLevel")
                    {
                        trim = Json.Bool(inner, "trim_offsets", true, innerAt);
                        continue;
                    }

                    if (template is not null)
                    {
                        // Hugging Face would run both, adding the special tokens twice.
                        throw new TokenizerException(at.File, $"{innerAt} is a second processor that adds special tokens; a Sequence with more than one is not implemented. Keep one TemplateProcessing, BertProcessing or RobertaProcessing.");
                    }

                    template = ReadProcessor(inner, innerAt);
                }

                if (template is not { } found)
                {
                    throw new TokenizerException(at.File, $"{at} has no processor that adds special tokens; add a TemplateProcessing, BertProcessing or RobertaProcessing.");
                }

                return (found.Item1, found.Item2, trim ?? found.Item3);
            }

            default:
                throw new TokenizerException(at.File, $"{at.Child("type")} is \"{type}\", which adds no special tokens or is not implemented; only TemplateProcessing, BertProcessing and RobertaProcessing are.");
        }
    }

    private static (string Token, int Id) TokenAndId(JsonElement processor, string name, Json.Location at)
    {
        var value = Json.Required(processor, name, at);
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() != 2 || value[0].ValueKind != JsonValueKind.String)
        {
            throw new TokenizerException(at.File, $"{at.Child(name)} should be [\"token\", id] but is {value.GetRawText()}.");
        }

        return (value[0].GetString()!, Json.AsInt(value[1], at.Child(name).Index(1)));
    }

    private static (PostProcessor, (int, int), bool?) ReadTemplate(JsonElement processor, Json.Location at)
    {
        var specialsAt = at.Child("special_tokens");
        var specialTokens = new Dictionary<string, (int[] Ids, string[] Tokens)>(StringComparer.Ordinal);
        if (Json.Optional(processor, "special_tokens") is { } specials)
        {
            Json.RequireKind(specials, JsonValueKind.Object, specialsAt);
            foreach (var entry in specials.EnumerateObject())
            {
                var entryAt = specialsAt.Child(entry.Name);
                var ids = Json.Required(entry.Value, "ids", entryAt);
                var tokens = Json.Required(entry.Value, "tokens", entryAt);
                Json.RequireKind(ids, JsonValueKind.Array, entryAt.Child("ids"));
                Json.RequireKind(tokens, JsonValueKind.Array, entryAt.Child("tokens"));
                var idArray = ids.EnumerateArray().Select((id, i) => Json.AsInt(id, entryAt.Child("ids").Index(i))).ToArray();
                var tokenArray = tokens.EnumerateArray().Select(t => t.GetString() ?? string.Empty).ToArray();
                if (idArray.Length != tokenArray.Length || idArray.Length == 0)
                {
                    throw new TokenizerException(at.File, $"{entryAt} should have as many ids as tokens, at least one.");
                }

                specialTokens[entry.Name] = (idArray, tokenArray);
            }
        }

        List<TemplateItem> ReadItems(string name)
        {
            var itemsAt = at.Child(name);
            var items = Json.Required(processor, name, at);
            Json.RequireKind(items, JsonValueKind.Array, itemsAt);
            var result = new List<TemplateItem>();
            var index = 0;
            foreach (var item in items.EnumerateArray())
            {
                var itemAt = itemsAt.Index(index++);
                if (Json.Optional(item, "Sequence") is { } sequence)
                {
                    var id = Json.RequiredString(sequence, "id", itemAt.Child("Sequence"));
                    if (id is not ("A" or "B"))
                    {
                        throw new TokenizerException(at.File, $"{itemAt.Child("Sequence").Child("id")} should be \"A\" or \"B\" but is \"{id}\".");
                    }

                    result.Add(TemplateItem.Input(id == "A" ? 0 : 1, Json.OptionalInt(sequence, "type_id", itemAt.Child("Sequence")) ?? 0));
                }
                else if (Json.Optional(item, "SpecialToken") is { } special)
                {
                    var specialAt = itemAt.Child("SpecialToken");
                    var id = Json.RequiredString(special, "id", specialAt);
                    if (!specialTokens.TryGetValue(id, out var token))
                    {
                        throw new TokenizerException(at.File, $"{specialAt} uses \"{id}\", which {specialsAt} does not define.");
                    }

                    result.Add(new TemplateItem(-1, token.Ids, token.Tokens, Json.OptionalInt(special, "type_id", specialAt) ?? 0));
                }
                else
                {
                    throw new TokenizerException(at.File, $"{itemAt} should be {{\"Sequence\": ...}} or {{\"SpecialToken\": ...}} but is {item.GetRawText()}.");
                }
            }

            return result;
        }

        var single = ReadItems("single");
        var pair = ReadItems("pair");
        var a = single.FindIndex(i => i.Sequence == 0);
        var before = single.Take(Math.Max(a, 0)).LastOrDefault(i => i.Sequence < 0);
        var after = a < 0 ? null : single.Skip(a + 1).FirstOrDefault(i => i.Sequence < 0);
        if (a < 0 || before is null || after is null || single.Any(i => i.Sequence == 1) || pair.Count(i => i.Sequence == 0) != 1 || pair.Count(i => i.Sequence == 1) != 1)
        {
            throw new TokenizerException(at.File, $"{at} should wrap input A in a special token on each side (like [CLS] $A [SEP]) and the pair template should hold A and B once each; only such templates are implemented.");
        }

        return (new PostProcessor(single, pair), (before.Ids[0], after.Ids[0]), null);
    }

    private static SpecialIds ResolveSpecialIds(
        JsonElement root, (int Cls, int Sep) specials, TokenizerConfig config, Func<string, int?> lookup, string unkToken, string defaultPad, string defaultMask, Json.Location top)
    {
        int? pad = null;
        if (Json.Optional(root, "padding") is { } padding)
        {
            pad = Json.OptionalInt(padding, "pad_id", top.Child("padding"));
        }

        pad ??= lookup(config.PadToken ?? defaultPad);
        if (pad is null)
        {
            throw new TokenizerException(top.File, $"no padding token: {top.Child("padding")} is not set and \"{config.PadToken ?? defaultPad}\" is not in the vocabulary. Name the pad token in tokenizer_config.json (\"pad_token\").");
        }

        return new SpecialIds(specials.Cls, specials.Sep, pad.Value, lookup(unkToken), lookup(config.MaskToken ?? defaultMask));
    }
}
