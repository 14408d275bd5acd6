using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Attribution.Methods;
using Attribution.Salience;

namespace Attribution.Tests.Salience;

public class ExplanationJsonTests
{
    private static readonly Lazy<JsonSchemaSubset> Schema = new(() =>
        new JsonSchemaSubset(JsonDocument.Parse(File.ReadAllText(RepositoryFile("docs/json-schema.json"))).RootElement.Clone()));

    /// <summary>Every kind of value the format must carry exactly: unicode, null offsets, −0, 17 digits, float32 raws.</summary>
    private static Explanation Rich()
    {
        var text = "Naïve café — 😀 <script>alert(\"x\")</script> 日本語テキスト \\ \"quoted\"\ttab";
        var e = SalienceSamples.Make(text);
        var n = e.Tokens.Length;
        double[] special = [-0.0, 0.1 + 0.2, 1e-300, double.Epsilon, double.MaxValue, -123456789.12345679, 2.0 / 3.0, -1e-7];
        var scores = Enumerable.Range(0, n).Select(i => i < special.Length ? special[i] : Math.Sin(i) / 7).ToArray();
        return SalienceLayer.AggregateWords(e with
        {
            Scores = [.. scores],
            RawAttributions = Enumerable.Range(0, n).Select(i => new[] { -0f, 0.1f, float.Epsilon, float.MaxValue, (float)Math.PI * i }).ToArray().Select(ImmutableArray.Create).ToArray(),
            ConvergenceDelta = -0.0,
            // softmax([0, ln 3, ln 4e-17]) = [1, 3, 4e-17] / 4 ≈ the probabilities below (the format checks they agree within 0.02).
            Logits = [-0.0, 1.0986122886681098, -37.75765221977888],
            Probabilities = [0.25, 0.7499999999999999, 1e-17],
            Target = 2,
            TargetLabel = "ünïcode ⚑",
            ScoreOutput = ScoreOutput.LogProbability,
            Settings = [new("steps", "50"), new("baseline", "[PAD] \"quoted\""), new("ключ", "значение 😀")],
            Notes = ["truncated to 512 tokens", "line\nbreak"],
            Elapsed = TimeSpan.FromTicks(98_765_4321),
        }, WordAggregation.AbsMax) with { Normalization = Normalization.MaxAbs };
    }

    /// <summary>
    /// <see cref="Rich"/> with LRP-style relevance shares and a LIME-style surrogate (tricky doubles, unicode keys and
    /// feature texts, a feature past the BMP). Not a realistic result (no method sets both), but the format carries each.
    /// </summary>
    internal static Explanation WithSharesAndSurrogate(Explanation e)
    {
        var features = e.Words.Select(w => new TextFeature(w.Text, w.Start, w.End)).ToList();
        double[] tricky = [-0.0, 0.1 + 0.2, 1e-300, -123456789.12345679, 2.0 / 3.0, double.Epsilon, -1e-7];
        return e with
        {
            RelevanceShares = new Dictionary<string, double>(StringComparer.Ordinal)
            {
                ["bert.embeddings.word_embeddings"] = 1.0000000000000002,
                ["bert.embeddings.position_embeddings"] = -0.0,
                ["ключ \"quoted\" 😀"] = -3.3333333333333335e-17,
            },
            Surrogate = new SurrogateModel(
                features,
                [.. features.Select((_, i) => tricky[i % tricky.Length] + (i / tricky.Length))],
                Intercept: 0.30000000000000004,
                RSquared: 0.9999999999999999,
                UnweightedRSquared: -0.0,
                Samples: 257),
        };
    }

    [Fact]
    public void The_version_written_is_the_lowest_that_carries_any_one_result()
    {
        // One result that needs a later version is enough, wherever it stands among plain ones; each field that needs
        // version 3 does so alone.
        var plain = SalienceSamples.Make("the movie was great", delta: null) with { Kind = MethodKind.Custom };
        int Required(Explanation other) =>
            new ExplanationDocument { Model = plain.Model, Method = ExplanationDocument.CompareMethod, Results = [plain, other, plain] }.RequiredVersion;

        Required(plain).Should().Be(ExplanationDocument.FirstVersion);
        Required(plain with { Kind = MethodKind.Gradient }).Should().Be(ExplanationDocument.KindVersion);
        Required(plain with { Head = Attribution.Models.OutputHead.MultiLabel }).Should().Be(ExplanationDocument.HeadVersion);
        Required(plain with { TextPair = "it was" }).Should().Be(ExplanationDocument.HeadVersion);
        Required(plain with { TokenTypeIds = [.. plain.Tokens.Select(_ => 0L)] }).Should().Be(ExplanationDocument.HeadVersion);
        Required(plain with { Segments = [.. plain.Tokens.Select(_ => (int?)0)] }).Should().Be(ExplanationDocument.HeadVersion);
        Required(plain with { RelevanceShares = new Dictionary<string, double> { ["embeddings"] = 1 } }).Should().Be(ExplanationDocument.SharesAndSurrogateVersion);

        // A null result (refused when written) does not stop the property from answering.
        new ExplanationDocument { Model = plain.Model, Method = plain.Method, Results = [null!, plain] }.RequiredVersion.Should().Be(ExplanationDocument.FirstVersion);
    }

    [Fact]
    public void Round_trip_keeps_relevance_shares_and_surrogate_exactly_in_version_2()
    {
        var rich = WithSharesAndSurrogate(Rich());
        var plain = SalienceSamples.Make("the movie was great", delta: null);
        var shares = plain with { RelevanceShares = new Dictionary<string, double> { ["embeddings"] = 0.5 } };
        var document = new ExplanationDocument { Model = rich.Model, Method = ExplanationDocument.CompareMethod, Results = [rich, plain, shares] };
        document.RequiredVersion.Should().Be(2);
        var json = ExplanationJson.Serialize(document);
        var node = JsonNode.Parse(json)!;
        node["version"]!.GetValue<int>().Should().Be(2);
        node["results"]![0]!["surrogate"]!["samples"]!.GetValue<int>().Should().Be(257);
        node["results"]![0]!["surrogate"]!["local_prediction"]!.GetValue<double>().Should().Be(rich.Surrogate!.LocalPrediction);
        node["results"]![0]!["surrogate"]!["features"]![0]!["offsets"]!.AsArray().Select(v => v!.GetValue<int>()).Should().Equal(rich.Words[0].Start, rich.Words[0].End);
        node["results"]![0]!["relevance_shares"]!.AsObject().Select(kv => kv.Key).Should().Equal(rich.RelevanceShares!.Keys);
        node["results"]![1]!.AsObject().ContainsKey("relevance_shares").Should().BeFalse("absent, not null, when the result has none");
        node["results"]![1]!.AsObject().ContainsKey("surrogate").Should().BeFalse();
        node["results"]![2]!.AsObject().ContainsKey("surrogate").Should().BeFalse();

        var back = ExplanationJson.Parse(json);
        back.Version.Should().Be(2);
        for (var i = 0; i < document.Results.Count; i++)
        {
            AssertIdentical(back.Results[i], document.Results[i]);
        }

        ExplanationJson.Serialize(back).Should().Be(json);
        var compact = ExplanationJson.Serialize(document, indented: false);
        compact.Should().Contain("\"relevance_shares\":{\"bert.embeddings.word_embeddings\":1.0000000000000002,\"bert.embeddings.position_embeddings\":-0,");
        compact.Should().Contain("\"intercept\":0.30000000000000004,\"r_squared\":0.9999999999999999,\"unweighted_r_squared\":-0,\"samples\":257");
        AssertIdentical(ExplanationJson.Parse(compact).Results[0], rich);
        foreach (var text in new[] { json, compact })
        {
            Schema.Value.Validate(JsonDocument.Parse(text).RootElement).Should().BeEmpty();
        }
    }

