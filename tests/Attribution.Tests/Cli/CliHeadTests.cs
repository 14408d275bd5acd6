using Attribution.Cli;
using Attribution.Models;
using Attribution.Salience;

namespace Attribution.Tests.Cli;

/// <summary>Heads on the command line: a multi-label model's default target is every label above 0.5; regression refuses a probability.</summary>
public sealed class CliHeadTests
{
    [SkippableFact]
    public void A_multi_label_model_explains_every_label_above_one_half()
    {
        var folder = SharedData.Require("models/bert-multilabel-random");
        const string text = "a charming film";
        var run = CliHarness.Run("explain", "--model", folder, "--method", "gradient-x-input", "--score", "probability", "--text", text, "--format", "json");
        run.Code.Should().Be(0, run.ToString());
        using var model = ClassifierLoader.Load(folder);
        var logits = model.Predict([text])[0].Logits;
        var expected = Enumerable.Range(0, logits.Length).Where(k => 1 / (1 + Math.Exp(-logits[k])) > 0.5).ToArray();
        var results = ExplanationJson.Parse(run.Out).Results;
        results.Select(r => r.Target).Should().BeEquivalentTo(expected.Length > 0 ? expected : [Array.IndexOf(logits, logits.Max())]);
        results.Should().OnlyContain(r => r.Head == OutputHead.MultiLabel);
    }

    /// <summary>
    /// The multi-label path (each text's own labels) runs in chunks of --batch-size texts like every other path: it
    /// reports "explained k/n texts" after each chunk and keeps each text's results in order, for the labels its
    /// sigmoids put above 0.5 (computed here from the model's logits, independently of the command).
    /// </summary>
    [SkippableFact]
    public void A_multi_label_explanation_of_several_chunks_reports_progress_per_chunk()
    {
        var folder = SharedData.Require("models/bert-multilabel-random");
        string[] texts = ["a charming film", "the plot is tedious", "a great movie"];
        var run = CliHarness.Run("explain", "--model", folder, "--method", "gradient-x-input", "--text", texts[0], "--text", texts[1], "--text", texts[2],
            "--batch-size", "2", "--format", "json");
        run.Code.Should().Be(0, run.ToString());
        run.Error.Should().Contain("explained 2/3 texts").And.Contain("explained 3/3 texts");
        using var model = ClassifierLoader.Load(folder);
        var expected = texts.SelectMany(text =>
        {
            var logits = model.Predict([text])[0].Logits;
            var shown = Enumerable.Range(0, logits.Length).Where(k => 1 / (1 + Math.Exp(-logits[k])) > 0.5).OrderByDescending(k => logits[k]).ToArray();
            return (shown.Length > 0 ? shown : [Array.IndexOf(logits, logits.Max())]).Select(k => (text, k));
        }).ToList();
        ExplanationJson.Parse(run.Out).Results.Select(r => (r.Text, r.Target)).Should().Equal(expected);
    }

    /// <summary>
    /// Only the labels shown are explained, so the note of what the labels shared counts them: with occlusion, whose
    /// perturbed inputs go to the model once for every label explained, the note must say as many classes as the text
    /// has results, not the model's four labels.
    /// </summary>
    [SkippableFact]
    public void A_multi_label_explanation_explains_and_counts_only_the_labels_it_shows()
    {
        var folder = SharedData.Require("models/bert-multilabel-random");
        string[] texts = ["a charming film", "the plot is tedious"];
        var run = CliHarness.Run("explain", "--model", folder, "--method", "occlusion", "--text", texts[0], "--text", texts[1], "--format", "json");
        run.Code.Should().Be(0, run.ToString());
        using var model = ClassifierLoader.Load(folder);
        var results = ExplanationJson.Parse(run.Out).Results;
        foreach (var text in texts)
        {
            // The labels shown, from the sigmoid of the model's own logits (σ > 0.5), independently of the command.
            var logits = model.Predict([text])[0].Logits;
            var shown = Enumerable.Range(0, logits.Length).Where(k => 1 / (1 + Math.Exp(-logits[k])) > 0.5).ToArray();
            shown.Length.Should().BeInRange(1, logits.Length - 1, "the check needs a text that predicts some labels but not all");
            var mine = results.Where(r => r.Text == text).ToList();
            mine.Select(r => r.Target).Should().BeEquivalentTo(shown);
            mine.Should().OnlyContain(r => r.Notes.Any(n => n.StartsWith($"explained for {shown.Length} classes at once", StringComparison.Ordinal)),
                "the shared cost is that of the labels explained, which are the labels shown");
        }
    }

