using System.Text.Json.Nodes;

namespace Attribution.Tests.Cli;

/// <summary>Label names come from a model's config.json, which anyone can write: the terminal formats must neutralize them.</summary>
public sealed class CliLabelOutputTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("attribution-cli-labels-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    /// <summary>The multi-label test model (four labels) with hostile label names: an ANSI escape, a newline, a bidi override.</summary>
    private string HostileLabels() => WithLabels(["\u001b[31mred", "two\nlines", "\u202Eright-to-left", "plain"]);

    /// <summary>The multi-label test model (four labels) with the given label names.</summary>
    private string WithLabels(string[] names)
    {
        var source = SharedData.Require("models/bert-multilabel-random");
        foreach (var file in Directory.GetFiles(source).Where(f => Path.GetFileName(f) != "config.json"))
        {
            File.CreateSymbolicLink(Path.Combine(root, Path.GetFileName(file)), file);
        }

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(source, "config.json")))!.AsObject();
        config["id2label"] = new JsonObject(names.Select((n, i) => KeyValuePair.Create(i.ToString(System.Globalization.CultureInfo.InvariantCulture), (JsonNode?)n)));
        config["label2id"] = new JsonObject(names.Select((n, i) => KeyValuePair.Create(n, (JsonNode?)i)));
        File.WriteAllText(Path.Combine(root, "config.json"), config.ToJsonString());
        return root;
    }

    [SkippableFact]
    public void The_predict_table_neutralizes_label_names_like_texts()
    {
        var run = CliHarness.Run("predict", "--model", HostileLabels(), "--text", "a film", "--text", "another film", "--format", "table");
        run.Code.Should().Be(0, run.ToString());
        run.Out.Should().NotContain("\u001b").And.NotContain("\u202E");
        run.Out.TrimEnd('\n').Split('\n').Should().HaveCount(3, "a header line and one line per text: a label's newline must not break the table\n" + run.Out);
        run.Out.Should().Contain("σ(\uFFFD[31mred)").And.Contain("σ(two\uFFFDlines)").And.Contain("σ(\uFFFDright-to-left)");
    }

    [SkippableFact]
    public void The_predict_table_aligns_cjk_label_names_by_terminal_columns()
    {
        // Four two-character CJK names: 4 columns each (2 UTF-16 units). A prediction of k labels ("毒性,侮辱,…") takes
        // 4k + (k − 1) columns; the first column is as wide as the widest prediction (at least 10, "prediction" + pad),
        // each σ column max(8, 4 + 3) = 8 wide, so by hand every header cell "σ(毒性)" (7 columns) gets one space.
        string[] names = ["毒性", "侮辱", "脅迫", "迷惑"];
        var folder = WithLabels(names);
        var run = CliHarness.Run("predict", "--model", folder, "--text", "a film", "--format", "table");
        run.Code.Should().Be(0, run.ToString());
        using var model = Attribution.Models.ClassifierLoader.Load(folder);
        var k = model.Predict(["a film"])[0].Logits.Count(l => 1 / (1 + Math.Exp(-l)) > 0.5);
        var first = Math.Max(10, (5 * k) - 1);
        var lines = run.Out.Split('\n');
        lines[0].Should().Be("prediction" + new string(' ', first - 10 + 2) + string.Concat(names.Select(n => " σ(" + n + ")  ")) + "text");
        lines[1].Should().MatchRegex("^[^ ]+" + new string(' ', first - ((5 * Math.Max(k, 1)) - 1) + 2) + "(  [01]\\.[0-9]{4}  ){4}a film$");
    }

    [SkippableFact]
    public void The_counterfactual_table_and_markdown_neutralize_the_predicted_label_names()
    {
        // Every label hostile, so whichever the random model predicts for the original and the edit is one of them.
        var terminal = WithLabels(["\u001b[31mred", "\u001b[32mgreen", "\u202Eright-to-left", "two\nlines"]);
        var table = CliHarness.Run("counterfactual", "--model", terminal, "--text", "a film", "--edit", "a dull film", "--methods", "gradient");
        table.Code.Should().Be(0, table.ToString());
        table.Out.Should().NotContain("\u001b").And.NotContain("\u202E").And.NotContain("two\nlines");
        // A multi-label prediction: every label above 0.5, comma-separated, then the top label's σ, each name neutralized.
        const string Terminal = "(\uFFFD\\[31mred|\uFFFD\\[32mgreen|\uFFFDright-to-left|two\uFFFDlines)";
        table.Out.Should().MatchRegex($"original: a film -> {Terminal}(,{Terminal})* \\(σ\\({Terminal}\\) ");

        Directory.Delete(root, recursive: true);
        Directory.CreateDirectory(root);
        var markdown = CliHarness.Run("counterfactual", "--model", WithLabels(["*a*", "*b*", "<c>", "|d|"]), "--text", "a film", "--edit", "a dull film",
            "--methods", "gradient", "--format", "markdown");
        markdown.Code.Should().Be(0, markdown.ToString());
        const string Markdown = "(\\\\\\*a\\\\\\*|\\\\\\*b\\\\\\*|\\\\<c\\\\>|\\\\\\|d\\\\\\|)";
        markdown.Out.Should().MatchRegex($"\\*\\*Original:\\*\\* a film → {Markdown}(,{Markdown})* \\(");
        markdown.Out.Should().MatchRegex($"\\*\\*Edit:\\*\\* a dull film → {Markdown}(,{Markdown})*( \\(flipped\\))?\n");
    }

    [SkippableFact]
    public void Error_messages_quoting_label_names_neutralize_them_and_stay_on_one_line()
    {
        var run = CliHarness.Run("explain", "--model", HostileLabels(), "--method", "gradient", "--text", "a film", "--target", "no-such-label");
        run.Code.Should().Be(2, run.ToString());
        run.Error.Should().StartWith("error: --target: unknown target label 'no-such-label'");
        run.Error.Should().NotContain("\u001b").And.NotContain("\u202E");
        run.Error.TrimEnd('\n').Split('\n').Should().ContainSingle("the label's newline must not break the one-line message:\n" + run.Error);
        run.Error.Should().Contain("\uFFFD[31mred").And.Contain("two lines").And.Contain("\uFFFDright-to-left");
    }
}
