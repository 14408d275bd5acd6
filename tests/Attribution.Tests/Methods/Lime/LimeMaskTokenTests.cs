using System.Text.RegularExpressions;
using Attribution.Methods;
using Attribution.Models;

namespace Attribution.Tests.Methods;

/// <summary>
/// LIME's switched-off words become the model's own mask token, one mask id per word for BERT and RoBERTa alike
/// (LIT writes <c>[MASK]</c> for every model, which RoBERTa's byte-level BPE reads as several ordinary tokens).
/// </summary>
public sealed class LimeMaskTokenTests
{
    private const string Text = "the movie was not good at all";

    [SkippableTheory]
    [InlineData("roberta-random", "<mask>")]
    [InlineData("sst2-bert-tiny", "[MASK]")]
    public void Switched_off_words_become_the_model_s_mask_token(string name, string expected)
    {
        using var model = ClassifierLoader.Load(SharedData.Require($"models/{name}"));
        var maskId = model.Tokenizer.MaskId!.Value;
        var lime = new Lime { Samples = 16, Seed = 1 };
        var run = lime.Run(model, Text, 0);
        run.Masks.Should().Contain(m => m.Contains(false));
        for (var i = 0; i < run.Masks.Length; i++)
        {
            var off = run.Masks[i].Count(kept => !kept);
            Regex.Count(run.PerturbedTexts[i], Regex.Escape(expected)).Should().Be(off, run.PerturbedTexts[i]);
            model.Tokenizer.Encode(run.PerturbedTexts[i]).Ids.Count(id => id == maskId).Should().Be(off, $"one mask id per switched-off word in \"{run.PerturbedTexts[i]}\"");
        }

        var explanation = lime.Explain(model, Text);
        explanation.Setting("mask-token").Should().Be(expected);
        explanation.Notes.Should().NotContain(n => n.Contains("mask string", StringComparison.Ordinal));
    }

    [SkippableFact]
    public void A_mask_string_of_several_tokens_is_used_as_given_with_a_note()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/roberta-random"));
        var lime = new Lime { Samples = 16, Seed = 1, MaskToken = "[MASK]" };
        lime.Run(model, Text, 0).PerturbedTexts.Should().Contain(t => t.Contains("[MASK]", StringComparison.Ordinal));
        var explanation = lime.Explain(model, Text);
        explanation.Setting("mask-token").Should().Be("[MASK]");
        var pieces = model.Tokenizer.Encode("[MASK]").Offsets.Count(o => o is not null);
        pieces.Should().BeGreaterThan(1);
        explanation.Notes.Should().Contain(n => n.Contains($"the mask string \"[MASK]\" is {pieces} tokens", StringComparison.Ordinal)
            && n.Contains("its own mask token is \"<mask>\"", StringComparison.Ordinal));
    }

    [SkippableTheory]
    [InlineData("sst2-bert-tiny")]
    [InlineData("bert-regression-random")]
    public void A_mask_string_that_makes_perturbed_texts_longer_than_the_model_takes_is_refused_by_name(string name)
    {
        // 126 one-token words fill the 128 positions with [CLS] and [SEP]. "[MASK] [MASK]" is two tokens for each
        // switched-off word, so every perturbed text is longer than the model takes. Before, the classifier refused it
        // as "texts[1]", suggesting truncation LIME cannot use, and the regression head's path cut it silently.
        using var model = ClassifierLoader.Load(SharedData.Require($"models/{name}"));
        var text = string.Join(' ', Enumerable.Repeat("good", 126));
        model.MaxLength.Should().Be(128);
        model.Tokenizer.Encode(text).Length.Should().Be(128, "the precondition: the text itself fits exactly");
        var act = () => new Lime { Samples = 4, Seed = 1, MaskToken = "[MASK] [MASK]" }.Explain(model, text);
        act.Should().Throw<ArgumentException>().Where(e => e.ParamName == "MaskToken")
            .WithMessage("a perturbed text has * tokens but * accepts at most 128 (the text itself has 128): the mask string \"[MASK] [MASK]\" is more tokens than the words it replaces*");

        // The model's own mask token keeps every perturbed text at 128 tokens.
        new Lime { Samples = 4, Seed = 1 }.Explain(model, text).Scores.Should().HaveCount(126);
    }

    [Fact]
    public void A_black_box_gets_lit_s_mask_string_and_a_blank_one_is_refused()
    {
        var additive = LimeAdditiveTests.Additive();
        new Lime { Samples = 8 }.Run(additive, "good bad film", 1).PerturbedTexts.Should().Contain(t => t.Contains("[MASK]", StringComparison.Ordinal));
        new Lime { Samples = 8 }.Explain(additive, "good bad film").Setting("mask-token").Should().Be("[MASK]");
        new Lime().Settings.Should().ContainSingle(kv => kv.Key == "mask-token").Which.Value.Should().Be("the model's mask token");
        foreach (var blank in new[] { "", "  " })
        {
            var act = () => new Lime { MaskToken = blank }.Explain(additive, "good bad film");
            act.Should().Throw<ArgumentException>().Where(e => e.ParamName == "MaskToken").WithMessage("*empty or blank*Perturbation = Remove*");
        }
    }
}
