using System.Text.Json;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Salience;
using Xunit.Abstractions;

namespace Attribution.Tests.Methods;

/// <summary>
/// Parity with Captum 0.8 (LayerGradientXActivation and LayerIntegratedGradients, Gauss–Legendre 50, at the word
/// embeddings) on the random DistilBERT and RoBERTa of ../shared (12 SST-2 sentences each; baseline = first and last
/// ids kept, pad id elsewhere, compared id by id). Each folder is loaded as shipped, its own tokenizer files included
/// (roberta-random's tokenizer.json is roberta-base's), and must give the recorded ids. Relative L2 ≤ 1e-4 per sentence
/// (float32 on both sides, only summation orders differ; measured: at most 1.4e-6). Deltas within 1e-5 absolute: a
/// float32 difference of logits and attribution sums of order 1, which rounds at about 1e-6 (measured: at most 9e-7);
/// the smallest recorded |delta| is 2.9e-4 (DistilBERT), so a delta of 0 or of the wrong sign fails. RoBERTa's deltas
/// are large (≈0.9) in Captum too: its position ids count non-pad tokens, so the baseline ids shift positions while the
/// path (which keeps the input ids) does not.
/// </summary>
public sealed class OtherArchitecturesParityTests(ITestOutputHelper output)
{
    private static readonly ExplainOptions AllTokens = new() { Salience = new SalienceOptions { KeepSpecialTokens = true } };

    [SkippableTheory]
    [InlineData("distilbert-random")]
    [InlineData("roberta-random")]
    public void Gradient_x_input_and_integrated_gradients_match_captum(string modelName)
    {
        using var golden = JsonDocument.Parse(File.ReadAllText(SharedData.Require($"golden/{modelName}.captum.json")));
        using var model = ClassifierLoader.Load(SharedData.Require($"models/{modelName}"));
        var cases = golden.RootElement.GetProperty("cases").EnumerateArray().ToArray();
        var texts = cases.Select(c => c.GetProperty("text").GetString()!).ToArray();
        var gxi = new GradientXInput().Explain(model, texts, AllTokens);
        var ig = new IntegratedGradients { Steps = 50 }.Explain(model, texts, AllTokens);
        var baselines = Golden.PadBaselineIds(model, texts);
        double worstGxi = 0, worstIg = 0, worstDelta = 0;
        for (var i = 0; i < cases.Length; i++)
        {
            ig[i].TokenIds.Should().Equal(Golden.Longs(cases[i].GetProperty("input_ids")), "the tokenizer reproduces the recorded ids");
            ig[i].Target.Should().Be(cases[i].GetProperty("target").GetInt32());
            baselines[i].Should().Equal(Golden.Longs(cases[i].GetProperty("baseline_ids")), "Baseline.Pad keeps the first and last ids and puts the pad id elsewhere, as the reference");
            worstGxi = Math.Max(worstGxi, Golden.RelativeL2(gxi[i].Scores, Golden.Doubles(cases[i].GetProperty("logit/gradient_x_input"))));
            var recorded = cases[i].GetProperty("logit/ig_gausslegendre_50");
            worstIg = Math.Max(worstIg, Golden.RelativeL2(ig[i].Scores, Golden.Doubles(recorded.GetProperty("scores"))));
            worstDelta = Math.Max(worstDelta, Math.Abs(ig[i].ConvergenceDelta!.Value - recorded.GetProperty("delta").GetDouble()));
        }

        output.WriteLine($"{modelName}: worst relative L2 GxI {worstGxi:E2}, IG {worstIg:E2}; worst delta error {worstDelta:E2}");
        worstGxi.Should().BeLessThanOrEqualTo(1e-4);
        worstIg.Should().BeLessThanOrEqualTo(1e-4);
        worstDelta.Should().BeLessThanOrEqualTo(1e-5);
    }
}
