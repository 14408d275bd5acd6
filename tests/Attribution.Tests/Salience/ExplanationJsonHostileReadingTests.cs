using System.Text;
using System.Text.Json;
using Attribution.Methods;
using Attribution.Salience;

namespace Attribution.Tests.Salience;

/// <summary>
/// Documents no writer makes, found by <see cref="ExplanationJsonPropertyTests"/>: strings that are not valid Unicode
/// (escaped unpaired surrogates, bytes that are not UTF-8, a .NET string with an unpaired surrogate) and a surrogate whose
/// local prediction overflows. Each must fail with the documented <see cref="JsonException"/> naming the place.
/// </summary>
public class ExplanationJsonHostileReadingTests
{
    private static string GoodFilm() => ExplanationJson.Serialize(ExplanationDocument.For([SalienceSamples.Make("good film")], SalienceSamples.Labels), indented: false);

    [Theory]
    [InlineData("\"notes\":[\"\\ud800\"]", "at $.results[0].notes[0]: the string is not valid Unicode text")]
    [InlineData("\"notes\":[\"a\\udc00\"]", "at $.results[0].notes[0]: the string is not valid Unicode text")]
    [InlineData("\"notes\":[],\"\\ud800\":1", "at $.results[0]: a property name is not valid Unicode text")]
    [InlineData("\"notes\":[],\"relevance_shares\":{\"\\udfff\":1}", "at $.results[0].relevance_shares: a property name is not valid Unicode text")]
    public void An_escaped_unpaired_surrogate_is_a_json_exception_naming_the_path(string notes, string message)
    {
        // It was an InvalidOperationException from System.Text.Json, naming no place ("Cannot read invalid UTF-16 JSON text").
        var json = GoodFilm().Replace("\"notes\":[]", notes, StringComparison.Ordinal).Replace("\"version\":1", "\"version\":2", StringComparison.Ordinal);
        var act = () => ExplanationJson.Parse(json);
        act.Should().Throw<JsonException>().WithMessage($"invalid explanation document {message}*");
    }

    [Fact]
    public void An_escaped_unpaired_surrogate_in_a_document_property_name_or_a_settings_key_is_a_json_exception_naming_the_path()
    {
        // Looking up "version" read the name before it and failed there.
        var before = () => ExplanationJson.Parse("{\"\\ud800\":1," + GoodFilm()[1..]);
        before.Should().Throw<JsonException>().WithMessage("invalid explanation document at $: a property name is not valid Unicode text*");
        var key = () => ExplanationJson.Parse(GoodFilm().Replace("\"steps\"", "\"\\udc00\"", StringComparison.Ordinal));
        key.Should().Throw<JsonException>().WithMessage("invalid explanation document at $.settings: a property name is not valid Unicode text*");
    }

    [Theory]
    [InlineData("\"notes\":[\"QQ\"]", "at $.results[0].notes[0]: the string is not valid Unicode text")]
    [InlineData("\"notes\":[],\"QQ\":1", "at $.results[0]: a property name is not valid Unicode text")]
    public void Bytes_that_are_not_utf8_are_a_json_exception_naming_the_path(string notes, string message)
    {
        // 0xC3 0x28 is no UTF-8 sequence (a lead byte, then '('). It was an InvalidOperationException ("Cannot transcode invalid UTF-8").
        var bytes = Encoding.UTF8.GetBytes(GoodFilm().Replace("\"notes\":[]", notes, StringComparison.Ordinal));
        var x = bytes.AsSpan().IndexOf("QQ"u8);
        (bytes[x], bytes[x + 1]) = ((byte)0xC3, (byte)0x28);
        var act = () => ExplanationJson.Read(new MemoryStream(bytes));
        act.Should().Throw<JsonException>().WithMessage($"invalid explanation document {message}*");
    }

    /// <summary>
    /// One leading byte-order mark: Read(Stream) skipped a UTF-8 mark (System.Text.Json does) but Parse(string) and
    /// Read(TextReader) refused a leading U+FEFF, so the same file read as bytes or as text (File.ReadAllText with
    /// another encoding, a StringReader) gave a document or an error. All three now read it to the same document; a
    /// second mark is refused by every entry point, as any character before the value is.
    /// </summary>
    [Fact]
    public void One_leading_byte_order_mark_is_skipped_by_every_reader_and_a_second_is_refused()
    {
        var json = GoodFilm();
        var expected = ExplanationJson.Serialize(ExplanationJson.Parse(json), indented: false);
        expected.Should().Be(json, "the sample round-trips, so equal serializations mean equal documents");
        byte[] utf8 = [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(json)];

        ExplanationJson.Serialize(ExplanationJson.Read(new MemoryStream(utf8)), indented: false).Should().Be(json);
        ExplanationJson.Serialize(ExplanationJson.Parse("\uFEFF" + json), indented: false).Should().Be(json);
        ExplanationJson.Serialize(ExplanationJson.Read(new StringReader("\uFEFF" + json)), indented: false).Should().Be(json);

        var twiceStream = () => ExplanationJson.Read(new MemoryStream([0xEF, 0xBB, 0xBF, .. utf8]));
        var twiceText = () => ExplanationJson.Parse("\uFEFF\uFEFF" + json);
        twiceStream.Should().Throw<JsonException>();
        twiceText.Should().Throw<JsonException>();
    }

