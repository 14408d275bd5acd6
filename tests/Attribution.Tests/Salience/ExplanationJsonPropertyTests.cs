using System.Collections.Immutable;
using System.Text;
using System.Text.Json;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Salience;
using CsCheck;

namespace Attribution.Tests.Salience;

/// <summary>
/// Property tests of the JSON format on explanations nobody wrote by hand: random texts of awkward pieces (surrogate
/// pairs, combining marks, control characters, U+2028/2029, bidi marks, HTML syntax), random valid tokenizations,
/// scores among −0, subnormals, ±1e308, float.Epsilon and ordinary values, optional fields present or absent, pairs,
/// multi-label and regression heads, single-method and comparison documents. Write → read → write must give the same
/// bytes and the same explanations, bit for bit; a document changed in one byte must read back to an explanation the
/// writer takes, or fail with a <see cref="JsonException"/>, nothing else. Fixed seeds: every run draws the same cases
/// (<see cref="PropertyDraws.ForAll{T}"/>, one seeded generator for all of a property's cases).
/// </summary>
public class ExplanationJsonPropertyTests
{
    private static readonly string[] Pieces =
    [
        "a", "bc", "film", "é", "e\u0301", "\u0301", "😀", "👍🏽", "𝐀", "日本", "שלום", "\u0000", "\u0007", "\u001b", "\u007f",
        "\u2028", "\u2029", "\u200F", "\u202E", "\u200B", "\uFEFF", "<", "</script>", "<!--", "&amp;", "\"", "\\", "'", "|",
        "`", "*", "javascript:alert(1)", "-->", "]]>", "\\|", "&#60;", " onload=", "[x](y)", "$", "#1", "@a", "\t", "\n", "\r\n", " ", "  ", "\u00A0", "\u3000", "\u0085", "\uFFFD",
    ];

    internal static readonly Gen<string> Text = Gen.OneOf(Pieces.Select(Gen.Const).ToArray()).Array[0, 8].Select(string.Concat);

    /// <summary>Doubles that a shortest round-trip writer and a strict reader must carry exactly.</summary>
    private static readonly Gen<double> Score = Gen.Frequency(
        (3, Gen.OneOf(new[]
        {
            -0.0, 0.0, double.Epsilon, -double.Epsilon, 2.2250738585072009e-308, 4.9406564584124654e-322, 1e308, -1e308,
            double.MaxValue, double.MinValue, float.Epsilon, -float.Epsilon, 0.1 + 0.2, 1.0 / 3.0, 5e-324 * 3, 1e-300,
            9007199254740993.0, 123456789.12345679,
        }.Select(Gen.Const).ToArray())),
        (2, Gen.Double[-1e6, 1e6]),
        (1, Gen.Double.Where(double.IsFinite)));

    private static readonly Gen<float> RawScore = Gen.Frequency(
        (2, Gen.OneOf(new[] { -0f, 0f, float.Epsilon, float.MaxValue, float.MinValue, 1.17549421E-38f, 0.1f, (float)Math.PI }.Select(Gen.Const).ToArray())),
        (1, Gen.Float.Where(float.IsFinite)));

    /// <summary>Everything one result is drawn from; <see cref="Build"/> cycles through the pools.</summary>
    private sealed record Draw(string Text, string? Pair, double[] Scores, int[] Choices, float[] Raw, string[] Strings);

    private static readonly Gen<Draw> Draws = Gen.Select(
        Text,
        Gen.Frequency((3, Gen.Const((string?)null)), (1, Text.Select(t => (string?)t))),
        Score.Array[1, 10],
        Gen.Int[0, 1_000_000].Array[1, 12],
        RawScore.Array[1, 6],
        Text.Array[1, 5],
        (text, pair, scores, choices, raw, strings) => new Draw(text, pair, scores, choices, raw, strings));

    private sealed class Cursor(Draw draw)
    {
        private int score, choice, raw, text;

        public double Score() => draw.Scores[score++ % draw.Scores.Length];

        public int Int(int count) => draw.Choices[choice++ % draw.Choices.Length] % count;

        public bool Bool() => Int(2) == 1;

        public float Raw() => draw.Raw[raw++ % draw.Raw.Length];

        public string String() => draw.Strings[text++ % draw.Strings.Length];

        public T Of<T>(IReadOnlyList<T> values) => values[Int(values.Count)];
    }

