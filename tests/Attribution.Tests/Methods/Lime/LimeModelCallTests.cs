using Attribution.Methods;
using Attribution.Models;

namespace Attribution.Tests.Methods;

/// <summary>LIME sends each distinct perturbed text to the model once, in batches sorted by length.</summary>
public sealed class LimeModelCallTests
{
    [Fact]
    public void Each_distinct_perturbed_text_is_scored_once_shortest_first()
    {
        var calls = new List<IReadOnlyList<string>>();
        var model = new BlackBoxClassifier(texts =>
        {
            calls.Add(texts.ToArray());
            return texts.Select(t => new[] { 0.25 + (0.01 * t.Length % 0.5), 0.75 - (0.01 * t.Length % 0.5) }).ToArray();
        }, ["a", "b"]);

        // Four words have 16 masks; 300 samples repeat them many times.
        var run = new Lime { Samples = 300, Seed = 3, BatchSize = 7, Perturbation = LimePerturbation.Remove }.Run(model, "one two three four", 1);
        var sent = calls.SelectMany(c => c).ToList();
        sent.Should().OnlyHaveUniqueItems();
        sent.Count.Should().BeLessThanOrEqualTo(16);
        sent.Should().BeEquivalentTo(run.PerturbedTexts.Distinct(), "every distinct perturbed text, and nothing else");
        sent.Select(t => t.Length).Should().BeInAscendingOrder();
        calls.Should().OnlyContain(c => c.Count <= 7);
        run.TargetProbabilities.Should().HaveCount(run.PerturbedTexts.Length, "every sample keeps its own value");
    }

    /// <summary>
    /// A black box gets the texts and every text's perturbed texts together: each text either needs sent once, shortest
    /// first, in calls of <c>BatchSize</c> filled to the brim (the last one excepted). Before, each text took its own
    /// call or calls, none of them full. Every figure stays that of the text explained on its own (same texts sent,
    /// same answers), bit for bit.
    /// </summary>
    [Theory]
    [InlineData("lime")]
    [InlineData("occlusion")]
    [InlineData("kernel-shap")]
    [InlineData("shapley-sampling")]
    [InlineData("shapley")]
    public void A_black_box_scores_every_texts_inputs_together_in_full_calls(string method)
    {
        var calls = new List<string[]>();
        var model = new BlackBoxClassifier(texts =>
        {
            calls.Add(texts.ToArray());
            return texts.Select(t => new[] { 0.2 + (0.013 * t.Length % 0.6), 0.8 - (0.013 * t.Length % 0.6) }).ToArray();
        }, ["a", "b"]);
        string[] texts = ["one two three", "a rather good film", "dull", "the plot is thin but fun", "fine", "one two three"];
        const int batch = 16;
        IPerturbationAttributor attributor = method switch
        {
            "lime" => new Lime { Samples = 40, Seed = 2, BatchSize = batch },
            "occlusion" => new Occlusion { BatchSize = batch },
            "kernel-shap" => new KernelShap { Samples = 40, Seed = 2, BatchSize = batch },
            "shapley-sampling" => new ShapleyValueSampling { Samples = 3, Seed = 2, BatchSize = batch },
            _ => new ShapleyValues { BatchSize = batch },
        };

        var alone = texts.Select(t => attributor.Explain(model, t)).ToArray();
        var needed = calls.SelectMany(c => c).ToHashSet(StringComparer.Ordinal);
        needed.Should().Contain(texts, "each text's own probabilities are asked for");
        calls.Clear();

        var together = attributor.Explain(model, texts);
        var sent = calls.SelectMany(c => c).ToList();
        sent.Should().OnlyHaveUniqueItems("a text two texts need (the repeated text, an all-masked text) is sent once");
        sent.Should().BeEquivalentTo(needed, "what the texts need alone, and nothing else");
        calls.Should().HaveCount((needed.Count + batch - 1) / batch);
        calls.SkipLast(1).Should().OnlyContain(c => c.Length == batch, "every call but the last is full");
        sent.Select(t => t.Length).Should().BeInAscendingOrder();
        for (var i = 0; i < texts.Length; i++)
        {
            together[i].Scores.Should().Equal(alone[i].Scores);
            together[i].Probabilities.Should().Equal(alone[i].Probabilities);
            together[i].Notes.Should().Contain(n => n.StartsWith($"explained together with the call's other {texts.Length - 1} text(s): the predictor scored their {needed.Count} distinct texts", StringComparison.Ordinal));
        }
    }
}
