using System.Text.Json;
using Attribution.Cli;

namespace Attribution.Tests.Cli;

/// <summary>The evaluation commands' JSON escapes text as the explanation documents do: only what JSON requires.</summary>
public sealed class CliJsonTests
{
    [Fact]
    public void Text_is_escaped_only_where_json_requires_and_reads_back_unchanged()
    {
        const string text = "a+b naïve <b>&'x' \"quoted\" tab\there 😀";
        var json = CliJson.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("text", text);
            w.WriteEndObject();
        });

        // Written by hand: the quotes and the tab are escaped (JSON requires it); so is the emoji, outside the Basic
        // Multilingual Plane, as a surrogate pair (System.Text.Json escapes those whatever the encoder; ExplanationJson too).
        json.Should().Contain("\"text\": \"a+b naïve <b>&'x' \\\"quoted\\\" tab\\there \\uD83D\\uDE00\"");
        JsonDocument.Parse(json).RootElement.GetProperty("text").GetString().Should().Be(text);
    }
}
