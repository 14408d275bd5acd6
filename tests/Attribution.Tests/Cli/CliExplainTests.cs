using Attribution.Methods;
using Attribution.Methods.Lrp;
using Attribution.Models;
using Attribution.Salience;
using System.Text.Json.Nodes;

namespace Attribution.Tests.Cli;

/// <summary>
/// <c>attribution explain --format json</c> for every method on the tiny BERT: the document validates against
/// docs/json-schema.json and equals, field for field (timings aside), the library's own result for the same settings.
/// </summary>
public sealed class CliExplainTests : IClassFixture<CliExplainTests.TinyBertFixture>
{
    private static readonly string[] Texts = ["a sometimes tedious film", "the cast was superb , the plot was not"];

    private readonly TinyBertFixture fixture;

    public CliExplainTests(TinyBertFixture fixture) => this.fixture = fixture;

    /// <summary>The model, loaded once (null when shared/ is absent).</summary>
    public sealed class TinyBertFixture : IDisposable
    {
        private readonly Lazy<TextClassifier> model = new(() => ClassifierLoader.Load(CliHarness.TinyBert));

        public TextClassifier Model => model.Value;

        public void Dispose()
        {
            if (model.IsValueCreated)
            {
                model.Value.Dispose();
            }
        }
    }

    /// <summary>Per case: the CLI's method options, the same attributor built with the library, and the shared options.</summary>
    public static TheoryData<string, string[], Func<IAttributor>, ExplainOptions> Cases() => new()
    {
        { "gradient", [], () => new Gradient(), new ExplainOptions() },
        { "gradient", ["--reduce", "l1", "--normalize", "max-abs", "--keep-special"], () => new Gradient { Reduce = HiddenReduction.L1 },
            new ExplainOptions { Salience = new SalienceOptions { Normalization = Normalization.MaxAbs, KeepSpecialTokens = true } } },
        { "gradient-x-input", ["--target", "positive", "--score", "probability"], () => new GradientXInput(),
            new ExplainOptions { Target = Target.Named("positive"), Score = ScoreOutput.Probability } },
        { "integrated-gradients", ["--steps", "4", "--integration", "riemann-middle", "--baseline", "unk", "--internal-batch-size", "3", "--aggregate", "mean"],
            () => new IntegratedGradients { Steps = 4, Rule = IntegrationRule.RiemannMiddle, Baseline = Baseline.Unk, InternalBatchSize = 3 },
            new ExplainOptions { Salience = new SalienceOptions { WordAggregation = WordAggregation.Mean } } },
        { "conductance", ["--layer", "bert.encoder.layer.0", "--steps", "3", "--target", "1"],
            () => new LayerConductance { Layer = "bert.encoder.layer.0", Steps = 3 }, new ExplainOptions { Target = Target.Class(1) } },
        { "conductance", ["--layer", "bert.encoder.layer.0", "--steps", "3", "--integration", "riemann-trapezoid"],
            () => new LayerConductance { Layer = "bert.encoder.layer.0", Steps = 3, Rule = IntegrationRule.RiemannTrapezoid }, new ExplainOptions() },
        { "neuron-conductance", ["--layer", "bert.encoder.layer.1", "--neuron", "1,7", "--steps", "3", "--baseline", "zero"],
            () => new NeuronConductance { Layer = "bert.encoder.layer.1", Position = 1, Unit = 7, Steps = 3, Baseline = Baseline.Zero }, new ExplainOptions() },
        { "lime", ["--samples", "24", "--seed", "5", "--features", "words-punct", "--perturbation", "remove"],
            () => new Lime { Samples = 24, Seed = 5, Features = LimeFeatures.WordsAndPunctuation, Perturbation = LimePerturbation.Remove }, new ExplainOptions() },
        { "lime", ["--samples", "24", "--seed", "5", "--lime-preset", "captum", "--kernel-width", "0.5", "--mask-token", "[UNK]", "--normalize", "l1"],
            () => new Lime { Samples = 24, Seed = 5, Preset = LimePreset.Captum, KernelWidth = 0.5, MaskToken = "[UNK]" },
            new ExplainOptions { Salience = new SalienceOptions { Normalization = Normalization.L1 } } },
        { "lrp-epsilon", ["--epsilon", "0.01", "--attention", "cp"], () => new LrpEpsilon { Epsilon = 0.01, Attention = AttentionRule.CpLrp }, new ExplainOptions() },
        { "lrp-epsilon", ["--keep-special"], () => new LrpEpsilon(), new ExplainOptions { Salience = new SalienceOptions { KeepSpecialTokens = true } } },
        { "smoothgrad", ["--noise-samples", "3", "--seed", "11", "--noise-stdev", "0.05"],
            () => new NoiseTunnel(new Gradient()) { Samples = 3, Seed = 11, Stdev = 0.05 }, new ExplainOptions() },
        { "integrated-gradients", ["--tolerance", "0.05", "--max-steps", "32"],
            () => new IntegratedGradients { Adaptive = AdaptiveIntegration.Default with { Tolerance = 0.05, MaxSteps = 32 } }, new ExplainOptions() },
        { "conductance", ["--layer", "bert.encoder.layer.1"], () => new LayerConductance { Layer = "bert.encoder.layer.1" }, new ExplainOptions() },
        { "smoothgrad", ["--inner", "integrated-gradients", "--steps", "3", "--noise-samples", "2"],
            () => new NoiseTunnel(new IntegratedGradients { Steps = 3 }) { Samples = 2 }, new ExplainOptions() },
        { "occlusion", ["--window", "2", "--stride", "1", "--features", "tokens", "--score", "probability"],
            () => new Occlusion { Window = 2, Features = LimeFeatures.Tokens }, new ExplainOptions { Score = ScoreOutput.Probability } },
        { "occlusion", ["--perturbation", "baseline", "--features", "words-punct"],
            () => new Occlusion { Perturbation = AbsentFeature.Baseline, Features = LimeFeatures.WordsAndPunctuation }, new ExplainOptions() },
        { "shapley", ["--max-features", "9", "--perturbation", "remove"],
            () => new ShapleyValues { MaxFeatures = 9, Perturbation = AbsentFeature.Remove }, new ExplainOptions() },
        { "occlusion", ["--token-budget", "16"], () => new Occlusion { TokenBudget = 16 }, new ExplainOptions { TokenBudget = 16 } },
        { "lime", ["--token-budget", "40", "--samples", "20"], () => new Lime { TokenBudget = 40, Samples = 20 }, new ExplainOptions { TokenBudget = 40 } },
        { "gradient-x-input", ["--token-budget", "8"], () => new GradientXInput(), new ExplainOptions { TokenBudget = 8 } },
        { "integrated-gradients", ["--steps", "6", "--token-budget", "30"], () => new IntegratedGradients { Steps = 6, TokenBudget = 30 }, new ExplainOptions { TokenBudget = 30 } },
        { "gradient-shap", ["--token-budget", "30"], () => new GradientShap { TokenBudget = 30 }, new ExplainOptions { TokenBudget = 30 } },
        { "shapley-sampling", ["--samples", "6", "--seed", "2"], () => new ShapleyValueSampling { Samples = 6, Seed = 2 }, new ExplainOptions() },
        { "kernel-shap", ["--samples", "40", "--seed", "4", "--target", "0"], () => new KernelShap { Samples = 40, Seed = 4 }, new ExplainOptions { Target = Target.Class(0) } },
        { "gradient-shap", ["--samples", "3", "--seed", "8", "--noise-stdev", "0.01", "--internal-batch-size", "4"],
            () => new GradientShap { Samples = 3, Seed = 8, Stdev = 0.01, InternalBatchSize = 4 }, new ExplainOptions() },
        { "gradient-shap", ["--baseline", "unk"], () => new GradientShap { Baselines = [Baseline.Unk] }, new ExplainOptions() },
    };

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void Json_validates_against_the_schema_and_equals_the_library_result(string method, string[] options, Func<IAttributor> library, ExplainOptions explainOptions)
    {
        var model = fixture.Model;
        var run = CliHarness.Run(["explain", "--model", CliHarness.TinyBert, "--text", Texts[0], "--text", Texts[1], "--method", method, "--format", "json", .. options]);

        run.Code.Should().Be(0, run.ToString());
        CliHarness.SchemaErrors(run.Out).Should().BeEmpty();
        var document = ExplanationJson.Parse(run.Out);
        document.Method.Should().Be(method);
        document.Model.Should().Be(model.Name);
        document.Labels.Should().Equal(model.Labels);
        document.Results.Should().HaveCount(Texts.Length);

        var attributor = library();
        var expected = attributor.Explain(model, Texts, explainOptions);
        var expectedJson = ExplanationJson.Serialize(new ExplanationDocument
        {
            Model = model.Name,
            Method = attributor.Name,
            Settings = expected[0].Settings,
            Labels = model.Labels,
            Results = expected,
        });
        JsonNode.DeepEquals(CliHarness.WithoutTimes(run.Out), CliHarness.WithoutTimes(expectedJson)).Should().BeTrue(
            "the CLI's JSON must equal the library's result for the same settings\nCLI:\n{0}\nlibrary:\n{1}", run.Out, expectedJson);
    }