    [Fact]
    public void A_document_for_no_result_or_a_null_one_is_refused_naming_the_argument()
    {
        var e = SalienceSamples.Make("good film");
        FluentActions.Invoking(() => ExplanationDocument.For([])).Should().Throw<ArgumentException>()
            .WithParameterName("results").WithMessage("no results: name the model and method with the constructor instead*");

        // A null result failed with a NullReferenceException reading its method name.
        FluentActions.Invoking(() => ExplanationDocument.For([e, null!])).Should().Throw<ArgumentNullException>()
            .WithParameterName("results").WithMessage("results[1] is null: give explanations only*");

        // Comparison refuses what ExplanationGroup.FromMethods refuses: methods over different numbers of texts.
        FluentActions.Invoking(() => ExplanationDocument.Comparison("m", [[e, e], [e]])).Should().Throw<ArgumentException>()
            .WithParameterName("resultsByMethod").WithMessage("method 1 has 1 results but method 0 has 2*");
    }

    /// <summary>
    /// .NET 10's shortest round-trip format ("R") is one digit short for two doubles, 2⁻²⁵ and 2⁻⁹⁵⁸: it writes 2⁻²⁵
    /// (a float32 value, so a score a float32 model can produce: the cross-method property test met it as a
    /// Shapley-sampling score) as 2.980232238769531E-08, which reads back one ulp below. The expected values are the
    /// powers of two themselves (Math.ScaleB), compared bit for bit, as every number of a document must read back.
    /// </summary>
    [Fact]
    public void Doubles_that_dotnet_formats_one_digit_short_read_back_bit_for_bit()
    {
        double[] powers = [Math.ScaleB(1.0, -25), Math.ScaleB(1.0, -958), -Math.ScaleB(1.0, -25), 0.5];
        var e = SalienceSamples.Make("good film", scores: powers, delta: Math.ScaleB(1.0, -25));
        e.Tokens.Should().HaveCount(4, "[CLS] good film [SEP]");
        var json = ExplanationJson.Serialize(ExplanationDocument.For([e]));
        var back = ExplanationJson.Parse(json).Results[0];
        back.Scores.Select(BitConverter.DoubleToInt64Bits).Should().Equal(powers.Select(BitConverter.DoubleToInt64Bits));
        BitConverter.DoubleToInt64Bits(back.ConvergenceDelta!.Value).Should().Be(BitConverter.DoubleToInt64Bits(Math.ScaleB(1.0, -25)));
        AssertIdentical(back, e);
        ExplanationJson.Serialize(ExplanationDocument.For([back])).Should().Be(json);
    }

    [Theory]
    [InlineData(MethodKind.IntegratedGradients, "integrated-gradients")]
    [InlineData(MethodKind.Gradient, "gradient")]
    [InlineData(MethodKind.GradientXInput, "gradient-x-input")]
    [InlineData(MethodKind.LayerConductance, "layer-conductance")]
    [InlineData(MethodKind.NeuronConductance, "neuron-conductance")]
    [InlineData(MethodKind.NoiseTunnel, "noise-tunnel")]
    [InlineData(MethodKind.GradientShap, "gradient-shap")]
    [InlineData(MethodKind.LrpEpsilon, "lrp-epsilon")]
    [InlineData(MethodKind.Lime, "lime")]
    [InlineData(MethodKind.Occlusion, "occlusion")]
    [InlineData(MethodKind.ShapleyValues, "shapley-values")]
    [InlineData(MethodKind.ShapleyValueSampling, "shapley-value-sampling")]
    [InlineData(MethodKind.KernelShap, "kernel-shap")]
    public void The_method_kind_is_written_as_kind_in_version_4_and_read_back(MethodKind kind, string name)
    {
        var e = SalienceSamples.Make("good film") with { Kind = kind };
        var json = ExplanationJson.Serialize(ExplanationDocument.For([e]));
        var node = JsonNode.Parse(json)!;
        node["version"]!.GetValue<int>().Should().Be(4);
        node["results"]![0]!["kind"]!.GetValue<string>().Should().Be(name);
        Schema.Value.Validate(JsonDocument.Parse(json).RootElement).Should().BeEmpty();
        var back = ExplanationJson.Parse(json);
        back.Results[0].Kind.Should().Be(kind);
        AssertIdentical(back.Results[0], e);
        ExplanationJson.Serialize(back).Should().Be(json);
    }

    [Theory]
    [InlineData(MethodKind.AttentionRollout, "attention-rollout")]
    [InlineData(MethodKind.GradientWeightedAttentionRollout, "grad-attention-rollout")]
    public void An_attention_rollout_kind_is_written_in_version_5_and_read_back_and_refused_in_older_documents(MethodKind kind, string name)
    {
        // A version 4 reader knows no rollout kind: the document says version 5, which such a reader refuses as newer.
        var e = SalienceSamples.Make("good film", method: name) with { Kind = kind };
        var json = ExplanationJson.Serialize(ExplanationDocument.For([e]));
        var node = JsonNode.Parse(json)!;
        node["version"]!.GetValue<int>().Should().Be(5);
        node["results"]![0]!["kind"]!.GetValue<string>().Should().Be(name);
        Schema.Value.Validate(JsonDocument.Parse(json).RootElement).Should().BeEmpty();
        var back = ExplanationJson.Parse(json);
        back.Version.Should().Be(5);
        back.Results[0].Kind.Should().Be(kind);
        AssertIdentical(back.Results[0], e);
        ExplanationJson.Serialize(back).Should().Be(json);

        // With a version 4 kind beside it, still version 5 (the lowest that carries every result).
        ExplanationDocument.For([e with { Kind = MethodKind.Gradient, Method = "gradient" }, e]).RequiredVersion.Should().Be(5);

        // In a version 4 document the kind cannot be: the reader and the schema refuse it.
        node["version"] = 4;
        var old = () => ExplanationJson.Parse(node.ToJsonString());
        old.Should().Throw<JsonException>().WithMessage($"invalid explanation document at $.results[0].kind: the kind '{name}' needs format version 5 or later, but the document is version 4");
        Schema.Value.Validate(JsonDocument.Parse(node.ToJsonString()).RootElement).Should().NotBeEmpty();

        // Written before version 5, a rollout result had no kind: it reads as Custom, as it always did.
        node["results"]![0]!.AsObject().Remove("kind");
        foreach (var version in new[] { 1, 4 })
        {
            node["version"] = version;
            var older = ExplanationJson.Parse(node.ToJsonString()).Results[0];
            (older.Method, older.Kind).Should().Be((name, MethodKind.Custom));
        }
    }

    [Fact]
    public void A_result_without_kind_reads_as_custom_and_kind_needs_version_4()
    {
        // A custom method's result carries no kind and keeps the lowest version; every older document reads the same way.
        var custom = SalienceSamples.Make("good film");
        var json = ExplanationJson.Serialize(ExplanationDocument.For([custom]));
        var node = JsonNode.Parse(json)!;
        node["version"]!.GetValue<int>().Should().Be(1);
        node["results"]![0]!.AsObject().ContainsKey("kind").Should().BeFalse();
        foreach (var version in new[] { 1, 2, 3 })
        {
            node["version"] = version;
            ExplanationJson.Parse(node.ToJsonString()).Results[0].Kind.Should().Be(MethodKind.Custom);
        }

        node["results"]![0]!["kind"] = "lime";
        var tooOld = () => ExplanationJson.Parse(node.ToJsonString());
        tooOld.Should().Throw<JsonException>().WithMessage("*$.results[0].kind*needs format version 4*version 3*");
        node["version"] = 4;
        node["results"]![0]!["kind"] = "magic";
        var unknown = () => ExplanationJson.Parse(node.ToJsonString());
        unknown.Should().Throw<JsonException>().WithMessage("*$.results[0].kind*unknown method kind 'magic'*");
    }

    [Fact]
    public void Documents_without_shares_or_a_surrogate_stay_version_1_and_version_1_documents_read()
    {
        var document = ExplanationDocument.For([SalienceSamples.Make("good film")]);
        document.Version.Should().Be(ExplanationDocument.CurrentVersion);
        document.RequiredVersion.Should().Be(1);
        var json = ExplanationJson.Serialize(document);
        JsonNode.Parse(json)!["version"]!.GetValue<int>().Should().Be(1);
        var back = ExplanationJson.Parse(json);
        back.Version.Should().Be(1);
        back.Results[0].RelevanceShares.Should().BeNull();
        back.Results[0].Surrogate.Should().BeNull();
        ExplanationJson.Serialize(back).Should().Be(json);

        // A version 2 document that does not need it is written back as version 1.
        var node = JsonNode.Parse(json)!;
        node["version"] = 2;
        var readAsTwo = ExplanationJson.Parse(node.ToJsonString());
        readAsTwo.Version.Should().Be(2);
        ExplanationJson.Serialize(readAsTwo).Should().Be(json);

        var unknown = () => ExplanationJson.Serialize(document with { Version = 6 });
        unknown.Should().Throw<ArgumentException>().WithMessage("*format versions 1 to 5, not 6*");
    }

