using System.Text.Json.Nodes;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Salience;

namespace Attribution.Tests.Cli;

/// <summary><c>attribution compare</c>, <c>predict</c> and <c>demo</c>.</summary>
public sealed class CliCompareTests
{
    private static readonly string[] Texts = ["a sometimes tedious film", "the cast was superb"];

    /// <summary>
    /// On a model without gradients, a gradient method after a perturbation method was refused only after the
    /// perturbation method had explained every text of the chunk; now before any method runs.
    /// </summary>
    [Fact]
    public void A_gradient_method_on_a_model_without_gradients_is_refused_before_any_method_runs()
    {
        // The random tiny BERT's tokenizer has no mask token: occlusion replaces tokens by the pad id.
        using var model = Attribution.Tests.Models.TransformerTestKit.RandomTinyBertClassifier(7);
        var occlusion = new Occlusion { Perturbation = AbsentFeature.Baseline };
        var tokensOnly = new Attribution.Tests.Methods.TokensOnlyClassifier(model);
        FluentActions.Invoking(() => Attribution.Cli.ModelMethods.ExplainAll(tokensOnly, ["5 9 12", "20 21"], [occlusion, new Gradient()], new ExplainOptions()))
            .Should().Throw<Attribution.Cli.UsageException>().WithMessage("--method: gradient needs gradients, which tokens-only does not give");
        tokensOnly.Calls.Should().Be(0, "no method ran");
        Attribution.Cli.ModelMethods.ExplainAll(tokensOnly, ["5 9 12"], [occlusion], new ExplainOptions()).Single().Should().ContainSingle();
        tokensOnly.Calls.Should().BePositive();
    }

    /// <summary>
    /// Compared alone, attention rollout refuses --target and --score as explain does (no class or output enters it, so
    /// the document would record them as if they mattered); beside a method that uses them, they are taken.
    /// </summary>
    [SkippableTheory]
    [InlineData("--target", "1")]
    [InlineData("--score", "probability")]
    public void Attention_rollout_compared_alone_refuses_a_target_or_score(string option, string value)
    {
        var alone = CliHarness.Run("compare", "--model", CliHarness.TinyBert, "--text", Texts[0], "--methods", "attention-rollout", option, value);
        alone.Code.Should().Be(2, alone.ToString());
        alone.Error.Should().StartWith($"error: {option}: attention-rollout reads the attention weights only").And.Contain("grad-attention-rollout");

        var beside = CliHarness.Run("compare", "--model", CliHarness.TinyBert, "--text", Texts[0], "--methods", "attention-rollout,gradient", option, value);
        beside.Code.Should().Be(0, beside.ToString());
    }

    [SkippableFact]
    public void Compare_json_is_a_valid_comparison_document_equal_to_the_library_with_agreement()
    {
        var run = CliHarness.Run("compare", "--model", CliHarness.TinyBert, "--text", Texts[0], "--text", Texts[1],
            "--methods", "gradient,integrated-gradients", "--methods", "lime", "--steps", "3", "--samples", "16", "--format", "json");

        run.Code.Should().Be(0, run.ToString());
        CliHarness.SchemaErrors(run.Out).Should().BeEmpty();
        var document = ExplanationJson.Parse(run.Out);
        document.IsComparison.Should().BeTrue();
        document.Results.Select(r => (r.Text, r.Method)).Should().Equal(
            (Texts[0], "gradient"), (Texts[0], "integrated-gradients"), (Texts[0], "lime"),
            (Texts[1], "gradient"), (Texts[1], "integrated-gradients"), (Texts[1], "lime"));
        var settings = document.Settings.ToDictionary(kv => kv.Key, kv => kv.Value);
        settings.Should().ContainKey("spearman:gradient~integrated-gradients");
        settings.Should().ContainKey("spearman:integrated-gradients~lime:per-text");
        settings["spearman:integrated-gradients~lime:per-text"].Split(',').Should().HaveCount(2);

        using var model = ClassifierLoader.Load(CliHarness.TinyBert);
        IAttributor[] methods = [new Gradient(), new IntegratedGradients { Steps = 3 }, new Lime { Samples = 16 }];
        var expected = Explainer.ExplainAll(model, Texts, methods);
        var expectedJson = ExplanationJson.Serialize(ExplanationDocument.Comparison(model.Name, expected, model.Labels, document.Settings));
        JsonNode.DeepEquals(CliHarness.WithoutTimes(run.Out), CliHarness.WithoutTimes(expectedJson)).Should().BeTrue(
            "compare must give the library's results\nCLI:\n{0}\nlibrary:\n{1}", run.Out, expectedJson);

        // The stated agreement is Spearman's rho of the word scores (magnitudes, as gradient is unsigned).
        var gradientWords = expected[0][0].Words.Select(w => Math.Abs(w.Score)).ToArray();
        var igWords = expected[1][0].Words.Select(w => Math.Abs(w.Score)).ToArray();
        var rho = Attribution.Salience.MethodAgreement.Spearman(gradientWords, igWords);
        var perText = settings["spearman:gradient~integrated-gradients:per-text"].Split(',');
        double.Parse(perText[0], System.Globalization.CultureInfo.InvariantCulture).Should().Be(rho);
    }

