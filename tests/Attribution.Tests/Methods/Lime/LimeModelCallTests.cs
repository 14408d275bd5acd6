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
}