    [Theory]
    [InlineData("shares", double.NaN, "results[0].relevance_shares.embeddings is NaN")]
    [InlineData("coefficient", double.PositiveInfinity, "results[0].surrogate.coefficients[1] is Infinity")]
    [InlineData("intercept", double.NaN, "results[0].surrogate.intercept is NaN")]
    [InlineData("r2", double.NegativeInfinity, "results[0].surrogate.r_squared is -Infinity")]
    [InlineData("local", double.MaxValue, "results[0].surrogate.local_prediction is Infinity")]
    public void Non_finite_shares_and_surrogate_figures_are_refused_naming_the_field(string field, double value, string message)
    {
        var e = SalienceSamples.Make("good film");
        var surrogate = new SurrogateModel([new("good", 0, 4), new("film", 5, 9)], [0.25, -0.5], 0.5, 0.75, 0.5, 32);
        e = field switch
        {
            "shares" => e with { RelevanceShares = new Dictionary<string, double> { ["embeddings"] = value } },
            "coefficient" => e with { Surrogate = surrogate with { Coefficients = [0.25, value] } },
            "intercept" => e with { Surrogate = surrogate with { Intercept = value } },
            "r2" => e with { Surrogate = surrogate with { RSquared = value } },
            _ => e with { Surrogate = surrogate with { Intercept = value, Coefficients = [value, 0] } },
        };
        var act = () => ExplanationJson.Serialize(ExplanationDocument.For([e]));
        act.Should().Throw<ArgumentException>().WithMessage($"*{message}*JSON cannot represent*");
    }

    [Fact]
    public void A_surrogate_the_reader_would_refuse_is_not_written()
    {
        var e = SalienceSamples.Make("good film");
        var surrogate = new SurrogateModel([new("good", 0, 4), new("film", 5, 9)], [0.25, -0.5], 0.5, 0.75, 0.5, 32);
        var count = () => ExplanationJson.Serialize(ExplanationDocument.For([e with { Surrogate = surrogate with { Coefficients = [1.0] } }]));
        count.Should().Throw<ArgumentException>().WithMessage("*results[0].surrogate.coefficients has 1 entries but there are 2 features*");
        var span = () => ExplanationJson.Serialize(ExplanationDocument.For([e with { Surrogate = surrogate with { Features = [new("good", 0, 4), new("film", 5, 10)] } }]));
        span.Should().Throw<ArgumentException>().WithMessage("*results[0].surrogate.features[1]: [5, 10] is not a span of the 9-character text*");
        var samples = () => ExplanationJson.Serialize(ExplanationDocument.For([e with { Surrogate = surrogate with { Samples = -1 } }]));
        samples.Should().Throw<ArgumentException>().WithMessage("*results[0].surrogate.samples is -1*");
    }

    [Fact]
    public void Round_trip_keeps_every_field_exactly()
    {
        // One model of three classes: both results have three logits, and their target labels are the labels' names
        // (the second result had two logits and "positive" for "pos", which the writer now refuses).
        var results = new[] { Rich(), SalienceSamples.Make("the movie was great", delta: null, logits: [-1.25, 2.5, 0.5]) };
        var json = ExplanationJson.Serialize(new ExplanationDocument
        {
            Model = "sst2-bert-tiny",
            Method = "integrated-gradients",
            Settings = results[1].Settings,
            Labels = ["negative", "positive", "ünïcode ⚑"],
            Results = results,
        });
        var back = ExplanationJson.Parse(json);

        back.Version.Should().Be(1);
        back.Model.Should().Be("sst2-bert-tiny");
        back.Method.Should().Be("integrated-gradients");
        back.Labels.Should().Equal("negative", "positive", "ünïcode ⚑");
        back.Settings.Should().Equal(results[1].Settings);
        back.Results.Should().HaveCount(2);
        for (var i = 0; i < results.Length; i++)
        {
            AssertIdentical(back.Results[i], results[i]);
        }

        // And the document is a fixed point: writing what was read gives the same text.
        ExplanationJson.Serialize(back).Should().Be(json);
    }

    [Fact]
    public void Numbers_are_written_in_their_shortest_round_trip_form()
    {
        var e = SalienceSamples.Make("a b", scores: [0.1, 0.30000000000000004, -0.0, 1e-300], delta: 1.0 / 3.0);
        var json = ExplanationJson.Serialize(ExplanationDocument.For([e]), indented: false);
        json.Should().Contain("\"scores\":[0.1,0.30000000000000004,-0,1E-300]");
        json.Should().Contain("\"convergence_delta\":0.3333333333333333");
        json.Should().Contain("\"offsets\":[null,[0,1],[2,3],null]");
        json.Should().Contain("\"elapsed_ms\":123.4567");
    }

    [Fact]
    public void Stream_text_writer_and_string_outputs_agree_and_compact_output_reads_back()
    {
        var document = ExplanationDocument.For([SalienceSamples.Make("good film"), SalienceSamples.Make("bad plot")], SalienceSamples.Labels);
        using var stream = new MemoryStream();
        ExplanationJson.Write(stream, document);
        using var writer = new StringWriter();
        ExplanationJson.Write(writer, document);
        var text = ExplanationJson.Serialize(document);
        Encoding.UTF8.GetString(stream.ToArray()).Should().Be(text);
        writer.ToString().Should().Be(text);
        stream.ToArray().Take(3).Should().NotEqual(new byte[] { 0xEF, 0xBB, 0xBF }, "no byte-order mark");

        stream.Position = 0;
        ExplanationJson.Read(stream).Results.Should().HaveCount(2);
        ExplanationJson.Read(new StringReader(text)).Results[1].Text.Should().Be("bad plot");
        var compact = ExplanationJson.Serialize(document, indented: false);
        compact.Should().NotContain("\n");
        AssertIdentical(ExplanationJson.Parse(compact).Results[0], document.Results[0]);
    }

    [Fact]
    public void The_brief_overload_writes_a_single_method_document_without_per_result_method_or_settings()
    {
        var results = new[] { SalienceSamples.Make("good film"), SalienceSamples.Make("bad plot") };
        using var writer = new StringWriter();
        ExplanationJson.Write(writer, "sst2-bert-tiny", "integrated-gradients", results[0].Settings, results);
        var node = JsonNode.Parse(writer.ToString())!;
        node["method"]!.GetValue<string>().Should().Be("integrated-gradients");
        node["settings"]!["steps"]!.GetValue<string>().Should().Be("50");
        foreach (var result in node["results"]!.AsArray())
        {
            result!.AsObject().ContainsKey("method").Should().BeFalse();
            result.AsObject().ContainsKey("settings").Should().BeFalse();
        }

        var back = ExplanationJson.Parse(writer.ToString());
        back.IsComparison.Should().BeFalse();
        back.Results.Should().AllSatisfy(r => r.Method.Should().Be("integrated-gradients"));
        back.Results[1].Settings.Should().Equal(results[1].Settings);
    }

    [Fact]
    public void A_result_whose_settings_differ_carries_them_and_keeps_them()
    {
        var a = SalienceSamples.Make("good film");
        var b = SalienceSamples.Make("bad plot", settings: [new("steps", "300")]);
        var json = ExplanationJson.Serialize(new ExplanationDocument { Model = a.Model, Method = a.Method, Settings = a.Settings, Results = [a, b] });
        var node = JsonNode.Parse(json)!;
        node["results"]![0]!.AsObject().ContainsKey("settings").Should().BeFalse();
        node["results"]![1]!["settings"]!["steps"]!.GetValue<string>().Should().Be("300");
        var back = ExplanationJson.Parse(json);
        back.Results[0].Settings.Should().Equal(a.Settings);
        back.Results[1].Settings.Should().Equal(b.Settings);
    }

