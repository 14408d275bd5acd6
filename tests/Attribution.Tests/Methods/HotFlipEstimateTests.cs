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

    [Fact]
    public void Each_flip_estimate_is_the_embedding_difference_times_the_logit_gradient()
    {
        var (model, module, tokenizer) = MaskedMeanKit.Create(root, Words, Dim, Hidden, seed: 17, scale: 0.9, maxLength: 16);
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

    /// <summary>A bad setting is refused with that setting named (not always Positions) and its value.</summary>
    [Theory]
    [InlineData(0, 10, 5, "Positions")]
    [InlineData(1, 0, 5, "CandidatesPerPosition")]
    [InlineData(1, 10, 0, "maxEdits")]
    public void A_bad_setting_is_refused_by_its_own_name(int positions, int candidates, int maxEdits, string name)
    {
        var (model, _, _) = MaskedMeanKit.Create(root, Words, Dim, Hidden, seed: 17, scale: 0.9, maxLength: 16);
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
