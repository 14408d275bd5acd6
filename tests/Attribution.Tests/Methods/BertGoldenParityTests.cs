using System.Text.Json;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Salience;

namespace Attribution.Tests.Methods;

/// <summary>
/// Parity with Captum 0.8 on the random 2-layer BERT of ../shared/golden/bert_golden.json (ids only, so a test
/// tokenizer reads the ids from the text). Tolerance: relative L2 ≤ 1e-4 per case (both sides compute in float32;
/// only summation orders differ). Deltas and conductance totals: 2e-6 absolute. Both are float32 sums of order-0.1
/// figures (logits, attributions) whose rounding is about 1e-7 (measured: at most 3.9e-7 for deltas, 6.3e-8 for
/// totals); the recorded Riemann-middle and conductance deltas are 2.6e-6 to 2.8e-4, so 1e-4, the bound before, let a
/// delta of 0 pass for most of them. The Gauss–Legendre deltas (below 3.3e-7) are rounding noise on both sides: the
/// comparison bounds their error, it cannot tell their sign.
/// </summary>
public sealed class BertGoldenParityTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private const double Tolerance = 1e-4;
    private const double SumTolerance = 2e-6;
    private static readonly ExplainOptions AllTokens = new() { Salience = new SalienceOptions { KeepSpecialTokens = true } };
    private readonly string folder = Path.Combine(Path.GetTempPath(), "attribution-bert-golden-" + Guid.NewGuid().ToString("N"));
    private TextClassifier? model;

    private (TextClassifier Model, JsonElement[] Cases) Load()
    {
        var weights = SharedData.Require("golden/bert.safetensors");
        var config = SharedData.Require("golden/bert.config.json");
        using var golden = JsonDocument.Parse(File.ReadAllText(SharedData.Require("golden/bert_golden.json")));
        Directory.CreateDirectory(folder);
        File.Copy(config, Path.Combine(folder, "config.json"));
        File.Copy(weights, Path.Combine(folder, "model.safetensors"));
        var module = TransformerLoader.Load(folder);
        var special = golden.RootElement.GetProperty("special");
        var tokenizer = new IdsTokenizer(special.GetProperty("cls").GetInt64(), special.GetProperty("sep").GetInt64(), special.GetProperty("pad").GetInt64(), module.Config.VocabSize);
        model = new TextClassifier("bert-golden", tokenizer, module, ["0", "1"],
            module.WordEmbeddingPath, module.Config.MaxSequenceLength, usesTokenTypes: true);
        return (model, golden.RootElement.GetProperty("cases").EnumerateArray().Select(c => c.Clone()).ToArray());
    }

    public static TheoryData<string> Keys() => new()
    {
        "grad_l2", "grad_x_input", "ig_gausslegendre_50", "ig_gausslegendre_8", "ig_riemann_middle_16", "ig_riemann_trapezoid_20",
        "layer0_conductance_riemann_trapezoid_50", "layer0_conductance_gausslegendre_50",
    };

    [SkippableTheory]
    [MemberData(nameof(Keys))]
    public void Matches_captum(string key)
    {
        var (classifier, cases) = Load();
        IAttributor attributor = key switch
        {
            "grad_l2" => new Gradient(),
            "grad_x_input" => new GradientXInput(),
            _ when key.StartsWith("ig_", StringComparison.Ordinal) => new IntegratedGradients
            {
                Rule = IntegrationRules.Parse(key[3..key.LastIndexOf('_')]),
                Steps = int.Parse(key[(key.LastIndexOf('_') + 1)..], System.Globalization.CultureInfo.InvariantCulture),
            },
            _ => new LayerConductance
            {
                Layer = "bert.encoder.layer.0",
                Rule = IntegrationRules.Parse(key["layer0_conductance_".Length..key.LastIndexOf('_')]),
                Steps = int.Parse(key[(key.LastIndexOf('_') + 1)..], System.Globalization.CultureInfo.InvariantCulture),
            },
        };

        Compare(classifier, cases, key, attributor);
    }

    /// <summary>
    /// <c>new LayerConductance { Steps = 50 }</c>, no rule, is what a Captum user gets from
    /// <c>LayerConductance.attribute(..., n_steps=50)</c> without <c>method</c>: Captum 0.8's default method is
    /// <c>"gausslegendre"</c>, recorded as <c>layer0_conductance_gausslegendre_50</c>; same tolerances as above.
    /// </summary>
    [SkippableFact]
    public void Conductance_with_steps_and_no_rule_matches_captums_default_method()
    {
        var (classifier, cases) = Load();
        var results = Compare(classifier, cases, "layer0_conductance_gausslegendre_50", new LayerConductance { Layer = "bert.encoder.layer.0", Steps = 50 });
        results.Should().OnlyContain(r => r.Setting("integration") == "gausslegendre" && r.Setting("steps") == "50");
    }

    private IReadOnlyList<Explanation> Compare(TextClassifier classifier, JsonElement[] cases, string key, IAttributor attributor)
    {
        var texts = cases.Select(c => string.Join(' ', Golden.Longs(c.GetProperty("input_ids")))).ToArray();
        var results = attributor.Explain(classifier, texts, AllTokens);
        double worstDelta = 0, worstTotal = 0;
        for (var i = 0; i < cases.Length; i++)
        {
            var recorded = cases[i].GetProperty(key);
            results[i].Target.Should().Be(cases[i].GetProperty("target").GetInt32());
            results[i].Logits.Should().Equal(Golden.Doubles(cases[i].GetProperty("logits")), (a, e) => Math.Abs(a - e) < 1e-5);
            var expected = recorded.ValueKind == JsonValueKind.Array ? Golden.Doubles(recorded) : Golden.Doubles(recorded.GetProperty("token"));
            Golden.RelativeL2(results[i].Scores, expected).Should().BeLessThanOrEqualTo(Tolerance, $"{key}, case {i}");
            if (recorded.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            if (recorded.TryGetProperty("delta", out var delta))
            {
                worstDelta = Math.Max(worstDelta, Math.Abs(results[i].ConvergenceDelta!.Value - delta.GetDouble()));
            }

            if (recorded.TryGetProperty("total", out var total))
            {
                worstTotal = Math.Max(worstTotal, Math.Abs(results[i].Scores.Sum() - total.GetDouble()));
            }
        }

        output.WriteLine($"{key}: worst |delta error| {worstDelta:E2}, worst |total error| {worstTotal:E2}");
        worstDelta.Should().BeLessThanOrEqualTo(SumTolerance, $"{key}: delta");
        worstTotal.Should().BeLessThanOrEqualTo(SumTolerance, $"{key}: total");
        return results;
    }

    /// <summary>The recorded IG / conductance baseline ids ([CLS] [PAD]… [SEP]) are what <see cref="Baseline.Pad"/> gives, id for id.</summary>
    [SkippableFact]
    public void Baseline_ids_equal_the_recorded_ones()
    {
        var (classifier, cases) = Load();
        var texts = cases.Select(c => string.Join(' ', Golden.Longs(c.GetProperty("input_ids")))).ToArray();
        var baselines = Golden.PadBaselineIds(classifier, texts);
        for (var i = 0; i < cases.Length; i++)
        {
            baselines[i].Should().Equal(Golden.Longs(cases[i].GetProperty("baseline_ids")), $"case {i}");
        }
    }

    public void Dispose()
    {
        model?.Dispose();
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