    [Fact]
    public void Comparison_document_carries_method_and_settings_per_result()
    {
        var texts = new[] { "good film", "bad plot" };
        var ig = texts.Select(t => SalienceSamples.Make(t)).ToList();
        var grad = texts.Select(t => SalienceSamples.Make(t, method: "gradient", signed: false, settings: [new("layer", "embeddings.word_embeddings")], delta: null)).ToList();
        var document = ExplanationDocument.Comparison("sst2-bert-tiny", [ig, grad], SalienceSamples.Labels, [new("texts", "2")]);
        document.Results.Select(r => (r.Text, r.Method)).Should().Equal(
            ("good film", "integrated-gradients"), ("good film", "gradient"), ("bad plot", "integrated-gradients"), ("bad plot", "gradient"));

        var json = ExplanationJson.Serialize(document);
        var node = JsonNode.Parse(json)!;
        node["method"]!.GetValue<string>().Should().Be("compare");
        node["settings"]!["texts"]!.GetValue<string>().Should().Be("2");
        node["results"]![1]!["method"]!.GetValue<string>().Should().Be("gradient");
        node["results"]![1]!["settings"]!["layer"]!.GetValue<string>().Should().Be("embeddings.word_embeddings");

        var back = ExplanationJson.Parse(json);
        back.IsComparison.Should().BeTrue();
        for (var i = 0; i < 4; i++)
        {
            AssertIdentical(back.Results[i], document.Results[i]);
        }

        Schema.Value.Validate(JsonDocument.Parse(json).RootElement).Should().BeEmpty();
    }

    [Fact]
    public void For_infers_a_comparison_when_methods_differ()
    {
        var a = SalienceSamples.Make("good film");
        var b = SalienceSamples.Make("good film", method: "gradient");
        ExplanationDocument.For([a, a]).Method.Should().Be("integrated-gradients");
        ExplanationDocument.For([a, a]).Settings.Should().Equal(a.Settings);
        ExplanationDocument.For([a, b]).IsComparison.Should().BeTrue();
        ExplanationDocument.For([a, b]).Settings.Should().BeEmpty();
    }

    [Fact]
    public void Results_of_another_method_in_a_single_method_document_are_refused_with_the_way_out()
    {
        var a = SalienceSamples.Make("good film");
        var b = SalienceSamples.Make("good film", method: "gradient");
        var act = () => ExplanationJson.Serialize(new ExplanationDocument { Model = a.Model, Method = a.Method, Results = [a, b] });
        act.Should().Throw<ArgumentException>().WithMessage("*results[1]*'gradient'*use method 'compare'*");

        var otherModel = () => ExplanationJson.Serialize(ExplanationDocument.For([a, a with { Model = "roberta" }]));
        otherModel.Should().Throw<ArgumentException>().WithMessage("*results[1]*model 'roberta'*");
    }

    [Theory]
    [InlineData("scores", double.NaN, "results[0].scores[2] is NaN")]
    [InlineData("scores", double.PositiveInfinity, "results[0].scores[2] is Infinity")]
    [InlineData("delta", double.NegativeInfinity, "results[0].convergence_delta is -Infinity")]
    [InlineData("logits", double.NaN, "results[0].logits[0] is NaN")]
    [InlineData("word", double.NaN, "results[0].words[0].score is NaN")]
    public void Non_finite_numbers_are_refused_naming_the_field_and_nothing_is_written(string field, double value, string message)
    {
        var e = SalienceSamples.Make("good film");
        e = field switch
        {
            "scores" => e with { Scores = [.. e.Scores.Select((s, i) => i == 2 ? value : s)] },
            "delta" => e with { ConvergenceDelta = value },
            "logits" => e with { Logits = [value, 1.0] },
            _ => e with { Words = [e.Words[0] with { Score = value }, .. e.Words.Skip(1)] },
        };
        using var stream = new MemoryStream();
        var act = () => ExplanationJson.Write(stream, ExplanationDocument.For([e]));
        act.Should().Throw<ArgumentException>().WithMessage($"*{message}*JSON cannot represent*");
        stream.Length.Should().Be(0);
    }

    [Fact]
    public void Non_finite_raw_attributions_and_unpaired_surrogates_are_refused()
    {
        var e = SalienceSamples.Make("good film");
        var raw = e with { RawAttributions = e.Tokens.Select(_ => ImmutableArray.Create(1f, float.NaN)).ToArray() };
        var act = () => ExplanationJson.Serialize(ExplanationDocument.For([raw]));
        act.Should().Throw<ArgumentException>().WithMessage("*results[0].raw_attributions[0][1] is NaN*");

        var broken = SalienceSamples.Make("good \uD800film");
        var surrogate = () => ExplanationJson.Serialize(ExplanationDocument.For([broken]));
        surrogate.Should().Throw<ArgumentException>().WithMessage("*results[0].text has an unpaired surrogate (U+D800) at index 5*");

        // The second text of a pair too: the encoder wrote it as U+FFFD, so the text read back was another text.
        var pair = SalienceSamples.Make("good film") with { TextPair = "a \uDC00b", Segments = [null, 0, 0, null] };
        var pairSurrogate = () => ExplanationJson.Serialize(ExplanationDocument.For([pair]));
        pairSurrogate.Should().Throw<ArgumentException>().WithMessage("*results[0].text_pair has an unpaired surrogate (U+DC00) at index 2*");
    }

    [Fact]
    public void Words_that_are_not_whole_in_order_and_of_distinct_input_tokens_are_not_written()
    {
        // "good film": good [0,4) token 1, film [5,9) token 2. The format's words are whole whitespace-delimited words in
        // text order, each token listed once and never a special one (docs/json-format.md); each of these was written
        // and read back before.
        var e = SalienceSamples.Make("good film");
        string Write(Explanation x) => ExplanationJson.Serialize(ExplanationDocument.For([x]));
        FluentActions.Invoking(() => Write(e with { Words = [e.Words[0] with { Text = "go", End = 2 }, e.Words[1]] }))
            .Should().Throw<ArgumentException>().WithMessage("results[0].words[0]: [0, 2] ('go') is not a word of its text*");
        FluentActions.Invoking(() => Write(e with { Words = [e.Words[1], e.Words[0]] }))
            .Should().Throw<ArgumentException>().WithMessage("results[0].words[1]: the word 'good' at [0, 4] of segment 0 comes after 'film' at [5, 9]*");
        FluentActions.Invoking(() => Write(e with { Words = [e.Words[0], e.Words[1], e.Words[1]] }))
            .Should().Throw<ArgumentException>().WithMessage("results[0].words[2]: the word 'film' at [5, 9] of segment 0 comes after 'film' at [5, 9]*each once (Parameter 'document')");
        FluentActions.Invoking(() => Write(e with { Words = [e.Words[0] with { TokenIndices = [1, 1] }, e.Words[1]] }))
            .Should().Throw<ArgumentException>().WithMessage("results[0].words[0].token_indices: token 1 follows token 1: a word lists each of its tokens once*");
        FluentActions.Invoking(() => Write(e with { IsSpecial = [true, true, false, true] }))
            .Should().Throw<ArgumentException>().WithMessage("results[0].words[0].token_indices: token 1 is a special token, which belongs to no word (Parameter 'document')");

        // A pair's second text comes after the first: its words start again at 0.
        var pair = SalienceLayer.AggregateWords(SalienceSamples.Hand("aa bb", ["[CLS]", "aa", "bb", "[SEP]", "cc", "[SEP]"], [101, 7, 8, 102, 9, 102],
            [null, (0, 2), (3, 5), null, (0, 2), null], [true, false, false, true, false, true], [0.5, 1.0, 2.0, -0.5, 4.0, 0.25]) with
        {
            TextPair = "cc",
            Segments = [null, 0, 0, null, 1, null],
        }, WordAggregation.Sum);
        ExplanationJson.Parse(Write(pair)).Results.Single().Words.Should().BeEquivalentTo(pair.Words);
    }

