using System.Text.Json;
using Attribution.Cli;
using Attribution.Evaluation;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Tests.Models.Small;

namespace Attribution.Tests.Cli;

/// <summary><c>attribution sanity</c>: JSON steps equal the library's; plot and saved folders written; bad usage names the option.</summary>
public sealed class CliSanityTests : IDisposable
{
    private const string Text = "a sometimes tedious film";
    private readonly string root = SmallModelKit.TempRoot("cli-sanity-");

    public void Dispose()
    {
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [SkippableFact]
    public void Json_steps_equal_the_librarys_and_plot_and_folders_are_written()
    {
        var plot = Path.Combine(root, "plot", "sanity.png");
        var saved = Path.Combine(root, "saved");
        var run = CliHarness.Run("sanity", "--model", CliHarness.TinyBert, "--text", Text, "--text", "i loved this movie", "--method", "integrated-gradients",
            "--steps", "8", "--seed", "4", "--format", "json", "--plot", plot, "--save-randomized", saved);
        run.Code.Should().Be(0, run.ToString());
        using var document = JsonDocument.Parse(run.Out);
        var steps = document.RootElement.GetProperty("steps").EnumerateArray().ToList();

        using var model = ClassifierLoader.Load(CliHarness.TinyBert);
        var expected = SanityCheck.Run(model, CliHarness.TinyBert, new IntegratedGradients { Steps = 8 }, [Text, "i loved this movie"], new SanityOptions { Seed = 4 });
        steps.Select(s => s.GetProperty("layer").GetString()).Should().Equal(expected.Steps.Select(s => s.Layer));
        for (var k = 0; k < steps.Count; k++)
        {
            foreach (var (name, v) in new[] { ("global", 0), ("local", 1) })
            {
                steps[k].GetProperty(name).GetProperty("cosine_median").GetDouble().Should().Be(expected.Steps[k].Variants[v].CosineMedian);
                steps[k].GetProperty(name).GetProperty("spearman_median").GetDouble().Should().Be(expected.Steps[k].Variants[v].SpearmanMedian);
                steps[k].GetProperty(name).GetProperty("spearman_abs_median").GetDouble().Should().Be(expected.Steps[k].Variants[v].SpearmanAbsoluteMedian);
            }
        }

        File.Exists(Path.Combine(root, "plot", "sanity.png")).Should().BeTrue();
        File.ReadAllText(Path.Combine(root, "plot", "sanity.svg")).Should().Contain("<svg");
        Directory.GetDirectories(saved).Select(Path.GetFileName).Order(StringComparer.Ordinal).Should()
            .Equal(expected.Steps.Select(s => $"{s.Index:00}-{s.Layer}"));
    }

    [Fact]
    public void Markdown_lists_every_step()
    {
        var folder = SmallModelKit.SaveRandom(root, SmallClassifierConfig.MlpType);
        var run = CliHarness.Run("sanity", "--model", folder, "--text", Text, "--method", "gradient", "--mode", "independent", "--format", "markdown");
        run.Code.Should().Be(0, run.ToString());
        run.Out.Should().Contain("| 0 | `classifier` |").And.Contain("| 2 | `embeddings` |").And.Contain("Independent");
        run.Out.Should().Contain("| Spearman (global) | Spearman of abs (global) |");
        run.Out.Should().NotContain("local");
    }

    [Fact]
    public void Html_has_the_table_the_plot_and_the_original_models_metrics_and_no_url()
    {
        var folder = SmallModelKit.SaveRandom(root, SmallClassifierConfig.CnnType);
        var run = CliHarness.Run("sanity", "--model", folder, "--text", Text, "--method", "gradient-x-input", "--format", "html");
        run.Code.Should().Be(0, run.ToString());
        run.Out.Should().StartWith("<!DOCTYPE html>").And.Contain("<td>classifier</td>").And.Contain("<svg").And.Contain("infidelity").And.Contain("max-sensitivity");
        run.Out.Should().NotContainAny("http:", "https:", "<script", "src=");
    }

    [Theory]
    [InlineData("--method", new[] { "--method", "guided-backprop" })]
    [InlineData("--layers", new[] { "--method", "gradient", "--layers", "classifier,encoder.layer.7" })]
    [InlineData("--variant", new[] { "--method", "gradient", "--variant", "local" })]
    [InlineData("--variant", new[] { "--method", "integrated-gradients", "--variant", "sideways" })]
    [InlineData("--mode", new[] { "--method", "gradient", "--mode", "random" })]
    [InlineData("--save-randomized", new[] { "--method", "gradient", "--mode", "independent", "--save-randomized", "x" })]
    public void Bad_usage_names_the_option(string option, string[] extra)
    {
        var folder = SmallModelKit.SaveRandom(root, SmallClassifierConfig.LstmType);
        var run = CliHarness.Run(["sanity", "--model", folder, "--text", Text, "--format", "json", .. extra]);
        run.Code.Should().Be(2, run.ToString());
        run.Error.Should().Contain(option);
    }

    /// <summary>An empty entry in --layers (a doubled comma) was dropped silently; it is refused naming the option.</summary>
    [Fact]
    public void An_empty_layer_entry_is_refused_naming_layers()
    {
        var folder = SmallModelKit.SaveRandom(root, SmallClassifierConfig.LstmType);
        var run = CliHarness.Run("sanity", "--model", folder, "--text", Text, "--method", "gradient", "--layers", "classifier,,classifier");
        run.Code.Should().Be(2, run.ToString());
        run.Error.Should().Contain("--layers: 'classifier,,classifier' has an empty entry");
    }

    /// <summary>A layer given twice in --layers is refused naming --layers, the layer and its two positions (it ran as two steps).</summary>
    [Fact]
    public void A_layer_given_twice_is_refused_naming_layers()
    {
        var folder = SmallModelKit.SaveRandom(root, SmallClassifierConfig.LstmType);
        var run = CliHarness.Run("sanity", "--model", folder, "--text", Text, "--method", "gradient", "--layers", "lstm,classifier,lstm");
        run.Code.Should().Be(2, run.ToString());
        run.Error.Should().StartWith("error: --layers: 'lstm' is given twice, at positions 1 and 3: give each module once", run.ToString());
    }

    /// <summary>A --layers path the model lacks is refused naming --layers once (it read "--layers: --layer: no submodule ...").</summary>
    [Fact]
    public void A_missing_layer_is_refused_naming_layers_once()
    {
        var folder = SmallModelKit.SaveRandom(root, SmallClassifierConfig.LstmType);
        var run = CliHarness.Run("sanity", "--model", folder, "--text", Text, "--method", "gradient", "--layers", "nosuch");
        run.Code.Should().Be(2, run.ToString());
        run.Error.Should().StartWith("error: --layers: no submodule 'nosuch'", run.ToString());
        run.Error.Should().NotContain("--layer:", run.ToString());
    }

    /// <summary>
    /// A median over fewer texts says so: of 3 texts, one has an undefined ρ at step 1 (a one-token text's ranks), so
    /// that median is over 2; every other median is over all 3 and is not named.
    /// </summary>
    [Fact]
    public void Medians_over_fewer_texts_name_the_step_measure_and_count()
    {
        SanityTextResult Text(double spearman) => new("t", 0.5, spearman, 0.4);
        SanityStep Step(int index, params SanityTextResult[] texts) =>
            new(index, "layer", [], [new SanityVariantResult(SanityVariant.Local, texts, 0.5, 0.3, 0.4, [], [])], null);
        var result = new SanityResult("m", "gradient", [], RandomizationMode.Cascading, 0,
            [Step(0, Text(0.1), Text(0.2), Text(0.3)), Step(1, Text(0.1), Text(double.NaN), Text(0.3))]);

        Attribution.Cli.SanityCommand.UndefinedNote(result).Should().Be(
            "Medians over fewer texts (the others' values are undefined: constant scores or a single token): step 1 Spearman (local) over 2 of 3.");
        Attribution.Cli.SanityCommand.UndefinedNote(result with { Steps = [result.Steps[0]] }).Should().BeNull();
    }

    [Fact]
    public void The_original_models_infidelity_covers_every_map_at_the_word_embeddings()
    {
        // Only LayerMethods with no layer got the original model's infidelity: SmoothGrad (no LayerMethod) and
        // conductance at the word embeddings (which names its layer) got none, though their maps are where infidelity
        // perturbs. The value is infidelity's own on the same explanation; a map at another layer still gets none.
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
        var explain = new Attribution.Pipeline.ExplainOptions();
        IAttributor[] methods = [new NoiseTunnel(new Gradient()) { Samples = 3 }, new LayerConductance { Layer = model.WordEmbeddingPath, Steps = 4 }];
        foreach (var method in methods)
        {
            var metrics = SanityCommand.OriginalMetrics(model, method, [Text], explain);
            var e = method.Explain(model, [Text], explain with { KeepRawAttributions = true, Salience = explain.Salience with { KeepSpecialTokens = true } })[0];
            metrics.Should().ContainKey("infidelity", method.Name);
            metrics["infidelity"].Should().BeApproximately(Infidelity.Compute(model, e).Value, 1e-12, method.Name);
        }

        // An encoder layer's map is not at the word embeddings (a BERT: the MLP has no other layer of one row per token).
        using var bert = Attribution.Tests.Models.TransformerTestKit.RandomTinyBertClassifier(5);
        var layer = bert.Module.named_modules().Select(m => m.name).First(n => n.EndsWith("encoder.layer.0", StringComparison.Ordinal));
        SanityCommand.OriginalMetrics(bert, new LayerConductance { Layer = layer, Steps = 4 }, ["5 9 12"], explain).Should().NotContainKey("infidelity");
    }

    [Fact]
    public void A_map_at_another_layer_is_not_explained_for_the_original_models_metrics()
    {
        // Conductance at an encoder layer gets neither infidelity nor max-sensitivity (both perturb the word embeddings),
        // which the command learnt only from the explanations: it explained every text (4 path points and more each) to
        // skip them. Decided from the method now: no forward pass at all. At the word embeddings it still explains.
        using var bert = Attribution.Tests.Models.TransformerTestKit.RandomTinyBertClassifier(5);
        var layer = bert.Module.named_modules().Select(m => m.name).First(n => n.EndsWith("encoder.layer.0", StringComparison.Ordinal));
        using var counter = new Attribution.Tests.Methods.ForwardCounter(bert);
        SanityCommand.OriginalMetrics(bert, new LayerConductance { Layer = layer, Steps = 4 }, ["5 9 12"], new Attribution.Pipeline.ExplainOptions())
            .Should().BeEmpty();
        counter.Calls.Should().Be(0, "a map at an encoder layer is not explained for metrics that perturb the word embeddings");

        SanityCommand.OriginalMetrics(bert, new LayerConductance { Layer = bert.WordEmbeddingPath, Steps = 4 }, ["5 9 12"], new Attribution.Pipeline.ExplainOptions())
            .Should().ContainKey("infidelity");
        counter.Calls.Should().BeGreaterThan(0);
    }

    [Fact]
    public void The_method_level_decision_agrees_with_the_explanations()
    {
        // One rule, two entry points: the decision made before explaining is the one the explanations give.
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
        using var bert = Attribution.Tests.Models.TransformerTestKit.RandomTinyBertClassifier(5);
        var encoder = bert.Module.named_modules().Select(m => m.name).First(n => n.EndsWith("encoder.layer.0", StringComparison.Ordinal));
        var options = new Attribution.Pipeline.ExplainOptions { KeepRawAttributions = true, Salience = new Attribution.Salience.SalienceOptions { KeepSpecialTokens = true } };
        (ITextClassifier Model, IAttributor Method, string Text, bool Expected)[] cases =
        [
            (model, new Gradient(), Text, true), (model, new NoiseTunnel(new Gradient()) { Samples = 2 }, Text, true),
            (model, new LrpEpsilon(), Text, true), (model, new LayerConductance { Layer = model.WordEmbeddingPath, Steps = 2 }, Text, true),
            (model, new Occlusion(), Text, false), (bert, new LayerConductance { Layer = encoder, Steps = 2 }, "5 9 12", false),
            (bert, new NoiseTunnel(new IntegratedGradients { Layer = encoder, Steps = 2 }) { Samples = 2 }, "5 9 12", false),
        ];
        foreach (var (m, method, text, expected) in cases)
        {
            Infidelity.AtWordEmbeddings(m, method).Should().Be(expected, method.Name);
            Infidelity.AtWordEmbeddings(m, method.Explain(m, [text], options)[0]).Should().Be(expected, method.Name);
        }
    }

    [Fact]
    public void The_original_models_infidelity_on_a_non_finite_attribution_fails_the_run_naming_the_text()
    {
        // sanity explains the texts itself for the original model's infidelity; infidelity's refusal of a non-finite
        // attribution (an ArgumentException) reached the command line as a usage error (exit 2) naming no option.
        // Text 1's attribution at token 1, dimension 0 is +∞ by construction (see ScorecardTests.OverflowsOn).
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
        var run = () => SanityCommand.OriginalMetrics(model, new Attribution.Tests.Evaluation.ScorecardTests.OverflowsOn(Text), [Text], new Attribution.Pipeline.ExplainOptions());

        var failure = run.Should().Throw<NonFiniteValueException>().Which;
        failure.Message.Should().StartWith("infidelity, text 1: overflowing gave a non-finite attribution (token 1, dimension 0 is");
        using var error = new StringWriter();
        CliApp.Report(failure, new CliContext { Out = TextWriter.Null, Error = error }, verbose: false).Should().Be(ExitCodes.Failure);
    }
}
