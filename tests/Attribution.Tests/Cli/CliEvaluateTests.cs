using System.Text.Json;
using Attribution.Cli;
using Attribution.Evaluation;
using Attribution.Methods;
using Attribution.Models;

namespace Attribution.Tests.Cli;

/// <summary><c>attribution evaluate</c>: the metrics equal the library's for the same explanations; bad usage names the option.</summary>
public sealed class CliEvaluateTests
{
    private const string Text = "a sometimes tedious film";

    [SkippableFact]
    public void Json_metrics_equal_the_librarys()
    {
        var run = CliHarness.Run("evaluate", "--model", CliHarness.TinyBert, "--text", Text, "--method", "gradient-x-input",
            "--metric", "comprehensiveness,sufficiency", "--metric", "loo-correlation,plausibility", "--highlight", "tedious", "--format", "json");
        run.Code.Should().Be(0, run.ToString());
        using var document = JsonDocument.Parse(run.Out);
        var metrics = document.RootElement.GetProperty("results")[0].GetProperty("metrics");

        using var model = ClassifierLoader.Load(CliHarness.TinyBert);
        var explanation = new GradientXInput().Explain(model, Text);
        metrics.GetProperty("comprehensiveness").GetProperty("value").GetDouble().Should().Be(RationaleRemoval.Comprehensiveness(model, explanation).Value);
        metrics.GetProperty("sufficiency").GetProperty("value").GetDouble().Should().Be(RationaleRemoval.Sufficiency(model, explanation).Value);
        metrics.GetProperty("loo-correlation").GetProperty("value").GetDouble().Should().Be(LeaveOneOutCorrelation.Compute(model, explanation).Value);
        metrics.GetProperty("mrr").GetProperty("value").GetDouble().Should().Be(Plausibility.Compute(explanation, ["tedious"]).Single(m => m.Metric == "mrr").Value);
        metrics.GetProperty("comprehensiveness").GetProperty("definition").GetString().Should().Contain("p(x) - p(x without");
        document.RootElement.GetProperty("mean").GetProperty("sufficiency").GetDouble().Should().Be(RationaleRemoval.Sufficiency(model, explanation).Value);
    }

    /// <summary>
    /// The metric options not covered above reach the library: --removal mask, --top-k, --perturbation-stdev and
    /// --radius, each compared with the library's value for the same setting and checked to differ from the default's
    /// (so a CLI that ignored the option would fail). Same model, same explanation, same arithmetic: exact equality.
    /// </summary>
    [SkippableFact]
    public void Removal_top_k_stdev_and_radius_reach_the_library()
    {
        using var model = ClassifierLoader.Load(CliHarness.TinyBert);
        const string text = "the film was superb , the plot was not";
        var explanation = new GradientXInput().Explain(model, text);
        JsonElement Metrics(params string[] extra)
        {
            var run = CliHarness.Run(["evaluate", "--model", CliHarness.TinyBert, "--text", text, "--method", "gradient-x-input", "--format", "json", .. extra]);
            run.Code.Should().Be(0, run.ToString());
            return JsonDocument.Parse(run.Out).RootElement.GetProperty("results")[0].GetProperty("metrics").Clone();
        }

        var masked = RationaleRemoval.Comprehensiveness(model, explanation, TokenRemoval.Mask).Value;
        masked.Should().NotBe(RationaleRemoval.Comprehensiveness(model, explanation).Value);
        Metrics("--metric", "comprehensiveness", "--removal", "mask").GetProperty("comprehensiveness").GetProperty("value").GetDouble().Should().Be(masked);

        var f1 = Plausibility.Compute(explanation, ["superb", "not"], 4).Single(m => m.Metric == "token-f1").Value;
        f1.Should().NotBe(Plausibility.Compute(explanation, ["superb", "not"]).Single(m => m.Metric == "token-f1").Value);
        Metrics("--metric", "plausibility", "--highlight", "superb,not", "--top-k", "4").GetProperty("token-f1").GetProperty("value").GetDouble().Should().Be(f1);

        var raw = new GradientXInput().Explain(model, text, new Attribution.Pipeline.ExplainOptions
        {
            KeepRawAttributions = true, Salience = new Attribution.Salience.SalienceOptions { KeepSpecialTokens = true },
        });
        var infidelity = Infidelity.Compute(model, raw, new InfidelitySettings { Samples = 3, Stdev = 0.2 }).Value;
        infidelity.Should().NotBe(Infidelity.Compute(model, raw, new InfidelitySettings { Samples = 3 }).Value);
        Metrics("--metric", "infidelity", "--metric-samples", "3", "--perturbation-stdev", "0.2").GetProperty("infidelity").GetProperty("value").GetDouble().Should().Be(infidelity);

        var sensitivity = MaxSensitivity.Compute(model, new GradientXInput(), text, null, new SensitivitySettings { Samples = 3, Radius = 0.2 }).Value;
        sensitivity.Should().NotBe(MaxSensitivity.Compute(model, new GradientXInput(), text, null, new SensitivitySettings { Samples = 3 }).Value);
        Metrics("--metric", "max-sensitivity", "--metric-samples", "3", "--radius", "0.2").GetProperty("max-sensitivity").GetProperty("value").GetDouble().Should().Be(sensitivity);
    }

