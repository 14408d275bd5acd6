using Attribution.Methods;
using Attribution.Models;
using Attribution.Salience;
using Attribution.Tests.Models.Small;

namespace Attribution.Tests.Methods;

/// <summary>
/// Per-dimension attributions read out of a batch of several multi-token texts equal each text explained alone:
/// a swap of the batch and token axes (or a row/column mix-up) in the read-out would give other numbers.
/// </summary>
public sealed class RawAttributionBatchTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("attribution-raw-batch-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    public static TheoryData<string> Methods() => ["gradient", "gradient-x-input", "integrated-gradients"];

    private static IAttributor Create(string name) => name switch
    {
        "gradient" => new Gradient(),
        "gradient-x-input" => new GradientXInput(),
        _ => new IntegratedGradients { Steps = 6 },
    };

    [Theory]
    [MemberData(nameof(Methods))]
    public void Batched_raw_attributions_equal_one_at_a_time(string method)
    {
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
        string[] texts = ["the plot was dull but the cast was superb", "a sometimes tedious film", "i loved this movie"];
        var options = new ExplainOptions { KeepRawAttributions = true, BatchSize = 8, Salience = new SalienceOptions { KeepSpecialTokens = true } };
        var batched = Create(method).Explain(model, texts, options);
        for (var t = 0; t < texts.Length; t++)
        {
            var alone = Create(method).Explain(model, texts[t], options with { BatchSize = 1 });
            var raw = batched[t].RawAttributions!;
            raw.Should().HaveCount(alone.RawAttributions!.Count, "one row per token of this text");
            raw.Count.Should().BeGreaterThan(3);
            for (var token = 0; token < raw.Count; token++)
            {
                raw[token].Should().Equal(alone.RawAttributions![token], (a, b) => Math.Abs(a - b) <= 1e-6f * Math.Max(1, Math.Abs(b)),
                    $"text {t}, token {token} ({batched[t].Tokens[token]})");
            }

            // The per-token scores are the reduction of those rows (sum for ×input and IG, L2 for gradient).
            var reduced = raw.Select(row => method == "gradient" ? Math.Sqrt(row.Sum(v => (double)v * v)) : row.Sum(v => (double)v)).ToArray();
            batched[t].Scores.Should().Equal(reduced, (a, b) => Math.Abs(a - b) <= 1e-5 * Math.Max(1, Math.Abs(b)));
        }
    }
}
