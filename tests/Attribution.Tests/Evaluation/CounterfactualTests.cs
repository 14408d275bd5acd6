using Attribution.Evaluation;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Tests.Models;
using Attribution.Tests.Training;
using Attribution.Text.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Evaluation;

/// <summary>Counterfactual comparison: word replacements, the word alignment, and a sentiment flip on the default model.</summary>
public sealed class CounterfactualTests
{
    [Theory]
    [InlineData("a tedious film", "tedious=exciting", "a exciting film")]
    [InlineData("Tedious, TEDIOUS and tedious.", "tedious=exciting", "Exciting, EXCITING and exciting.")]
    [InlineData("the actress and the actresses", "actress=actor", "the actor and the actresses")]
    [InlineData("a dull film", "dull=great,film=movie", "a great movie")]
    [InlineData("good acting but a bad plot", "good=bad,bad=good", "bad acting but a good plot")]
    [InlineData("a good-looking and good film", "good=fine,good-looking=handsome", "a handsome and fine film")]
    [InlineData("a dull film", "dull=not dull", "a not dull film")]
    public void Replacements_apply_at_word_boundaries_keeping_case(string text, string replacements, string expected) =>
        Counterfactuals.Replace(text, replacements.Split(',')).Should().Be(expected);

    [Theory]
    [InlineData("tedious")]
    [InlineData("=x")]
    [InlineData("missing=word")]
    [InlineData("tedious=dull,dull=boring")]
    [InlineData("tedious=dull,Tedious=boring")]
    public void Bad_replacements_are_refused(string replacement)
    {
        var act = () => Counterfactuals.Replace("a tedious film", replacement.Split(','));
        act.Should().Throw<ArgumentException>().WithParameterName("replacements");
    }

    [Theory]
    [InlineData("tedious= exciting", "tedious=exciting")]
    [InlineData("tedious =exciting", "tedious=exciting")]
    [InlineData("tedious\t=\texciting", "tedious=exciting")]
    public void Whitespace_around_the_equals_sign_is_refused_not_kept_or_trimmed(string replacement, string fix)
    {
        // "tedious= exciting" gave "a  exciting film" (the space kept, doubled); it is refused, naming the argument,
        // the value and the spelling that works.
        var act = () => Counterfactuals.Replace("a tedious film", [replacement]);
        act.Should().Throw<ArgumentException>().WithParameterName("replacements")
            .WithMessage($"'{replacement}' has whitespace around '=': write word=replacement without spaces around '=' ('{fix}')*");
    }

    [Fact]
    public void Words_align_by_their_longest_common_subsequence()
    {
        var rows = Counterfactuals.Align(["a", "tedious", "long", "film"], ["a", "gripping", "film", "indeed"]);
        rows.Should().Equal(
            (0, 0, WordChange.Same),
            (1, 1, WordChange.Replaced),
            (2, null, WordChange.Deleted),
            (3, 2, WordChange.Same),
            (null, 3, WordChange.Inserted));
    }

    /// <summary>
    /// On the trained default model, replacing the word a confident prediction rests on (the one Gradient × Input scores
    /// highest) by a word of the opposite sentiment flips it, and the comparison pairs the two words.
    /// </summary>
    [Fact]
    public void Replacing_the_sentiment_word_flips_the_prediction_and_pairs_the_words()
    {
        using var model = TrainedDefaultModel.Load();
        const string original = "an enjoyable but unfunny dialogue";
        var report = Counterfactuals.Compare(model, original, [Counterfactuals.Replace(original, ["unfunny=excellent"])], [new GradientXInput(), new Occlusion()]);
        report.Prediction.Should().Be("negative");
        var edit = report.Edits.Single();
        edit.Flipped.Should().BeTrue();
        edit.Prediction.Should().Be("positive");
        var row = edit.Words.Single(w => w.Change == WordChange.Replaced);
        (row.Original, row.Edited).Should().Be(("unfunny", "excellent"));
        row.OriginalScores[0].Should().BeGreaterThan(0, "the negative word supported the negative prediction");
        row.EditedScores[0].Should().BeLessThan(0, "its replacement speaks against it");
        row.Differences[0].Should().Be(row.EditedScores[0]!.Value - row.OriginalScores[0]!.Value);
        edit.Words.Where(w => w.Change == WordChange.Same).Select(w => w.Original).Should().Equal("an", "enjoyable", "but", "dialogue");
    }