    /// <summary>
    /// --perturbation-stdev, --radius, --smooth and --fraction went through System.CommandLine's own double parser, which
    /// reads the current culture: under de-DE "0.2" was 2 (the dot a group separator), so the metric came out for a
    /// perturbation ten times too large, and "0,2" passed. They read numbers as every other option does: with a dot
    /// whatever the culture, anything else refused naming the option. (Culture is per thread; restored after.)
    /// </summary>
    [SkippableFact]
    public void Decimal_options_read_a_dot_whatever_the_culture()
    {
        using var model = ClassifierLoader.Load(CliHarness.TinyBert);
        var sensitivity = MaxSensitivity.Compute(model, new GradientXInput(), Text, null, new SensitivitySettings { Samples = 3, Radius = 0.2 }).Value;
        var previous = System.Globalization.CultureInfo.CurrentCulture;
        System.Globalization.CultureInfo.CurrentCulture = TestCultures.DecimalComma;
        try
        {
            var run = CliHarness.Run("evaluate", "--model", CliHarness.TinyBert, "--text", Text, "--method", "gradient-x-input", "--format", "json",
                "--metric", "max-sensitivity", "--metric-samples", "3", "--radius", "0.2");
            run.Code.Should().Be(0, run.ToString());
            using var document = JsonDocument.Parse(run.Out);
            document.RootElement.GetProperty("results")[0].GetProperty("metrics").GetProperty("max-sensitivity").GetProperty("value").GetDouble()
                .Should().Be(sensitivity, "--radius 0.2 is 0.2 under de-DE too");

            foreach (var (option, args) in new (string, string[])[]
            {
                ("--radius", ["evaluate", "--model", CliHarness.TinyBert, "--text", Text, "--method", "gradient", "--metric", "max-sensitivity", "--radius", "0,2"]),
                ("--perturbation-stdev", ["evaluate", "--model", CliHarness.TinyBert, "--text", Text, "--method", "gradient", "--metric", "infidelity", "--perturbation-stdev", "0,2"]),
                ("--smooth", ["evaluate", "--model", CliHarness.TinyBert, "--text", Text, "--method", "gradient", "--metric", "infidelity", "--smooth", "2,5"]),
                ("--fraction", ["shortcut", "--demo", "--fraction", "1,5"]),
            })
            {
                var refused = CliHarness.Run(args);
                refused.Code.Should().Be(ExitCodes.Usage, refused.ToString());
                refused.Error.Should().Contain($"{option}: '{args[^1]}' is not a number (write decimals with a dot");
            }
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = previous;
        }
    }