    [Fact]
    public void Words_and_offsets_the_reader_would_refuse_are_not_written()
    {
        // "good film": good [0,4), film [5,9); tokens [CLS] good film [SEP].
        var e = SalienceSamples.Make("good film");
        string Write(Explanation x) => ExplanationJson.Serialize(ExplanationDocument.For([x]));
        FluentActions.Invoking(() => Write(e with { Words = [e.Words[0], e.Words[1] with { Text = "fill" }] }))
            .Should().Throw<ArgumentException>().WithMessage("results[0].words[1]: the text 'fill' is not what its offsets [5, 9] hold in the text ('film')*");
        FluentActions.Invoking(() => Write(e with { Words = [e.Words[0] with { End = 12 }] }))
            .Should().Throw<ArgumentException>().WithMessage("results[0].words[0]: [0, 12] is not a span of the 9-character text*");
        FluentActions.Invoking(() => Write(e with { Words = [e.Words[0] with { TokenIndices = [1, 4] }] }))
            .Should().Throw<ArgumentException>().WithMessage("results[0].words[0].token_indices: token 4 is out of range for 4 tokens*");
        FluentActions.Invoking(() => Write(e with { Words = [e.Words[0] with { TokenIndices = [1, 2] }, e.Words[1]] }))
            .Should().Throw<ArgumentException>().WithMessage("results[0].words[0].token_indices: token 2's offsets [5, 9] lie outside the word's [0, 4] ('good')*");
        FluentActions.Invoking(() => Write(e with { Words = [e.Words[0], e.Words[1] with { TokenIndices = [2, 3] }] }))
            .Should().Throw<ArgumentException>().WithMessage("results[0].words[1].token_indices: token 3 has no offsets (a special token), so it lies in no word (Parameter 'document')");
        FluentActions.Invoking(() => Write(e with { Words = [e.Words[0], e.Words[1] with { TokenIndices = [] }] }))
            .Should().Throw<ArgumentException>().WithMessage("results[0].words[1].token_indices is empty: a word covers at least one token; leave out a word that has none (Parameter 'document')");
        FluentActions.Invoking(() => Write(e with { Words = [e.Words[0] with { Segment = 1 }] }))
            .Should().Throw<ArgumentException>().WithMessage("results[0].words[0].segment is 1: 0 (the text) or, for a pair, 1 (text_pair)*");
        FluentActions.Invoking(() => Write(e with { Offsets = [null, (0, 4), (5, 12), null] }))
            .Should().Throw<ArgumentException>().WithMessage("results[0].offsets[2]: [5, 12] is not a span of the 9-character text*");
        FluentActions.Invoking(() => Write(e with { Segments = [null, 0, 1, null] }))
            .Should().Throw<ArgumentException>().WithMessage("results[0].segments[2] is 1: 0 (the text) or, for a pair, 1 (text_pair)*");

        // No logits: the reader (and the schema, minItems 1) refuses them.
        FluentActions.Invoking(() => Write(e with { Logits = [], Probabilities = [] }))
            .Should().Throw<ArgumentException>().WithMessage("results[0].logits is empty*");

        // A special token's segment too (it has no offset to check, but the reader checks every entry).
        FluentActions.Invoking(() => Write(e with { Segments = [1, 0, 0, null] }))
            .Should().Throw<ArgumentException>().WithMessage("results[0].segments[0] is 1: 0 (the text) or, for a pair, 1 (text_pair)*");
        FluentActions.Invoking(() => Write(e with { TextPair = "x", Segments = [null, 0, 0, 2] }))
            .Should().Throw<ArgumentException>().WithMessage("results[0].segments[3] is 2: 0 (the text) or, for a pair, 1 (text_pair)*");
        ExplanationJson.Parse(Write(e)).Results.Single().Words.Should().BeEquivalentTo(e.Words);

        // Spans: a negative start, a start past the end; an empty span (a byte-level BPE token of a space) is one.
        FluentActions.Invoking(() => Write(e with { Offsets = [null, (-1, 4), (5, 9), null] }))
            .Should().Throw<ArgumentException>().WithMessage("results[0].offsets[1]: [-1, 4] is not a span*");
        FluentActions.Invoking(() => Write(e with { Offsets = [null, (0, 4), (6, 5), null] }))
            .Should().Throw<ArgumentException>().WithMessage("results[0].offsets[2]: [6, 5] is not a span*");
        ExplanationJson.Parse(Write(e with { Offsets = [null, (0, 4), (4, 4), null], Words = [] })).Results.Single().Offsets[2].Should().Be((4, 4));

        // A token that starts in the space before its word (byte-level BPE without trim_offsets: "Ġfilm" at [4, 9]) is
        // the word's; written and read back.
        var untrimmed = SalienceLayer.AggregateWords(e with { Offsets = [null, (0, 4), (4, 9), null] }, WordAggregation.Sum);
        untrimmed.Words[1].TokenIndices.Should().Equal([2], "the precondition: the salience layer put Ġfilm in 'film'");
        ExplanationJson.Parse(Write(untrimmed)).Results.Single().Words.Should().BeEquivalentTo(untrimmed.Words);

        // The target is one of the logits' classes.
        foreach (var target in new[] { -1, e.Logits.Length })
        {
            FluentActions.Invoking(() => Write(e with { Target = target })).Should().Throw<ArgumentException>().WithMessage($"*target*{target}*");
        }
    }

    [Fact]
    public void Produced_documents_validate_against_the_schema()
    {
        var documents = new[]
        {
            ExplanationDocument.For([Rich(), SalienceSamples.Make("the movie was great")]),
            ExplanationDocument.For([WithSharesAndSurrogate(Rich()), SalienceSamples.Make("the movie was great")]),
            ExplanationDocument.For([SalienceSamples.Make("good film")], SalienceSamples.Labels),
            ExplanationDocument.For([SalienceSamples.Make("good film"), SalienceSamples.Make("good film", method: "gradient", signed: false, delta: null)]),
            new ExplanationDocument { Model = "m", Method = "gradient", Results = [] },
        };
        foreach (var document in documents)
        {
            foreach (var indented in new[] { true, false })
            {
                using var json = JsonDocument.Parse(ExplanationJson.Serialize(document, indented));
                Schema.Value.Validate(json.RootElement).Should().BeEmpty();
            }
        }
    }

    [Theory]
    [InlineData("missing results", "$: missing required property 'results'")]
    [InlineData("compare result without method", "matches 0 of oneOf")]
    [InlineData("offsets of three numbers", "$.results[0].offsets[1]: matches none of anyOf")]
    [InlineData("unknown normalization", "$.results[0].normalization: \"softmax\" is not one of")]
    [InlineData("unknown reduction", "$.results[0].reduction: \"mean\" is not one of")]
    [InlineData("word segment in version 1", "$: matches none of anyOf")]
    [InlineData("fractional token id", "$.results[0].token_ids[0]: expected integer")]
    [InlineData("unknown property", "$.results[0].colour: no value is allowed here")]
    [InlineData("version 6", "$.version: 6 is not one of [1, 2, 3, 4, 5]")]
    [InlineData("surrogate in version 1", "$: matches none of anyOf")]
    [InlineData("shares in version 1", "$: matches none of anyOf")]
    [InlineData("string share", "$.results[0].relevance_shares.embeddings: expected number")]
    [InlineData("unknown surrogate property", "$.results[0].surrogate.score: no value is allowed here")]
    [InlineData("surrogate without intercept", "$.results[0].surrogate: missing required property 'intercept'")]
    [InlineData("fractional samples", "$.results[0].surrogate.samples: expected integer")]
    [InlineData("feature without offsets", "$.results[0].surrogate.features[1]: missing required property 'offsets'")]
    [InlineData("unknown feature property", "$.results[0].surrogate.features[0].index: no value is allowed here")]
    [InlineData("word without tokens", "$.results[0].words[1].token_indices: 0 items, fewer than 1")]
    public void The_schema_rejects_broken_documents(string mutation, string error)
    {
        var node = Mutate(SampleDocumentJson(mutation), mutation);
        var errors = Schema.Value.Validate(JsonDocument.Parse(node.ToJsonString()).RootElement);
        errors.Should().Contain(e => e.Contains(error, StringComparison.Ordinal), string.Join("\n", errors));
    }