    /// <summary>
    /// <c>--steps</c> alone gives each path method Captum's default rule (Gauss–Legendre for integrated-gradients and
    /// conductance, the trapezoid for neuron-conductance); <c>--integration</c> overrides it; conductance without
    /// <c>--steps</c> refines the nested trapezoid grid. The JSON records the rule used.
    /// </summary>
    [SkippableTheory]
    [InlineData("conductance", new[] { "--steps", "3" }, "gausslegendre")]
    [InlineData("conductance", new[] { "--steps", "3", "--integration", "riemann-trapezoid" }, "riemann_trapezoid")]
    [InlineData("conductance", new string[0], "trapezoid-nested")]
    [InlineData("conductance", new[] { "--integration", "riemann-trapezoid" }, "trapezoid-nested")]
    [InlineData("integrated-gradients", new[] { "--steps", "3" }, "gausslegendre")]
    [InlineData("neuron-conductance", new[] { "--steps", "3", "--neuron", "1,7" }, "riemann_trapezoid")]
    [InlineData("neuron-conductance", new[] { "--neuron", "1,7", "--integration", "gausslegendre" }, "gausslegendre")]
    public void Json_records_the_integration_rule_used(string method, string[] options, string rule)
    {
        var run = CliHarness.Run(["explain", "--model", CliHarness.TinyBert, "--text", Texts[0], "--method", method, "--format", "json", .. options]);

        run.Code.Should().Be(0, run.ToString());
        ExplanationJson.Parse(run.Out).Results[0].Setting("integration").Should().Be(rule);
    }

