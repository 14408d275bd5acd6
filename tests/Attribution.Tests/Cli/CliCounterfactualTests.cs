using System.Globalization;
using System.Text.Json.Nodes;
using Attribution.Models;

namespace Attribution.Tests.Cli;

/// <summary>The counterfactual command's console table, with the texts a reviewer would try.</summary>
public sealed class CliCounterfactualTests
{
    [SkippableFact]
    public void The_table_makes_texts_printable_and_aligns_wide_words_by_terminal_columns()
    {
        // "\u001b[31m" would turn the terminal red; 映画 is two characters four columns wide. The word columns are 14
        // columns wide, so by hand: "  " + word + (14 − its columns) spaces, twice, then the change column.
        var run = CliHarness.Run("counterfactual", "--model", CliHarness.TinyBert, "--text", "a \u001b[31mred 映画", "--edit", "a \u001b[31mblue 映画",
            "--methods", "gradient");
        run.Code.Should().Be(0, run.ToString());
        run.Out.Should().NotContain("\u001b");
        run.Out.Should().Contain("original: a \uFFFD[31mred 映画 -> ").And.Contain("edit: a \uFFFD[31mblue 映画 -> ");
        var lines = run.Out.Split('\n');
        lines.Should().Contain(l => l.StartsWith("  \uFFFD[31mred      \uFFFD[31mblue     replaced  ", StringComparison.Ordinal));
        // An unchanged word: an empty change column (10 columns) before the scores.
        lines.Should().Contain(l => l.StartsWith("  映画" + new string(' ', 10) + "映画" + new string(' ', 10) + new string(' ', 10), StringComparison.Ordinal));
    }

    /// <summary>
    /// An empty or blank --edit was refused as "--text: texts[2] is empty", naming an option the user gave right and an
    /// index of the library's list; the refusal names --edit and which edit (the second here, counted from 1).
    /// </summary>
    [SkippableTheory]
    [InlineData("")]
    [InlineData("   ")]
    public void A_blank_edit_is_refused_naming_edit(string blank)
    {
        var run = CliHarness.Run("counterfactual", "--model", CliHarness.TinyBert, "--text", "a good film", "--edit", "a bad film", "--edit", blank,
            "--methods", "gradient");
        run.Code.Should().Be(2, run.ToString());
        run.Error.Should().Contain("--edit: edit 2 is empty").And.NotContain("--text");
    }

    /// <summary>
    /// An edit longer than the model accepts was refused as "--text: texts[2] has … tokens", naming the wrong option and
    /// the library's 0-based list (the original counted); the refusal names --edit, the edit (2, counted from 1) and
    /// --truncate. The tiny BERT accepts 128 tokens; "good " × 200 is 202 tokens ([CLS], 200 × "good", one vocabulary token, [SEP]).
    /// </summary>
    [SkippableFact]
    public void An_edit_longer_than_the_model_accepts_is_refused_naming_edit()
    {
        var run = CliHarness.Run("counterfactual", "--model", CliHarness.TinyBert, "--text", "a good film", "--edit", "a bad film",
            "--edit", string.Concat(Enumerable.Repeat("good ", 200)), "--methods", "gradient");
        run.Code.Should().Be(2, run.ToString());
        run.Error.Should().Contain("--edit: text 2 has 202 tokens").And.Contain("--truncate").And.NotContain("--text");
    }

    /// <summary>
    /// A multi-label model decides each label alone: the original and each edit show every label whose σ is above 0.5
    /// (comma-separated, as predict shows them), with the top label's σ named, in the table, Markdown and JSON. The
    /// expected labels come from the model's logits here (σ above 0.5 is a logit above 0); 4 decimals as printed.
    /// </summary>
    [SkippableFact]
    public void A_multi_label_model_shows_every_label_above_one_half()
    {
        var folder = SharedData.Require("models/bert-multilabel-random");
        const string Original = "you are an idiot", Edit = "you are a genius";
        string Expected(string text, out JsonArray labels)
        {
            using var model = ClassifierLoader.Load(folder);
            var encoding = model.Tokenizer.Encode(text);
            var logits = ((ITokenClassifier)model).PredictLogits([new TokenSequence(encoding.Ids, encoding.TypeIds)])[0];
            var above = Enumerable.Range(0, logits.Length).Where(k => logits[k] > 0).Select(k => model.Labels[k]).ToArray();
            above.Length.Should().BeGreaterThan(1, "the precondition: several labels above 0.5, so the top one alone is not the prediction");
            var top = Array.IndexOf(logits, logits.Max());
            labels = [.. above.Select(l => (JsonNode)l)];
            var sigma = (1 / (1 + Math.Exp(-logits[top]))).ToString("0.0000", CultureInfo.InvariantCulture);
            return $"{string.Join(",", above)} (σ({model.Labels[top]}) {sigma})";
        }

        var original = Expected(Original, out var originalLabels);
        var edit = Expected(Edit, out var editLabels);
        var table = CliHarness.Run("counterfactual", "--model", folder, "--text", Original, "--edit", Edit, "--methods", "occlusion");
        table.Code.Should().Be(0, table.ToString());
        table.Out.Should().Contain($"original: {Original} -> {original}\n").And.Contain($"edit: {Edit} -> {edit}");

        var markdown = CliHarness.Run("counterfactual", "--model", folder, "--text", Original, "--edit", Edit, "--methods", "occlusion", "--format", "markdown");
        markdown.Out.Should().Contain($"**Original:** {Original} → {original}\n").And.Contain($"**Edit:** {Edit} → {edit.Split(' ')[0]}");

        var json = JsonNode.Parse(CliHarness.Run("counterfactual", "--model", folder, "--text", Original, "--edit", Edit, "--methods", "occlusion", "--format", "json").Out)!;
        JsonNode.DeepEquals(json["predicted_labels"], originalLabels).Should().BeTrue(json.ToJsonString());
        JsonNode.DeepEquals(json["edits"]![0]!["predicted_labels"], editLabels).Should().BeTrue(json.ToJsonString());
    }

