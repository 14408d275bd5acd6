using System.Text.Json;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Engine;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Attribution.Tests.Methods;

/// <summary>
/// Parity with Captum 0.8 (InputXGradient, Saliency(abs), IntegratedGradients with a zero baseline) on the MLP of
/// ../shared/golden/mlp_golden.json. The MLP takes a float vector, so the test wraps it as a one-token "text"
/// classifier whose embedding table holds the recorded inputs: attributions at the embedding output are then
/// attributions to the input vector, per dimension (raw attributions). Tolerance: relative L2 ≤ 1e-4 per case: float32
/// on both sides through three small layers, so only summation orders differ (measured: at most 1.4e-7).
/// </summary>
public sealed class MlpGoldenParityTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [SkippableFact]
    public void Gradient_methods_match_captum_on_the_mlp()
    {
        using var scope = NewDisposeScope();
        using var mlp = GoldenMlp.Load();
        var (golden, classifier, texts) = (mlp.Golden, mlp.Classifier, mlp.Texts);
        var options = new ExplainOptions { KeepRawAttributions = true, Salience = new() { KeepSpecialTokens = true } };
        var gradient = new Gradient().Explain(classifier, texts, options);
        var inputXGradient = new GradientXInput().Explain(classifier, texts, options);
        var ig = new IntegratedGradients { Baseline = Baseline.Zero, Steps = 50 }.Explain(classifier, texts, options);

        var cases = golden.RootElement.GetProperty("cases").EnumerateArray().ToArray();
        double worstDelta = 0, worst = 0;
        for (var i = 0; i < cases.Length; i++)
        {
            gradient[i].Target.Should().Be(cases[i].GetProperty("target").GetInt32());
            worst = new[]
            {
                worst,
                Golden.RelativeL2(Raw(gradient[i]).Select(Math.Abs).ToArray(), Golden.Doubles(cases[i].GetProperty("saliency_abs"))),
                Golden.RelativeL2(Raw(inputXGradient[i]), Golden.Doubles(cases[i].GetProperty("input_x_gradient"))),
                Golden.RelativeL2(Raw(ig[i]), Golden.Doubles(cases[i].GetProperty("ig_zero_baseline_gl50").GetProperty("attr"))),
            }.Max();
            worstDelta = Math.Max(worstDelta, Math.Abs(ig[i].ConvergenceDelta!.Value - cases[i].GetProperty("ig_zero_baseline_gl50").GetProperty("delta").GetDouble()));
        }

        // Captum's signed delta, Σ attributions − (F(x) − F(0)): a difference of float32 sums of logits of order 1, so
        // both sides round at about 1e-6; 1e-5 absolute. The recorded deltas (up to a few 1e-4: the Gauss–Legendre
        // quadrature error at ReLU kinks) are larger than that, so a wrong sign or a missing baseline term fails.
        output.WriteLine($"mlp: worst relative L2 error (saliency, input × gradient, IG) {worst:E2}; IG (zero baseline, Gauss–Legendre 50) worst |delta error| {worstDelta:E2}");
        worst.Should().BeLessThanOrEqualTo(1e-4);
        worstDelta.Should().BeLessThanOrEqualTo(1e-5);
    }

    private static double[] Raw(Explanation e) => e.RawAttributions!.Single().Select(v => (double)v).ToArray();
}