    [SkippableFact]
    public void Table_markdown_and_html_name_the_method_and_the_words()
    {
        foreach (var format in new[] { "table", "markdown", "html" })
        {
            var run = CliHarness.Run("explain", "--model", CliHarness.TinyBert, "--text", Texts[0], "--method", "gradient", "--format", format);
            run.Code.Should().Be(0, run.ToString());
            run.Out.Should().Contain("gradient").And.Contain("tedious");
            run.Out.Should().NotContain("\u001b[", "the table is plain when the output is not a terminal");
        }

        CliHarness.Run("explain", "--model", CliHarness.TinyBert, "--text", Texts[0], "--method", "gradient", "--format", "html").Out
            .Should().StartWith("<!DOCTYPE html>");
    }

    [SkippableFact]
    public void Granularity_tokens_shows_word_pieces()
    {
        var run = CliHarness.Run("explain", "--model", CliHarness.TinyBert, "--text", "an unwatchable film", "--method", "gradient", "--granularity", "tokens", "--format", "markdown");
        run.Code.Should().Be(0, run.ToString());
        run.Out.Should().Contain("##watch", "WordPiece continuation tokens are shown at token granularity");
    }

    [SkippableFact]
    public void Output_writes_the_file_and_says_where()
    {
        var folder = Directory.CreateTempSubdirectory("attribution-cli-").FullName;
        try
        {
            var path = Path.Combine(folder, "sub", "out.json");
            var run = CliHarness.Run("explain", "--model", CliHarness.TinyBert, "--text", Texts[0], "--method", "gradient-x-input", "--format", "json", "--output", path);
            run.Code.Should().Be(0, run.ToString());
            run.Out.Should().BeEmpty();
            run.Error.Should().Contain(path);
            ExplanationJson.Parse(File.ReadAllText(path)).Results.Should().ContainSingle();
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [SkippableFact]
    public void Input_file_as_tsv_with_a_sentence_column()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(path, ["sentence\tlabel", "a sometimes tedious film\t0", "", "a great movie\t1"]);
            var run = CliHarness.Run("explain", "--model", CliHarness.TinyBert, "--input", path, "--method", "gradient", "--format", "json");
            run.Code.Should().Be(0, run.ToString());
            ExplanationJson.Parse(run.Out).Results.Select(r => r.Text).Should().Equal("a sometimes tedious film", "a great movie");
            run.Error.Should().Contain($"note: {path}: 1 blank line(s) skipped (line 3); the results are numbered by text, not by line");
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>A plain text file's blank lines are skipped and said so (trailing ones, usual at a file's end, silently).</summary>
    [SkippableFact]
    public void Blank_lines_of_an_input_file_are_skipped_with_a_note()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "a sometimes tedious film\n\n   \na great movie\n\n\n");
            var run = CliHarness.Run("predict", "--model", CliHarness.TinyBert, "--input", path, "--format", "json");
            run.Code.Should().Be(0, run.ToString());
            System.Text.Json.Nodes.JsonNode.Parse(run.Out)!["predictions"]!.AsArray().Select(p => p!["text"]!.GetValue<string>())
                .Should().Equal("a sometimes tedious film", "a great movie");
            run.Error.Should().Contain($"note: {path}: 2 blank line(s) skipped (line 2, 3); the results are numbered by text, not by line");
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// --aggregate is not idle with --granularity tokens, so the pair is not refused: the table, Markdown and HTML then
    /// show token scores only, but the JSON keeps every result's word scores, which --aggregate decides. Each word's
    /// score is checked against the mean of its tokens' scores in the same JSON (the same float64 sum and division, so
    /// within 1e-15 relative).
    /// </summary>
    [SkippableFact]
    public void Aggregate_with_token_granularity_still_decides_the_json_word_scores()
    {
        var run = CliHarness.Run("explain", "--model", CliHarness.TinyBert, "--text", "an unremarkable, overlong film", "--method", "gradient-x-input",
            "--granularity", "tokens", "--aggregate", "mean", "--format", "json");
        run.Code.Should().Be(0, run.ToString());
        var result = JsonNode.Parse(run.Out)!["results"]![0]!;
        result["word_aggregation"]!.GetValue<string>().Should().Be("mean");
        var scores = result["scores"]!.AsArray().Select(x => x!.GetValue<double>()).ToArray();
        var words = result["words"]!.AsArray();
        words.Should().Contain(w => w!["token_indices"]!.AsArray().Count > 1, "a word of several tokens tells mean from sum");
        foreach (var word in words)
        {
            var indices = word!["token_indices"]!.AsArray().Select(x => x!.GetValue<int>()).ToArray();
            var mean = indices.Sum(i => scores[i]) / indices.Length;
            word["score"]!.GetValue<double>().Should().BeApproximately(mean, 1e-15 * Math.Max(1, Math.Abs(mean)));
        }
    }