    [Theory]
    [InlineData("missing results", "invalid explanation document at $: the required property 'results' is missing")]
    [InlineData("compare result without method", "at $.results[0]: a result of a 'compare' document names its method")]
    [InlineData("offsets of three numbers", "at $.results[0].offsets[1]: expected [start, end], found 3 numbers")]
    [InlineData("unknown normalization", "at $.results[0].normalization: unknown normalization 'softmax'")]
    [InlineData("unknown reduction", "at $.results[0].reduction: unknown reduction 'mean'")]
    [InlineData("word segment in version 1", "at $.results[0].words[0].segment: this property needs format version 3 or later, but the document is version 1")]
    [InlineData("fractional token id", "at $.results[0].token_ids[0]: expected a 64-bit integer, found 1.5")]
    [InlineData("unknown property", "at $.results[0].colour: unknown property")]
    [InlineData("version 6", "at $.version: format version 6 is newer than this library reads (5)")]
    [InlineData("version 0", "at $.version: unknown format version 0")]
    [InlineData("version 6 with a new property", "at $.version: format version 6 is newer than this library reads (5); update the library")]
    [InlineData("surrogate in version 1", "at $.results[0].surrogate: this property needs format version 2 or later, but the document is version 1")]
    [InlineData("shares in version 1", "at $.results[0].relevance_shares: this property needs format version 2 or later, but the document is version 1")]
    [InlineData("string share", "at $.results[0].relevance_shares.embeddings: expected a number, found a string")]
    [InlineData("shares as array", "at $.results[0].relevance_shares: expected an object of numbers, found an array")]
    [InlineData("unknown surrogate property", "at $.results[0].surrogate.score: unknown property")]
    [InlineData("surrogate without intercept", "at $.results[0].surrogate: the required property 'intercept' is missing")]
    [InlineData("fractional samples", "at $.results[0].surrogate.samples: expected a 32-bit integer, found 1.5")]
    [InlineData("negative samples", "at $.results[0].surrogate.samples: -3 samples")]
    [InlineData("feature without offsets", "at $.results[0].surrogate.features[1]: the required property 'offsets' is missing")]
    [InlineData("unknown feature property", "at $.results[0].surrogate.features[0].index: unknown property")]
    [InlineData("feature past the text", "at $.results[0].surrogate.features[1].offsets: [5, 12] is not a span of the 9-character text")]
    [InlineData("feature text not at its offsets", "at $.results[0].surrogate.features[1].text: the text 'fill' is not what its offsets [5, 9] hold in the text ('film')")]
    [InlineData("extra coefficient", "at $.results[0].surrogate.coefficients: 3 coefficients for 2 features")]
    [InlineData("wrong local prediction", "at $.results[0].surrogate.local_prediction: the number 0.3 is not intercept + Σ coefficients (0.25)")]
    [InlineData("short scores", "at $.results[0].scores: 3 entries for 4 tokens")]
    [InlineData("offsets past the text", "at $.results[0].offsets[2]: [5, 99] is not a span of the 9-character text")]
    [InlineData("target out of range", "at $.results[0].target: class 7 is out of range for 2 logits")]
    [InlineData("word token out of range", "at $.results[0].words[0].token_indices[0]: token 10 is out of range for 4 tokens")]
    [InlineData("word without tokens", "at $.results[0].words[1].token_indices: the list is empty: a word covers at least one token; leave out a word that has none")]
    [InlineData("word text not at its offsets", "at $.results[0].words[1].text: the text 'fill' is not what its offsets [5, 9] hold in the text ('film')")]
    [InlineData("word token of the next word", "at $.results[0].words[0].token_indices[1]: token 2's offsets [5, 9] lie outside the word's [0, 4] ('good'): a word's tokens start inside it, or in the whitespace just before it and reach into it")]
    [InlineData("word token of the word before", "at $.results[0].words[1].token_indices[0]: token 1's offsets [0, 4] lie outside the word's [5, 9] ('film')")]
    [InlineData("word token reaching in from the word before", "at $.results[0].words[1].token_indices[0]: token 2's offsets [3, 9] lie outside the word's [5, 9] ('film')")]
    [InlineData("word special token", "at $.results[0].words[1].token_indices[1]: token 3 has no offsets (a special token), so it lies in no word")]
    [InlineData("word part of a word", "at $.results[0].words[0].offsets: [0, 2] ('go') is not a word of its text: a word is a whole run of non-whitespace characters")]
    [InlineData("word twice", "at $.results[0].words[2].offsets: the word 'film' at [5, 9] of segment 0 comes after 'film' at [5, 9] of segment 0: words are in text order, each once")]
    [InlineData("words out of order", "at $.results[0].words[1].offsets: the word 'good' at [0, 4] of segment 0 comes after 'film' at [5, 9] of segment 0")]
    [InlineData("word token twice", "at $.results[0].words[0].token_indices[1]: token 1 follows token 1: a word lists each of its tokens once, in increasing order")]
    [InlineData("word of a special token with offsets", "at $.results[0].words[0].token_indices[0]: token 1 is a special token, which belongs to no word")]
    [InlineData("null text", "at $.results[0].text: expected a string, found null")]
    [InlineData("string score", "at $.results[0].scores[0]: expected a number, found a string")]
    public void Reading_a_broken_document_fails_naming_the_path(string mutation, string message)
    {
        var json = Mutate(SampleDocumentJson(mutation), mutation).ToJsonString();
        var act = () => ExplanationJson.Parse(json);
        act.Should().Throw<JsonException>().WithMessage($"*{message}*");
    }

    /// <summary>[CLS] aa bb [SEP] cc [SEP] of the pair ("aa bb", "cc"): 6 tokens, token types and segments.</summary>
    private static Explanation SmallPair() =>
        SalienceSamples.Hand("aa bb", ["[CLS]", "aa", "bb", "[SEP]", "cc", "[SEP]"], [101, 7, 8, 102, 9, 102],
            [null, (0, 2), (3, 5), null, (0, 2), null], [true, false, false, true, false, true], [0.5, 1.0, 2.0, -0.5, 4.0, 0.25]) with
        {
            TextPair = "cc",
            TokenTypeIds = [0, 0, 0, 0, 1, 1],
            Segments = [null, 0, 0, null, 1, null],
        };

    [Theory]
    [InlineData(1)]
    [InlineData(-1)]
    public void A_pair_document_with_offsets_for_more_or_fewer_tokens_fails_naming_the_offsets(int extra)
    {
        // [CLS] aa bb [SEP] cc [SEP] of the pair ("aa bb", "cc"): 6 tokens, 6 segments. One offset more was read as a
        // span of the text its segment names, segments[6], past the array: an IndexOutOfRangeException, no path.
        var pair = SmallPair();
        var node = JsonNode.Parse(ExplanationJson.Serialize(ExplanationDocument.For([pair])))!;
        var offsets = node["results"]![0]!["offsets"]!.AsArray();
        if (extra > 0)
        {
            offsets.Add(new JsonArray(0, 1));
        }
        else
        {
            offsets.RemoveAt(5);
        }

        var act = () => ExplanationJson.Parse(node.ToJsonString());
        act.Should().Throw<JsonException>().WithMessage($"invalid explanation document at $.results[0].offsets: {6 + extra} entries for 6 tokens");
    }

    [Fact]
    public void A_surrogate_feature_of_the_second_text_or_with_text_not_at_its_offsets_is_not_written()
    {
        // "good film": a feature "fill" at [5, 9] (which holds "film") would be written as it is, and a feature of
        // text_pair (Segment 1) would lose its segment and read back as a span of the first text.
        var e = SalienceSamples.Make("good film");
        SurrogateModel With(TextFeature second) => new([new("good", 0, 4), second], [0.25, -0.5], 0.5, 0.75, 0.5, 32);
        var wrongText = () => ExplanationJson.Serialize(ExplanationDocument.For([e with { Surrogate = With(new("fill", 5, 9)) }]));
        wrongText.Should().Throw<ArgumentException>().WithMessage("results[0].surrogate.features[1]: the text 'fill' is not what its offsets [5, 9] hold in the text ('film')*");
        var otherText = () => ExplanationJson.Serialize(ExplanationDocument.For([e with { Surrogate = With(new TextFeature("film", 5, 9) { Segment = 1 }) }]));
        otherText.Should().Throw<ArgumentException>().WithMessage("results[0].surrogate.features[1] is in segment 1: *");
        ExplanationJson.Serialize(ExplanationDocument.For([e with { Surrogate = With(new("film", 5, 9)) }])).Should().Contain("\"film\"");
    }

