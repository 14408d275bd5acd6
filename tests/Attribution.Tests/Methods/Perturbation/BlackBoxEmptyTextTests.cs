using Attribution.Methods;
using Attribution.Models;

namespace Attribution.Tests.Methods.Perturbation;

/// <summary>
/// With removal, a black box's coalition of no words is the empty text (the lime package sends it too; Captum
/// replaces features by a baseline and never empties an input). The predictor is asked about it, the result says so,
/// and a predictor that refuses it fails with an error that names the perturbation, not with its own bare message.
/// </summary>
public sealed class BlackBoxEmptyTextTests
{
    /// <summary>p(positive) = 0.5 + 0.1 per "good" − 0.1 per "bad", except 0.3 for a text without words.</summary>
    private static BlackBoxClassifier Recording(List<string> sent) => new(texts =>
    {
        sent.AddRange(texts);
        return texts.Select(t =>
        {
            var words = t.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var p = words.Length == 0 ? 0.3 : 0.5 + (0.1 * words.Count(w => w == "good")) - (0.1 * words.Count(w => w == "bad"));
            return new[] { 1 - p, p };
        }).ToArray();
    }, ["negative", "positive"]);

    [Fact]
    public void Shapley_values_ask_the_predictor_about_the_empty_text_use_its_answer_and_say_so()
    {
        var sent = new List<string>();
        var e = new ShapleyValues { Perturbation = AbsentFeature.Remove }.Attribute(Recording(sent), ["good bad"], new AttributionOptions { Target = Target.Class(1) })[0];
        sent.Should().Contain("");

        // Shapley values of two players, by hand: f({good, bad}) = 0.5, f({good}) = 0.6, f({bad}) = 0.4, f(∅) = 0.3 (the
        // answer for ""). φ_good = ½[(0.6 − 0.3) + (0.5 − 0.4)] = 0.2, φ_bad = ½[(0.4 − 0.3) + (0.5 − 0.6)] = 0.
        // 1e-12: a handful of float64 operations on numbers near 0.5.
        e.Scores[0].Should().BeApproximately(0.2, 1e-12);
        e.Scores[1].Should().BeApproximately(0.0, 1e-12);
        e.Notes.Should().ContainSingle(n => n.StartsWith("with every word removed the predictor got the empty text \"\"", StringComparison.Ordinal));

        // Masked, the coalition of no words is "[MASK] [MASK]": no empty text, no note.
        sent.Clear();
        var masked = new ShapleyValues().Attribute(Recording(sent), ["good bad"], new AttributionOptions { Target = Target.Class(1) })[0];
        sent.Should().NotContain(t => string.IsNullOrWhiteSpace(t)).And.Contain("[MASK] [MASK]");
        masked.Notes.Should().NotContain(n => n.Contains("every word removed", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("shapley", "good bad")]
    [InlineData("kernel-shap", "good bad")]
    [InlineData("occlusion", "good")]
    public void A_predictor_that_refuses_the_empty_text_fails_naming_the_perturbation_and_the_fix(string method, string text)
    {
        var refusing = new BlackBoxClassifier(texts => texts.Select(t => string.IsNullOrEmpty(t)
            ? throw new ArgumentException("text must not be empty", "text")
            : new[] { 0.4, 0.6 }).ToArray(), ["negative", "positive"]);
        PerturbationMethod Make(AbsentFeature perturbation) => method switch
        {
            "shapley" => new ShapleyValues { Perturbation = perturbation },
            "kernel-shap" => new KernelShap { Perturbation = perturbation, Samples = 8, Seed = 1 },
            _ => new Occlusion { Perturbation = perturbation },
        };

        // Before: the predictor's own ArgumentException ("text must not be empty", parameter "text") came out of the
        // method, naming neither the removal nor the empty text it was asked about.
        var thrown = FluentActions.Invoking(() => Make(AbsentFeature.Remove).Attribute(refusing, [text])).Should().Throw<ArgumentException>()
            .WithMessage("the predictor threw ArgumentException (text must not be empty*) on a call of * text(s) that included the empty text \"\": with Perturbation = Remove*use Perturbation = Mask*")
            .Which;
        thrown.ParamName.Should().Be("Perturbation");
        thrown.InnerException.Should().BeOfType<ArgumentException>().Which.ParamName.Should().Be("text");

        // Masking never empties the text: the same predictor explains it.
        Make(AbsentFeature.Mask).Attribute(refusing, [text]).Should().ContainSingle();
    }
}