    [SkippableFact]
    public void Progress_is_reported_per_chunk_when_there_are_several()
    {
        var run = CliHarness.Run("explain", "--model", CliHarness.TinyBert, "--text", Texts[0], "--text", Texts[1], "--text", "a great movie",
            "--method", "gradient", "--batch-size", "2", "--format", "json");
        run.Code.Should().Be(0, run.ToString());
        run.Error.Should().Contain("explained 2/3 texts").And.Contain("explained 3/3 texts");
        ExplanationJson.Parse(run.Out).Results.Select(r => r.Text).Should().Equal(Texts[0], Texts[1], "a great movie");

        var single = CliHarness.Run("explain", "--model", CliHarness.TinyBert, "--text", Texts[0], "--method", "gradient");
        single.Error.Should().NotContain("explained", "one chunk to a non-terminal needs no progress");
    }

    [SkippableFact]
    public void Ctrl_c_stops_between_chunks_with_exit_code_130()
    {
        using var cancellation = new CancellationTokenSource();
        using var output = new StringWriter();
        using var error = new CancelOnWrite("explained 1/3", cancellation);
        var code = Attribution.Cli.CliApp.Run(
            ["explain", "--model", CliHarness.TinyBert, "--text", "one", "--text", "two", "--text", "three", "--method", "gradient", "--batch-size", "1", "--format", "json"],
            new Attribution.Cli.CliContext { Out = output, Error = error, Cancellation = cancellation.Token });

        code.Should().Be(130, error.ToString());
        error.ToString().Should().Contain("cancelled: explained 1/3 texts");
        output.ToString().Should().BeEmpty("nothing is written after a cancellation");
    }