    [Fact]
    public void A_negative_token_type_id_is_neither_written_nor_read_and_the_schema_refuses_it()
    {
        // The schema says token type ids are 0 or more (they index the token type embeddings); the writer wrote -1 and
        // the reader read it back, so the library wrote a document its own schema refuses.
        var pair = SmallPair();
        var write = () => ExplanationJson.Serialize(ExplanationDocument.For([pair with { TokenTypeIds = [0, 0, 0, 0, -1, 1] }]));
        write.Should().Throw<ArgumentException>().WithMessage("results[0].token_type_ids[4] is -1: a token type id is 0 or more*");

        var node = JsonNode.Parse(ExplanationJson.Serialize(ExplanationDocument.For([pair])))!;
        node["results"]![0]!["token_type_ids"]![4] = -1;
        Schema.Value.Validate(JsonDocument.Parse(node.ToJsonString()).RootElement).Should().Contain(e => e.Contains("$.results[0].token_type_ids[4]", StringComparison.Ordinal));
        var read = () => ExplanationJson.Parse(node.ToJsonString());
        read.Should().Throw<JsonException>().WithMessage("invalid explanation document at $.results[0].token_type_ids[4]: -1 is negative: a token type id is 0 or more");
    }

    [Fact]
    public void A_pair_without_segments_is_neither_written_nor_read()
    {
        // Without segments every token is the first text's: "cc"'s offsets would index "aa bb" and the pair's words vanish.
        var pair = SmallPair();
        var node = JsonNode.Parse(ExplanationJson.Serialize(ExplanationDocument.For([pair])))!;
        node["results"]![0]!.AsObject().Remove("segments");
        var read = () => ExplanationJson.Parse(node.ToJsonString());
        read.Should().Throw<JsonException>().WithMessage("invalid explanation document at $.results[0]: has a text_pair but no segments*");

        var write = () => ExplanationJson.Serialize(ExplanationDocument.For([pair with { Segments = [] }]));
        write.Should().Throw<ArgumentException>().WithMessage("results[0] has a text_pair but no segments*");
    }

    [Fact]
    public void A_word_of_the_other_text_s_tokens_is_neither_written_nor_read()
    {
        // "cc" (segment 1) claiming token 1 ("aa", segment 0): its score would mix the two texts'.
        var pair = SmallPair();
        pair = Attribution.Salience.SalienceLayer.AggregateWords(pair, WordAggregation.Sum);
        var cc = pair.Words.Single(w => w.Segment == 1);
        var mixed = pair with { Words = [.. pair.Words.Where(w => w.Segment == 0), cc with { TokenIndices = [1, 4] }] };
        var write = () => ExplanationJson.Serialize(ExplanationDocument.For([mixed]));
        write.Should().Throw<ArgumentException>().WithMessage("results[0].words[2].token_indices: token 1 is in segment 0, but the word is in segment 1*");

        var node = JsonNode.Parse(ExplanationJson.Serialize(ExplanationDocument.For([pair])))!;
        node["results"]![0]!["words"]![2]!["token_indices"] = new JsonArray(1, 4);
        var read = () => ExplanationJson.Parse(node.ToJsonString());
        read.Should().Throw<JsonException>().WithMessage("invalid explanation document at $.results[0].words[2].token_indices[0]: token 1 is in segment 0, but the word is in segment 1*");

        // A token with offsets but no segment is the first text's (Explanation.SegmentOf): "cc"'s token 4 without its
        // segment has offsets [0, 2] into "aa bb", so no word of text_pair holds it.
        node = JsonNode.Parse(ExplanationJson.Serialize(ExplanationDocument.For([pair])))!;
        node["results"]![0]!["segments"]![4] = null;
        var unsegmented = () => ExplanationJson.Parse(node.ToJsonString());
        unsegmented.Should().Throw<JsonException>().WithMessage("invalid explanation document at $.results[0].words[2].token_indices[0]: token 4 (offsets [0, 2]) is in segment 0, but the word is in segment 1");
        var writeUnsegmented = () => ExplanationJson.Serialize(ExplanationDocument.For([pair with { Segments = [null, 0, 0, null, null, null] }]));
        writeUnsegmented.Should().Throw<ArgumentException>().WithMessage("results[0].words[2].token_indices: token 4 (offsets [0, 2]) is in segment 0, but the word is in segment 1 (Parameter 'document')");
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("[1, 2]")]
    [InlineData("{\"version\": 1, \"model\": \"m\", \"method\": \"x\", \"settings\": {}, \"results\": [}")]
    [InlineData("{\"version\": 1, \"version\": 1, \"model\": \"m\", \"method\": \"x\", \"settings\": {}, \"results\": []}")]
    public void Malformed_json_is_a_json_exception(string json)
    {
        var act = () => ExplanationJson.Parse(json);
        act.Should().Throw<JsonException>();
    }

    [Fact]
    public void Score_output_names_round_trip()
    {
        foreach (var output in Enum.GetValues<ScoreOutput>())
        {
            ExplanationJson.ParseScoreOutput(output.Name()).Should().Be(output);
        }

        var act = () => ExplanationJson.ParseScoreOutput("softmax");
        act.Should().Throw<ArgumentException>().WithMessage("*logit, probability or log-probability*");
    }

    [Fact]
    public void A_local_prediction_summed_in_another_order_or_left_out_is_accepted()
    {
        var node = SampleDocumentJson("with surrogate");
        var surrogate = node["results"]![0]!["surrogate"]!.AsObject();
        surrogate["local_prediction"] = 0.25 + 1e-15;
        ExplanationJson.Parse(node.ToJsonString()).Results[0].Surrogate!.LocalPrediction.Should().Be(0.25);
        surrogate.Remove("local_prediction");
        Schema.Value.Validate(JsonDocument.Parse(node.ToJsonString()).RootElement).Should().BeEmpty();
        var back = ExplanationJson.Parse(node.ToJsonString()).Results[0].Surrogate!;
        (back.Intercept, back.RSquared, back.UnweightedRSquared, back.Samples).Should().Be((0.5, 0.75, 0.5, 32));
        back.Features.Should().Equal(new TextFeature("good", 0, 4), new TextFeature("film", 5, 9));
    }

    /// <summary>"good film" by integrated gradients; for surrogate and shares mutations, as version 2 with a surrogate and shares.</summary>
    private static JsonNode SampleDocumentJson(string mutation = "")
    {
        var e = SalienceSamples.Make("good film");
        if (mutation.Contains("surrogate", StringComparison.Ordinal) || mutation.Contains("share", StringComparison.Ordinal) ||
            mutation.Contains("feature", StringComparison.Ordinal) || mutation.Contains("samples", StringComparison.Ordinal) ||
            mutation.Contains("coefficient", StringComparison.Ordinal) || mutation.Contains("local prediction", StringComparison.Ordinal))
        {
            e = e with
            {
                RelevanceShares = new Dictionary<string, double> { ["embeddings"] = 1.5, ["positions"] = -0.25 },
                Surrogate = new SurrogateModel([new("good", 0, 4), new("film", 5, 9)], [0.25, -0.5], 0.5, 0.75, 0.5, 32),
            };
        }

        return JsonNode.Parse(ExplanationJson.Serialize(ExplanationDocument.For([e])))!;
    }

