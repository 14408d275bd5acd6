using System.Text.Json;
using Attribution.Methods;
using Attribution.Methods.Internal;
using Attribution.Models;

namespace Attribution.Tests.Methods;

/// <summary>The sst2-bert-tiny model and the Captum 0.8 figures recorded for it (../shared), loaded once per test class.</summary>
public sealed class SstBertTinyFixture : IDisposable
{
    private readonly Lazy<(TextClassifier Model, JsonElement[] Cases)> loaded = new(Load);

    public TextClassifier Model => loaded.Value.Model;

    public JsonElement[] Cases => loaded.Value.Cases;

    private static (TextClassifier, JsonElement[]) Load()
    {
        var model = ClassifierLoader.Load(SharedData.Require("models/sst2-bert-tiny"));
        using var document = JsonDocument.Parse(File.ReadAllText(SharedData.Require("golden/sst2-bert-tiny.captum.json")));
        var cases = document.RootElement.GetProperty("cases").EnumerateArray().Select(c => c.Clone()).ToArray();
        return (model, cases);
    }

    public void Dispose()
    {
        if (loaded.IsValueCreated)
        {
            loaded.Value.Model.Dispose();
        }
    }
}

/// <summary>Helpers to read recorded figures and compare them.</summary>
public static class Golden
{
    public static double[] Doubles(JsonElement element) => element.EnumerateArray().Select(e => e.GetDouble()).ToArray();

    public static long[] Longs(JsonElement element) => element.EnumerateArray().Select(e => e.GetInt64()).ToArray();

    /// <summary>‖actual − expected‖₂ / ‖expected‖₂ (absolute error when the reference is all zeros).</summary>
    public static double RelativeL2(IReadOnlyList<double> actual, IReadOnlyList<double> expected)
    {
        actual.Count.Should().Be(expected.Count, "one score per token");
        double diff = 0, norm = 0;
        for (var i = 0; i < actual.Count; i++)
        {
            diff += (actual[i] - expected[i]) * (actual[i] - expected[i]);
            norm += expected[i] * expected[i];
        }

        return norm == 0 ? Math.Sqrt(diff) : Math.Sqrt(diff / norm);
    }

    /// <summary>
    /// The ids of the library's default path-method baseline (<see cref="Baseline.Pad"/>) for each text (and second
    /// text, for pairs), each row cut to its text's own length: what the recorded <c>baseline_ids</c> must equal.
    /// </summary>
    public static long[][] PadBaselineIds(ITextClassifier model, IReadOnlyList<string> texts, IReadOnlyList<string>? pairs = null)
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        var batch = model.Encode(texts, false, pairs);
        var context = new AttributionContext(model, batch, new AttributionOptions { Pairs = pairs });
        var ids = PathInputs.BaselineIds(context, Baseline.Pad).data<long>().ToArray();
        var width = ids.Length / texts.Count;
        return batch.Lengths.Select((length, b) => ids[(b * width)..((b * width) + length)]).ToArray();
    }
}