    /// <summary>
    /// A multi-label model decides each label alone (σ above 0.5), so an edit flips the explained label when that label's
    /// decision changes, whatever the top label does. The model: embedding → mean over the tokens, so the logits are the
    /// mean of the embeddings of [CLS] word [SEP], with [CLS] and [SEP] at 0: goal (4, 2), dull (−2, −4), vote (2, 4).
    /// </summary>
    [Fact]
    public void A_multi_label_edit_flips_when_the_explained_labels_decision_changes_not_its_top_label()
    {
        var root = Directory.CreateTempSubdirectory("attribution-counterfactual-multilabel-").FullName;
        try
        {
            var vocab = Path.Combine(root, "vocab.txt");
            File.WriteAllLines(vocab, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "goal", "dull", "vote"]);
            var tokenizer = TokenizerLoader.FromWordPieceVocab(vocab);
            using var module = nn.Sequential(("embedding", nn.Embedding(tokenizer.VocabularySize, 2)), ("pool", new MeanOverTokens()));
            using (no_grad())
            {
                using var weights = tensor(new float[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 2, -2, -4, 2, 4 }).reshape(8, 2);
                module.get_parameter("embedding.weight")!.copy_(weights);
            }

            using var model = TextClassifier.FromTorchSharp(module, tokenizer, "embedding", ["sports", "politics"], head: OutputHead.MultiLabel);
            var report = Counterfactuals.Compare(model, "goal", ["dull", "vote"], [new Occlusion()]);

            // goal: logits (4/3, 2/3), both labels predicted, top (explained) label sports.
            report.Prediction.Should().Be("sports");
            report.PredictedLabels.Should().Equal("sports", "politics");
            static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

            // dull: (−2/3, −4/3). sports is still the top label, but σ(−2/3) = 0.339 < 0.5: no longer predicted, a flip.
            // (The top label was compared before: unchanged, no flip.) 1e-6: float32 embeddings, means of three.
            var dull = report.Edits[0];
            dull.Prediction.Should().Be("sports");
            dull.OriginalLabelProbability.Should().BeApproximately(Sigmoid(-2.0 / 3), 1e-6);
            dull.Flipped.Should().BeTrue();
            dull.PredictedLabels.Should().BeEmpty("no σ is above 0.5 (0.339 and 0.209)");

            // Predict answers the same logits otherwise, by its documented rule "every label above 0.5, or the top one":
            // sports (index 0, the larger logit −2/3). The counterfactual shows none, since its flips are σ crossing 0.5
            // and sports is no longer predicted by that rule (methods.md, Counterfactuals; Prediction.Labels).
            var predicted = model.Predict(["dull"])[0];
            predicted.Labels.Should().Equal([0], "no label is above 0.5, so Predict falls back to the top one");
            dull.Prediction.Should().Be(predicted.LabelName, "both name the top label");

            // vote: (2/3, 4/3). politics is now the top label, but sports is still predicted (σ(2/3) = 0.661): no flip.
            var vote = report.Edits[1];
            vote.Prediction.Should().Be("politics");
            vote.OriginalLabelProbability.Should().BeApproximately(Sigmoid(2.0 / 3), 1e-6);
            vote.Flipped.Should().BeFalse();
            vote.PredictedLabels.Should().Equal(["sports", "politics"], "σ(2/3) = 0.661 and σ(4/3) = 0.791, in label order");

            // The same logits under a softmax head: one class is predicted, so an edit flips when the top class changes.
            using var single = TextClassifier.FromTorchSharp(module, tokenizer, "embedding", ["sports", "politics"]);
            var softmax = Counterfactuals.Compare(single, "goal", ["dull", "vote"], [new Occlusion()]);
            softmax.Edits[0].Flipped.Should().BeFalse("dull: sports is still the top class, though its logit is below 0");
            softmax.Edits[1].Flipped.Should().BeTrue("vote: politics is now the top class, though sports' logit is still above 0");
            softmax.PredictedLabels.Should().Equal("sports");
            softmax.Edits.Select(e => e.PredictedLabels).Should().BeEquivalentTo(new[] { new[] { "sports" }, ["politics"] }, o => o.WithStrictOrdering());
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>
    /// An edit made only of characters the tokenizer drops (U+200B zero-width space, U+00AD soft hyphen) was refused by
    /// the explanations, as texts[2], after the prediction pass of every text: now it is refused naming edits[1] before
    /// any model pass (the forward counter sees none). The original gets the same refusal naming original.
    /// </summary>
    [Fact]
    public void An_edit_the_tokenizer_drops_entirely_is_refused_naming_it_before_any_model_pass()
    {
        var root = Directory.CreateTempSubdirectory("attribution-counterfactual-dropped-").FullName;
        try
        {
            using var model = Attribution.Tests.Models.Small.SmallModelKit.Random(root, SmallClassifierConfig.CnnType);
            model.Tokenizer.Encode("\u200b\u00ad").SpecialTokensMask.Should().OnlyContain(special => special, "the precondition: only the special tokens are left");
            using var passes = new Attribution.Tests.Methods.ForwardCounter(model);

            var edit = () => Counterfactuals.Compare(model, "a dull film", ["a great film", "\u200b\u00ad"], [new Occlusion()]);
            edit.Should().Throw<ArgumentException>()
                .WithMessage("edits[1] (\"\\u200B\\u00AD\") has no token but the special ones: the tokenizer drops every one of its characters*give a text with visible characters*")
                .Which.ParamName.Should().Be("edits");
            passes.Calls.Should().Be(0, "no text was predicted");

            var original = () => Counterfactuals.Compare(model, "\u200b", ["a great film"], [new Occlusion()]);
            original.Should().Throw<ArgumentException>().WithMessage("original (\"\\u200B\") has no token but the special ones*")
                .Which.ParamName.Should().Be("original");
            passes.Calls.Should().Be(0, "no text was predicted");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void A_text_longer_than_the_model_takes_is_predicted_truncated_as_it_is_explained_or_refused_naming_it()
    {
        using var model = TrainedDefaultModel.Load();
        var limit = model.MaxLength!.Value;
        var original = string.Join(' ', Enumerable.Repeat("an enjoyable dialogue", limit));
        var edited = Counterfactuals.Replace(original, ["enjoyable=unfunny"]);

        var report = Counterfactuals.Compare(model, original, [edited], [new GradientXInput()], new ExplainOptions { Truncate = true });
        var truncated = model.Predict([original, edited], truncate: true);
        report.Prediction.Should().Be(truncated[0].LabelName, "the prediction is of the truncated text the explanations see");
        report.Edits.Single().Prediction.Should().Be(truncated[1].LabelName);

        var refused = () => Counterfactuals.Compare(model, original, [edited], [new GradientXInput()]);
        refused.Should().Throw<ArgumentException>().WithMessage($"texts[0] has * tokens but {model.Name} accepts at most {limit}*truncat*").Which.ParamName.Should().Be("texts");
    }
}