    [SkippableFact]
    public void Model_specific_bad_values_exit_2_naming_the_option()
    {
        var bert = CliHarness.TinyBert;
        (string[] Args, string Option)[] cases =
        [
            (["--method", "gradient", "--target", "neutral"], "--target"),
            (["--method", "gradient", "--target", "5"], "--target"),
            (["--method", "integrated-gradients", "--layer", "bert.no.such.layer"], "--layer"),
            (["--method", "gradient-x-input", "--normalize", "min-max"], "--normalize"),
        ];
        foreach (var (args, option) in cases)
        {
            var run = CliHarness.Run(["explain", "--model", bert, "--text", "a film", .. args]);
            run.Code.Should().Be(2, run.ToString());
            run.Error.Should().Contain(option, run.ToString());
            run.Error.Should().NotContain("   at ", "no stack trace without --verbose");
        }

        var tooLong = CliHarness.Run("explain", "--model", bert, "--text", string.Join(' ', Enumerable.Repeat("film", 200)), "--method", "gradient");
        tooLong.Code.Should().Be(2, tooLong.ToString());
        tooLong.Error.Should().Contain("--truncate");
        var truncated = CliHarness.Run("explain", "--model", bert, "--text", string.Join(' ', Enumerable.Repeat("film", 200)), "--method", "gradient", "--truncate", "--format", "json");
        truncated.Code.Should().Be(0, truncated.ToString());
        ExplanationJson.Parse(truncated.Out).Results[0].Notes.Should().Contain(n => n.Contains("truncated"));
    }

    [SkippableFact]
    public void Shapley_on_too_many_features_names_only_fixes_that_can_work()
    {
        // 25 words: beyond the 20 features exact Shapley values take at all, so raising --max-features cannot help.
        var beyond = CliHarness.Run("explain", "--model", CliHarness.TinyBert, "--method", "shapley", "--max-features", "20",
            "--text", string.Join(' ', Enumerable.Repeat("film", 25)));
        beyond.Code.Should().Be(2, beyond.ToString());
        beyond.Error.Should().Contain("25 features").And.Contain("limit of 20 features").And.Contain("shapley-sampling or kernel-shap")
            .And.Contain("shorten the text");
        beyond.Error.Should().NotContain("raise", "--max-features is at its maximum (20)");
        beyond.Error.Should().NotContain("--features words", "the features are whole words already");

        // 15 tokens under the default limit of 12: raising it to 15 works; whole words are named as well (coarser where a word is several tokens).
        var raisable = CliHarness.Run("explain", "--model", CliHarness.TinyBert, "--method", "shapley", "--features", "tokens",
            "--text", string.Join(' ', Enumerable.Repeat("film", 15)));
        raisable.Code.Should().Be(2, raisable.ToString());
        raisable.Error.Should().Contain("15 features").And.Contain("raise MaxFeatures / --max-features from 12 to 15").And.Contain("--features words");
    }

    [SkippableTheory]
    [InlineData("--target", "1")]
    [InlineData("--score", "probability")]
    public void Attention_rollout_refuses_a_target_or_score_it_cannot_depend_on(string option, string value)
    {
        // Rollout (Abnar and Zuidema 2020) multiplies the attention matrices only: no class or output enters it, so the
        // document would record a target or score that changed nothing.
        var run = CliHarness.Run("explain", "--model", CliHarness.TinyBert, "--method", "attention-rollout", "--text", Texts[0], option, value);
        run.Code.Should().Be(2, run.ToString());
        run.Error.Should().StartWith($"error: {option}: attention-rollout reads the attention weights only").And.Contain($"leave {option} out")
            .And.Contain("grad-attention-rollout");

        // The gradient-weighted form depends on both, and takes them.
        var weighted = CliHarness.Run("explain", "--model", CliHarness.TinyBert, "--method", "grad-attention-rollout", "--text", Texts[0], option, value);
        weighted.Code.Should().Be(0, weighted.ToString());
    }
}
