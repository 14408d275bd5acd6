using Attribution.Benchmarks.Onnx;
using Attribution.Cli;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Onnx;
using Attribution.Pipeline;
using Attribution.Tests.Cli;
using Attribution.Tests.Methods;

namespace Attribution.Tests.Onnx;

/// <summary>
/// An ONNX export of a multi-label or regression model is read with the head its config.json's <c>problem_type</c>
/// names, as the safetensors loader reads it: probabilities are a sigmoid per label (computed here from the logits by
/// the definition, not by the library), a regression model has none, and a method scoring probabilities explains the
/// same output on both backends. The exports are the shared multi-label and regression BERTs written by the
/// benchmarks' exporter; logits agree within 1e-4 (float32 on both sides, different kernels: see
/// <see cref="OnnxEquivalenceTests"/>).
/// </summary>
public sealed class OnnxHeadTests : IDisposable
{
    private const double Tolerance = 1e-4;

    private readonly string root = Directory.CreateTempSubdirectory("attribution-onnx-head-").FullName;

    private static readonly string[] Texts = ["a gripping, well acted film", "dull and far too long", "it is fine"];

    public void Dispose() => Directory.Delete(root, recursive: true);

    [SkippableTheory]
    [InlineData("bert-multilabel-random", OutputHead.MultiLabel)]
    [InlineData("bert-regression-random", OutputHead.Regression)]
    public void The_export_has_the_models_head_and_its_probabilities(string name, OutputHead head)
    {
        var source = SharedData.Require($"models/{name}");
        using var torch = ClassifierLoader.Load(source);
        torch.Head.Should().Be(head, "the precondition: the safetensors loader reads problem_type");
        var folder = Export(torch, source);
        using var onnx = OnnxTextClassifier.Load(folder);
        onnx.Head.Should().Be(head);
        ((ITokenClassifier)onnx).Head.Should().Be(head, "the methods read the head through the interface");

        var expected = torch.Predict(Texts);
        var actual = onnx.Predict(Texts);
        var probabilities = onnx.PredictProbabilities(Texts);
        for (var i = 0; i < Texts.Length; i++)
        {
            actual[i].Logits.Should().Equal(expected[i].Logits, (a, b) => Math.Abs(a - b) < Tolerance);
            actual[i].Head.Should().Be(head);
            if (head == OutputHead.Regression)
            {
                actual[i].Probabilities.Should().BeEmpty("a regression output has no probability");
                probabilities[i].Should().BeEmpty();
                continue;
            }

            var sigmoid = actual[i].Logits.Select(x => 1 / (1 + Math.Exp(-x))).ToArray();
            actual[i].Probabilities.Should().Equal(sigmoid, (a, b) => Math.Abs(a - b) < 1e-12, "a multi-label model's probabilities are a sigmoid per label");
            probabilities[i].Should().Equal(sigmoid, (a, b) => Math.Abs(a - b) < 1e-12);
            actual[i].Labels.Should().Equal(expected[i].Labels, "the labels above 0.5 are the predicted ones");
        }
    }

    [SkippableFact]
    public void Occlusion_of_a_multi_label_probability_agrees_between_the_export_and_the_safetensors_model()
    {
        var source = SharedData.Require("models/bert-multilabel-random");
        using var torch = ClassifierLoader.Load(source);
        using var onnx = OnnxTextClassifier.Load(Export(torch, source));
        var options = new ExplainOptions { Target = Target.Class(2), Score = ScoreOutput.Probability };
        var expected = new Occlusion().Explain(torch, Texts[0], options);
        var actual = new Occlusion().Explain(onnx, Texts[0], options);

        // The scores are differences of sigmoid probabilities (≤ 1): the logits' 1e-4 moves them by less.
        actual.Scores.Should().Equal(expected.Scores, (a, b) => Math.Abs(a - b) < Tolerance);
        expected.Scores.Should().Contain(s => Math.Abs(s) > 1e-3, "scores that are all about zero would make the comparison weak");
    }

    [SkippableFact]
    public void The_command_line_predicts_an_exported_multi_label_model_with_its_labels()
    {
        var source = SharedData.Require("models/bert-multilabel-random");
        using var torch = ClassifierLoader.Load(source);
        var folder = Export(torch, source);
        var onnxRun = CliHarness.Run("predict", "--model", folder, "--text", Texts[0], "--format", "json");
        var torchRun = CliHarness.Run("predict", "--model", source, "--text", Texts[0], "--format", "json");
        onnxRun.Code.Should().Be(ExitCodes.Ok, onnxRun.ToString());
        torchRun.Code.Should().Be(ExitCodes.Ok, torchRun.ToString());
        var sigmoid = torch.Predict([Texts[0]])[0].Logits.Select(x => 1 / (1 + Math.Exp(-x))).ToArray();
        Probabilities(onnxRun.Out).Should().Equal(sigmoid, (a, b) => Math.Abs(a - b) < Tolerance);
        Probabilities(torchRun.Out).Should().Equal(sigmoid, (a, b) => Math.Abs(a - b) < 1e-9);
    }

    [SkippableFact]
    public void An_unknown_problem_type_is_refused_naming_the_field()
    {
        var source = SharedData.Require("models/bert-multilabel-random");
        using var torch = ClassifierLoader.Load(source);
        var folder = Export(torch, source);
        var config = Path.Combine(folder, "config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("multi_label_classification", "ranking", StringComparison.Ordinal));
        var act = () => OnnxTextClassifier.Load(folder);
        act.Should().Throw<ModelLoadException>().WithMessage("*problem_type \"ranking\" is unknown: use single_label_classification, multi_label_classification or regression*");
    }

    private string Export(TextClassifier model, string tokenizerFolder)
    {
        var folder = Path.Combine(root, Guid.NewGuid().ToString("N"));
        BertOnnxExport.Write(model, folder, tokenizerFolder);
        return folder;
    }

    /// <summary>The probabilities of the only prediction in predict's JSON, in label order.</summary>
    private static double[] Probabilities(string json)
    {
        using var document = System.Text.Json.JsonDocument.Parse(json);
        var prediction = document.RootElement.GetProperty("predictions")[0];
        return prediction.GetProperty("probabilities").EnumerateArray().Select(p => p.GetDouble()).ToArray();
    }
}
