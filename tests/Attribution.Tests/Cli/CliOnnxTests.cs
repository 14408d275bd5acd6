using System.Text.Json.Nodes;
using Attribution.Cli;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Onnx;
using Attribution.Salience;

namespace Attribution.Tests.Cli;

/// <summary>
/// <c>--model</c> on an ONNX export (../shared/models/sst2-bert-tiny-onnx): predict and the perturbation methods run on
/// ONNX Runtime; gradient methods are refused in one line naming the methods that work. Expected values come from the
/// same model's safetensors weights run by TorchSharp (agreeing to 1e-4, as in OnnxEquivalenceTests), or from the
/// library called directly on the ONNX model (exactly).
/// </summary>
public sealed class CliOnnxTests
{
    private static readonly string[] Texts = ["a sometimes tedious film", "the cast was superb , the plot was not"];

    private static string TinyBertOnnx => SharedData.Require("models/sst2-bert-tiny-onnx");

    [SkippableFact]
    public void Predict_on_an_onnx_folder_gives_the_safetensors_models_probabilities()
    {
        var run = CliHarness.Run("predict", "--model", TinyBertOnnx, "--text", Texts[0], "--text", Texts[1], "--format", "json");

        run.Code.Should().Be(0, run.ToString());
        var document = JsonNode.Parse(run.Out)!;
        document["model"]!.GetValue<string>().Should().Be("sst2-bert-tiny-onnx");
        var predictions = document["predictions"]!.AsArray();
        using var model = ClassifierLoader.Load(CliHarness.TinyBert);
        var expected = model.Predict(Texts);
        for (var i = 0; i < Texts.Length; i++)
        {
            predictions[i]!["label_name"]!.GetValue<string>().Should().Be(expected[i].LabelName);
            var probabilities = predictions[i]!["probabilities"]!.AsArray().Select(p => p!.GetValue<double>()).ToArray();
            for (var k = 0; k < probabilities.Length; k++)
            {
                probabilities[k].Should().BeApproximately(expected[i].Probabilities[k], 1e-4);
            }
        }
    }

    [SkippableFact]
    public void Predict_refuses_a_text_longer_than_the_model_and_truncates_only_when_asked()
    {
        var text = string.Join(' ', Enumerable.Repeat("good", 200));

        var refused = CliHarness.Run("predict", "--model", TinyBertOnnx, "--text", text);
        refused.Code.Should().Be(ExitCodes.Usage, refused.ToString());
        refused.Error.Should().Contain("202 tokens").And.Contain("at most 128");

        var truncated = CliHarness.Run("predict", "--model", TinyBertOnnx, "--text", text, "--text", "good", "--truncate", "--format", "json");
        truncated.Code.Should().Be(0, truncated.ToString());
        using var model = ClassifierLoader.Load(CliHarness.TinyBert);
        var expected = model.Predict([text], truncate: true)[0];
        var predictions = JsonNode.Parse(truncated.Out)!["predictions"]!.AsArray();
        var probabilities = predictions[0]!["probabilities"]!.AsArray().Select(p => p!.GetValue<double>()).ToArray();
        probabilities[1].Should().BeApproximately(expected.Probabilities[1], 1e-4);

        // Truncation is reported: 202 − 128 tokens dropped from the first text, none from the second.
        predictions[0]!["truncated_tokens"]!.GetValue<int>().Should().Be(74);
        predictions[1]!.AsObject().ContainsKey("truncated_tokens").Should().BeFalse();
        truncated.Error.Should().Contain("note: text 1 was truncated: its 74 token(s) beyond").And.NotContain("text 2 was truncated");
    }