    /// <summary>A single-label model's prediction is shown as it was: its label and probability, no σ, no predicted_labels.</summary>
    [SkippableFact]
    public void A_single_label_model_shows_its_label_as_before()
    {
        using var model = ClassifierLoader.Load(CliHarness.TinyBert);
        var prediction = model.Predict(["a gripping film"])[0];
        var table = CliHarness.Run("counterfactual", "--model", CliHarness.TinyBert, "--text", "a gripping film", "--edit", "a dull film", "--methods", "occlusion");
        table.Code.Should().Be(0, table.ToString());
        table.Out.Should().StartWith($"original: a gripping film -> {prediction.LabelName} ({prediction.Probabilities[prediction.Label].ToString("0.0000", CultureInfo.InvariantCulture)})\n");
        var json = JsonNode.Parse(CliHarness.Run("counterfactual", "--model", CliHarness.TinyBert, "--text", "a gripping film", "--edit", "a dull film", "--methods", "occlusion", "--format", "json").Out)!;
        json.AsObject().ContainsKey("predicted_labels").Should().BeFalse();
        json["edits"]![0]!.AsObject().ContainsKey("predicted_labels").Should().BeFalse();
    }

    /// <summary>The comparison is word by word: token scores and special tokens have no row, so asking for them is refused, not dropped.</summary>
    [Theory]
    [InlineData("--granularity", "tokens", "word scores only")]
    [InlineData("--keep-special", null, "special tokens ([CLS], [SEP]) are no words")]
    public void Options_it_cannot_honour_are_refused_naming_them(string option, string? value, string message)
    {
        string[] given = value is null ? [option] : [option, value];
        var run = CliHarness.Run(["counterfactual", "--text", "a good film", "--edit", "a bad film", .. given]);

        run.Code.Should().Be(2, run.ToString());
        run.Error.Should().StartWith($"error: {option}: counterfactual").And.Contain(message).And.Contain($"leave {option} out");
    }

    /// <summary>
    /// explain and compare refuse --target and --score when plain attention rollout is the only method (it multiplies
    /// attention weights only, so no class or output enters it), but counterfactual took them and recorded nothing
    /// different. It now refuses them the same way; grad-attention-rollout weights the attention by the gradient of the
    /// target's score, so it uses both and takes them, as does attention-rollout beside a method that uses them.
    /// </summary>
    [SkippableTheory]
    [InlineData("--target", "1")]
    [InlineData("--score", "probability")]
    public void Attention_rollout_alone_refuses_a_target_or_score_as_compare_does(string option, string value)
    {
        string[] run = ["counterfactual", "--model", CliHarness.TinyBert, "--text", "a good film", "--edit", "a bad film", option, value, "--format", "json"];

        var alone = CliHarness.Run([.. run, "--methods", "attention-rollout"]);
        alone.Code.Should().Be(2, alone.ToString());
        alone.Error.Should().StartWith($"error: {option}: attention-rollout reads the attention weights only").And.Contain($"leave {option} out");
        alone.Out.Should().BeEmpty();

        CliHarness.Run([.. run, "--methods", "grad-attention-rollout"]).Code.Should().Be(0);
        CliHarness.Run([.. run, "--methods", "attention-rollout,gradient"]).Code.Should().Be(0);
    }

    /// <summary>
    /// compare refuses an option that none of its methods uses, but counterfactual, which takes the same options, did
    /// not: --samples 5 or --seed 3 beside the default methods (gradient-x-input, integrated-gradients, occlusion, none
    /// of which samples) gave exit 0 and the same report as without them. They are now refused by name; with a method
    /// that uses them (lime) they are taken.
    /// </summary>
    [SkippableTheory]
    [InlineData("--samples", "5")]
    [InlineData("--seed", "3")]
    [InlineData("--window", "2", "gradient")]
    public void An_option_none_of_the_methods_uses_is_refused_not_ignored(string option, string value, string? methods = null)
    {
        string[] run = ["counterfactual", "--model", CliHarness.TinyBert, "--text", "a good film", "--edit", "a bad film", option, value];
        var refused = CliHarness.Run(methods is null ? run : [.. run, "--methods", methods]);

        refused.Code.Should().Be(2, refused.ToString());
        refused.Error.Should().StartWith($"error: {option}: none of the compared methods ({methods ?? "gradient-x-input, integrated-gradients, occlusion"}) uses it");
        refused.Out.Should().BeEmpty();

        var taken = CliHarness.Run([.. run, "--methods", option == "--window" ? "occlusion" : "lime", "--format", "json"]);
        taken.Code.Should().Be(0, taken.ToString());
    }
}
