using System.Text.Json;
using Attribution.Evaluation;
using Attribution.Methods;
using Attribution.Models;

namespace Attribution.Tests.Cli;

/// <summary>
/// <c>attribution shortcut</c>: the self-contained demo plants words the generated corpus never uses, the CNN learns
/// them and Gradient × Input ranks them first; part (c) on the saved model equals the library's figures; bad usage
/// names the option.
/// </summary>
public sealed class CliShortcutTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("attribution-cli-shortcut-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    /// <summary>
    /// End to end on the generated corpus (3 epochs, 40 contradicting sentences: about 20 s on two cores). "zorblax" and
    /// "quibbit" occur in no generated sentence, and each decides the label of the 150 training sentences it is planted
    /// in, so a CNN that fits the data must key on them: it follows them in 40 of 40 contradicting sentences here.
    /// Thresholds: follow rate ≥ 0.8 and Gradient × Input precision@1 ≥ 0.8 (observed 1.0 and 1.0), leaving room for
    /// libtorch's float differences between machines while still failing if the shortcut were not learned (the rate
    /// would be near 0: the true label wins) or if the ranking were wrong (another word first in most sentences).
    /// </summary>
    [Fact]
    public void Demo_model_learns_the_planted_words_and_gradient_x_input_ranks_them_first()
    {
        var saved = Path.Combine(root, "model");
        var run = CliHarness.Run("shortcut", "--demo", "--epochs", "3", "--max-sentences", "40", "--methods", "gradient-x-input",
            "--save", saved, "--format", "json");
        run.Code.Should().Be(0, run.ToString());
        using var document = JsonDocument.Parse(run.Out);
        var rootElement = document.RootElement;
        rootElement.GetProperty("training").GetProperty("planted").GetInt32().Should().Be(300, "10% of 3000 training sentences");
        var contradicting = rootElement.GetProperty("contradicting");
        contradicting.GetProperty("sentences").GetInt32().Should().Be(40);
        contradicting.GetProperty("follow_rate").GetDouble().Should().BeGreaterThanOrEqualTo(0.8, run.ToString());
        var gxi = rootElement.GetProperty("methods").GetProperty("gradient-x-input");
        gxi.GetProperty("sentences").GetInt32().Should().Be(contradicting.GetProperty("followed_shortcut").GetInt32());
        gxi.GetProperty("precision_at_1").GetDouble().Should().BeGreaterThanOrEqualTo(0.8, run.ToString());

        // Part (c) alone on the saved model: a TSV with sentence and highlight columns, equal to the library's figures.
        var sentences = new[] { ("the plot was superb zorblax", "zorblax"), ("quibbit i hated this film", "quibbit"), ("a very dull movie", "dull") };
        var tsv = Path.Combine(root, "highlights.tsv");
        File.WriteAllLines(tsv, ["sentence\thighlight", .. sentences.Select(s => $"{s.Item1}\t{s.Item2}")]);
        var scored = CliHarness.Run("shortcut", "--model", saved, "--input", tsv, "--methods", "gradient-x-input,gradient", "--format", "json");
        scored.Code.Should().Be(0, scored.ToString());
        using var scoredDocument = JsonDocument.Parse(scored.Out);
        scoredDocument.RootElement.GetProperty("sentences").GetInt32().Should().Be(3);
        using var model = ClassifierLoader.Load(saved);
        var texts = sentences.Select(s => s.Item1).ToList();
        var highlights = sentences.Select(s => (IReadOnlyCollection<string>)[s.Item2]).ToList();
        foreach (var (name, method) in new (string, IAttributor)[] { ("gradient-x-input", new GradientXInput()), ("gradient", new Gradient()) })
        {
            var expected = Shortcuts.Score(texts.Select(t => method.Explain(model, t)).ToList(), highlights);
            var figures = scoredDocument.RootElement.GetProperty("methods").GetProperty(name);
            figures.GetProperty("precision_at_1").GetDouble().Should().Be(expected.PrecisionAt1, name);
            figures.GetProperty("mrr").GetDouble().Should().Be(expected.MeanReciprocalRank, name);
            figures.GetProperty("sentences").GetInt32().Should().Be(3);
        }

        // Both displays state the tie rule.
        scoredDocument.RootElement.GetProperty("ranking").GetString().Should().Contain("tied words in a random order");
        var table = CliHarness.Run("shortcut", "--model", saved, "--input", tsv, "--methods", "gradient");
        table.Code.Should().Be(0, table.ToString());
        table.Out.Should().Contain("tied words count in a random order");
    }

    /// <summary>
    /// --save over a folder that already holds a model: the vocabulary was written into it before training, so a
    /// training that failed (here the save at its end: model.safetensors is a folder) or was interrupted left the
    /// older model with the new run's vocab.txt, a model that loads and tokenizes wrongly. Now the folder is untouched
    /// until the whole model is written.
    /// </summary>
    [Fact]
    public void A_failed_save_leaves_the_model_already_in_the_folder_as_it_was()
    {
        var saved = Path.Combine(root, "model");
        Directory.CreateDirectory(Path.Combine(saved, "model.safetensors"));
        File.WriteAllLines(Path.Combine(saved, "vocab.txt"), ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "older"]);
        var before = File.ReadAllBytes(Path.Combine(saved, "vocab.txt"));

        var run = CliHarness.Run("shortcut", "--demo", "--epochs", "1", "--max-sentences", "5", "--methods", "gradient", "--save", saved);

        run.Code.Should().NotBe(0, run.ToString());
        File.ReadAllBytes(Path.Combine(saved, "vocab.txt")).Should().Equal(before, "the older model's vocabulary stays with its weights");
        Directory.GetFileSystemEntries(saved).Select(Path.GetFileName).Should().BeEquivalentTo(["model.safetensors", "vocab.txt"]);
        Directory.GetFileSystemEntries(root).Select(Path.GetFileName).Should().Equal(["model"], "no staging folder is left");
    }

    /// <summary>
    /// The trainer refuses a text longer than the model takes unless asked to cut it; the command's own model takes 128
    /// tokens and it explains its test sentences truncated, so it cuts training sentences too, saying so (before, the
    /// run failed with the library's advice to set TrainingOptions.MaxLength and an index into the shuffled set).
    /// </summary>
    [Fact]
    public void Training_sentences_longer_than_the_models_length_are_cut_with_a_note()
    {
        string[] positive = ["good", "great", "superb", "lovely"], negative = ["bad", "dull", "awful", "weak"];
        var rows = Enumerable.Range(0, 40).Select(i => $"{string.Join(' ', Enumerable.Range(0, 6).Select(k => (i % 2 == 1 ? positive : negative)[(i + k) % 4]))} film\t{i % 2}");
        var train = Path.Combine(root, "long.tsv");
        // 140 words of one token each, [CLS] and [SEP]: 142 tokens, three times so the split keeps one in training.
        File.WriteAllLines(train, ["sentence\tlabel", .. rows, .. Enumerable.Repeat(string.Join(' ', Enumerable.Repeat("good", 140)) + "\t1", 3)]);
        var run = CliHarness.Run("shortcut", "--train", train, "--words", "zorblax", "--epochs", "1", "--methods", "gradient");
        run.Code.Should().Be(0, run.ToString());
        run.Error.Should().MatchRegex(@"shortcut: [1-3] training sentence\(s\) are longer than the model's 128 tokens and were cut to 128 for training");
    }

    [Theory]
    [InlineData("no-highlight", "--input", "'highlight' column")]
    [InlineData("unknown-method", "--methods", "unknown method 'gradient-x-output'")]
    [InlineData("fraction-zero", "--fraction", "(0, 1]")]
    [InlineData("fraction-large", "--fraction", "(0, 1]")]
    [InlineData("two-words", "--words", "not one word")]
    [InlineData("punctuation", "--words", "not one word")]
    [InlineData("no-words", "--words", "give the shortcut words")]
    [InlineData("no-input", "--input", "'sentence' and 'highlight'")]
    public void Bad_usage_names_the_option(string @case, string option, string message)
    {
        var noHighlight = Path.Combine(root, "no-highlight.tsv");
        File.WriteAllLines(noHighlight, ["sentence\tlabel", "a very dull movie\t0"]);
        var train = Path.Combine(root, "train.tsv");
        File.WriteAllLines(train, ["sentence\tlabel", "a very dull movie\t0", "a superb film\t1"]);
        File.WriteAllLines(Path.Combine(root, "plain.tsv"), ["text\tword", "a very dull movie\tdull"]);
        string[] args = @case switch
        {
            "no-highlight" => ["shortcut", "--model", root, "--input", noHighlight],
            "unknown-method" => ["shortcut", "--demo", "--methods", "gradient-x-output"],
            "fraction-zero" => ["shortcut", "--demo", "--fraction", "0"],
            "fraction-large" => ["shortcut", "--train", train, "--words", "zorblax,quibbit", "--fraction", "1.5"],
            "two-words" => ["shortcut", "--train", train, "--words", "zorblax,two words"],
            "punctuation" => ["shortcut", "--demo", "--words", "don't"],
            "no-words" => ["shortcut", "--train", train],
            _ => ["shortcut", "--model", root, "--input", train.Replace("train", "plain", StringComparison.Ordinal)],
        };
        var run = CliHarness.Run(args);
        run.Code.Should().Be(2, run.ToString());
        run.Error.Should().Contain($"error: {option}").And.Contain(message);
    }
    /// <summary>
    /// The classes are 0 to the largest label: a stray 7 in a file of 0s and 1s made six classes no sentence has (and a
    /// label of 2000000000 two billion of them, exhausting memory before anything was said). It is refused naming the
    /// classes without a sentence; two classes with one absent stay allowed.
    /// </summary>
    [Fact]
    public void Labels_with_gaps_are_refused_naming_the_missing_classes()
    {
        var train = Path.Combine(root, "gaps.tsv");
        File.WriteAllLines(train, ["sentence\tlabel", "a very dull movie\t0", "a superb film\t1", "a stray row\t7"]);

        var run = CliHarness.Run("shortcut", "--train", train, "--words", "zorblax", "--epochs", "1", "--methods", "gradient");

        run.Code.Should().Be(2, run.ToString());
        run.Error.Should().Contain($"error: --train: {train}: the labels go up to 7, but no sentence has class 2, 3, 4, 5, 6, …");
    }

    /// <summary>
    /// LabeledText.ReadTsv refuses a malformed file with a FormatException (the path is a valid argument; its content is
    /// not), naming the file, the line and the value; the command reports it as a usage error of --train (exit 2), the
    /// message as it is.
    /// </summary>
    [Fact]
    public void A_malformed_training_file_is_a_usage_error_naming_train_the_file_and_the_line()
    {
        var train = Path.Combine(root, "malformed.tsv");
        File.WriteAllLines(train, ["sentence\tlabel", "a very dull movie\t0", "a superb film\tpositive"]);

        var run = CliHarness.Run("shortcut", "--train", train, "--words", "zorblax", "--epochs", "1", "--methods", "gradient");

        run.Code.Should().Be(2, run.ToString());
        run.Error.Should().StartWith($"error: --train: {train}, line 3: ").And.Contain("positive");
    }
}