    [SkippableFact]
    public void Explain_with_lime_on_an_onnx_folder_equals_the_library_on_the_onnx_model()
    {
        var run = CliHarness.Run("explain", "--model", TinyBertOnnx, "--text", Texts[0], "--text", Texts[1], "--method", "lime",
            "--samples", "64", "--seed", "3", "--format", "json");

        run.Code.Should().Be(0, run.ToString());
        CliHarness.SchemaErrors(run.Out).Should().BeEmpty();
        using var onnx = OnnxTextClassifier.Load(TinyBertOnnx);
        var lime = new Lime { Samples = 64, Seed = 3 };
        var expected = lime.Explain(onnx, Texts);
        var expectedJson = ExplanationJson.Serialize(new ExplanationDocument
        {
            Model = onnx.Name,
            Method = lime.Name,
            Settings = expected[0].Settings,
            Labels = onnx.Labels,
            Results = expected,
        });
        JsonNode.DeepEquals(CliHarness.WithoutTimes(run.Out), CliHarness.WithoutTimes(expectedJson)).Should().BeTrue(
            "the CLI's JSON must equal the library's result\nCLI:\n{0}\nlibrary:\n{1}", run.Out, expectedJson);

        // And the scores are the safetensors model's, to the engines' agreement.
        using var torch = ClassifierLoader.Load(CliHarness.TinyBert);
        var reference = lime.Explain((ITokenClassifier)torch, Texts);
        var document = ExplanationJson.Parse(run.Out);
        for (var t = 0; t < Texts.Length; t++)
        {
            document.Results[t].Scores.Zip(reference[t].Scores, (a, b) => Math.Abs(a - b)).Max().Should().BeLessThan(1e-4);
        }
    }

    [SkippableTheory]
    [InlineData("gradient")]
    [InlineData("integrated-gradients")]
    [InlineData("conductance")]
    [InlineData("lrp-epsilon")]
    [InlineData("smoothgrad")]
    public void A_gradient_method_on_an_onnx_model_is_refused_in_one_line_naming_the_methods_that_work(string method)
    {
        var run = CliHarness.Run("explain", "--model", TinyBertOnnx, "--text", Texts[0], "--method", method);

        run.Code.Should().Be(ExitCodes.Usage, run.ToString());
        run.Out.Should().BeEmpty();
        run.Error.TrimEnd().Split('\n').Should().ContainSingle().Which.Should()
            .Be($"error: --method: {method} needs gradients, which sst2-bert-tiny-onnx (an ONNX model) does not give; methods that explain it: {Names.List(PerturbationNames())}");
    }

    [SkippableFact]
    public void Compare_on_an_onnx_model_runs_the_perturbation_methods_of_the_default_set_and_refuses_a_gradient_method()
    {
        var run = CliHarness.Run("compare", "--model", TinyBertOnnx, "--text", Texts[0], "--samples", "32", "--format", "json");

        run.Code.Should().Be(0, run.ToString());
        run.Error.Should().Contain("only perturbation methods can explain");
        var methods = JsonNode.Parse(run.Out)!["results"]!.AsArray().Select(r => r!["method"]!.GetValue<string>()).Distinct().ToList();
        methods.Should().Equal(MethodFactory.DefaultCompareMethods.Where(PerturbationNames().Contains));

        var refused = CliHarness.Run("compare", "--model", TinyBertOnnx, "--text", Texts[0], "--methods", "lime,gradient");
        refused.Code.Should().Be(ExitCodes.Usage, refused.ToString());
        refused.Error.Should().StartWith("error: --methods: gradient needs gradients").And.Contain("methods that explain it: lime");
    }

    [SkippableFact]
    public void The_demo_refuses_an_onnx_model()
    {
        var run = CliHarness.Run("demo", "--model", TinyBertOnnx);

        run.Code.Should().Be(ExitCodes.Usage, run.ToString());
        run.Error.Should().Contain("holds an ONNX model");
    }