    /// <summary>
    /// Texts from --text come before the --input file's, but a TSV's 'highlight' column has rows for the file's texts
    /// only: the file's first row's words were checked against the first --text ("'bad' are not words of \"a good
    /// film\"") or, when they fitted, the last text read past the column's end ("text 2: Index was out of range").
    /// Mixing them is now refused naming --text and both fixes; --text with a TSV --input stays fine for other metrics.
    /// </summary>
    [SkippableTheory]
    [InlineData("evaluate", "--method", "gradient", "--metric", "plausibility")]
    [InlineData("scorecard", "--methods", "gradient,occlusion")]
    public void Texts_of_text_beside_a_tsv_highlight_column_are_refused_not_given_the_files_highlights(params string[] command)
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "sentence\thighlight\na bad film\tbad\n");
            foreach (var text in new[] { "a good film", "a bad movie" })
            {
                var run = CliHarness.Run([.. command, "--model", CliHarness.TinyBert, "--text", text, "--input", path, "--format", "json"]);
                run.Code.Should().Be(2, run.ToString());
                run.Error.Should().StartWith($"error: --text: 1 text(s) of --text have no 'highlight' value: {path}'s 'highlight' column gives one for its own rows only");
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [SkippableFact]
    public void Texts_of_text_beside_a_tsv_highlight_column_are_fine_when_no_metric_needs_highlights()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "sentence\thighlight\na bad film\tbad\n");
            var run = CliHarness.Run("evaluate", "--model", CliHarness.TinyBert, "--text", "a good film", "--input", path, "--method", "gradient",
                "--metric", "sufficiency", "--format", "json");
            run.Code.Should().Be(0, run.ToString());
            JsonDocument.Parse(run.Out).RootElement.GetProperty("results").GetArrayLength().Should().Be(2);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [SkippableFact]
    public void The_table_writes_the_text_printable()
    {
        // An escape sequence in a text must not reach the terminal through the table's text column.
        var run = CliHarness.Run("evaluate", "--model", CliHarness.TinyBert, "--text", "a \u001b[2Jred film", "--method", "gradient", "--metric", "comprehensiveness");
        run.Code.Should().Be(0, run.ToString());
        run.Out.Should().NotContain("\u001b").And.Contain("  a \uFFFD[2Jred film\n");

        // A line separator (not a control character) would break the row where a terminal honours it: a space.
        run = CliHarness.Run("evaluate", "--model", CliHarness.TinyBert, "--text", "a red\u2028film", "--method", "gradient", "--metric", "comprehensiveness");
        run.Code.Should().Be(0, run.ToString());
        run.Out.Should().NotContain("\u2028").And.Contain("  a red film\n");
    }

    [SkippableFact]
    public void The_table_says_why_a_value_is_nan_and_what_the_mean_is_over()
    {
        // τ-LOO of a one-word text is undefined; the mean row is the other text's value alone.
        var run = CliHarness.Run("evaluate", "--model", CliHarness.TinyBert, "--text", "fine", "--text", Text, "--method", "gradient-x-input",
            "--metric", "loo-correlation");
        run.Code.Should().Be(0, run.ToString());
        run.Out.Should().Contain("note: text 1, loo-correlation: fewer than two words")
            .And.Contain("note: the mean of loo-correlation is over the 1 of 2 texts where it is defined")
            .And.NotContain("note: text 2");
    }

    /// <summary>
    /// On short texts every row carried the same removal note, one line per text and metric, burying the table; a note
    /// that several texts share is now one line naming them, in the order the texts first have it, and a note of one
    /// text keeps its form.
    /// </summary>
    [Fact]
    public void A_note_several_texts_share_is_said_once_with_their_numbers()
    {
        static Attribution.Evaluation.MetricResult Metric(string name, string? note) => new(name, 0.5, "d", [], [], note);
        var e = Attribution.Tests.Salience.SalienceSamples.Make("good film");
        var results = new List<(Attribution.Methods.Explanation, List<Attribution.Evaluation.MetricResult>)>
        {
            (e, [Metric("comprehensiveness", "3 fraction(s) gave no whole token"), Metric("sufficiency", null)]),
            (e, [Metric("comprehensiveness", "2 fraction(s) gave no whole token"), Metric("sufficiency", "only once")]),
            (e, [Metric("comprehensiveness", "3 fraction(s) gave no whole token"), Metric("sufficiency", null)]),
        };

        var table = Attribution.Cli.EvaluateCommand.Table(new Attribution.Methods.Gradient(), results);

        var notes = table.Split('\n').Where(l => l.StartsWith("note: ", StringComparison.Ordinal)).ToArray();
        notes.Should().Equal(
            "note: texts 1, 3, comprehensiveness: 3 fraction(s) gave no whole token",
            "note: text 2, comprehensiveness: 2 fraction(s) gave no whole token",
            "note: text 2, sufficiency: only once");
    }

    [SkippableFact]
    public void Embedding_metrics_equal_the_librarys()
    {
        var run = CliHarness.Run("evaluate", "--model", CliHarness.TinyBert, "--text", Text, "--method", "integrated-gradients", "--steps", "8",
            "--metric", "infidelity,max-sensitivity", "--metric-samples", "4", "--metric-seed", "3", "--normalize-infidelity", "--format", "json");
        run.Code.Should().Be(0, run.ToString());
        using var document = JsonDocument.Parse(run.Out);
        var metrics = document.RootElement.GetProperty("results")[0].GetProperty("metrics");

        using var model = ClassifierLoader.Load(CliHarness.TinyBert);
        var ig = new IntegratedGradients { Steps = 8 };
        var explanation = ig.Explain(model, Text, new ExplainOptions { KeepRawAttributions = true, Salience = new Attribution.Salience.SalienceOptions { KeepSpecialTokens = true } });
        metrics.GetProperty("infidelity").GetProperty("value").GetDouble().Should().Be(
            Infidelity.Compute(model, explanation, new InfidelitySettings { Samples = 4, Seed = 3, Normalize = true }).Value);
        metrics.GetProperty("max-sensitivity").GetProperty("value").GetDouble().Should().Be(
            MaxSensitivity.Compute(model, ig, Text, null, new SensitivitySettings { Samples = 4, Seed = 3 }).Value);
    }

    /// <summary>
    /// Infidelity of gradient-shap over its two default baselines (pad, zero) cannot take Captum's multiply-by-inputs
    /// form (no one x′ to divide by): a usage error naming --method and the fix; with one --baseline it is scored, as
    /// the library scores the same explanation (same arithmetic: exact equality).
    /// </summary>
    [SkippableFact]
    public void Infidelity_of_gradient_shap_needs_one_baseline()
    {
        var run = CliHarness.Run("evaluate", "--model", CliHarness.TinyBert, "--text", Text, "--method", "gradient-shap", "--metric", "infidelity", "--metric-samples", "2");
        run.Code.Should().Be(2, run.ToString());
        run.Error.Should().StartWith("error: --method: infidelity: infidelity cannot tell whether the map of 'gradient-shap'").And.Contain("give gradient-shap one --baseline");

        run = CliHarness.Run("evaluate", "--model", CliHarness.TinyBert, "--text", Text, "--method", "gradient-shap", "--baseline", "pad",
            "--metric", "infidelity", "--metric-samples", "2", "--format", "json");
        run.Code.Should().Be(0, run.ToString());
        using var document = JsonDocument.Parse(run.Out);
        var infidelity = document.RootElement.GetProperty("results")[0].GetProperty("metrics").GetProperty("infidelity");
        infidelity.GetProperty("definition").GetString().Should().Contain("(I_s / (x - x')).phi");

        using var model = ClassifierLoader.Load(CliHarness.TinyBert);
        var explanation = new GradientShap { Baselines = [Baseline.Pad] }.Explain(model, Text,
            new ExplainOptions { KeepRawAttributions = true, Salience = new Attribution.Salience.SalienceOptions { KeepSpecialTokens = true } });
        infidelity.GetProperty("value").GetDouble().Should().Be(Infidelity.Compute(model, explanation, new InfidelitySettings { Samples = 2 }).Value);
    }

    /// <summary>
    /// A highlighted word missing from a text is refused from the texts alone, before the model loads: here the model
    /// folder's weights cannot be read, so any model work would fail with another error (about --model).
    /// </summary>
    [Fact]
    public void A_highlighted_word_missing_from_a_text_is_refused_before_the_model_loads()
    {
        var root = Directory.CreateTempSubdirectory("attribution-cli-evaluate-").FullName;
        try
        {
            var folder = Attribution.Tests.Models.Small.SmallModelKit.SaveRandom(root, SmallClassifierConfig.CnnType);
            foreach (var weights in Directory.GetFiles(folder, "*.safetensors"))
            {
                File.WriteAllText(weights, "not safetensors");
            }

            var run = CliHarness.Run("evaluate", "--model", folder, "--method", "gradient", "--metric", "plausibility", "--text", Text,
                "--highlight", "tedious,masterpiece");
            run.Code.Should().Be(2, run.ToString());
            run.Error.Should().Contain("--highlight").And.Contain("'masterpiece' are not words of \"a sometimes tedious film\"").And.NotContain("--model");
            run.Out.Should().BeEmpty();
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Theory]
    [InlineData("--method", new[] { "--metric", "max-sensitivity", "--method", "lime" })]
    [InlineData("--radius", new[] { "--metric", "max-sensitivity", "--radius", "0" })]
    [InlineData("--metric-samples", new[] { "--metric", "infidelity", "--metric-samples", "0" })]
    [InlineData("--metric", new[] { "--metric", "fidelity" })]
    [InlineData("--metric", new[] { "--metric", "sufficiency,sufficiency" })]
    [InlineData("--highlight", new[] { "--metric", "plausibility" })]
    [InlineData("--highlight", new[] { "--metric", "plausibility", "--highlight", "masterpiece" })]
    [InlineData("--top-k", new[] { "--metric", "plausibility", "--highlight", "film", "--top-k", "0" })]
    [InlineData("--top-k", new[] { "--metric", "plausibility", "--highlight", "film", "--top-k", "9" })]
    [InlineData("--removal", new[] { "--metric", "sufficiency", "--removal", "blank" })]
    [InlineData("--format", new[] { "--metric", "sufficiency", "--format", "html" })]
    public void Bad_usage_names_the_option(string option, string[] extra)
    {
        var run = CliHarness.Run(["evaluate", "--text", Text, .. extra.Contains("--method") ? extra : ["--method", "gradient", .. extra]]);
        run.Code.Should().Be(2, run.ToString());
        run.Error.Should().Contain(option);
    }

    /// <summary>
    /// A radius or spread beyond float32's largest value (3.4028235E+38) is infinite in the model's word embeddings:
    /// refused before the model loads, naming the option and the value (the metric refused it only after the texts were
    /// explained).
    /// </summary>
    [Theory]
    [InlineData("--radius", "max-sensitivity", "the radius")]
    [InlineData("--perturbation-stdev", "infidelity", "the standard deviation")]
    public void A_perturbation_size_beyond_float32_is_refused_naming_the_option(string option, string metric, string what)
    {
        var run = CliHarness.Run(["evaluate", "--text", Text, "--method", "gradient", "--metric", metric, option, "1e300"]);
        run.Code.Should().Be(2, run.ToString());
        run.Error.Should().StartWith($"error: {option}: {what} exceeds 3.4028235E+38 in size, float32's largest value").And.Contain("(got 1E+300)");
    }

    /// <summary>
    /// --removal mask on a model whose tokenizer has no mask token (a vocabulary without [MASK], which WordPiece allows)
    /// was refused by the first comprehensiveness, after every text had been explained; now after the model loads and
    /// before any explanation, by the scorecard's rule (ScorecardRemovalTests counts the model calls: none).
    /// </summary>
    [Fact]
    public void Removal_mask_without_a_mask_token_is_refused_before_the_texts_are_explained()
    {
        var root = Directory.CreateTempSubdirectory("attribution-cli-evaluate-nomask-").FullName;
        try
        {
            var folder = Attribution.Tests.Models.Small.SmallModelKit.SaveRandom(root, SmallClassifierConfig.MlpType);
            var vocab = Path.Combine(folder, "vocab.txt");
            var lines = File.ReadAllLines(vocab);
            Array.IndexOf(lines, "[MASK]").Should().Be(4, "WordVocabulary writes [PAD] [UNK] [CLS] [SEP] [MASK] first");
            lines[4] = "[unused0]";
            File.WriteAllLines(vocab, lines);

            var run = CliHarness.Run("evaluate", "--model", folder, "--text", Text, "--method", "gradient", "--metric", "comprehensiveness", "--removal", "mask");
            run.Code.Should().Be(2, run.ToString());
            run.Error.Should().StartWith("error: --removal: --removal is mask, but ").And.Contain("'s tokenizer has no mask token")
                .And.Contain("use remove, which deletes them");

            // The removal the message names works on it.
            CliHarness.Run("evaluate", "--model", folder, "--text", Text, "--method", "gradient", "--metric", "comprehensiveness").Code.Should().Be(0);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>An option of a metric that --metric does not name would change nothing: refused before the model loads.</summary>
    [Theory]
    [InlineData("--removal", "comprehensiveness or sufficiency", new[] { "--removal", "mask" })]
    [InlineData("--highlight", "plausibility", new[] { "--highlight", "tedious" })]
    [InlineData("--top-k", "plausibility", new[] { "--top-k", "2" })]
    [InlineData("--metric-samples", "infidelity or max-sensitivity", new[] { "--metric-samples", "3" })]
    [InlineData("--metric-seed", "infidelity or max-sensitivity", new[] { "--metric-seed", "3" })]
    [InlineData("--perturbation-stdev", "infidelity", new[] { "--perturbation-stdev", "0.1" })]
    [InlineData("--normalize-infidelity", "infidelity", new[] { "--normalize-infidelity" })]
    [InlineData("--radius", "max-sensitivity", new[] { "--radius", "0.1" })]
    public void An_option_of_a_metric_not_asked_for_is_refused(string option, string metrics, string[] extra)
    {
        var run = CliHarness.Run(["evaluate", "--text", Text, "--method", "gradient", "--metric", "loo-correlation", .. extra]);

        run.Code.Should().Be(2, run.ToString());
        run.Error.Should().StartWith($"error: {option}: applies to {metrics} only, and --metric loo-correlation names none of them")
            .And.Contain($"leave {option} out");
    }

    [Fact]
    public void Infidelity_on_non_finite_attributions_is_a_failure_of_the_run_not_a_usage_error_of_method()
    {
        // Infidelity refuses an explanation with a NaN attribution (ParamName "explanation", as for one without
        // per-dimension attributions). evaluate reported it as "--method: ..." with the usage exit code, pointing at an
        // option that was not at fault: the method gave NaN on this text.
        var e = Attribution.Tests.Salience.SalienceSamples.Make("good film");
        var raw = Enumerable.Range(0, e.Tokens.Length).Select(t => System.Collections.Immutable.ImmutableArray.Create(0.5f, t == 2 ? float.NaN : 1f)).ToArray();
        var broken = e with { RawAttributions = raw, SpecialTokensKept = true };
        var refusal = new ArgumentException("infidelity needs finite attributions, but ...", "explanation");

        var failure = EvaluateCommand.MetricRefusal("infidelity", 1, refusal, broken, "gradient-x-input");
        using var error = new StringWriter();
        var code = CliApp.Report(failure, new CliContext { Out = TextWriter.Null, Error = error }, verbose: false);
        code.Should().Be(ExitCodes.Failure);
        error.ToString().Should().StartWith("error: infidelity, text 2: gradient-x-input gave a non-finite attribution (token 2, dimension 1 is NaN)")
            .And.NotContain("--method");

        // Without kept attributions the method cannot give what infidelity needs: that is --method's fault.
        var usage = EvaluateCommand.MetricRefusal("infidelity", 0, new ArgumentException("infidelity needs the per-dimension attributions", "explanation"), e, "lime");
        using var usageError = new StringWriter();
        CliApp.Report(usage, new CliContext { Out = TextWriter.Null, Error = usageError }, verbose: false).Should().Be(ExitCodes.Usage);
        usageError.ToString().Should().StartWith("error: --method: infidelity: infidelity needs the per-dimension attributions");
    }

    [Fact]
    public void A_highlight_column_is_read_from_standard_input_and_a_missing_value_is_told_by_its_file_line()
    {
        // The highlight column was read by opening the file again: for --input - that read nothing, so plausibility
        // said no highlight column was given (evaluate) or was silently left out (scorecard); and blank lines were
        // dropped before rows were numbered, so a row on line 5 was called line 3.
        const string tsv = "sentence\thighlight\na good film\tgood\nbad plot , dull cast\tdull\n";
        var root = Directory.CreateTempSubdirectory("cli-evaluate-stdin-").FullName;
        try
        {
            var file = Path.Combine(root, "h.tsv");
            File.WriteAllText(file, tsv);
            var fromFile = CliHarness.Run("evaluate", "--input", file, "--method", "occlusion", "--metric", "plausibility", "--format", "json");
            fromFile.Code.Should().Be(0, fromFile.ToString());
            var fromStdin = CliHarness.Run(new CliContext { Out = TextWriter.Null, Error = TextWriter.Null, In = new StringReader(tsv) },
                "evaluate", "--input", "-", "--method", "occlusion", "--metric", "plausibility", "--format", "json");
            fromStdin.Code.Should().Be(0, fromStdin.ToString());
            fromStdin.Out.Should().Contain("\"auprc\"");
            CliHarness.WithoutTimes(fromStdin.Out).ToJsonString().Should().Be(CliHarness.WithoutTimes(fromFile.Out).ToJsonString());

            var scorecard = CliHarness.Run(new CliContext { Out = TextWriter.Null, Error = TextWriter.Null, In = new StringReader(tsv) },
                "scorecard", "--input", "-", "--methods", "occlusion", "--format", "json");
            scorecard.Code.Should().Be(0, scorecard.ToString());
            scorecard.Out.Should().Contain("\"auprc\":").And.Contain("\"mrr\":");

            // Line 5 of the file (two blank lines above it) has no highlight.
            var gap = Path.Combine(root, "gap.tsv");
            File.WriteAllText(gap, "sentence\thighlight\na good film\tgood\n\n\nbad plot\t\n");
            var missing = CliHarness.Run("evaluate", "--input", gap, "--method", "occlusion", "--metric", "plausibility");
            missing.Code.Should().Be(2, missing.ToString());
            missing.Error.Should().Contain($"error: --input: {gap}, line 5: the row has no 'highlight' value");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>
    /// Ctrl-C after the last text is explained (the progress line says so) stops the metrics: exit code 130 and nothing
    /// written. Before, evaluate gave its metrics no token and nothing checked one after the explanations: the run went
    /// on through every metric of every text and wrote them, exit code 0.
    /// </summary>
    [SkippableFact]
    public void Ctrl_c_after_the_explanations_stops_the_metrics_with_exit_code_130()
    {
        using var cancellation = new CancellationTokenSource();
        using var output = new StringWriter();
        using var error = new CancelOnWrite("explained 2/2", cancellation);
        var code = CliApp.Run(
            ["evaluate", "--model", CliHarness.TinyBert, "--text", Text, "--text", "the plot was dull", "--method", "gradient", "--batch-size", "1",
                "--metric", "comprehensiveness,loo-correlation", "--format", "json"],
            new CliContext { Out = output, Error = error, Cancellation = cancellation.Token });

        code.Should().Be(130, error.ToString());
        error.ToString().Should().Contain("cancelled by Ctrl-C; nothing was written");
        output.ToString().Should().BeEmpty("nothing is written after a cancellation");
    }
}
