using System.Text.Json;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Salience;
using Xunit.Abstractions;

namespace Attribution.Tests.Methods;

/// <summary>
/// Multi-label (sigmoid per label) and regression heads against Captum 0.8 on the random BERTs of ../shared (10
/// SST-2 sentences each): the head comes from config.json's problem_type; logits and the scored output (sigmoid, or
/// the raw regression output) match the recorded ones; for every label (multi-label) or the one output (regression),
/// Gradient × Input and layer IG (Gauss–Legendre 50, baseline: specials kept, [PAD] elsewhere, its ids equal to the
/// recorded ones) at the word embeddings are within 1e-4 relative L2 per sentence (float32 on both sides, as every
/// other Captum parity test). The IG delta
/// within 2e-6 absolute: a float32 difference of outputs and attribution sums of order 1 rounds at about 1e-7
/// (measured: at most 1.8e-7). The recorded deltas themselves are below 1.8e-7 (Gauss–Legendre 50 on a smooth path):
/// rounding noise on both sides, so the comparison bounds the delta's error but cannot tell its sign.
/// </summary>
public sealed class OutputHeadParityTests(ITestOutputHelper output)
{
    [SkippableTheory]
    [InlineData("bert-multilabel-random", OutputHead.MultiLabel, ScoreOutput.Probability)]
    [InlineData("bert-regression-random", OutputHead.Regression, ScoreOutput.Logit)]
    public void Every_label_matches_captum(string modelName, OutputHead head, ScoreOutput score)
    {
        using var model = ClassifierLoader.Load(SharedData.Require($"models/{modelName}"));
        using var golden = JsonDocument.Parse(File.ReadAllText(SharedData.Require($"golden/{modelName}.captum.json")));
        model.Head.Should().Be(head, "config.json's problem_type decides the head");
        golden.RootElement.GetProperty("problem_type").GetString().Should().Be(head == OutputHead.MultiLabel ? "multi_label_classification" : "regression", "the reference was recorded with that head");
        model.Labels.Should().Equal(golden.RootElement.GetProperty("labels").EnumerateArray().Select(l => l.GetString()), "the recorded label names, in order");
        var cases = golden.RootElement.GetProperty("cases").EnumerateArray().ToArray();
        var texts = cases.Select(c => c.GetProperty("text").GetString()!).ToArray();
        var predictions = model.Predict(texts);
        var baselines = Golden.PadBaselineIds(model, texts);
        double worstLogit = 0, worstGxi = 0, worstIg = 0, worstDelta = 0;
        for (var i = 0; i < cases.Length; i++)
        {
            var logits = Golden.Doubles(cases[i].GetProperty("logits"));
            var scored = Golden.Doubles(cases[i].GetProperty("scored"));
            worstLogit = Math.Max(worstLogit, predictions[i].Logits.Zip(logits, (a, b) => Math.Abs(a - b)).Max());
            predictions[i].Head.Should().Be(head);
            baselines[i].Should().Equal(Golden.Longs(cases[i].GetProperty("baseline_ids")), $"baseline ids of sentence {i}");
            model.Tokenizer.Encode(texts[i]).TypeIds.Should().Equal(Golden.Longs(cases[i].GetProperty("token_type_ids")), "a single text is all token type 0");

            Golden.Longs(cases[i].GetProperty("targets")).Should().Equal(Enumerable.Range(0, logits.Length).Select(k => (long)k),
                "the reference explains every label of a multi-label model and the one output of a regression model, and so does the loop below");
            if (head == OutputHead.Regression)
            {
                predictions[i].Probabilities.Should().BeEmpty("a regression output has no probability");
                predictions[i].Logits[0].Should().BeApproximately(scored[0], 1e-5);
            }
            else
            {
                // σ(logit) computed here, and compared with Captum's recorded sigmoid.
                predictions[i].Probabilities.Should().Equal(logits.Select(l => 1 / (1 + Math.Exp(-l))), (a, b) => Math.Abs(a - b) <= 1e-5);
                predictions[i].Probabilities.Should().Equal(scored, (a, b) => Math.Abs(a - b) <= 1e-5);
                predictions[i].Labels.Should().Equal(Enumerable.Range(0, logits.Length).Where(k => scored[k] > 0.5).DefaultIfEmpty(Array.IndexOf(logits, logits.Max())));
            }
        }

        foreach (var target in Golden.Longs(cases[0].GetProperty("targets")).Select(t => (int)t))
        {
            var options = new ExplainOptions { Target = Target.Class(target), Score = score, Salience = new SalienceOptions { KeepSpecialTokens = true } };
            var gxi = new GradientXInput().Explain(model, texts, options);
            var ig = new IntegratedGradients().Explain(model, texts, options);
            for (var i = 0; i < cases.Length; i++)
            {
                var recorded = cases[i].GetProperty("per_target").GetProperty(target.ToString(System.Globalization.CultureInfo.InvariantCulture));
                gxi[i].TokenIds.Should().Equal(Golden.Longs(cases[i].GetProperty("input_ids")));
                gxi[i].Head.Should().Be(head);
                gxi[i].Target.Should().Be(target);
                worstGxi = Math.Max(worstGxi, Golden.RelativeL2(gxi[i].Scores, Golden.Doubles(recorded.GetProperty("gradient_x_input"))));
                worstIg = Math.Max(worstIg, Golden.RelativeL2(ig[i].Scores, Golden.Doubles(recorded.GetProperty("ig_gausslegendre_50"))));
                worstDelta = Math.Max(worstDelta, Math.Abs(ig[i].ConvergenceDelta!.Value - recorded.GetProperty("ig_delta").GetDouble()));
            }
        }

        output.WriteLine($"{modelName}: worst |logit| error {worstLogit:E2}; relative L2 GxI {worstGxi:E2}, IG {worstIg:E2}; worst delta error {worstDelta:E2}");
        worstLogit.Should().BeLessThanOrEqualTo(1e-5);
        worstGxi.Should().BeLessThanOrEqualTo(1e-4);
        worstIg.Should().BeLessThanOrEqualTo(1e-4);
        worstDelta.Should().BeLessThanOrEqualTo(2e-6);
    }