    private static JsonNode Mutate(JsonNode document, string mutation)
    {
        var result = document["results"]![0]!.AsObject();
        switch (mutation)
        {
            case "missing results": document.AsObject().Remove("results"); break;
            case "compare result without method": document["method"] = "compare"; break;
            case "offsets of three numbers": result["offsets"]![1] = new JsonArray(0, 4, 5); break;
            case "unknown normalization": result["normalization"] = "softmax"; break;
            case "unknown reduction": result["reduction"] = "mean"; break;
            case "word segment in version 1": result["words"]![0]!["segment"] = 0; break;
            case "fractional token id": result["token_ids"]![0] = 1.5; break;
            case "unknown property": result["colour"] = "red"; break;
            case "version 6": document["version"] = 6; break;
            case "version 0": document["version"] = 0; break;
            case "version 6 with a new property": document["version"] = 6; document["provenance"] = "a future field"; break;
            case "surrogate in version 1": document["version"] = 1; result.Remove("relevance_shares"); break;
            case "shares in version 1": document["version"] = 1; result.Remove("surrogate"); break;
            case "string share": result["relevance_shares"]!["embeddings"] = "1.5"; break;
            case "shares as array": result["relevance_shares"] = new JsonArray(1.5); break;
            case "unknown surrogate property": result["surrogate"]!["score"] = 0.75; break;
            case "surrogate without intercept": result["surrogate"]!.AsObject().Remove("intercept"); break;
            case "fractional samples": result["surrogate"]!["samples"] = 1.5; break;
            case "negative samples": result["surrogate"]!["samples"] = -3; break;
            case "feature without offsets": result["surrogate"]!["features"]![1]!.AsObject().Remove("offsets"); break;
            case "unknown feature property": result["surrogate"]!["features"]![0]!["index"] = 0; break;
            case "feature past the text": result["surrogate"]!["features"]![1]!["offsets"] = new JsonArray(5, 12); break;
            case "feature text not at its offsets": result["surrogate"]!["features"]![1]!["text"] = "fill"; break;
            case "extra coefficient": result["surrogate"]!["coefficients"]!.AsArray().Add(0.1); break;
            case "wrong local prediction": result["surrogate"]!["local_prediction"] = 0.3; break;
            case "with surrogate": break;
            case "short scores": result["scores"]!.AsArray().RemoveAt(3); break;
            case "offsets past the text": result["offsets"]![2] = new JsonArray(5, 99); break;
            case "target out of range": result["target"] = 7; break;
            case "word token out of range": result["words"]![0]!["token_indices"]![0] = 10; break;
            case "word without tokens": result["words"]![1]!["token_indices"] = new JsonArray(); break;
            case "word text not at its offsets": result["words"]![1]!["text"] = "fill"; break;
            case "word token of the next word": result["words"]![0]!["token_indices"] = new JsonArray(1, 2); break;
            case "word token of the word before": result["words"]![1]!["token_indices"] = new JsonArray(1); break;
            case "word token reaching in from the word before": result["offsets"]![2] = new JsonArray(3, 9); break;
            case "word special token": result["words"]![1]!["token_indices"] = new JsonArray(2, 3); break;
            case "word part of a word": result["words"]![0]!["offsets"] = new JsonArray(0, 2); result["words"]![0]!["text"] = "go"; break;
            case "word twice": result["words"]!.AsArray().Add(result["words"]![1]!.DeepClone()); break;
            case "words out of order": result["words"] = new JsonArray(result["words"]![1]!.DeepClone(), result["words"]![0]!.DeepClone()); break;
            case "word token twice": result["words"]![0]!["token_indices"] = new JsonArray(1, 1); break;
            case "word of a special token with offsets": result["is_special"]![1] = true; break;
            case "null text": result["text"] = null; break;
            case "string score": result["scores"]![0] = "0.5"; break;
            default: throw new ArgumentException(mutation);
        }

        return document;
    }

    /// <summary>Asserts two explanations are identical field by field, doubles bit for bit (−0 is not 0).</summary>
    internal static void AssertIdentical(Explanation actual, Explanation expected)
    {
        actual.Text.Should().Be(expected.Text);
        actual.TextPair.Should().Be(expected.TextPair);
        actual.Head.Should().Be(expected.Head);
        actual.TokenTypeIds.IsDefaultOrEmpty.Should().Be(expected.TokenTypeIds.IsDefaultOrEmpty);
        if (!expected.TokenTypeIds.IsDefaultOrEmpty)
        {
            actual.TokenTypeIds.Should().Equal(expected.TokenTypeIds);
        }

        actual.Segments.IsDefaultOrEmpty.Should().Be(expected.Segments.IsDefaultOrEmpty);
        if (!expected.Segments.IsDefaultOrEmpty)
        {
            actual.Segments.Should().Equal(expected.Segments);
        }

        actual.Model.Should().Be(expected.Model);
        actual.Method.Should().Be(expected.Method);
        actual.Kind.Should().Be(expected.Kind);
        actual.Settings.Should().Equal(expected.Settings);
        actual.Tokens.Should().Equal(expected.Tokens);
        actual.TokenIds.Should().Equal(expected.TokenIds);
        actual.Offsets.Should().Equal(expected.Offsets);
        actual.IsSpecial.Should().Equal(expected.IsSpecial);
        Bits(actual.Scores).Should().Equal(Bits(expected.Scores));
        if (expected.RawAttributions is null)
        {
            actual.RawAttributions.Should().BeNull();
        }
        else
        {
            actual.RawAttributions.Should().HaveSameCount(expected.RawAttributions);
            for (var i = 0; i < expected.RawAttributions.Count; i++)
            {
                actual.RawAttributions![i].Select(BitConverter.SingleToInt32Bits).Should().Equal(expected.RawAttributions[i].Select(BitConverter.SingleToInt32Bits));
            }
        }

        actual.Target.Should().Be(expected.Target);
        actual.TargetLabel.Should().Be(expected.TargetLabel);
        Bits(actual.Logits).Should().Equal(Bits(expected.Logits));
        Bits(actual.Probabilities).Should().Equal(Bits(expected.Probabilities));
        actual.ScoreOutput.Should().Be(expected.ScoreOutput);
        actual.Signed.Should().Be(expected.Signed);
        actual.Reduction.Should().Be(expected.Reduction);
        actual.Normalization.Should().Be(expected.Normalization);
        actual.WordAggregation.Should().Be(expected.WordAggregation);
        actual.SpecialTokensKept.Should().Be(expected.SpecialTokensKept);
        (actual.ConvergenceDelta is { } a ? BitConverter.DoubleToInt64Bits(a) : (long?)null)
            .Should().Be(expected.ConvergenceDelta is { } e ? BitConverter.DoubleToInt64Bits(e) : null);
        actual.Words.Should().HaveSameCount(expected.Words);
        for (var w = 0; w < expected.Words.Count; w++)
        {
            var (x, y) = (actual.Words[w], expected.Words[w]);
            (x.Text, x.Segment, x.Start, x.End, BitConverter.DoubleToInt64Bits(x.Score)).Should().Be((y.Text, y.Segment, y.Start, y.End, BitConverter.DoubleToInt64Bits(y.Score)));
            x.TokenIndices.Should().Equal(y.TokenIndices);
        }

        if (expected.RelevanceShares is null)
        {
            actual.RelevanceShares.Should().BeNull();
        }
        else
        {
            actual.RelevanceShares!.Select(kv => (kv.Key, BitConverter.DoubleToInt64Bits(kv.Value)))
                .Should().Equal(expected.RelevanceShares.Select(kv => (kv.Key, BitConverter.DoubleToInt64Bits(kv.Value))), "same keys, order and bits");
        }

        if (expected.Surrogate is not { } surrogate)
        {
            actual.Surrogate.Should().BeNull();
        }
        else
        {
            var back = actual.Surrogate!;
            back.Features.Should().Equal(surrogate.Features);
            Bits(back.Coefficients).Should().Equal(Bits(surrogate.Coefficients));
            Bits([back.Intercept, back.RSquared, back.UnweightedRSquared, back.LocalPrediction])
                .Should().Equal(Bits([surrogate.Intercept, surrogate.RSquared, surrogate.UnweightedRSquared, surrogate.LocalPrediction]));
            back.Samples.Should().Be(surrogate.Samples);
        }

        actual.Notes.Should().Equal(expected.Notes);
        actual.Elapsed.Should().Be(expected.Elapsed);
    }

    private static IEnumerable<long> Bits(IEnumerable<double> values) => values.Select(BitConverter.DoubleToInt64Bits);

    internal static string RepositoryFile(string relative, [CallerFilePath] string source = "")
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(source) ?? string.Empty })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Attribution.sln")))
                {
                    return Path.Combine(dir.FullName, relative);
                }
            }
        }

        throw new FileNotFoundException($"cannot find the repository root (Attribution.sln) to read {relative}");
    }
}