    /// <summary>
    /// A valid explanation: tokens are the whitespace words of the text (and the pair), each cut in up to two pieces
    /// (never inside a surrogate pair), [CLS]/[SEP] without offsets; words from the salience layer, then rescored.
    /// </summary>
    private static Explanation Build(Draw draw, int logits, IReadOnlyList<string>? labels, string method, IReadOnlyList<KeyValuePair<string, string>> settings, MethodKind kind, OutputHead head)
    {
        var c = new Cursor(draw);
        var tokens = new List<string>();
        var offsets = new List<(int, int)?>();
        var segments = new List<int?>();
        var types = new List<long>();
        void Special(string name, long type)
        {
            tokens.Add(name);
            offsets.Add(null);
            segments.Add(null);
            types.Add(type);
        }

        Special("[CLS]", 0);
        var texts = draw.Pair is null ? new[] { draw.Text } : [draw.Text, draw.Pair];
        for (var s = 0; s < texts.Length; s++)
        {
            var text = texts[s];
            foreach (var (start, end) in Attribution.Text.WordSpans.Of(text))
            {
                var cut = start + 1 + c.Int(end - start);
                if (cut < end && char.IsLowSurrogate(text[cut]))
                {
                    cut++;
                }

                foreach (var (a, b) in cut < end ? new[] { (start, cut), (cut, end) } : [(start, end)])
                {
                    tokens.Add(c.Bool() ? text[a..b] : c.String());
                    offsets.Add((a, b));
                    segments.Add(s);
                    types.Add(s);
                }
            }

            Special("[SEP]", s);
        }

        var n = tokens.Count;
        var logitValues = Enumerable.Range(0, logits).Select(_ => c.Bool() ? c.Score() : (c.Int(2001) - 1000) / 100.0).ToArray();
        var target = c.Int(logits);
        var e = new Explanation
        {
            Text = draw.Text,
            TextPair = draw.Pair,
            TokenTypeIds = draw.Pair is null && c.Bool() ? [] : [.. types],
            Segments = draw.Pair is null ? [] : [.. segments],
            Model = "m\u2028<model>",
            Method = method,
            Kind = kind,
            Settings = settings,
            Tokens = [.. tokens],
            TokenIds = [.. Enumerable.Range(0, n).Select(_ => c.Bool() ? (long)c.Int(30_000) : long.MaxValue - c.Int(3))],
            Offsets = [.. offsets],
            IsSpecial = [.. offsets.Select(o => o is null)],
            Scores = [.. Enumerable.Range(0, n).Select(_ => c.Score())],
            RawAttributions = c.Bool() ? null : Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, c.Int(4)).Select(_ => c.Raw()).ToImmutableArray()).ToArray(),
            Target = target,
            TargetLabel = labels?[target] ?? c.String(),
            Logits = [.. logitValues],
            Probabilities = [.. Probabilities(head, logitValues)],
            Head = head,
            ScoreOutput = c.Of(Enum.GetValues<ScoreOutput>()),
            Signedness = c.Bool() ? Signedness.Signed : Signedness.Unsigned,
            Reduction = c.Of(Enum.GetValues<ScoreReduction>()),
            SpecialTokensKept = c.Bool(),
            ConvergenceDelta = c.Bool() ? c.Score() : null,
            RelevanceShares = c.Bool() ? null : Enumerable.Range(0, c.Int(4)).Select(i => (Key: c.String() + i, Value: c.Score())).ToDictionary(kv => kv.Key, kv => kv.Value),
            Notes = [.. Enumerable.Range(0, c.Int(3)).Select(_ => c.String())],
            Elapsed = TimeSpan.FromTicks(c.Bool() ? c.Int(1_000_000) : (long)c.Int(1 << 20) << 20),
        };

        // The salience layer finds the words; their scores are then drawn like the token scores (sums could overflow).
        e = SalienceLayer.AggregateWords(e, c.Of(Enum.GetValues<WordAggregation>()));
        e = e with
        {
            Words = [.. e.Words.Select(w => w with { Score = c.Score() })],
            Normalization = c.Of(Enum.GetValues<Normalization>()),
        };
        if (c.Bool())
        {
            var features = e.Words.Where(w => w.Segment == 0).Select(w => new TextFeature(w.Text, w.Start, w.End)).ToList();
            e = e with
            {
                Surrogate = new SurrogateModel(features, [.. features.Select(_ => (c.Int(2001) - 1000) / 7.0)], c.Score() / 1e10, c.Score(), c.Score(), c.Int(5000)),
            };
        }

        return e;
    }

    /// <summary>The head's probabilities, computed here: softmax shifted by the maximum, sigmoids, or none.</summary>
    private static double[] Probabilities(OutputHead head, double[] logits)
    {
        switch (head)
        {
            case OutputHead.Regression:
                return [];
            case OutputHead.MultiLabel:
                return [.. logits.Select(x => x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x)))];
            default:
                var max = logits.Max();
                var exp = logits.Select(x => Math.Exp(x - max)).ToArray();
                var sum = exp.Sum();
                return [.. exp.Select(x => x / sum)];
        }
    }

    private static readonly string[] Methods = ["integrated-gradients", "gradient", "lime", "my method <b>"];

    /// <summary>A document of one to three results of one model: one method and settings, or several (a comparison).</summary>
    internal static readonly Gen<ExplanationDocument> Documents = Gen.Select(
        Draws.Array[1, 3],
        Gen.Int[1, 3],
        Gen.Bool,
        Text.Array[3],
        Gen.Int[0, 1_000_000].Array[6],
        (draws, logits, withLabels, names, choices) =>
        {
            var labels = withLabels ? names.Take(logits).ToArray() : null;
            var comparison = choices[0] % 3 == 0 && draws.Length > 1;
            var kinds = Enum.GetValues<MethodKind>();
            // Custom (no kind) for half the documents, so versions 1 to 3 are drawn too.
            var heads = logits == 1 ? new[] { OutputHead.Regression, OutputHead.MultiLabel } : Enum.GetValues<OutputHead>();
            var head = heads[choices[1] % heads.Length];
            var results = draws.Select((d, i) =>
            {
                var method = comparison ? Methods[(choices[2] + i) % Methods.Length] : Methods[choices[2] % Methods.Length];
                IReadOnlyList<KeyValuePair<string, string>> settings = comparison
                    ? [new("steps", i.ToString(System.Globalization.CultureInfo.InvariantCulture)), new(names[i % 3], d.Text)]
                    : [new("key " + names[0], names[1]), new("<x>", "\u2028")];
                return Build(d, logits, labels, method, settings, choices[4] % 2 == 0 ? MethodKind.Custom : kinds[(choices[3] + i) % kinds.Length], head);
            }).ToArray();
            return ExplanationDocument.For(results, labels);
        });

    private static void Equivalent(ExplanationDocument actual, ExplanationDocument expected)
    {
        Assert.Equal(expected.RequiredVersion, actual.Version);
        Assert.Equal(expected.Model, actual.Model);
        Assert.Equal(expected.Method, actual.Method);
        Assert.Equal(expected.Settings, actual.Settings);
        Assert.Equal(expected.Labels, actual.Labels);
        Assert.Equal(expected.Results.Count, actual.Results.Count);
        for (var i = 0; i < expected.Results.Count; i++)
        {
            ExplanationJsonTests.AssertIdentical(actual.Results[i], expected.Results[i]);
        }
    }

    [Fact]
    public void Write_read_write_gives_the_same_bytes_and_the_same_explanations()
    {
        PropertyDraws.ForAll(Documents, seed: 31, count: 300, document =>
        {
            foreach (var indented in new[] { true, false })
            {
                var json = ExplanationJson.Serialize(document, indented);
                using (var parsed = JsonDocument.Parse(json))
                {
                    Assert.Empty(Schema.Value.Validate(parsed.RootElement));
                }

                var back = ExplanationJson.Parse(json);
                Equivalent(back, document);
                Assert.Equal(json, ExplanationJson.Serialize(back, indented));

                // The stream reader takes the same document as the string reader.
                using var stream = new MemoryStream();
                ExplanationJson.Write(stream, document, indented);
                Assert.Equal(Encoding.UTF8.GetBytes(json), stream.ToArray());
                stream.Position = 0;
                Equivalent(ExplanationJson.Read(stream), document);
            }
        });
    }

    /// <summary>
    /// Reads <paramref name="json"/>: a document it reads back must be one the writer takes (and writes to the same
    /// explanations); anything else must be a <see cref="JsonException"/>: a syntax error from the parser, or the
    /// reader's own, which names the path.
    /// </summary>
    private static void ReadsOrFailsCleanly(byte[] json)
    {
        ExplanationDocument read;
        try
        {
            read = ExplanationJson.Read(new MemoryStream(json));
        }
        catch (JsonException e)
        {
            // System.Text.Json's syntax errors derive from JsonException and give the line and byte; the reader's name the path.
            Assert.True(e.Message.StartsWith("invalid explanation document at $", StringComparison.Ordinal) || e.GetType() != typeof(JsonException), e.Message);
            return;
        }

        var again = ExplanationJson.Serialize(read, indented: false);
        Equivalent(ExplanationJson.Parse(again), read);

        // The reader checks what the schema checks: what it takes, the schema takes.
        using var parsed = JsonDocument.Parse(json);
        var errors = Schema.Value.Validate(parsed.RootElement);
        Assert.True(errors.Count == 0, $"read, but the schema refuses it: {string.Join("; ", errors)}");
    }

    private static readonly Lazy<JsonSchemaSubset> Schema = new(() =>
        new JsonSchemaSubset(JsonDocument.Parse(File.ReadAllText(ExplanationJsonTests.RepositoryFile("docs/json-schema.json"))).RootElement.Clone()));

    private static readonly byte[] Interesting = Encoding.UTF8.GetBytes("{}[]\",:0123456789-+.eEtfn \\tnu").Concat(new byte[] { 0x00, 0x7F, 0x80, 0xBF, 0xC0, 0xC3, 0xE2, 0xED, 0xEF, 0xF0, 0xF4, 0xFF }).ToArray();

    [Fact]
    public void A_document_changed_in_one_byte_reads_to_a_writable_document_or_fails_with_a_json_exception()
    {
        PropertyDraws.ForAll(Gen.Select(Documents, Gen.Int[0, int.MaxValue], Gen.Int[0, int.MaxValue], Gen.Byte, Gen.Bool), seed: 32, count: 2000, (document, at, pick, any, interesting) =>
        {
            var json = Encoding.UTF8.GetBytes(ExplanationJson.Serialize(document, indented: false));
            var i = at % json.Length;
            json[i] = interesting ? Interesting[pick % Interesting.Length] : any;
            ReadsOrFailsCleanly(json);
        });
    }

    /// <summary>A raw JSON value put in place of a node (System.Text.Json's nodes cannot hold 1e999 or NaN).</summary>
    private static readonly string[] Hostile =
    [
        "null", "1e999", "-1e999", "NaN", "\"NaN\"", "Infinity", "99999999999999999999999", "2147483648", "-2147483649", "9223372036854775808",
        "-1", "0", "1.5", "-0", "true", "\"\"", "\"\\ud800\"", "\"\\udc00x\"", "[]", "{}", "[null]", "[0, 0, 0]", "[5, 1]", "[0, 1e9]",
        new string('[', 10_000) + new string(']', 10_000),
    ];

    [Fact]
    public void A_document_with_a_node_dropped_retyped_duplicated_or_reordered_fails_with_a_json_exception_naming_the_path()
    {
        PropertyDraws.ForAll(Gen.Select(Documents, Gen.Int[0, int.MaxValue], Gen.Int[0, int.MaxValue]), seed: 33, count: 1500, (document, at, how) =>
        {
            var root = System.Text.Json.Nodes.JsonNode.Parse(ExplanationJson.Serialize(document, indented: false))!;
            var nodes = new List<System.Text.Json.Nodes.JsonNode>();
            void Walk(System.Text.Json.Nodes.JsonNode? node)
            {
                if (node is null)
                {
                    return;
                }

                nodes.Add(node);
                foreach (var child in node switch
                {
                    System.Text.Json.Nodes.JsonObject o => o.Select(kv => kv.Value),
                    System.Text.Json.Nodes.JsonArray a => a,
                    _ => [],
                })
                {
                    Walk(child);
                }
            }

            Walk(root);
            var target = nodes[1 + (at % (nodes.Count - 1))];
            var parent = target.Parent!;
            const string Mark = "\u0001mark\u0001";
            var mutation = how % (Hostile.Length + 4);
            string json;
            if (mutation == Hostile.Length)
            {
                // Dropped.
                if (parent is System.Text.Json.Nodes.JsonObject o)
                {
                    o.Remove(target.GetPropertyName());
                }
                else
                {
                    ((System.Text.Json.Nodes.JsonArray)parent).Remove(target);
                }

                json = root.ToJsonString();
            }
            else if (mutation == Hostile.Length + 1)
            {
                // Reversed (offsets [end, start], tokens in another order), or duplicated when not an array.
                if (target is System.Text.Json.Nodes.JsonArray array && array.Count > 1)
                {
                    var items = array.Select(x => x?.DeepClone()).Reverse().ToList();
                    array.Clear();
                    items.ForEach(array.Add);
                    json = root.ToJsonString();
                }
                else
                {
                    var text = target.ToJsonString();
                    json = Replace(root, target, Mark, parent is System.Text.Json.Nodes.JsonObject
                        ? $"{text},{JsonSerializer.Serialize(target.GetPropertyName())}:{text}"
                        : $"{text},{text}");
                }
            }
            else if (mutation == Hostile.Length + 2)
            {
                // One more entry: every per-token array gets one entry too many.
                json = Replace(root, target, Mark, target.ToJsonString() + "," + target.ToJsonString());
            }
            else if (mutation == Hostile.Length + 3)
            {
                // An unknown property beside it.
                json = Replace(root, target, Mark, parent is System.Text.Json.Nodes.JsonObject ? target.ToJsonString() + ",\"unknown\":1" : target.ToJsonString());
            }
            else
            {
                json = Replace(root, target, Mark, Hostile[mutation]);
            }

            ReadsOrFailsCleanly(Encoding.UTF8.GetBytes(json));
        });
    }

    /// <summary>The document's text with <paramref name="target"/>'s value replaced by the raw <paramref name="raw"/>.</summary>
    private static string Replace(System.Text.Json.Nodes.JsonNode root, System.Text.Json.Nodes.JsonNode target, string mark, string raw)
    {
        target.ReplaceWith(mark);
        return root.ToJsonString().Replace(JsonSerializer.Serialize(mark), raw, StringComparison.Ordinal);
    }
}
