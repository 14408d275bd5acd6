using Attribution.Cli;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Salience;

namespace Attribution.Tests.Cli;

/// <summary>
/// Sentence pairs on the command line: <c>--text</c> with <c>--text-pair</c>, or a TSV with sentence1 / sentence2
/// (or <c>--pair-column</c>); the JSON carries both texts and equals what the library gives for the same pair.
/// </summary>
public sealed class CliPairTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("attribution-cli-pairs-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    [SkippableFact]
    public void A_pair_too_long_for_the_model_is_refused_saying_how_truncate_cuts_it()
    {
        var folder = SharedData.Require("models/bert-pair-random");
        var words = string.Join(' ', Enumerable.Repeat("film", 300));
        var run = CliHarness.Run("explain", "--model", folder, "--method", "gradient", "--text", "a gripping film", "--text-pair", words);
        run.Code.Should().Be(ExitCodes.Usage, run.ToString());
        run.Error.Should().Contain("text 1 with its pair has").And.Contain("pass --truncate to cut the pair to").And.Contain("(the longer text loses tokens first)");
    }

    [SkippableFact]
    public void Text_pair_options_explain_both_texts_as_the_library_does()
    {
        var folder = SharedData.Require("models/bert-pair-random");
        var run = CliHarness.Run("explain", "--model", folder, "--method", "gradient-x-input", "--text", "a gripping film", "--text-pair", "the cast was dull", "--format", "json");
        run.Code.Should().Be(0, run.ToString());
        var document = ExplanationJson.Parse(run.Out);
        var e = document.Results.Single();
        e.TextPair.Should().Be("the cast was dull");
        using var model = ClassifierLoader.Load(folder);
        var expected = new GradientXInput().Explain(model, "a gripping film", new ExplainOptions { Pairs = ["the cast was dull"] });
        e.Scores.Should().Equal(expected.Scores, (a, b) => Math.Abs(a - b) <= 1e-12, "the CLI runs the same computation");
        e.Words.Where(w => w.Segment == 1).Select(w => w.Text).Should().Equal("the", "cast", "was", "dull");
    }

    /// <summary>
    /// A pair's explanation has the words of both texts, so a highlighted word of the second text is plausibility's to
    /// score (the check made before the model loads looks at both texts), and equals the library's figure.
    /// </summary>
    [SkippableFact]
    public void Evaluate_scores_plausibility_of_a_word_of_the_second_text()
    {
        var folder = SharedData.Require("models/bert-pair-random");
        var run = CliHarness.Run("evaluate", "--model", folder, "--method", "gradient-x-input", "--metric", "plausibility",
            "--highlight", "dull", "--text", "a gripping film", "--text-pair", "the cast was dull", "--format", "json");
        run.Code.Should().Be(0, run.ToString());
        using var json = System.Text.Json.JsonDocument.Parse(run.Out);
        using var model = ClassifierLoader.Load(folder);
        var e = new GradientXInput().Explain(model, "a gripping film", new ExplainOptions { Pairs = ["the cast was dull"] });
        json.RootElement.GetProperty("results")[0].GetProperty("metrics").GetProperty("mrr").GetProperty("value").GetDouble()
            .Should().Be(Attribution.Evaluation.Plausibility.Compute(e, ["dull"]).Single(m => m.Metric == "mrr").Value);
    }

    [SkippableFact]
    public void Evaluate_scores_pairs_as_the_library_scores_them()
    {
        // The metrics remove or perturb tokens of the pair the explanation is of: the first text alone is another
        // input, with other predictions and other figures.
        var folder = SharedData.Require("models/bert-pair-random");
        var run = CliHarness.Run("evaluate", "--model", folder, "--method", "gradient-x-input", "--metric", "comprehensiveness,max-sensitivity",
            "--metric-samples", "2", "--text", "a gripping film", "--text-pair", "the cast was dull", "--text", "dull", "--text-pair", "a fine cast", "--format", "json");
        run.Code.Should().Be(0, run.ToString());
        using var json = System.Text.Json.JsonDocument.Parse(run.Out);
        var results = json.RootElement.GetProperty("results");
        using var model = ClassifierLoader.Load(folder);
        (string Text, string Pair)[] pairs = [("a gripping film", "the cast was dull"), ("dull", "a fine cast")];
        for (var i = 0; i < pairs.Length; i++)
        {
            var options = new ExplainOptions { Pairs = [pairs[i].Pair] };
            var e = new GradientXInput().Explain(model, pairs[i].Text, options);
            var metrics = results[i].GetProperty("metrics");
            results[i].GetProperty("text_pair").GetString().Should().Be(pairs[i].Pair);
            metrics.GetProperty("comprehensiveness").GetProperty("value").GetDouble().Should().BeApproximately(
                Attribution.Evaluation.RationaleRemoval.Comprehensiveness(model, e).Value, 1e-12, "the CLI runs the same computation");
            metrics.GetProperty("max-sensitivity").GetProperty("value").GetDouble().Should().BeApproximately(
                Attribution.Evaluation.MaxSensitivity.Compute(model, new GradientXInput(), pairs[i].Text, options, new Attribution.Evaluation.SensitivitySettings { Samples = 2 }).Value,
                1e-12, "each text's own pair is perturbed");
        }

        CliHarness.Run("evaluate", "--model", folder, "--method", "gradient", "--metric", "comprehensiveness", "--text", "a film").Out.Should().NotContain("‖");
        var table = CliHarness.Run("evaluate", "--model", folder, "--method", "gradient", "--metric", "comprehensiveness", "--text", "a film", "--text-pair", "the cast");
        table.Out.Should().Contain("a film ‖ the cast");
    }

    [SkippableFact]
    public void Compare_with_its_default_methods_keeps_lime_for_pairs()
    {
        var folder = SharedData.Require("models/bert-pair-random");
        var run = CliHarness.Run("compare", "--model", folder, "--text", "a gripping film", "--text-pair", "the cast was dull", "--format", "json");
        run.Code.Should().Be(0, run.ToString());
        run.Error.Should().NotContain("lime").And.NotContain("occlusion");
        var results = ExplanationJson.Parse(run.Out).Results;
        results.Select(r => r.Method).Should().Equal(
            "gradient", "gradient-x-input", "integrated-gradients", "conductance", "lime", "lrp-epsilon", "smoothgrad");
        var lime = results.Single(r => r.Method == "lime");
        lime.TextPair.Should().Be("the cast was dull");
        lime.Surrogate!.Features.Select(f => (f.Text, f.Segment)).Should().Equal(
            ("a", 0), ("gripping", 0), ("film", 0), ("the", 1), ("cast", 1), ("was", 1), ("dull", 1));

        var named = CliHarness.Run("compare", "--model", folder, "--methods", "gradient,lime", "--text", "a gripping film", "--text-pair", "the cast was dull", "--format", "json");
        named.Code.Should().Be(0, named.ToString());
        ExplanationJson.Parse(named.Out).Results.Select(r => r.Method).Should().Equal("gradient", "lime");
    }

    [SkippableFact]
    public void A_tsv_of_pairs_is_read_by_column_name()
    {
        var folder = SharedData.Require("models/bert-pair-random");
        var glue = Path.Combine(root, "pairs.tsv");
        File.WriteAllText(glue, "sentence1\tsentence2\tlabel\na gripping film\tthe cast was dull\t0\nit is fine\tit is not fine\t1\n");
        var run = CliHarness.Run("compare", "--model", folder, "--methods", "gradient-x-input", "occlusion", "--input", glue, "--format", "json");
        run.Code.Should().Be(0, run.ToString());
        var results = ExplanationJson.Parse(run.Out).Results;
        results.Select(r => r.TextPair).Distinct().Should().Equal("the cast was dull", "it is not fine");

        var named = Path.Combine(root, "named.tsv");
        File.WriteAllText(named, "sentence\thypothesis\na gripping film\tthe cast was dull\n");
        var byName = CliHarness.Run("explain", "--model", folder, "--method", "gradient", "--input", named, "--pair-column", "hypothesis", "--format", "json");
        byName.Code.Should().Be(0, byName.ToString());
        ExplanationJson.Parse(byName.Out).Results.Single().TextPair.Should().Be("the cast was dull");
    }

    [Theory]
    [InlineData("explain")]
    [InlineData("compare")]
    [InlineData("evaluate")]
    public void A_pair_for_a_model_that_takes_single_texts_is_refused_naming_the_option_and_the_model(string command)
    {
        // The small classifiers are trained on single texts: a pair would be read as one text joined by [SEP].
        var model = Attribution.Tests.Models.Small.SmallModelKit.SaveRandom(root, SmallClassifierConfig.CnnType, name: "cnn");
        string[] extra = command switch
        {
            "explain" => ["--method", "gradient"],
            "evaluate" => ["--method", "gradient", "--metric", "sufficiency"],
            _ => ["--methods", "gradient,occlusion"],
        };
        var flag = CliHarness.Run([command, "--model", model, "--text", "a sometimes tedious film", "--text-pair", "the cast was dull", .. extra]);
        flag.Code.Should().Be(2, flag.ToString());
        flag.Error.Should().Contain("--text-pair").And.Contain("cnn (attribution-cnn) takes single texts").And.Contain("leave --text-pair out");

        var tsv = Path.Combine(root, "pairs.tsv");
        File.WriteAllText(tsv, "sentence1\tsentence2\na sometimes tedious film\tthe cast was dull\n");
        var file = CliHarness.Run([command, "--model", model, "--input", tsv, .. extra]);
        file.Code.Should().Be(2, file.ToString());
        file.Error.Should().Contain("--input").And.Contain("holds sentence pairs").And.Contain("takes single texts");
    }

    [SkippableTheory]
    [InlineData("--text-pair", "1 --text-pair value(s) for 2 --text value(s)")]
    [InlineData("--pair-column", "--pair-column names a column of the --input TSV")]
    public void Bad_pair_options_are_refused_naming_the_option(string option, string message)
    {
        string[] args = option == "--text-pair"
            ? ["explain", "--model", CliHarness.TinyBert, "--method", "gradient", "--text", "a", "--text", "b", "--text-pair", "c"]
            : ["explain", "--model", CliHarness.TinyBert, "--method", "gradient", "--text", "a", "--pair-column", "x"];
        var run = CliHarness.Run(args);
        run.Code.Should().NotBe(0);
        run.Error.Should().Contain(option).And.Contain(message);
    }
}
