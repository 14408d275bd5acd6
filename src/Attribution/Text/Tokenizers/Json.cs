using System.Text.Json;

namespace Attribution.Text.Tokenizers;

/// <summary>Reading tokenizer files with errors that say which file and which entry is wrong.</summary>
internal static class Json
{
    /// <summary>A position in a JSON file, for messages: <c>model.vocab</c> in <c>tokenizer.json</c>.</summary>
    internal readonly record struct Location(string File, string Path)
    {
        public Location Child(string name) => new(File, Path.Length == 0 ? name : $"{Path}.{name}");

        public Location Index(int index) => new(File, $"{Path}[{index}]");

        public override string ToString() => Path.Length == 0 ? "the top level" : $"\"{Path}\"";
    }

    public static string ReadText(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new TokenizerException(path, "file not found. Check the path, or save the tokenizer there with tokenizer.save_pretrained(...).", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new TokenizerException(path, $"cannot be read ({ex.Message}). Check the file's permissions.", ex);
        }
    }

    public static JsonDocument Read(string path)
    {
        var text = ReadText(path);
        try
        {
            return JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException ex)
        {
            throw new TokenizerException(path, $"not valid JSON ({ex.Message}). The file may be truncated or not a tokenizer file; download it again or re-save the tokenizer with save_pretrained(...).", ex);
        }
    }

    public static void RequireKind(JsonElement element, JsonValueKind kind, Location where)
    {
        if (element.ValueKind != kind)
        {
            throw new TokenizerException(where.File, $"{where} should be {Describe(kind)} but is {Describe(element.ValueKind)}.");
        }
    }

    /// <summary>The property, or null when it is absent or JSON null.</summary>
    public static JsonElement? Optional(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    public static JsonElement Required(JsonElement obj, string name, Location where) =>
        Optional(obj, name) ?? throw new TokenizerException(where.File, $"{where.Child(name)} is missing. The file does not look like a complete Hugging Face tokenizer file; re-save it with save_pretrained(...).");

    public static JsonElement RequiredObject(JsonElement obj, string name, Location where)
    {
        var value = Required(obj, name, where);
        RequireKind(value, JsonValueKind.Object, where.Child(name));
        return value;
    }

    public static string RequiredString(JsonElement obj, string name, Location where)
    {
        var value = Required(obj, name, where);
        RequireKind(value, JsonValueKind.String, where.Child(name));
        return value.GetString()!;
    }

    public static string? OptionalString(JsonElement obj, string name, Location where)
    {
        if (Optional(obj, name) is not { } value)
        {
            return null;
        }

        RequireKind(value, JsonValueKind.String, where.Child(name));
        return value.GetString();
    }

    public static bool? OptionalBool(JsonElement obj, string name, Location where)
    {
        if (Optional(obj, name) is not { } value)
        {
            return null;
        }

        if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            throw new TokenizerException(where.File, $"{where.Child(name)} should be true or false but is {Describe(value.ValueKind)}.");
        }

        return value.GetBoolean();
    }

    public static bool Bool(JsonElement obj, string name, bool fallback, Location where) => OptionalBool(obj, name, where) ?? fallback;

    public static int? OptionalInt(JsonElement obj, string name, Location where)
    {
        if (Optional(obj, name) is not { } value)
        {
            return null;
        }

        return AsInt(value, where.Child(name));
    }

    public static int AsInt(JsonElement value, Location where)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var number))
        {
            throw new TokenizerException(where.File, $"{where} should be an integer but is {(value.ValueKind == JsonValueKind.Number ? value.GetRawText() : Describe(value.ValueKind))}.");
        }

        return number;
    }

    /// <summary>A token-to-id object (<c>model.vocab</c>, <c>vocab.json</c>), which must not be empty.</summary>
    public static Dictionary<string, int> Vocabulary(JsonElement element, Location where)
    {
        RequireKind(element, JsonValueKind.Object, where);
        var vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in element.EnumerateObject())
        {
            var id = AsInt(entry.Value, where.Child(entry.Name));
            if (id < 0)
            {
                throw new TokenizerException(where.File, $"{where.Child(entry.Name)} has the negative id {id}; ids start at 0.");
            }

            vocabulary[entry.Name] = id;
        }

        if (vocabulary.Count == 0)
        {
            throw new TokenizerException(where.File, $"{where} is empty: a tokenizer needs a vocabulary. The file is incomplete; download it again.");
        }

        return vocabulary;
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "missing",
    };
}
