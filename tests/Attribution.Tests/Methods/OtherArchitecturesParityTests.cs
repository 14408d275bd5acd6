using System.Text.Json;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Salience;
using Xunit.Abstractions;

namespace Attribution.Tests.Methods;

/// <summary>
/// Parity with Captum 0.8 (LayerGradientXActivation and LayerIntegratedGradients, Gauss–Legendre 50, at the word
/// embeddings) on the random DistilBERT and RoBERTa of ../shared (12 SST-2 sentences each; baseline = first and last
/// ids kept, pad id elsewhere, compared id by id). Relative L2 ≤ 1e-4 per sentence, deltas within 1e-4 (float32 on both sides). RoBERTa's
/// deltas are large (≈0.9) in Captum too: its position ids count non-pad tokens, so the baseline ids shift positions
/// while the path (which keeps the input ids) does not.
/// </summary>
public sealed class OtherArchitecturesParityTests(ITestOutputHelper output)
{
    private static readonly ExplainOptions AllTokens = new() { Salience = new SalienceOptions { KeepSpecialTokens = true } };

    [SkippableTheory]
    [InlineData("distilbert-random", null)]
    [InlineData("roberta-random", "roberta-base")]
    public void Gradient_x_input_and_integrated_gradients_match_captum(string modelName, string? tokenizer)
    {
        var folder = SharedData.Require($"models/{modelName}");
        using var golden = JsonDocument.Parse(File.ReadAllText(SharedData.Require($"golden/{modelName}.captum.json")));
        var directory = folder;
        string? temporary = null;
        if (tokenizer is not null)
        {
            // The random RoBERTa ships without tokenizer files: assemble a folder with roberta-base's.
            temporary = Path.Combine(Path.GetTempPath(), "attribution-" + modelName + "-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(temporary);
            foreach (var file in Directory.GetFiles(folder).Concat(Directory.GetFiles(SharedData.Require($"tokenizers/{tokenizer}"))))
            {
                File.Copy(file, Path.Combine(temporary, Path.GetFileName(file)), overwrite: true);
            }

            directory = temporary;
        }

        try
        {
            using var model = ClassifierLoader.Load(directory);
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
            worstDelta.Should().BeLessThanOrEqualTo(1e-4);
        }
        finally
        {
            if (temporary is not null)
            {
                Directory.Delete(temporary, recursive: true);
            }
        }
    }
}
