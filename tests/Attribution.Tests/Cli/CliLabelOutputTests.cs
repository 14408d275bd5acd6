using System.Text.Json.Nodes;

namespace Attribution.Tests.Cli;

/// <summary>Label names come from a model's config.json, which anyone can write: the terminal formats must neutralize them.</summary>
public sealed class CliLabelOutputTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("attribution-cli-labels-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    /// <summary>The multi-label test model (four labels) with hostile label names: an ANSI escape, a newline, a bidi override.</summary>
    private string HostileLabels()
    {
        var source = SharedData.Require("models/bert-multilabel-random");
        foreach (var file in Directory.GetFiles(source).Where(f => Path.GetFileName(f) != "config.json"))
        {
            File.CreateSymbolicLink(Path.Combine(root, Path.GetFileName(file)), file);
        }

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(source, "config.json")))!.AsObject();
        string[] names = ["\u001b[31mred", "two\nlines", "\u202Eright-to-left", "plain"];
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