    [Fact]
    public void A_string_with_an_unpaired_surrogate_is_a_json_exception_naming_the_character()
    {
        // JSON text is Unicode; System.Text.Json refused it with an ArgumentException naming no place.
        var json = GoodFilm().Replace("good film", "good\ud800film", StringComparison.Ordinal);
        var parse = () => ExplanationJson.Parse(json);
        var index = json.IndexOf('\ud800', StringComparison.Ordinal);
        parse.Should().Throw<JsonException>().WithMessage($"invalid explanation document: the text has an unpaired surrogate (U+D800) at character {index}*");
        var read = () => ExplanationJson.Read(new StringReader(json));
        read.Should().Throw<JsonException>().WithMessage($"*unpaired surrogate (U+D800) at character {index}*");
    }

    [Fact]
    public void A_surrogate_whose_local_prediction_overflows_is_not_read_with_or_without_local_prediction()
    {
        // 1e308 + 1e308 is +Infinity in double precision (DBL_MAX is about 1.8e308). Read without local_prediction it
        // was accepted, and writing the document back then failed (the writer refuses an infinite local prediction).
        var e = SalienceSamples.Make("good film") with
        {
            Surrogate = new SurrogateModel([new("good", 0, 4), new("film", 5, 9)], [1e308, 1], 0, 0.5, 0.5, 3),
        };
        var json = ExplanationJson.Serialize(ExplanationDocument.For([e]), indented: false).Replace("\"coefficients\":[1E+308,1]", "\"coefficients\":[1E+308,1E+308]", StringComparison.Ordinal);
        json.Should().Contain("[1E+308,1E+308]");
        foreach (var document in new[] { json, json.Replace(",\"local_prediction\":1E+308", string.Empty, StringComparison.Ordinal) })
        {
            var act = () => ExplanationJson.Parse(document);
            act.Should().Throw<JsonException>().WithMessage("invalid explanation document at $.results[0].surrogate.coefficients: intercept + Σ coefficients is Infinity*");
        }
    }

    [Fact]
    public void A_kind_of_custom_is_refused_as_the_schema_refuses_it()
    {
        // The schema's kind enum has no "custom" (such a result carries no kind); the reader took it as MethodKind.Custom,
        // and writing the document back dropped it and lowered the version (4 to 1): not the document that was read.
        var json = SalienceSamples.Make("good film") with { Kind = MethodKind.Gradient } is var e
            ? ExplanationJson.Serialize(ExplanationDocument.For([e], SalienceSamples.Labels), indented: false).Replace("\"kind\":\"gradient\"", "\"kind\":\"custom\"", StringComparison.Ordinal)
            : null!;
        json.Should().Contain("\"version\":4").And.Contain("\"kind\":\"custom\"");
        using (var parsed = JsonDocument.Parse(json))
        {
            new JsonSchemaSubset(JsonDocument.Parse(File.ReadAllText(ExplanationJsonTests.RepositoryFile("docs/json-schema.json"))).RootElement.Clone())
                .Validate(parsed.RootElement).Should().NotBeEmpty("the schema's kind enum has no custom");
        }

        var act = () => ExplanationJson.Parse(json);
        act.Should().Throw<JsonException>().WithMessage("invalid explanation document at $.results[0].kind: 'custom' is not written: leave kind out*");
    }

    [Fact]
    public void A_wrong_local_prediction_is_refused_when_the_sum_of_magnitudes_overflows()
    {
        // Coefficients 1e308, -1e308, 1e308 sum (left to right) to 1e308, but Σ |c| = 3e308 overflows: the tolerance
        // 1e-9 · (1 + |intercept| + Σ |c|) was +Infinity and any local_prediction (here 0, off by 1e308) was accepted.
        // With DBL_MAX (about 1.8e308) standing in for the magnitude the tolerance is about 1.8e299, far below 1e308.
        var e = SalienceSamples.Make("good film bad") with
        {
            Surrogate = new SurrogateModel([new("good", 0, 4), new("film", 5, 9), new("bad", 10, 13)], [1e308, -1e308, 1e308], 0, 0.5, 0.5, 3),
        };
        var json = ExplanationJson.Serialize(ExplanationDocument.For([e]), indented: false);
        json.Should().Contain("\"local_prediction\":1E+308");
        ExplanationJson.Parse(json).Results[0].Surrogate!.LocalPrediction.Should().Be(1e308);
        var act = () => ExplanationJson.Parse(json.Replace("\"local_prediction\":1E+308", "\"local_prediction\":0", StringComparison.Ordinal));
        act.Should().Throw<JsonException>().WithMessage("invalid explanation document at $.results[0].surrogate.local_prediction: the number 0 is not intercept + Σ coefficients (1E+308)*");
    }
}
