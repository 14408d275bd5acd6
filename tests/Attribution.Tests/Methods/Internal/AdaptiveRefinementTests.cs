using System.Globalization;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Pipeline;
using Attribution.Salience;
using Attribution.Tests.Models;

namespace Attribution.Tests.Methods.Internal;

/// <summary>
/// Adaptive integration where F(baseline ids) is not F at the path's start: RoBERTa's position ids count non-pad
/// tokens, so the pad baseline moves them while the path (which keeps the input ids) does not. Captum's delta then
/// carries that difference at every step count, and the completeness test alone never passes.
/// </summary>
public sealed class AdaptiveRefinementTests
{
    private static readonly ExplainOptions AllTokens = new() { Target = Target.Class(0), Salience = new SalienceOptions { KeepSpecialTokens = true } };

    [Fact]
    public void A_baseline_that_moves_roberta_positions_is_accepted_once_the_integral_converges_and_says_why_its_delta_is_large()
    {
        var module = TransformerTestKit.RandomModel(TransformerTestKit.TinyRoberta, seed: 11);
        using var model = new TextClassifier("tiny-roberta", new IdsTokenizer(0, 2, 1, module.Config.VocabSize), module, ["a", "b"],
            module.WordEmbeddingPath, module.Config.MaxSequenceLength, usesTokenTypes: false);
        const string text = "5 9 12 7 30";

        var adaptive = new IntegratedGradients().Explain(model, text, AllTokens);

        // Reference: Gauss–Legendre with 256 points, the cap, whose attributions and Captum delta match Captum's on RoBERTa
        // (OtherArchitecturesParityTests). The integrand is smooth, so its quadrature error is far below the 1% target.
        var reference = new IntegratedGradients { Steps = 256 }.Explain(model, text, AllTokens);
        var referenceDelta = reference.ConvergenceDelta!.Value;
        referenceDelta.Should().NotBeInRange(-0.05, 0.05, "the precondition: pad ids move RoBERTa's positions, so F(baseline) is not F at the path's start");

        int.Parse(adaptive.Setting("steps-used")!, CultureInfo.InvariantCulture).Should().BeLessThan(256,
            "the integral converged long before the cap; only Captum's delta, which no step count changes, was off");

        // 1% of the scores' L2 norm: the adaptive target (tolerance 0.01) bounds each level's change by that much.
        var norm = Math.Sqrt(reference.Scores.Sum(s => s * s));
        L2Distance(adaptive.Scores, reference.Scores).Should().BeLessThan(0.02 * norm);
        adaptive.ConvergenceDelta!.Value.Should().BeApproximately(referenceDelta, 0.02 * Math.Abs(referenceDelta),
            "the reported delta stays Captum's: Σ attributions − (F(input) − F(baseline ids))");
        adaptive.Notes.Should().ContainSingle().Which.Should().Contain("F(baseline) − F(path start)").And.NotContain("--max-steps");
    }

    [Fact]
    public void Noisy_copies_on_roberta_stop_before_the_cap_and_carry_no_note_about_a_delta_the_tunnel_does_not_report()
    {
        var module = TransformerTestKit.RandomModel(TransformerTestKit.TinyRoberta, seed: 11);
        using var model = new TextClassifier("tiny-roberta", new IdsTokenizer(0, 2, 1, module.Config.VocabSize), module, ["a", "b"],
            module.WordEmbeddingPath, module.Config.MaxSequenceLength, usesTokenTypes: false);

        var e = new NoiseTunnel(new IntegratedGradients()) { Samples = 2 }.Explain(model, "5 9 12 7 30", AllTokens);

        e.Setting("inner.steps-used")!.Split(' ').Select(n => int.Parse(n, CultureInfo.InvariantCulture)).Should().OnlyContain(n => n < 256);
        e.ConvergenceDelta.Should().BeNull();
        e.Notes.Should().BeEmpty("no copy reached the cap, and a SmoothGrad result reports no delta to explain");
    }

    private static double L2Distance(IReadOnlyList<double> a, IReadOnlyList<double> b) =>
        Math.Sqrt(a.Zip(b, (x, y) => (x - y) * (x - y)).Sum());
}
