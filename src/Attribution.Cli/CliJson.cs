using System.Text;
using System.Text.Json;

namespace Attribution.Cli;

/// <summary>The JSON documents of the evaluation commands (evaluate, sanity, scorecard, shortcut, counterfactual): one writer setup and the shared field forms.</summary>
internal static class CliJson
{
    /// <summary>
    /// An indented UTF-8 document written by <paramref name="body"/>, ending in a newline. Text is escaped as the
    /// explanation documents escape it (ExplanationJson): only what JSON requires, so "a+b" and "naïve" stay readable
    /// rather than becoming "a\u002Bb" and "na\u00EFve" (the writer's default HTML-safe escaping).
    /// </summary>
    public static string Write(Action<Utf8JsonWriter> body)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            body(writer);
        }

        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    /// <summary>A number, or null where it is NaN or infinite (JSON has no such numbers; null says "undefined here").</summary>
    public static void NumberOrNull(this Utf8JsonWriter writer, string name, double value)
    {
        if (double.IsFinite(value))
        {
            writer.WriteNumber(name, value);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    /// <summary>A string, or null.</summary>
    public static void StringOrNull(this Utf8JsonWriter writer, string name, string? value)
    {
        if (value is null)
        {
            writer.WriteNull(name);
        }
        else
        {
            writer.WriteString(name, value);
        }
    }

    /// <summary>An array of numbers with nulls where a value is absent or not finite.</summary>
    public static void NumbersOrNull(this Utf8JsonWriter writer, string name, IEnumerable<double?> values)
    {
        writer.WriteStartArray(name);
        foreach (var value in values)
        {
            if (value is { } v && double.IsFinite(v))
            {
                writer.WriteNumberValue(v);
            }
            else
            {
                writer.WriteNullValue();
            }
        }

        writer.WriteEndArray();
    }

    /// <summary>An object of string values (settings, definitions), in the given order.</summary>
    public static void StringObject(this Utf8JsonWriter writer, string name, IEnumerable<KeyValuePair<string, string>> values)
    {
        writer.WriteStartObject(name);
        foreach (var (key, value) in values)
        {
            writer.WriteString(key, value);
        }

        writer.WriteEndObject();
    }
}
