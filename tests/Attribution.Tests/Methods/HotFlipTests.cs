using Attribution.Methods;
using Attribution.Models;
using Attribution.Tests.Training;
using Attribution.Training;
using Xunit.Abstractions;

namespace Attribution.Tests.Methods;

/// <summary>
/// HotFlip on the default sentiment CNN, trained here from the generated corpus: the edits it returns really change
/// the prediction when the edited texts are run again, each edit swaps whole words for vocabulary words, and the
/// first-order estimate points the right way for the flips it keeps.
/// </summary>
public sealed class HotFlipTests(ITestOutputHelper output)
{
    [Fact]
    public void Returned_flips_change_the_prediction_when_run_again()
    {
        using var model = TrainedDefaultModel.Load();
        var corpus = DefaultModel.Corpus();
        var texts = corpus.Test.Take(40).Select(e => e.Text).ToArray();
        var predictions = model.Predict(texts);
        var text = texts.Where((_, i) => predictions[i].Probabilities.Max() > 0.9).First();
        var before = model.Predict([text])[0];

        var edits = new HotFlip().Generate(model, text);
        edits.Should().NotBeEmpty();
        foreach (var edit in edits)
        {
            output.WriteLine($"{text} -> {edit.Text}: {edit.Prediction.LabelName} ({edit.Prediction.Probabilities.Max():F3}), Δlogit {edit.LogitChange:F3}, flipped {edit.Flipped}");
            var again = model.Predict([edit.Text])[0];
            again.Label.Should().Be(edit.Prediction.Label, "the edit's prediction is a real forward pass");
            edit.Flipped.Should().Be(again.Label != before.Label);
            // 1e-5: float32 logits of a text run alone vs in a batch of edits differ in the last bits.
            edit.LogitChange.Should().BeApproximately(again.Logits[before.Label] - before.Logits[before.Label], 1e-5);
            edit.Flips.Should().ContainSingle();
            var flip = edit.Flips[0];
            edit.Text.Split(' ').Should().Contain(flip.To).And.HaveCount(text.Split(' ').Length, "one whole word swapped for another");
        }

        edits[0].Flipped.Should().BeTrue("swapping the sentiment word of a confident prediction flips it");
        edits[0].Flips[0].Estimate.Should().BeNegative("the first-order estimate lowers the predicted logit");

        var pairs = new HotFlip { Positions = 2, CandidatesPerPosition = 3 }.Generate(model, text, maxEdits: 20);
        pairs.Should().Contain(e => e.Flips.Count == 2);
        foreach (var edit in pairs.Where(e => e.Flips.Count == 2))
        {
            // Both flips land on their own words (each replacement is applied at its token's offsets in the original).
            var before2 = text.Split(' ');
            var after = edit.Text.Split(' ');
            after.Should().HaveCount(before2.Length, edit.Text);
            var changed = after.Where((w, i) => w != before2[i]).ToArray();
            changed.Should().BeEquivalentTo(edit.Flips.Select(f => f.To), edit.Text);
        }
    }

    [Fact]
    public void Bad_settings_are_refused()
    {
        using var model = TrainedDefaultModel.Load();
        var act = () => new HotFlip { CandidatesPerPosition = 0 }.Generate(model, "a film");
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*candidates per position (0)*");

        // Unbounded, a large count made one edited text per vocabulary word and position (the whole vocabulary times
        // the text's words run through the model); refused before any pass, naming the setting and its limit.
        act = () => new HotFlip { CandidatesPerPosition = int.MaxValue }.Generate(model, "a film");
        act.Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "CandidatesPerPosition" && Equals(e.ActualValue, int.MaxValue))
            .WithMessage("at most 1000 candidates per position, got 2147483647*");
    }

    /// <summary>An empty or null text was refused naming <c>texts</c>, which is no parameter of Generate: now <c>text</c>.</summary>
    [Fact]
    public void An_empty_or_null_text_is_refused_naming_text()
    {
        using var model = TrainedDefaultModel.Load();
        FluentActions.Invoking(() => new HotFlip().Generate(model, " ")).Should().Throw<ArgumentException>()
            .Where(e => e.ParamName == "text").WithMessage("text is empty or whitespace: there is nothing to edit*");
        FluentActions.Invoking(() => new HotFlip().Generate(model, null!)).Should().Throw<ArgumentNullException>()
            .Where(e => e.ParamName == "text");
    }

    [Fact]
    public void A_null_set_of_excluded_tokens_is_refused_naming_it()
    {
        // Before: a NullReferenceException where the candidates were listed, after the prediction and the gradient.
        using var model = TrainedDefaultModel.Load();
        FluentActions.Invoking(() => new HotFlip { ExcludedTokens = null! }.Generate(model, "a good film")).Should().Throw<ArgumentNullException>()
            .Where(e => e.ParamName == "ExcludedTokens").WithMessage("ExcludedTokens is null: leave it unset*");
    }
}
