using System.Globalization;
using System.Text.Json;

namespace Attribution.Models;

/// <summary>
/// Reading a model folder's <c>config.json</c>, shared by every model family: the file (missing or unreadable), the
/// JSON (invalid, or not an object) and typed fields, each failure a <see cref="ModelLoadException"/> naming the file,
/// the field and the fix.
/// </summary>
internal static class ConfigJson
{
    /// <summary>The file's text; <paramref name="missingHint"/> says how such a file is made.</summary>
    public static string ReadText(string path, string missingHint)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Engine.FileChecks.Problem(path) is { } problem)
        {
            throw new ModelLoadException(path, null, $"{problem}. {missingHint}");
        }

        if (!File.Exists(path))
        {
            throw new ModelLoadException(path, null, $"{path} does not exist. {missingHint}");
        }

        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelLoadException(path, null, $"{path} cannot be read: {e.Message}", e);
        }
    }

    /// <summary>Parses <paramref name="json"/>, which must be a JSON object; <paramref name="fixHint"/> says how to repair it.</summary>
    public static JsonDocument ParseObject(string json, string source, string fixHint)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new ModelLoadException(source, null,
                $"{source} is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {WithoutPosition(e.Message)} {fixHint}", e);
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            var kind = document.RootElement.ValueKind;
            document.Dispose();
            throw new ModelLoadException(source, null, $"{source} must hold a JSON object (the model's config), not a {kind}.");
        }

        return document;
    }

    /// <summary>System.Text.Json's message without its zero-based "LineNumber: … | BytePositionInLine: …", which the one-based position above already gives.</summary>
    private static string WithoutPosition(string message)
    {
        var at = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (at < 0 ? message : message[..at]).TrimEnd().TrimEnd('.') + ".";
    }
}

/// <summary>Typed access to the fields of a config object, failing with the field's name and <paramref name="fixHint"/>.</summary>
internal readonly struct ConfigFields(JsonElement root, string source, string fixHint)
{
    private JsonElement? Get(string field) =>
        root.TryGetProperty(field, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    public ModelLoadException Wrong(string field, JsonElement value, string expected) =>
        new(source, field, $"{source}: \"{field}\" should be {expected} but is {value.GetRawText()}; {fixHint}");

    public string? String(string field) => Get(field) is { } v
        ? v.ValueKind == JsonValueKind.String ? v.GetString() : throw Wrong(field, v, "a string")
        : null;

    public int? Int(string field) => Get(field) is { } v
        ? v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : throw Wrong(field, v, "an integer")
        : null;

    public double? Double(string field) => Get(field) is { } v
        ? v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var d) ? d : throw Wrong(field, v, "a number")
        : null;

    public bool? Bool(string field) => Get(field) is { } v
        ? v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : throw Wrong(field, v, "true or false")
        : null;

    public int[]? IntList(string field)
    {
        if (Get(field) is not { } v)
        {
            return null;
        }

        if (v.ValueKind != JsonValueKind.Array || v.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.Number || !e.TryGetInt32(out _)))
        {
            throw Wrong(field, v, "an array of integers");
        }

        return v.EnumerateArray().Select(e => e.GetInt32()).ToArray();
    }

    /// <summary><c>id2label</c> (keys "0", "1", … to names, each index once), or null when absent.</summary>
    public Dictionary<int, string>? Id2Label()
    {
        if (Get("id2label") is not { } v)
        {
            return null;
        }

        if (v.ValueKind != JsonValueKind.Object)
        {
            throw Wrong("id2label", v, "an object mapping class indices (\"0\", \"1\", …) to names");
        }

        var result = new Dictionary<int, string>();
        foreach (var p in v.EnumerateObject())
        {
            if (!int.TryParse(p.Name, NumberStyles.None, CultureInfo.InvariantCulture, out var id) || p.Value.ValueKind != JsonValueKind.String
                || !result.TryAdd(id, p.Value.GetString()!))
            {
                throw Wrong("id2label", v, "an object mapping class indices (\"0\", \"1\", …) to string names, each index once");
            }
        }

        // As for a model assembled in code (TextClassifier.CheckLabels): a class needs a name that shows in a report
        // and can be given as a target. Repeated names are kept.
        foreach (var (id, name) in result.OrderBy(p => p.Key))
        {
            if (string.IsNullOrWhiteSpace(name))
            {
                throw new ModelLoadException(source, "id2label",
                    $"{source}: \"id2label\" leaves class {id.ToString(CultureInfo.InvariantCulture)} without a name (its name is {TextClassifier.BlankName(name)}); " +
                    $"give every class a non-empty, non-blank name (Hugging Face's default is \"LABEL_{id.ToString(CultureInfo.InvariantCulture)}\").");
            }
        }

        return result;
    }

    /// <summary><c>label2id</c> (names to integer indices), or null when absent.</summary>
    public Dictionary<string, int>? Label2Id()
    {
        if (Get("label2id") is not { } v)
        {
            return null;
        }

        if (v.ValueKind != JsonValueKind.Object)
        {
            throw Wrong("label2id", v, "an object mapping names to class indices");
        }

        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var p in v.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out var id) || !result.TryAdd(p.Name, id))
            {
                throw Wrong("label2id", v, "an object mapping names to integer class indices");
            }
        }

        return result;
    }

    /// <summary>
    /// What is wrong with <paramref name="label2id"/> for a model of <paramref name="numLabels"/> classes, or null.
    /// Names need not agree with <c>id2label</c> (Hub configs often customise one and leave the other at the
    /// LABEL_i defaults; Hugging Face reads neither against the other), but an index outside [0, num_labels) or two
    /// names for one index describe some other model, and are refused.
    /// </summary>
    public static string? Label2IdProblem(IReadOnlyDictionary<string, int> label2id, int numLabels)
    {
        const string Fix = "Fix the index, or remove \"label2id\" (the names come from \"id2label\").";
        foreach (var (name, id) in label2id.OrderBy(p => p.Value))
        {
            if (id < 0 || id >= numLabels)
            {
                return $"\"label2id\" maps \"{name}\" to {id}, outside the classes 0..{numLabels - 1} (num_labels = {numLabels}). {Fix}";
            }
        }

        if (label2id.GroupBy(p => p.Value).OrderBy(g => g.Key).FirstOrDefault(g => g.Count() > 1) is { } shared)
        {
            return $"\"label2id\" maps {string.Join(" and ", shared.Select(p => $"\"{p.Key}\"").Order(StringComparer.Ordinal))} to the same class {shared.Key}; each class index has one name. {Fix}";
        }

        return null;
    }
}