    [SkippableFact]
    public void An_undefined_agreement_is_written_as_undefined_with_a_note_saying_why()
    {
        // Spearman's rho needs two ranked values: a one-word text has none to rank, whatever the methods' scores.
        var run = CliHarness.Run("compare", "--model", CliHarness.TinyBert, "--text", "film", "--text", Texts[0],
            "--methods", "gradient,occlusion", "--format", "json");

        run.Code.Should().Be(0, run.ToString());
        run.Out.Should().NotContainEquivalentOf("nan");
        CliHarness.SchemaErrors(run.Out).Should().BeEmpty();
        var settings = ExplanationJson.Parse(run.Out).Settings.ToDictionary(kv => kv.Key, kv => kv.Value);
        var perText = settings["spearman:gradient~occlusion:per-text"].Split(',');
        perText[0].Should().Be("undefined");
        settings["spearman:gradient~occlusion"].Should().Be(perText[1], "the mean is over the one text where rho is defined");
        settings["spearman:gradient~occlusion:note"].Should().Contain("over 1 of 2 texts").And.Contain("undefined on text 1").And.Contain("one-word text");

        var alone = CliHarness.Run("compare", "--model", CliHarness.TinyBert, "--text", "film", "--methods", "gradient,occlusion", "--format", "json");
        alone.Code.Should().Be(0, alone.ToString());
        var aloneSettings = ExplanationJson.Parse(alone.Out).Settings.ToDictionary(kv => kv.Key, kv => kv.Value);
        aloneSettings["spearman:gradient~occlusion"].Should().Be("undefined");
        aloneSettings["spearman:gradient~occlusion:note"].Should().StartWith("undefined on every text");

        var table = CliHarness.Run("compare", "--model", CliHarness.TinyBert, "--text", "film", "--methods", "gradient,occlusion");
        table.Code.Should().Be(0, table.ToString());
        table.Out.Should().Contain("note (gradient ~ occlusion): undefined on every text");
    }

    [SkippableFact]
    public void Compare_table_runs_every_method_by_default_and_shows_the_agreement()
    {
        var run = CliHarness.Run("compare", "--model", CliHarness.TinyBert, "--text", Texts[0], "--text", Texts[1],
            "--steps", "2", "--samples", "8", "--noise-samples", "2");

        run.Code.Should().Be(0, run.ToString());
        foreach (var method in new[] { "gradient", "gradient-x-input", "integrated-gradients", "conductance", "lime", "lrp-epsilon", "smoothgrad" })
        {
            run.Out.Should().Contain(method);
        }

        run.Out.Should().Contain("Agreement between methods").And.Contain("gradient ~ gradient-x-input").And.Contain("per text:").And.Contain("all pairs");
        var conductance = CliHarness.Run("compare", "--model", CliHarness.TinyBert, "--text", Texts[0], "--methods", "conductance", "--steps", "2", "--format", "json");
        conductance.Code.Should().Be(0, conductance.ToString());
        ExplanationJson.Parse(conductance.Out).Results[0].Setting("layer").Should().Be("bert.encoder.layer.0", "conductance defaults to the first encoder layer");

        var markdown = CliHarness.Run("compare", "--model", CliHarness.TinyBert, "--text", Texts[0], "--methods", "gradient,gradient-x-input", "--format", "markdown");
        markdown.Code.Should().Be(0, markdown.ToString());
        markdown.Out.Should().Contain("## Agreement between methods");
        var html = CliHarness.Run("compare", "--model", CliHarness.TinyBert, "--text", Texts[0], "--methods", "gradient,gradient-x-input", "--format", "html");
        html.Code.Should().Be(0, html.ToString());
        html.Out.Should().Contain("Agreement between methods").And.EndWith("</html>\n");
    }

    [SkippableFact]
    public void Predict_gives_the_models_probabilities()
    {
        var run = CliHarness.Run("predict", "--model", CliHarness.TinyBert, "--text", Texts[0], "--text", Texts[1], "--format", "json");

        run.Code.Should().Be(0, run.ToString());
        var predictions = JsonNode.Parse(run.Out)!["predictions"]!.AsArray();
        using var model = ClassifierLoader.Load(CliHarness.TinyBert);
        var expected = model.Predict(Texts);
        for (var i = 0; i < Texts.Length; i++)
        {
            predictions[i]!["text"]!.GetValue<string>().Should().Be(Texts[i]);
            predictions[i]!["label_name"]!.GetValue<string>().Should().Be(expected[i].LabelName);
            predictions[i]!["probabilities"]!.AsArray().Select(p => p!.GetValue<double>()).Should().Equal(expected[i].Probabilities);
        }

        var table = CliHarness.Run("predict", "--model", CliHarness.TinyBert, "--text", Texts[0]);
        table.Code.Should().Be(0);
        table.Out.Should().Contain("p(negative)").And.Contain(Texts[0]);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Demo_explains_with_every_method_on_the_default_model_and_writes_the_report()
    {
        // The default model needs nothing from shared/: it is trained on the generated corpus on first use (cached).
        var folder = Directory.CreateTempSubdirectory("attribution-demo-").FullName;
        try
        {
            var run = CliHarness.Run("demo", "--output", Path.Combine(folder, "report.html"));

            run.Code.Should().Be(0, run.ToString());
            var path = Path.Combine(folder, "report.html");
            run.Out.Should().Contain($"HTML report: {path}");
            run.Out.Should().Contain("a sometimes tedious film").And.Contain("tedious (−)");
            run.Out.Should().Contain("How often each method's top word");
            var html = File.ReadAllText(path);
            html.Should().StartWith("<!DOCTYPE html>").And.Contain("a sometimes tedious film").And.Contain("Agreement between methods").And.Contain("What the corpus knows");
            foreach (var method in new[] { "gradient", "gradient-x-input", "integrated-gradients", "conductance", "lime", "lrp-epsilon", "smoothgrad" })
            {
                html.Should().Contain(method);
                run.Out.Should().Contain(method);
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