    /// <summary>
    /// The default methods of compare, scorecard and demo leave out LRP-ε for a model with a module that has no LRP rule,
    /// found from the modules alone: no forward pass runs (a text was explained for it). <see cref="Attribution.Tests.Methods.PowerOfSum"/>'s own
    /// module has no rule by default and is kept with a rule for it.
    /// </summary>
    [Fact]
    public void Lrp_is_left_out_of_the_default_methods_without_running_the_model()
    {
        var (model, module) = Attribution.Tests.Methods.PowerOfSum.Counted(3);
        using var _ = model;
        var error = new StringWriter();
        var context = new CliContext { Out = TextWriter.Null, Error = error };
        var withRule = new Attribution.Methods.LrpEpsilon { Rules = Attribution.Methods.Lrp.LrpRuleSet.Default.With<Attribution.Tests.Methods.PowerOfSum>(Attribution.Methods.Lrp.LrpRules.Composite) };
        var gradient = new Attribution.Methods.Gradient();

        MethodProbe.Supported([gradient, new Attribution.Methods.LrpEpsilon()], model, context).Should().Equal(gradient);
        MethodProbe.Supported([gradient, withRule], model, context).Should().Equal(gradient, withRule);

        module.ForwardCalls.Should().Be(0);
        error.ToString().Should().Be($"note: lrp-epsilon is left out: power-of-sum has a module without an LRP rule (the model itself, a PowerOfSum){Environment.NewLine}");
    }

    [SkippableFact]
    public void A_regression_model_refuses_a_probability_naming_the_option()
    {
        foreach (var command in new[] { "explain", "compare", "evaluate", "sanity" })
        {
            string[] extra = command == "evaluate" ? ["--metric", "comprehensiveness"] : [];
            var run = CliHarness.Run([command, "--model", SharedData.Require("models/bert-regression-random"), command == "compare" ? "--methods" : "--method", "gradient",
                "--score", "log-probability", "--text", "a film", .. extra]);
            run.Code.Should().Be(ExitCodes.Usage, $"{command}: {run}");
            run.Error.Should().StartWith("error: --score: bert-regression-random is a regression model (one real-valued output), which has no log-probability")
                .And.Contain("--score logit").And.NotContain("ScoreOutput", $"{command} speaks of options, not of the library's API");
        }
    }

    [SkippableFact]
    public void Targets_out_of_range_name_what_the_model_has()
    {
        var regression = CliHarness.Run("explain", "--model", SharedData.Require("models/bert-regression-random"), "--method", "gradient", "--target", "1", "--text", "a film");
        regression.Code.Should().Be(ExitCodes.Usage, regression.ToString());
        regression.Error.Should().Contain("target class 1 is out of range: the model has 1 output (class 0: ");
        var negative = CliHarness.Run("explain", "--model", CliHarness.TinyBert, "--method", "gradient", "--target", "-1", "--text", "a film");
        negative.Code.Should().Be(ExitCodes.Usage, negative.ToString());
        negative.Error.Should().Contain("--target: class index -1 is negative: give an index from 0 (the model's first label), a label name or 'predicted'");
    }

    [SkippableFact]
    public void Lime_explains_a_pair_and_refuses_token_features_for_it_naming_the_option()
    {
        var run = CliHarness.Run("explain", "--model", CliHarness.TinyBert, "--method", "lime", "--samples", "8", "--text", "a film", "--text-pair", "ok", "--format", "json");
        run.Code.Should().Be(0, run.ToString());
        var result = ExplanationJson.Parse(run.Out).Results.Single();
        result.TextPair.Should().Be("ok");
        result.Words.Select(w => (w.Text, w.Segment)).Should().Equal(("a", 0), ("film", 0), ("ok", 1));

        var tokens = CliHarness.Run("explain", "--model", CliHarness.TinyBert, "--method", "lime", "--samples", "8", "--features", "tokens", "--text", "a film", "--text-pair", "ok");
        tokens.Code.Should().Be(ExitCodes.Usage, tokens.ToString());
        tokens.Error.Should().StartWith("error: --features: token features are for single texts");
    }

    /// <summary>A multi-label prediction is every label above 0.5, in the table, Markdown and HTML alike (as predict says).</summary>
    [SkippableFact]
    public void A_multi_label_prediction_names_every_label_above_one_half()
    {
        var folder = SharedData.Require("models/bert-multilabel-random");
        const string text = "you are a bad person";
        using var model = ClassifierLoader.Load(folder);
        var logits = model.Predict([text])[0].Logits;
        var above = Enumerable.Range(0, logits.Length).Select(k => (k, p: 1 / (1 + Math.Exp(-logits[k])))).Where(x => x.p > 0.5).OrderByDescending(x => x.p).ToArray();
        above.Length.Should().BeGreaterThan(1, "the precondition: several labels above 0.5");
        var expected = string.Join(", ", above.Select(x => $"{model.Labels[x.k]} (σ = {x.p.ToString("0.0000", System.Globalization.CultureInfo.InvariantCulture)})"));

        var table = CliHarness.Run("explain", "--model", folder, "--method", "gradient", "--text", text);
        table.Code.Should().Be(0, table.ToString());
        table.Out.Should().Contain($"prediction: {expected}\n");
        var markdown = CliHarness.Run("explain", "--model", folder, "--method", "gradient", "--text", text, "--format", "markdown");
        markdown.Out.Should().Contain($"**Prediction:** {expected}");
        var html = CliHarness.Run("explain", "--model", folder, "--method", "gradient", "--text", text, "--format", "html");
        html.Out.Should().Contain("Prediction " + string.Join(", ", above.Select(x => $"<b>{model.Labels[x.k]}</b> (σ = {x.p.ToString("0.0000", System.Globalization.CultureInfo.InvariantCulture)})")));
    }
}
