using System.Text.Json;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Salience;

namespace Attribution.Tests.Methods;

/// <summary>
/// Every class at once (<see cref="Explainer.ExplainClasses"/>): equal to one call per class, ordered by probability,
/// Captum's figures for every label of the multi-label BERT, and one forward pass shared by all labels. Captum's
/// figures within 1e-4 relative L2 per sentence, the bound of every Captum parity test: float32 on both sides, only
/// summation orders differ (OutputHeadParityTests measures at most 1.6e-6 on the same model and figures).
/// </summary>
public sealed class EveryClassTests
{
    private static readonly ExplainOptions Probability = new() { Score = ScoreOutput.Probability, Salience = new SalienceOptions { KeepSpecialTokens = true } };

    [SkippableFact]
    public void Every_label_equals_its_own_call_and_captum_ordered_by_probability()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/bert-multilabel-random"));
        using var golden = JsonDocument.Parse(File.ReadAllText(SharedData.Require("golden/bert-multilabel-random.captum.json")));
        var cases = golden.RootElement.GetProperty("cases").EnumerateArray().Take(4).ToArray();
        var texts = cases.Select(c => c.GetProperty("text").GetString()!).ToArray();
        var all = Explainer.ExplainClasses(model, texts, [new GradientXInput(), new IntegratedGradients { Steps = 50 }], options: Probability);
        for (var t = 0; t < texts.Length; t++)
        {
            var byClass = all[0][t];
            byClass.Select(e => e.Target).Should().BeEquivalentTo([0, 1, 2, 3]);
            byClass.Select(e => e.Probabilities[e.Target]).Should().BeInDescendingOrder("labels are ordered by probability");
            foreach (var e in byClass)
            {
                var alone = new GradientXInput().Explain(model, texts[t], Probability with { Target = Target.Class(e.Target) });
                e.Scores.Should().Equal(alone.Scores, (a, b) => Math.Abs(a - b) <= 1e-7 * Math.Max(1, Math.Abs(b)));
                var recorded = cases[t].GetProperty("per_target").GetProperty(e.Target.ToString(System.Globalization.CultureInfo.InvariantCulture));
                Golden.RelativeL2(e.Scores, Golden.Doubles(recorded.GetProperty("gradient_x_input"))).Should().BeLessThanOrEqualTo(1e-4);
            }

            foreach (var e in all[1][t])
            {
                var recorded = cases[t].GetProperty("per_target").GetProperty(e.Target.ToString(System.Globalization.CultureInfo.InvariantCulture));
                Golden.RelativeL2(e.Scores, Golden.Doubles(recorded.GetProperty("ig_gausslegendre_50"))).Should().BeLessThanOrEqualTo(1e-4);
            }
        }
    }

    /// <summary>
    /// One batch, Gradient for 4 labels: one forward pass, the prediction's, whose graph serves a backward per label, where
    /// four separate calls take 4 (each its own prediction pass, which is also its gradient pass).
    /// </summary>
    [SkippableFact]
    public void The_forward_pass_is_shared_by_every_label()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/bert-multilabel-random"));
        string[] texts = ["a charming film", "a dull and tedious film"];
        using (var forwards = new ForwardCounter(model))
        {
            _ = Explainer.ExplainClasses(model, texts, [new Gradient()]);
            forwards.Calls.Should().Be(1);
        }

        var subset = Explainer.ExplainClasses(model, texts, [new Gradient()], [3, 1]);
        subset[0][0].Select(e => e.Target).Should().BeEquivalentTo([3, 1]);
        var duplicate = () => Explainer.ExplainClasses(model, texts, [new Gradient()], [1, 1]);
        duplicate.Should().Throw<ArgumentException>().WithMessage("*each class once*");
        var outOfRange = () => Explainer.ExplainClasses(model, texts, [new Gradient()], [7]);
        outOfRange.Should().Throw<ArgumentOutOfRangeException>().WithMessage("classes holds 7, which is not a class of the model: it has 4 (0..3: *")
            .Which.ParamName.Should().Be("classes");
    }
}
