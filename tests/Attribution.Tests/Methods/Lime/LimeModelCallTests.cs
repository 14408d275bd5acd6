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
    /// A black box is asked for every text's own probabilities in one call, then once per text for its perturbed texts
    /// (each fits one batch here): 1 + 5 calls for 5 texts, not 2 per text. The texts' rows are checked against a
    /// call per text, so batching them changes no figure.
    /// </summary>
    [Theory]
    [InlineData("lime")]
    [InlineData("occlusion")]
    [InlineData("kernel-shap")]
    public void A_black_box_predicts_every_text_itself_in_one_call(string method)
    {
        var calls = new List<IReadOnlyList<string>>();
        var model = new BlackBoxClassifier(texts =>
        {
            calls.Add(texts.ToArray());
            return texts.Select(t => new[] { 0.2 + (0.013 * t.Length % 0.6), 0.8 - (0.013 * t.Length % 0.6) }).ToArray();
        }, ["a", "b"]);
        string[] texts = ["one two three", "a rather good film", "dull", "the plot is thin but fun", "fine"];
        IPerturbationAttributor attributor = method switch
        {
            "lime" => new Lime { Samples = 40, Seed = 2 },
            "occlusion" => new Occlusion(),
            _ => new KernelShap { Samples = 40, Seed = 2 },
        };
        var together = attributor.Explain(model, texts);
        calls.Should().HaveCount(1 + texts.Length);
        calls[0].Should().Equal(texts, "the first call is the texts themselves");

        calls.Clear();
        var alone = texts.Select(t => attributor.Explain(model, t)).ToArray();
        calls.Should().HaveCount(2 * texts.Length, "alone, each text takes its own prediction call");
        for (var i = 0; i < texts.Length; i++)
        {
            together[i].Scores.Should().Equal(alone[i].Scores);
            together[i].Probabilities.Should().Equal(alone[i].Probabilities);
        }
    }
}
