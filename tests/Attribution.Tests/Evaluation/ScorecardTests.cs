using Attribution.Evaluation;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Salience;
using Attribution.Tests.Cli;
using Attribution.Tests.Models.Small;

namespace Attribution.Tests.Evaluation;

/// <summary>The scorecard's figures are the metrics' own means over the texts, per method; it applies each metric only where it can.</summary>
public sealed class ScorecardTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("attribution-scorecard-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Fact]
    public void Rows_are_the_metrics_means_and_leave_out_what_does_not_apply()
    {
        using var model = SmallModelKit.Random(root, Attribution.Models.SmallClassifierConfig.MlpType);
        string[] texts = ["the plot was dull but the cast was superb", "a sometimes tedious film"];
        IReadOnlyCollection<string>[] highlights = [["dull"], ["tedious"]];
        var report = Scorecard.Run(model, texts, [new GradientXInput(), new Occlusion()], highlights,
            new ScorecardSettings { Infidelity = new InfidelitySettings { Samples = 3 }, Sensitivity = new SensitivitySettings { Samples = 3 } });

        report.Rows.Select(r => r.Method).Should().Equal("gradient-x-input", "occlusion");
        var options = new ExplainOptions { KeepRawAttributions = true, Salience = new SalienceOptions { KeepSpecialTokens = true } };
        var gxi = new GradientXInput().Explain(model, texts, options);
        report.Rows[0].Metrics["comprehensiveness"].Should().BeApproximately(gxi.Average(e => RationaleRemoval.Comprehensiveness(model, e).Value), 1e-12);
        report.Rows[0].Metrics["mrr"].Should().BeApproximately(gxi.Select((e, t) => Plausibility.Compute(e, highlights[t]).Single(m => m.Metric == "mrr").Value).Average(), 1e-12);
        report.Rows[0].Metrics.Should().ContainKeys("infidelity", "max-sensitivity", "loo-correlation", "sufficiency", "auprc", "precision-at-1");
        report.Rows[1].Metrics.Should().NotContainKey("infidelity").And.NotContainKey("max-sensitivity");
        var agreement = texts.Select((_, t) => MethodAgreement.Between(gxi[t], new Occlusion().Explain(model, texts[t], options), Granularity.Words)).Average();
        report.Rows[0].Agreement.Should().BeApproximately(agreement, 1e-12);
    }

    [Fact]
    public void A_mean_over_fewer_texts_says_so_and_definitions_state_the_settings_used()
    {
        using var model = SmallModelKit.Random(root, Attribution.Models.SmallClassifierConfig.MlpType);

        // τ-LOO is undefined on a one-word text (nothing to rank): its mean is the other text's value alone.
        string[] texts = ["the plot was dull but the cast was superb", "dull"];
        var settings = new ScorecardSettings
        {
            Infidelity = new InfidelitySettings { Samples = 3, Stdev = 0.1, Seed = 7 },
            Sensitivity = new SensitivitySettings { Samples = 2, Radius = 0.05, Seed = 9 },
        };
        var report = Scorecard.Run(model, texts, [new GradientXInput()], settings: settings);
        var options = new ExplainOptions { KeepRawAttributions = true, Salience = new SalienceOptions { KeepSpecialTokens = true } };
        var first = new GradientXInput().Explain(model, texts[0], options);
        report.Rows[0].Metrics["loo-correlation"].Should().BeApproximately(LeaveOneOutCorrelation.Compute(model, first).Value, 1e-12);
        report.Rows[0].Notes.Should().Contain("loo-correlation is over 1 of 2 texts: undefined (NaN) on the others");

        report.Definitions["infidelity"].Should().Contain("N(0, 0.1^2)").And.Contain("3 samples").And.Contain("seed 7");
        report.Definitions["max-sensitivity"].Should().Contain("radius 0.05").And.Contain("2 samples").And.Contain("seed 9");
        Scorecard.Definitions["infidelity"].Should().Contain("N(0, 0.03^2)").And.Contain("10 samples");
    }

    [Fact]
    public void An_agreement_over_fewer_texts_says_so()
    {
        // Spearman's ρ of a one-word text is undefined (one unit to rank): the mean agreement is the other text's alone,
        // which the row must say, as it does for a metric's mean.
        using var model = SmallModelKit.Random(root, Attribution.Models.SmallClassifierConfig.MlpType);
        string[] texts = ["the plot was dull but the cast was superb", "dull"];
        var settings = new ScorecardSettings { Infidelity = new InfidelitySettings { Samples = 2 }, Sensitivity = new SensitivitySettings { Samples = 2 } };
        var report = Scorecard.Run(model, texts, [new GradientXInput(), new Occlusion()], settings: settings);
        var options = new ExplainOptions { KeepRawAttributions = true, Salience = new SalienceOptions { KeepSpecialTokens = true } };
        report.Rows[0].Agreement.Should().BeApproximately(
            MethodAgreement.Between(new GradientXInput().Explain(model, texts[0], options), new Occlusion().Explain(model, texts[0], options), Granularity.Words), 1e-12);
        report.Rows.Should().AllSatisfy(row => row.Notes.Should().Contain(
            "agreement is over 1 of 2 (method, text) comparisons: undefined (NaN) on the others (fewer than two words, or constant scores)"));

        // Three methods: each row compares with the two others on both texts, 4 comparisons. On this model (a mean of
        // the embeddings) Gradient's scores are constant (every token's gradient is the same), so ρ with Gradient is
        // undefined too: Gradient × Input and occlusion agree on 1 of 4 (each other, on the long text), Gradient on none.
        // With every comparison defined (no one-word text, no Gradient), no agreement note.
        var three = Scorecard.Run(model, texts, [new GradientXInput(), new Occlusion(), new Gradient()], settings: settings);
        foreach (var row in three.Rows.Take(2))
        {
            row.Notes.Should().Contain("agreement is over 1 of 4 (method, text) comparisons: undefined (NaN) on the others (fewer than two words, or constant scores)");
        }

        three.Rows[2].Notes.Should().Contain("agreement is undefined on every text (fewer than two words, or constant scores)");
        var defined = Scorecard.Run(model, [texts[0], "a dull film"], [new GradientXInput(), new Occlusion()], settings: settings);
        defined.Rows.Should().AllSatisfy(row => row.Notes.Should().NotContain(n => n.StartsWith("agreement", StringComparison.Ordinal)));
    }

    [Fact]
    public void Completeness_is_the_median_absolute_delta_over_the_texts()
    {
        // A median, not a mean: one badly converged text (a long one at two steps) must not swamp the column.
        using var model = SmallModelKit.Random(root, Attribution.Models.SmallClassifierConfig.MlpType);
        string[] texts = ["the plot was dull but the cast was superb", "a sometimes tedious film", "superb", "dull and tedious"];
        var ig = new IntegratedGradients { Steps = 2 };
        var report = Scorecard.Run(model, texts, [ig], settings: new ScorecardSettings
        {
            Infidelity = new InfidelitySettings { Samples = 2 },
            Sensitivity = new SensitivitySettings { Samples = 2 },
        });

        var options = new ExplainOptions { KeepRawAttributions = true, Salience = new SalienceOptions { KeepSpecialTokens = true } };
        var deltas = ig.Explain(model, texts, options).Select(e => Math.Abs(e.ConvergenceDelta!.Value)).Order().ToArray();
        var median = (deltas[1] + deltas[2]) / 2;
        Math.Abs(deltas.Average() - median).Should().BeGreaterThan(1e-9, "the texts must tell a median from a mean");
        report.Rows[0].Metrics["completeness-abs-delta"].Should().BeApproximately(median, 1e-12);
    }

    [Fact]
    public void The_shared_definitions_cannot_be_written_and_keep_the_column_order()
    {
        // The command prints Scorecard.Definitions under its tables: cast back to the dictionary it was, it could be
        // rewritten for every scorecard in the process. The value written is the one already there (no change either way).
        var dictionary = (IDictionary<string, string>)Scorecard.Definitions;
        FluentActions.Invoking(() => dictionary["comprehensiveness"] = dictionary["comprehensiveness"]).Should().Throw<NotSupportedException>();
        Scorecard.Definitions.Keys.Should().Equal("comprehensiveness", "sufficiency", "loo-correlation", "infidelity", "max-sensitivity", "auprc",
            "precision-at-1", "mrr", "completeness-abs-delta");
    }

    [Fact]
    public void Two_methods_with_one_name_are_refused()
    {
        using var model = SmallModelKit.Random(root, Attribution.Models.SmallClassifierConfig.CnnType);
        FluentActions.Invoking(() => Scorecard.Run(model, ["a film"], [new Occlusion(), new Occlusion { Window = 2 }]))
            .Should().Throw<ArgumentException>().WithMessage("*share a name*");
        FluentActions.Invoking(() => Scorecard.Run(model, ["a film"], [])).Should().Throw<ArgumentException>()
            .WithMessage("no methods to compare*").Which.ParamName.Should().Be("methods");
        FluentActions.Invoking(() => Scorecard.Run(model, ["a film", "the plot"], [new Occlusion()], [["film"]])).Should().Throw<ArgumentException>()
            .WithMessage("1 highlight lists for 2 texts: give one per text*").Which.ParamName.Should().Be("highlights");
        FluentActions.Invoking(() => Scorecard.Run(model, ["a film", " "], [new Occlusion()])).Should().Throw<ArgumentException>()
            .WithMessage("texts[1] is empty or whitespace*").Which.ParamName.Should().Be("texts");
    }

    [Fact]
    public void A_gradient_method_for_a_model_without_gradients_is_refused_before_any_method_runs()
    {
        // Occlusion first, the gradient method last: the gradient method was refused only after occlusion had explained
        // every text. Now the refusal comes with no model call at all (neither through the wrapper nor a forward pass).
        using var model = SmallModelKit.Random(root, Attribution.Models.SmallClassifierConfig.MlpType);
        using var passes = new Attribution.Tests.Methods.ForwardCounter(model);
        var tokensOnly = new Attribution.Tests.Methods.TokensOnlyClassifier(model);
        FluentActions.Invoking(() => Scorecard.Run(tokensOnly, ["the plot was dull", "a film"], [new Occlusion(), new GradientXInput()]))
            .Should().Throw<ArgumentException>().WithMessage("gradient-x-input needs gradients, which tokens-only does not give*")
            .Which.ParamName.Should().Be("methods");
        tokensOnly.Calls.Should().Be(0, "no method ran");
        passes.Calls.Should().Be(0);

        FluentActions.Invoking(() => Scorecard.Run(tokensOnly, ["a film"], [new Occlusion(), null!]))
            .Should().Throw<ArgumentException>().WithMessage("methods[1] is null*").Which.ParamName.Should().Be("methods");

        // The perturbation method alone runs on it.
        Scorecard.Run(tokensOnly, ["a film"], [new Occlusion()]).Rows.Single().Method.Should().Be("occlusion");
        tokensOnly.Calls.Should().BePositive();
    }

    /// <summary>The refusal of a highlighted word the text lacks, as Plausibility words it (the text's words, by hand).</summary>
    private const string MissingMasterpiece =
        "highlighted word(s) 'masterpiece' are not words of \"a sometimes tedious film\" (its words: a, sometimes, tedious, film)";

    [Fact]
    public void A_highlighted_word_missing_from_a_text_is_refused_before_any_method_runs()
    {
        // The second text lacks its highlighted word: refused with plausibility's own message, and no forward pass
        // (it was refused only after every method had explained every text).
        using var model = SmallModelKit.Random(root, Attribution.Models.SmallClassifierConfig.MlpType);
        using var passes = new Attribution.Tests.Methods.ForwardCounter(model);
        var act = () => Scorecard.Run(model, ["the plot was dull", "a sometimes tedious film"], [new GradientXInput(), new Occlusion()], [["dull"], ["masterpiece"]]);
        // Named as Scorecard.Run's parameter, highlights, with the text's index (it named 'highlighted', no parameter of Run).
        act.Should().Throw<ArgumentException>().WithMessage("highlights[1]: " + MissingMasterpiece + "*").Which.ParamName.Should().Be("highlights");
        passes.Calls.Should().Be(0, "no method ran");

        // A highlighted word in a different case is a word of the text, as plausibility compares them.
        passes.Reset();
        Scorecard.Run(model, ["a sometimes tedious film"], [new Occlusion()], [["TEDIOUS"]]).Rows.Single().Metrics.Should().ContainKey("mrr");
        passes.Calls.Should().BePositive();
    }

    /// <summary>A null highlight list for one text said only "Value cannot be null"; it names highlights and the text's index.</summary>
    [Fact]
    public void A_null_highlight_list_is_refused_naming_highlights_and_the_texts_index()
    {
        using var model = SmallModelKit.Random(root, Attribution.Models.SmallClassifierConfig.MlpType);
        using var passes = new Attribution.Tests.Methods.ForwardCounter(model);
        var act = () => Scorecard.Run(model, ["the plot was dull", "a sometimes tedious film"], [new Occlusion()], [["dull"], null!]);
        act.Should().Throw<ArgumentNullException>().WithMessage("highlights[1]: the highlighted words are null: give a list of the text's highlighted words*")
            .Which.ParamName.Should().Be("highlights");
        passes.Calls.Should().Be(0, "no method ran");
    }

    [Fact]
    public void The_command_refuses_a_highlighted_word_missing_from_the_text_before_loading_the_model()
    {
        // A model folder whose weights cannot be read: any model work (loading, probing the methods, explaining) fails
        // with another error, so the usage error (exit 2, naming --highlight) shows the check ran first.
        var folder = SmallModelKit.SaveRandom(root, Attribution.Models.SmallClassifierConfig.CnnType);
        foreach (var weights in Directory.GetFiles(folder, "*.safetensors"))
        {
            File.WriteAllText(weights, "not safetensors");
        }

        var run = CliHarness.Run("scorecard", "--model", folder, "--text", "a sometimes tedious film", "--highlight", "tedious,masterpiece");
        run.Code.Should().Be(2, run.ToString());
        run.Error.Should().Contain("--highlight").And.Contain(MissingMasterpiece).And.NotContain("scoring", run.ToString());
        run.Out.Should().BeEmpty();
    }

    [Theory]
    [InlineData("markdown", "| gradient-x-input |")]
    [InlineData("html", "<td>gradient-x-input</td>")]
    [InlineData("json", "\"method\": \"gradient-x-input\"")]
    public void The_command_writes_every_format(string format, string expected)
    {
        var folder = SmallModelKit.SaveRandom(root, Attribution.Models.SmallClassifierConfig.CnnType);
        var run = CliHarness.Run("scorecard", "--model", folder, "--text", "a sometimes tedious film", "--methods", "gradient-x-input,occlusion",
            "--highlight", "tedious", "--format", format);
        run.Code.Should().Be(0, run.ToString());
        run.Out.Should().Contain(expected).And.Contain("comprehensiveness");
        if (format == "html")
        {
            run.Out.Should().Contain("<svg", "one bar chart per metric").And.NotContainAny(["http:", "https:", "<script", "src="], "the page is self-contained");
        }
    }

    [Theory]
    [InlineData(2, 0, 2, null)]
    [InlineData(1, 0, 2, "infidelity is over 1 of 2 texts: undefined (NaN) on the others")]
    [InlineData(1, 1, 2, "infidelity is over 1 of 2 texts: infinite on the others")]
    [InlineData(2, 1, 5, "infidelity is over 2 of 5 texts: infinite on 1, undefined (NaN) on 2")]
    [InlineData(0, 0, 3, "infidelity is undefined on every text")]
    [InlineData(0, 3, 3, "infidelity is infinite on every text")]
    [InlineData(0, 1, 3, "infidelity has no finite value: infinite on 1 of 3 texts, undefined (NaN) on the others")]
    public void A_note_says_whether_the_values_left_out_of_a_mean_were_NaN_or_infinite(int finite, int infinite, int texts, string? expected)
    {
        // An infinite value was left out of the mean as a NaN is, but the note called every one of them NaN.
        Scorecard.LeftOutNote("infidelity", finite, infinite, texts).Should().Be(expected);
    }

    /// <summary>Gradient × Input whose first text's convergence delta is +∞ and the others' 0.5 (a method gone wrong on one text).</summary>
    private sealed class InfiniteDeltaOnFirstText : IAttributor
    {
        public string Name => "infinite-delta";

        public IReadOnlyList<KeyValuePair<string, string>> Settings => [];

        public IReadOnlyList<Explanation> Attribute(ITextClassifier model, IReadOnlyList<string> texts, AttributionOptions? options = null) =>
            [.. new GradientXInput().Attribute(model, texts, options)
                .Select((e, t) => e with { Method = Name, Settings = [], ConvergenceDelta = t == 0 ? double.PositiveInfinity : 0.5 })];
    }

    [Fact]
    public void An_infinite_value_left_out_of_a_metric_is_noted_as_infinite()
    {
        // |∞| is left out of the completeness median, which is then 0.5 over the other text; that was left out without
        // a word (completeness had no note) and the other metrics' notes called every left-out value NaN.
        using var model = SmallModelKit.Random(root, Attribution.Models.SmallClassifierConfig.MlpType);
        string[] texts = ["the plot was dull but the cast was superb", "a sometimes tedious film"];
        var report = Scorecard.Run(model, texts, [new InfiniteDeltaOnFirstText()]);
        report.Rows[0].Metrics["completeness-abs-delta"].Should().Be(0.5);
        report.Rows[0].Notes.Should().Contain("completeness-abs-delta is over 1 of 2 texts: infinite on the others");
    }

    /// <summary>
    /// A method at the word embeddings whose float64 attribution of one text is 1e39 at token 1, dimension 0: finite,
    /// so the method's own check passes it, but +∞ once kept as float32 per-dimension attributions (the overflow
    /// infidelity refuses). Every other value is 0.
    /// </summary>
    internal sealed class OverflowsOn(string text) : LayerMethod
    {
        public override string Name => "overflowing";

        public override Signedness Signedness => Signedness.Signed;

        public override HiddenReduction Reduction => HiddenReduction.Sum;

        protected override IEnumerable<KeyValuePair<string, string>> DescribeSettings() => LayerSettings();

        protected override MethodOutput Attribute(AttributionContext context)
        {
            var activation = context.GradientAt(SiteIn(context)).Activation;
            var values = TorchSharp.torch.zeros(activation.shape, dtype: TorchSharp.torch.ScalarType.Float64);
            for (var row = 0; row < context.Batch.Texts.Count; row++)
            {
                if (context.Batch.Texts[row] == text)
                {
                    values[row, 1, 0] = TorchSharp.torch.tensor(1e39, TorchSharp.torch.ScalarType.Float64);
                }
            }

            return new MethodOutput(values, PerDimension: true);
        }
    }

    [Fact]
    public void A_non_finite_attribution_fails_the_run_naming_text_method_and_value_not_as_a_bad_argument()
    {
        // Infidelity refuses an explanation with a non-finite attribution as a bad argument (ArgumentException
        // "explanation"); the scorecard let that escape although its caller passed no explanation, and the CLI then
        // reported it as a usage error (exit 2). The evaluate command already failed the run (exit 1) naming text and
        // value; the scorecard now does the same. The value is placed by construction: text 2, token 1, dimension 0.
        using var model = SmallModelKit.Random(root, Attribution.Models.SmallClassifierConfig.MlpType);
        string[] texts = ["the plot was dull but the cast was superb", "a sometimes tedious film"];

        var run = () => Scorecard.Run(model, texts, [new OverflowsOn(texts[1])],
            settings: new ScorecardSettings { Infidelity = new InfidelitySettings { Samples = 2 }, Sensitivity = new SensitivitySettings { Samples = 2 } });

        var where = $"token 1, dimension 0 is {float.PositiveInfinity.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
        var failure = run.Should().Throw<NonFiniteValueException>().Which;
        failure.Source.Should().Be(NonFiniteSource.Attribution);
        failure.Message.Should().StartWith($"infidelity, text 2: overflowing gave a non-finite attribution ({where})");

        using var error = new StringWriter();
        var code = Attribution.Cli.CliApp.Report(failure, new Attribution.Cli.CliContext { Out = TextWriter.Null, Error = error }, verbose: false);
        code.Should().Be(Attribution.Cli.ExitCodes.Failure);
        error.ToString().Should().StartWith("error: infidelity, text 2: overflowing gave a non-finite attribution").And.NotContain("--method");
    }
}