    [Fact]
    public void A_folder_is_an_onnx_export_when_it_has_model_onnx_and_no_safetensors()
    {
        var folder = Directory.CreateTempSubdirectory("attribution-cli-onnx-").FullName;
        try
        {
            ModelSource.IsOnnxFolder(folder).Should().BeFalse();
            Directory.CreateDirectory(Path.Combine(folder, "onnx"));
            File.WriteAllText(Path.Combine(folder, "onnx", "model.onnx"), string.Empty);
            ModelSource.IsOnnxFolder(folder).Should().BeTrue("Optimum writes onnx/model.onnx");
            File.WriteAllText(Path.Combine(folder, "model.onnx"), string.Empty);
            ModelSource.IsOnnxFolder(folder).Should().BeTrue();
            File.WriteAllText(Path.Combine(folder, "model.safetensors"), string.Empty);
            ModelSource.IsOnnxFolder(folder).Should().BeFalse("safetensors weights run every method, so they take precedence");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>
    /// Sharded safetensors (model.safetensors.index.json and its shard) are PyTorch weights as much as model.safetensors
    /// is, and the loader reads them before any model.onnx: a folder with both is the safetensors model, so a gradient
    /// method runs on it and gives exactly the scores of the unsharded model (same weights, same engine).
    /// </summary>
    [SkippableFact]
    public void A_folder_with_sharded_safetensors_and_model_onnx_runs_the_safetensors_model()
    {
        var folder = Directory.CreateTempSubdirectory("attribution-cli-sharded-").FullName;
        try
        {
            foreach (var file in new[] { "config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt" })
            {
                File.Copy(Path.Combine(CliHarness.TinyBert, file), Path.Combine(folder, file));
            }

            // One shard holding every tensor; the index maps each tensor name (read from the safetensors header: an
            // 8-byte little-endian length, then JSON) to it.
            var weights = Path.Combine(CliHarness.TinyBert, "model.safetensors");
            File.Copy(weights, Path.Combine(folder, "model-00001-of-00001.safetensors"));
            var bytes = File.ReadAllBytes(weights);
            var headerLength = (int)BitConverter.ToUInt64(bytes, 0);
            var names = JsonNode.Parse(bytes.AsSpan(8, headerLength))!.AsObject().Select(kv => kv.Key).Where(k => k != "__metadata__").ToList();
            names.Should().NotBeEmpty();
            var index = new JsonObject
            {
                ["metadata"] = new JsonObject(),
                ["weight_map"] = new JsonObject(names.Select(n => KeyValuePair.Create(n, (JsonNode?)JsonValue.Create("model-00001-of-00001.safetensors")))),
            };
            File.WriteAllText(Path.Combine(folder, "model.safetensors.index.json"), index.ToJsonString());
            File.Copy(Path.Combine(TinyBertOnnx, "model.onnx"), Path.Combine(folder, "model.onnx"));

            ModelSource.IsOnnxFolder(folder).Should().BeFalse("sharded safetensors weights take precedence over model.onnx, as in the loader");
            var sharded = CliHarness.Run("explain", "--model", folder, "--text", Texts[0], "--method", "gradient", "--format", "json");
            sharded.Code.Should().Be(ExitCodes.Ok, sharded.ToString());
            var whole = CliHarness.Run("explain", "--model", CliHarness.TinyBert, "--text", Texts[0], "--method", "gradient", "--format", "json");
            whole.Code.Should().Be(ExitCodes.Ok, whole.ToString());
            ExplanationJson.Parse(sharded.Out).Results[0].Scores.Should().Equal(ExplanationJson.Parse(whole.Out).Results[0].Scores);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>
    /// The perturbation methods, found independently of the CLI: the names of the library's attributor types that
    /// implement <see cref="IPerturbationAttributor"/>, in the CLI's order.
    /// </summary>
    private static List<string> PerturbationNames()
    {
        var names = typeof(Lime).Assembly.GetTypes()
            .Where(t => t is { IsAbstract: false, IsPublic: true } && typeof(IPerturbationAttributor).IsAssignableFrom(t) && t.GetConstructor(Type.EmptyTypes) is not null)
            .Select(t => ((IAttributor)Activator.CreateInstance(t)!).Name)
            .ToHashSet();
        names.Should().Contain("lime");
        return CliOptions.MethodNames.Where(names.Contains).ToList();
    }
}