    /// <summary>A regression output has no probability: asking for one is refused, by every kind of method, naming the fix.</summary>
    [SkippableFact]
    public void Regression_refuses_a_probability_and_explains_its_output()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/bert-regression-random"));
        var probability = new ExplainOptions { Score = ScoreOutput.Probability };
        foreach (var method in new IAttributor[] { new GradientXInput(), new Occlusion() })
        {
            var act = () => method.Explain(model, "a charming film", probability);
            act.Should().Throw<ArgumentException>().WithMessage("*regression*no probability*ScoreOutput.Logit*");
        }

        var lime = new Lime { Samples = 32 }.Explain(model, "a charming and often affecting journey");
        lime.Head.Should().Be(OutputHead.Regression);
        lime.ScoreOutput.Should().Be(ScoreOutput.Logit, "LIME fits the regression output itself");
        lime.Setting("score").Should().Be("logit", "the settings say what was fitted, as the score output does");
        lime.Probabilities.Should().BeEmpty();
        var occlusion = new Occlusion().Explain(model, "a charming film");
        occlusion.Target.Should().Be(0);
        occlusion.Probabilities.Should().BeEmpty();
    }

    /// <summary>The head survives the JSON format (version 3 on; version 4 with the method's kind).</summary>
    [SkippableFact]
    public void Json_keeps_the_head()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/bert-multilabel-random"));
        var e = new GradientXInput().Explain(model, "a charming film", new ExplainOptions { Target = Target.Class(2), Score = ScoreOutput.Probability });
        var json = ExplanationJson.Serialize(ExplanationDocument.For([e], model.Labels));
        json.Should().Contain("\"version\": 4").And.Contain("\"head\": \"multi_label_classification\"").And.Contain("\"kind\": \"gradient-x-input\"");
        var back = ExplanationJson.Parse(json).Results[0];
        back.Head.Should().Be(OutputHead.MultiLabel);
        back.Probabilities.Should().Equal(e.Probabilities);
    }
}
