using System.Text.Json;
using Attribution.Methods;
using Attribution.Models;
using Xunit.Abstractions;

namespace Attribution.Tests.Methods.Perturbation;

/// <summary>
/// Occlusion and exact Shapley values against Captum 0.8's FeatureAblation and ShapleyValues on sst2-bert-tiny
/// (../shared/golden/sst2-bert-tiny.perturbation.json: scored output = the target's probability, absent token =
/// [MASK]). Tolerance 1e-5: Captum ran the model in float32, so each probability carries ~1e-7 rounding, and exact
/// Shapley values combine 2^6 of them with weights that sum to 2.
/// </summary>
public sealed class PerturbationGoldenTests(SstBertTinyFixture fixture, ITestOutputHelper output) : IClassFixture<SstBertTinyFixture>
{
    private const double Tolerance = 1e-5;

    private static readonly ExplainOptions Probability = new() { Score = ScoreOutput.Probability };

    private static JsonElement[] Cases()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(SharedData.Require("golden/sst2-bert-tiny.perturbation.json")));
        document.RootElement.GetProperty("mask_token_id").GetInt64().Should().Be(103);
        return document.RootElement.GetProperty("cases").EnumerateArray().Select(c => c.Clone()).ToArray();
    }

    [SkippableFact]
    public void Occlusion_window_1_equals_captum_feature_ablation_on_tokens_and_words()
    {
        var worst = 0.0;
        foreach (var c in Cases())
        {
            var text = c.GetProperty("text").GetString()!;
            foreach (var (features, key, map) in new[]
                     {
                         (LimeFeatures.Tokens, "feature_ablation_tokens", "token_feature"),
                         (LimeFeatures.Words, "feature_ablation_words", "word_feature"),
                     })
            {
                var run = new Occlusion { Features = features }.Run(fixture.Model, text, Probability);
                worst = Math.Max(worst, Compare(c, run, key, map));
            }
        }

        output.WriteLine($"worst |occlusion − Captum FeatureAblation| = {worst:E2}");
        worst.Should().BeLessThan(Tolerance);
    }

    [SkippableFact]
    public void Exact_shapley_values_equal_captum_on_words()
    {
        var worst = 0.0;
        foreach (var c in Cases())
        {
            var run = new ShapleyValues().Run(fixture.Model, c.GetProperty("text").GetString()!, Probability);
            worst = Math.Max(worst, Compare(c, run, "shapley_values_words", "word_feature"));
            run.ConvergenceDelta!.Value.Should().BeApproximately(0, 1e-12, "Shapley values are efficient by construction");
        }

        output.WriteLine($"worst |Shapley − Captum ShapleyValues| = {worst:E2}");
        worst.Should().BeLessThan(Tolerance);
    }

    [SkippableFact]
    public void Kernel_shap_with_every_coalition_equals_captum_shapley_values()
    {
        // The longest cases (6 words): 62 coalitions, enumerated because samples ≥ 2^6 − 2.
        var cases = Cases().Where(c => c.GetProperty("text").GetString()!.Split(' ').Length == 6).ToArray();
        cases.Should().NotBeEmpty();
        var worst = 0.0;
        foreach (var c in cases)
        {
            var run = new KernelShap { Samples = 62 }.Run(fixture.Model, c.GetProperty("text").GetString()!, Probability);
            run.Notes.Should().Contain(n => n.Contains("enumerated"));
            worst = Math.Max(worst, Compare(c, run, "shapley_values_words", "word_feature"));
        }

        output.WriteLine($"worst |KernelSHAP (enumerated) − Captum ShapleyValues| over {cases.Length} six-word cases = {worst:E2}");
        worst.Should().BeLessThan(Tolerance);
    }

    [SkippableFact]
    public void Sampling_variants_converge_to_the_exact_values()
    {
        // Twelve words: 4,094 coalitions besides the full and empty ones, so KernelSHAP samples rather than enumerates.
        const string text = "the film is routine , but it never becomes dull or boring";
        var words = new ShapleyValues().Run(fixture.Model, text, Probability).Features.Count;
        words.Should().Be(12);
        var exact = new ShapleyValues().Run(fixture.Model, text, Probability).FeatureScores;
        double Error(IReadOnlyList<double> scores) => Golden.RelativeL2(scores, exact);
        var sampling = new[] { 4, 64, 512 }.Select(s => Error(new ShapleyValueSampling { Samples = s, Seed = 7 }.Run(fixture.Model, text, Probability).FeatureScores)).ToArray();
        var kernel = new[] { 32, 512, 2048 }.Select(s => Error(new KernelShap { Samples = s, Seed = 7 }.Run(fixture.Model, text, Probability).FeatureScores)).ToArray();
        output.WriteLine($"Shapley sampling relative L2 error at 4/64/512 orders: {string.Join(" / ", sampling.Select(e => e.ToString("E2")))}");
        output.WriteLine($"KernelSHAP relative L2 error at 32/512/2048 coalitions: {string.Join(" / ", kernel.Select(e => e.ToString("E2")))}");

        // Monte-Carlo errors fall like 1/√samples: 16× the samples should cut them by about 4 (measured, seed 7:
        // sampling 0.30 / 0.083, KernelSHAP 0.39 / 0.13), 8× and 4× by about 2.8 and 2.
        sampling[1].Should().BeLessThan(sampling[0] / 2);
        sampling[2].Should().BeLessThan(sampling[1] / 1.5);
        sampling[2].Should().BeLessThan(0.05);
        kernel[1].Should().BeLessThan(kernel[0] / 2);
        kernel[2].Should().BeLessThan(kernel[1] / 1.3);
        kernel[2].Should().BeLessThan(0.1);
    }

    /// <summary>
    /// Worst absolute difference between a run's feature scores and Captum's per-position figures, after checking the
    /// recorded ids and tokens (the tokenizer's, exactly) and the recorded position → feature map: feature f's text is
    /// the word pieces Captum gave index f, joined without their ## (every case is lower-case, whole-word groups).
    /// </summary>
    private double Compare(JsonElement c, PerturbationRun run, string key, string map)
    {
        var expected = Golden.Doubles(c.GetProperty(key));
        var feature = c.GetProperty(map).EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var encoding = fixture.Model.Tokenizer.Encode(c.GetProperty("text").GetString()!);
        var tokens = c.GetProperty("tokens").EnumerateArray().Select(e => e.GetString()!).ToArray();
        encoding.Ids.Should().Equal(Golden.Longs(c.GetProperty("input_ids")));
        encoding.Tokens.Should().Equal(tokens);
        feature.Select(f => f < 0).Should().Equal(encoding.SpecialTokensMask, "only [CLS] and [SEP] belong to no feature");
        run.Target.Should().Be(c.GetProperty("target").GetInt32());
        run.Features.Should().HaveCount(feature.Max() + 1, "the features are the golden file's");
        run.Features.Select(f => f.Text).Should().Equal(
            Enumerable.Range(0, run.Features.Count).Select(f => string.Concat(tokens.Where((_, t) => feature[t] == f).Select(t => t.TrimStart('#')))),
            $"{map}: the positions Captum gave each feature");
        run.FullScore.Should().BeApproximately(c.GetProperty("probability").GetDouble(), 1e-6);
        var worst = 0.0;
        for (var t = 0; t < feature.Length; t++)
        {
            if (feature[t] >= 0)
            {
                worst = Math.Max(worst, Math.Abs(run.FeatureScores[feature[t]] - expected[t]));
            }
        }

        return worst;
    }
}
