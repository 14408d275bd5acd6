using Attribution.Methods;
using Attribution.Tests.Models;

namespace Attribution.Tests.Methods;

/// <summary>
/// HotFlip's first-order estimates against the closed form of <see cref="MaskedMeanModel"/>
/// (z = W₂·tanh(W₁·mean(e) + c₁) + c₂): at every position the gradient of the predicted logit is
/// g = Σ_j W₂[y, j] (1 − h_j²) W₁[j, :] / n, so swapping token x for v is estimated at (e_v − e_x) · g, and the
/// candidates of a position are the vocabulary words with the most negative estimates. Tolerance 1e-5 relative
/// (float32 model, float64 reference).
/// </summary>
public sealed class HotFlipEstimateTests : IDisposable
{
    private const int Dim = 4, Hidden = 3;
    private const string Text = "a dull film";
    private static readonly string[] Words = ["a", "dull", "film", "good", "bad", "plot"];
    private readonly string root = Directory.CreateTempSubdirectory("attribution-hotflip-estimate-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    /// <summary>The closed-form masked mean over <see cref="Words"/>, seeded: every test's model.</summary>
    private (Attribution.Models.TextClassifier Classifier, MaskedMeanModel Model, Attribution.Text.Tokenizers.ITokenizer Tokenizer) Create() =>
        MaskedMeanKit.Create(root, Words, Dim, Hidden, seed: 17, scale: 0.9, maxLength: 16);

    [Fact]
    public void Each_flip_estimate_is_the_embedding_difference_times_the_logit_gradient()
    {
        var (model, module, tokenizer) = Create();
        using var _ = model;
        var form = new MaskedMeanClosedForm(module);
        var ids = tokenizer.Encode(Text).Ids;
        double E(long id, int d) => form.Embedding(id)[d];
        var label = model.Predict([Text])[0].Label;
        var g = form.LogitGradient(form.Embeddings(ids), label);

        var edits = new HotFlip { CandidatesPerPosition = 2 }.Generate(model, Text, maxEdits: 100);
        edits.Should().HaveCount(3 * 2, "two candidates at each of the three words");
        foreach (var flip in edits.Select(e => e.Flips.Single()))
        {
            var from = ids[flip.Position];
            var to = tokenizer.TokenToId(flip.To)!.Value;
            var expected = Enumerable.Range(0, Dim).Sum(d => (E(to, d) - E(from, d)) * g[d]);
            flip.Estimate.Should().BeApproximately(expected, 1e-5 * (1 + Math.Abs(expected)), $"{flip.From} → {flip.To}");

            // The two candidates are the two words (not the token itself, no special token) with the lowest estimates.
            var best = Words.Select(w => tokenizer.TokenToId(w)!.Value).Where(v => v != from)
                .OrderBy(v => Enumerable.Range(0, Dim).Sum(d => (E(v, d) - E(from, d)) * g[d])).Take(2).Select(v => tokenizer.IdToToken(v)).ToArray();
            best.Should().Contain(flip.To);
        }
    }

    /// <summary>
    /// With Positions = 2, the combined edits are each candidate of the position whose best estimate drops most, joined
    /// with the best candidate of the runner-up position (expected from the closed-form estimates, not HotFlip's own).
    /// </summary>
    [Fact]
    public void Combined_edits_take_every_candidate_of_the_best_position_with_the_runner_up_s_best()
    {
        var (model, module, tokenizer) = Create();
        using var _ = model;
        var form = new MaskedMeanClosedForm(module);
        var ids = tokenizer.Encode(Text).Ids;
        var g = form.LogitGradient(form.Embeddings(ids), model.Predict([Text])[0].Label);
        double Estimate(long from, long to) => Enumerable.Range(0, Dim).Sum(d => (form.Embedding(to)[d] - form.Embedding(from)[d]) * g[d]);
        var candidates = Enumerable.Range(1, 3).Select(t => (Position: t, Best: Words.Select(w => tokenizer.TokenToId(w)!.Value).Where(v => v != ids[t])
                .OrderBy(v => Estimate(ids[t], v)).Take(2).Select(v => (Word: tokenizer.IdToToken(v)!, Value: Estimate(ids[t], v))).ToArray()))
            .OrderBy(c => c.Best[0].Value).ToArray();
        (candidates[1].Best[0].Value - candidates[0].Best[0].Value).Should().BeGreaterThan(1e-4, "the positions' order must not hang on rounding");

        var combined = new HotFlip { Positions = 2, CandidatesPerPosition = 2 }.Generate(model, Text, maxEdits: 100)
            .Where(e => e.Flips.Count == 2)
            .Select(e => string.Join(" + ", e.Flips.OrderBy(f => f.Position).Select(f => $"{f.Position}:{f.To}")))
            .ToArray();
        var expected = candidates[0].Best.Select(k => new[] { (candidates[0].Position, k.Word), (candidates[1].Position, candidates[1].Best[0].Word) })
            .Select(pair => string.Join(" + ", pair.OrderBy(p => p.Item1).Select(p => $"{p.Item1}:{p.Item2}")))
            .ToArray();
        combined.Should().BeEquivalentTo(expected);
    }

    /// <summary>A bad setting is refused with that setting named (not always Positions) and its value.</summary>
    [Theory]
    [InlineData(0, 10, 5, "Positions")]
    [InlineData(1, 0, 5, "CandidatesPerPosition")]
    [InlineData(1, 10, 0, "maxEdits")]
    public void A_bad_setting_is_refused_by_its_own_name(int positions, int candidates, int maxEdits, string name)
    {
        var (model, _, _) = Create();
        using var _ = model;
        var act = () => new HotFlip { Positions = positions, CandidatesPerPosition = candidates }.Generate(model, Text, maxEdits);
        act.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be(name);
        act.Should().Throw<ArgumentOutOfRangeException>().Which.ActualValue.Should().Be(0);
    }

    /// <summary>
    /// With a vocabulary of one word there is nothing to swap it for: several positions give no edit, as one position
    /// does, instead of failing on the empty candidate list.
    /// </summary>
    [Fact]
    public void Positions_without_candidates_give_no_edit()
    {
        var (model, _, _) = MaskedMeanKit.Create(root, ["film"], Dim, Hidden, seed: 17, scale: 0.9, maxLength: 16);
        using var _ = model;
        new HotFlip().Generate(model, "film film").Should().BeEmpty();
        new HotFlip { Positions = 2 }.Generate(model, "film film").Should().BeEmpty();
    }
}
