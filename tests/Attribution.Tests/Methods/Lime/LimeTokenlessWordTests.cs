using Attribution.Methods;
using Attribution.Models;
using Attribution.Tests.Models.Small;

namespace Attribution.Tests.Methods;

/// <summary>
/// A word made only of characters the tokenizer drops (U+200B, a zero-width space, which .NET does not count as white
/// space, so it is a word of its own) has no token. LIME keeps it as a feature, as LIT's LIME does (it samples the
/// text's whitespace words), so the surrogate has a coefficient for it that no token carries: the result must say so.
/// </summary>
public sealed class LimeTokenlessWordTests : IDisposable
{
    private readonly string root = SmallModelKit.TempRoot("attribution-lime-tokenless-");

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Theory]
    [InlineData(LimePerturbation.Mask, "replaced by the mask string")]
    [InlineData(LimePerturbation.Remove, "removed, which leaves the model's tokens unchanged")]
    public void A_word_without_tokens_keeps_its_surrogate_coefficient_and_a_note_names_it(LimePerturbation perturbation, string effect)
    {
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
        const string text = "i loved \u200b this movie";
        model.Tokenizer.Encode("\u200b").SpecialTokensMask.Should().OnlyContain(special => special, "the precondition: the tokenizer drops the word");

        var e = new Lime { Samples = 64, Seed = 1, Perturbation = perturbation }.Explain(model, text);
        e.Surrogate!.Features.Select(f => f.Text).Should().Equal(["i", "loved", "\u200b", "this", "movie"], "LIT's words: the tokenless one included");
        e.Surrogate.Coefficients.Should().HaveCount(5);
        e.Words.Select(w => w.Text).Should().Equal(["i", "loved", "this", "movie"], "no token carries the third word");

        // Token scores share out the coefficients of the words that have tokens only (1e-12: each coefficient is split
        // into equal shares and summed back, float64 rounding).
        var c = e.Surrogate.Coefficients;
        e.Scores.Sum().Should().BeApproximately(c[0] + c[1] + c[3] + c[4], 1e-12);
        e.Notes.Should().ContainSingle(n => n.Contains("has no token"))
            .Which.Should().Match($"'\\u200B' (feature 2) has no token in {model.Name}'s encoding*still a feature with a coefficient in the surrogate*{effect}*");

        // A text whose every word has tokens gets no such note.
        new Lime { Samples = 64, Seed = 1, Perturbation = perturbation }.Explain(model, "i loved this movie").Notes
            .Should().NotContain(n => n.Contains("has no token"));
    }
}
