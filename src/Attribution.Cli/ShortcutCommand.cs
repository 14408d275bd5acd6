using Attribution.Pipeline;
using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Attribution.Data;
using Attribution.Evaluation;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Training;
using TorchSharp;

namespace Attribution.Cli;

/// <summary>
/// <c>attribution shortcut</c>: planted shortcuts (Bastings et al.). With <c>--model</c> and <c>--input</c> (a TSV with
/// <c>sentence</c> and <c>highlight</c> columns) it scores each method's precision@1 and MRR at ranking the highlighted
/// word first. With <c>--train TSV --words ...</c> (or <c>--demo</c>, on the generated sentiment corpus) it plants the
/// words in the training data, trains a small CNN, builds sentences where the shortcut contradicts the true label,
/// reports how often the model follows it, and scores the methods on the sentences where it did.
/// </summary>
internal static class ShortcutCommand
{
    /// <summary>The methods run when <c>--methods</c> is not given (shapley is left out: it refuses texts of over 12 words).</summary>
    public static readonly string[] DefaultMethods =
    [
        "gradient", "gradient-x-input", "integrated-gradients", "conductance", "lrp-epsilon", "lime", "smoothgrad", "gradient-shap",
        "occlusion", "shapley-sampling", "kernel-shap",
    ];

    /// <summary>The shortcut words of <c>--demo</c> when <c>--words</c> is not given: not words of the generated corpus.</summary>
    public const string DemoWords = "zorblax=negative,quibbit=positive";

    private const int TrainMaxLength = 128;

    /// <summary>The command, bound to <paramref name="context"/>.</summary>
    public static Command Create(CliContext context)
    {
        var options = new CliOptions();
        options.DefaultMethods(DefaultMethods);

        // No default model here: the default model learned no shortcut, and --train / --demo train their own.
        options.Model.Description = "The model to score on --input, which needs it (Hugging Face layout: config.json, model.safetensors, "
            + "vocab.txt or tokenizer.json; or an ONNX export with model.onnx instead of model.safetensors, which the perturbation "
            + "methods explain), e.g. one saved by --save. Not with --train or --demo, which train their own.";
        var train = new Option<string?>("--train") { Description = "Parts (a)-(c): a training TSV (header line, sentence<TAB>label rows) to plant the shortcut words in.", HelpName = "TSV" };
        var demo = new Option<bool>("--demo") { Description = "Parts (a)-(c) on the generated sentiment corpus (no file needed; --words defaults to " + DemoWords + ")." };
        var words = new Option<string?>("--words")
        {
            Description = "The shortcut words, comma-separated; WORD=LABEL (a class index or name) sets the label, otherwise the i-th word sets class i.",
            HelpName = "W1,W2",
        };
        var fraction = CliOptions.Number("--fraction", "Fraction of training sentences a shortcut word is planted in, in (0, 1] (default 0.1).", "F");
        var maxSentences = CliOptions.Int("--max-sentences", "Parts (a)-(c): the most contradicting sentences built and explained (default 200).", 1);
        var epochs = CliOptions.Int("--epochs", "Parts (a)-(c): the most training epochs (default 10, as the default model; early stopping on planted development data).", 1, 1000);
        var save = new Option<string?>("--save") { Description = "Parts (a)-(c): keep the trained model in this folder (Hugging Face layout) for later --model runs.", HelpName = "DIR" };
        var format = new Option<string?>("--format") { Description = "Output format (default table).", HelpName = "table|json" };
        format.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string?>() is { } value && value is not ("table" or "json"))
            {
                result.AddError($"--format: unknown value '{value}' (shortcut writes table or json)");
            }
        });

        var command = new Command("shortcut", "Planted shortcuts: how often each method ranks the shortcut (highlighted) word first (precision@1, MRR); with --train or --demo, plant the words, train a CNN and test it first.")
        {
            options.Model, options.Input, options.Methods, train, demo, words, fraction, maxSentences, epochs, save, format, options.Output, options.Truncate,
            options.BatchSize, options.Verbose,
        };
        foreach (var option in options.MethodOptions.Where(o => !ReferenceEquals(o, options.Target)))
        {
            command.Options.Add(option);
        }

        command.SetAction(parse => Execute(parse, options, context, new Extra(train, demo, words, fraction, maxSentences, epochs, save, format)));
        return command;
    }

    private sealed record Extra(Option<string?> Train, Option<bool> Demo, Option<string?> Words, Option<double?> Fraction, Option<int?> MaxSentences,
        Option<int?> Epochs, Option<string?> Save, Option<string?> Format);

    private static int Execute(ParseResult parse, CliOptions options, CliContext context, Extra extra)
    {
        var settings = RunSettings.From(parse, options);
        var trainPath = parse.GetValue(extra.Train);
        RunSettings.CheckPathNotEmpty("--train", trainPath, "the TSV of training sentences");
        RunSettings.CheckPathNotEmpty("--save", parse.GetValue(extra.Save), "the folder the trained model goes to");
        var demo = parse.GetValue(extra.Demo);
        var training = trainPath is not null || demo;
        if (trainPath is not null && demo)
        {
            throw new UsageException("--demo", "give --train TSV or --demo, not both");
        }

        if (training && settings.ModelPath is not null)
        {
            throw new UsageException("--model", "--train and --demo train their own model; --model is for scoring a given model on --input");
        }

        if (training && settings.Input is not null)
        {
            throw new UsageException("--input", "--train and --demo build their own test sentences; --input is for scoring a given model");
        }

        if (!training)
        {
            if (settings.ModelPath is null)
            {
                throw new UsageException("--model", "give the model to check (with --input), or --train TSV --words W1,W2, or --demo");
            }

            if (settings.Input is null)
            {
                throw new UsageException("--input", "give a TSV with 'sentence' and 'highlight' columns");
            }

            foreach (var (option, isGiven) in new (string, bool)[]
                     {
                         ("--words", parse.GetValue(extra.Words) is not null), ("--fraction", parse.GetValue(extra.Fraction) is not null),
                         ("--max-sentences", parse.GetValue(extra.MaxSentences) is not null), ("--epochs", parse.GetValue(extra.Epochs) is not null), ("--save", parse.GetValue(extra.Save) is not null),
                     })
            {
                if (isGiven)
                {
                    throw new UsageException(option, "applies only with --train or --demo (planting and training)");
                }
            }
        }

        var given = parse.GetValue(options.Methods);
        IReadOnlyList<string> names = given is { Length: > 0 } ? CompareCommand.MethodNames(given, settings.Method, context) : DefaultMethods;
        var seed = settings.Method.Seed ?? SentimentCorpus.DefaultSeed;

        // In training runs --seed also seeds planting and training, so it is used whether or not a method takes it.
        CompareCommand.CheckOptionsUsed(names, training ? settings.Method with { Seed = null } : settings.Method);
        var fraction = parse.GetValue(extra.Fraction) ?? 0.1;
        if (!(fraction > 0 && fraction <= 1))
        {
            throw new UsageException("--fraction", $"must be in (0, 1], got {fraction.ToString(CultureInfo.InvariantCulture)}");
        }

        // Both bounded by their parsers (CliOptions.Int: --max-sentences at least 1, --epochs 1 to 1000), before this runs.
        var maxSentences = parse.GetValue(extra.MaxSentences) ?? 200;
        var epochs = parse.GetValue(extra.Epochs) ?? DefaultModel.TrainingOptions.MaxEpochs;

        var json = parse.GetValue(extra.Format) == "json";
        if (!training)
        {
            var (texts, highlights) = ReadHighlights(settings.Input!, context);
            var model = ModelSource.LoadAny(settings.ModelPath, context);
            using var owner = model as IDisposable;
            TextChecks.CheckLengths(model, texts, settings.Explain.Truncate, "--input");
            if (given is not { Length: > 0 } && model is not ITextClassifier)
            {
                // An ONNX model and the default set: the methods that can explain it.
                var perturbation = ModelMethods.PerturbationMethods(model);
                names = names.Where(perturbation.Contains).ToList();
                context.Error.WriteLine($"note: {model.Name} is an ONNX model, which only perturbation methods can explain: scoring {string.Join(", ", names)}");
            }

            var scores = ScoreMethods(model, names, settings, texts, highlights, context, "--input");
            Output.Write(json ? Json(model.Name, null, scores) : Table(model.Name, null, scores), settings.Output, context);
            return ExitCodes.Ok;
        }

        IReadOnlyList<LabeledText> trainData, devData, heldOut;
        IReadOnlyList<string> labels;
        if (demo)
        {
            var corpus = DefaultModel.Corpus();
            (trainData, devData, heldOut, labels) = (corpus.Train, corpus.Dev, corpus.Test, SentimentCorpus.Labels);
        }
        else
        {
            var all = ReadTraining(trainPath!, context);
            var count = all.Max(t => t.Label) + 1;
            labels = Enumerable.Range(0, Math.Max(2, count)).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToList();

            // A seeded 80/10/10 split: training, development (early stopping), and the sentences the contradicting tests are made of.
            var order = all.Select((t, i) => (t, key: Hash(seed, (ulong)i))).OrderBy(x => x.key).Select(x => x.t).ToList();
            var tenth = Math.Max(1, order.Count / 10);
            (trainData, devData, heldOut) = (order.Skip(2 * tenth).ToList(), order.Take(tenth).ToList(), order.Skip(tenth).Take(tenth).ToList());
        }

        var shortcutWords = ParseWords(parse.GetValue(extra.Words) ?? (demo ? DemoWords : null), labels);
        if (shortcutWords.FirstOrDefault(w => w.Label >= labels.Count) is { } bad)
        {
            throw new UsageException("--words", $"'{bad.Word}' sets class {bad.Label}, but the data has {labels.Count} classes");
        }

        PlantedData planted, plantedDev;
        try
        {
            planted = Shortcuts.Plant(trainData, shortcutWords, fraction, seed);
            plantedDev = Shortcuts.Plant(devData, shortcutWords, fraction, seed + 1);
        }
        catch (ArgumentException e) when (e.ParamName == "train")
        {
            throw new UsageException(demo ? "--demo" : "--train", CliApp.UsageMessage(e));
        }

        var tests = Shortcuts.Contradicting(heldOut, shortcutWords, seed + 2).Take(maxSentences).ToList();
        if (tests.Count == 0)
        {
            throw new UsageException("--words", "no held-out sentence has a true label that a shortcut word contradicts");
        }

        var savePath = parse.GetValue(extra.Save);
        var folder = savePath is not null ? context.Resolve(savePath) : Directory.CreateTempSubdirectory("attribution-shortcut-").FullName;
        try
        {
            var vocabulary = (demo ? SentimentCorpus.Vocabulary : VocabularyOf(planted.Examples)).Concat(shortcutWords.Select(w => w.Word.ToLowerInvariant()));
            var accuracy = TrainModel(folder, vocabulary, labels, planted.Examples, plantedDev.Examples, seed, epochs, context);
            using var model = ClassifierLoader.Load(folder);
            var following = Shortcuts.Follows(model, tests, context.Cancellation);
            var followed = tests.Where((t, i) => following.Predictions[i] == t.ShortcutLabel).ToList();
            context.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"shortcut: the model follows the shortcut in {following.FollowedShortcut} of {following.Sentences} contradicting sentences ({following.Rate:P1}); explaining those"));
            var scores = followed.Count == 0
                ? []
                : ScoreMethods(model, names, settings with { Explain = settings.Explain with { Truncate = true } }, followed.Select(t => t.Text).ToList(),
                    followed.Select(t => (IReadOnlyCollection<string>)[t.Word]).ToList(), context, "--words");
            var summary = new TrainingSummary(demo ? "generated sentiment corpus" : trainPath!, shortcutWords, labels, fraction, seed, planted.Planted.Count,
                trainData.Count, accuracy, following, savePath);
            var name = savePath ?? "CNN trained on the planted data (not kept; --save DIR keeps it)";
            Output.Write(json ? Json(name, summary, scores) : Table(name, summary, scores), settings.Output, context);
            return ExitCodes.Ok;
        }
        finally
        {
            if (savePath is null)
            {
                try
                {
                    Directory.Delete(folder, recursive: true);
                }
                catch (IOException)
                {
                    // A leftover temporary folder is harmless.
                }
            }
        }
    }

    private sealed record TrainingSummary(string Data, IReadOnlyList<ShortcutWord> Words, IReadOnlyList<string> Labels, double Fraction, ulong Seed,
        int Planted, int TrainSentences, double DevAccuracy, ShortcutFollowing Following, string? SavedTo);

    /// <summary>Each method's precision@1 and MRR of the highlighted words, on the predicted class.</summary>
    private static List<ShortcutScore> ScoreMethods(ITokenClassifier model, IReadOnlyList<string> names, RunSettings settings, IReadOnlyList<string> texts,
        IReadOnlyList<IReadOnlyCollection<string>> highlights, CliContext context, string highlightOption)
    {
        var methods = names.Select(n => ModelMethods.Create(n, settings.Method, model, "--methods")).ToList();
        var results = ChunkedRun.Explain(model, texts, methods, settings.Explain, context);
        var scores = new List<ShortcutScore>();
        for (var m = 0; m < methods.Count; m++)
        {
            try
            {
                scores.Add(Shortcuts.Score(results[m], highlights) with { Method = names[m] });
            }
            catch (ArgumentException e)
            {
                throw new UsageException(highlightOption, CliApp.UsageMessage(e));
            }
        }

        return scores;
    }

    /// <summary>Trains the small CNN of the default model on the planted data, saves it in <paramref name="folder"/> and returns its development accuracy.</summary>
    private static double TrainModel(string folder, IEnumerable<string> vocabulary, IReadOnlyList<string> labels, IReadOnlyList<LabeledText> train,
        IReadOnlyList<LabeledText> dev, ulong seed, int epochs, CliContext context)
    {
        // The vocabulary goes to a folder of its own, not to --save's: written there before training, it replaced the
        // vocab.txt of a model already saved in that folder, which a failed or interrupted training then left under the
        // old weights. SaveFolder writes the whole model at the end, or nothing.
        var vocabularyFolder = Directory.CreateTempSubdirectory("attribution-shortcut-vocabulary-").FullName;
        try
        {
            var tokenizer = WordVocabulary.Write(vocabularyFolder, vocabulary.Distinct(StringComparer.Ordinal), TrainMaxLength);
            using var generator = new torch.Generator(seed);
            using var model = new CnnClassifier(DefaultModel.Config(tokenizer.VocabularySize) with { Labels = labels, MaxLength = TrainMaxLength }, generator);
            var options = DefaultModel.TrainingOptions with
            {
                Seed = seed,
                MaxEpochs = epochs,
                OnEpochEnd = e => context.Error.WriteLine(e.ProgressLine("shortcut")),
            };

            // The trainer refuses a text longer than the model takes unless asked to cut it. This command chose the
            // length itself and explains its test sentences truncated, so it cuts the training sentences too, and says so.
            var longer = train.Concat(dev).Count(example => tokenizer.Encode(example.Text).Length > TrainMaxLength);
            if (longer > 0)
            {
                context.Error.WriteLine($"shortcut: {longer} training sentence(s) are longer than the model's {TrainMaxLength} tokens and were cut to {TrainMaxLength} for training");
                options = options with { MaxLength = TrainMaxLength };
            }

            var trainer = new Trainer(model, tokenizer, options);
            // Ctrl-C stops training before its next batch (before, only the explanations after it looked at the token).
            var history = trainer.Fit(train, dev, context.Cancellation);
            Trainer.SaveFolder(folder, model, tokenizer, history, new Dictionary<string, object> { ["shortcut_seed"] = seed });
            return history.BestDevAccuracy ?? double.NaN;
        }
        finally
        {
            try
            {
                Directory.Delete(vocabularyFolder, recursive: true);
            }
            catch (IOException)
            {
                // A leftover temporary folder is harmless.
            }
        }
    }

    /// <summary>
    /// The words of the training texts as BERT's basic tokenizer splits them (lower-cased; letters and digits in runs,
    /// each ASCII punctuation mark alone); words with other characters are left out (they become [UNK]).
    /// </summary>
    private static IEnumerable<string> VocabularyOf(IEnumerable<LabeledText> texts)
    {
        var words = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var text in texts)
        {
            foreach (var chunk in text.Text.ToLowerInvariant().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
            {
                var run = new StringBuilder();
                foreach (var c in chunk)
                {
                    if (c < 128 && char.IsLetterOrDigit(c))
                    {
                        run.Append(c);
                        continue;
                    }

                    if (run.Length > 0)
                    {
                        words.Add(run.ToString());
                        run.Clear();
                    }

                    if (c < 128 && (char.IsPunctuation(c) || char.IsSymbol(c)))
                    {
                        words.Add(c.ToString());
                    }
                }

                if (run.Length > 0)
                {
                    words.Add(run.ToString());
                }
            }
        }

        return words;
    }

    private static ulong Hash(ulong seed, ulong i)
    {
        var z = seed + ((i + 1) * 0x9E3779B97F4A7C15UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Parses <c>--words</c>: W or W=LABEL (index or name), comma-separated; a bare i-th word sets class i.</summary>
    private static List<ShortcutWord> ParseWords(string? value, IReadOnlyList<string> labels)
    {
        if (value is null)
        {
            throw new UsageException("--words", "give the shortcut words, e.g. --words zorblax,quibbit (the i-th word sets class i) or zorblax=0,quibbit=1");
        }

        var parts = value.Split(',', StringSplitOptions.TrimEntries);
        if (parts.All(p => p.Length == 0))
        {
            throw new UsageException("--words", "no word given");
        }

        var result = new List<ShortcutWord>();
        for (var i = 0; i < parts.Length; i++)
        {
            var (word, label) = parts[i].Split('=', 2, StringSplitOptions.TrimEntries) switch
            {
                [var w, var l] => (w, l),
                [var w] => (w, (string?)null),
                _ => (parts[i], null),
            };
            if (!Shortcuts.IsOneWord(word))
            {
                throw new UsageException("--words", $"'{word}' is not one word (letters and digits only, no spaces or punctuation)");
            }

            var index = i;
            if (label is not null)
            {
                index = int.TryParse(label, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n
                    : labels.ToList().FindIndex(l => string.Equals(l, label, StringComparison.OrdinalIgnoreCase));
                if (index < 0)
                {
                    throw new UsageException("--words", $"'{word}={label}': unknown label (give a class index or one of {string.Join(", ", labels)})");
                }
            }

            result.Add(new ShortcutWord(word.ToLowerInvariant(), index));
        }

        if (result.GroupBy(w => w.Word).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new UsageException("--words", $"'{twice.Key}' is given twice");
        }

        return result;
    }

    private static IReadOnlyList<LabeledText> ReadTraining(string path, CliContext context)
    {
        var full = context.Resolve(path);
        if (!File.Exists(full))
        {
            throw new UsageException("--train", $"{path} does not exist");
        }

        try
        {
            var data = LabeledText.ReadTsv(full);
            if (data.Count == 0)
            {
                throw new UsageException("--train", $"{path} has no sentences");
            }

            // The classes are 0 to the largest label: a stray label (7 in a file of 0 and 1, or 2000000000) made classes
            // no sentence has, two billion of them exhausting memory. Two classes stay allowed with one absent.
            var present = data.Select(t => t.Label).ToHashSet();
            var largest = present.Max();
            if (largest >= 2 && largest >= present.Count)
            {
                var missing = Enumerable.Range(0, largest).Where(i => !present.Contains(i)).Take(5).ToList();
                throw new UsageException("--train",
                    $"{path}: the labels go up to {largest}, but no sentence has class {string.Join(", ", missing)}{(missing.Count == 5 ? ", …" : string.Empty)}; " +
                    "the labels are class indices 0, 1, 2, … without gaps: renumber the classes, or fix the stray label");
            }

            return data;
        }
        catch (FormatException e)
        {
            throw new UsageException("--train", e.Message);
        }
    }

    /// <summary>
    /// Reads a TSV with a header naming the columns <c>sentence</c> and <c>highlight</c> (the highlighted word(s), comma-
    /// or space-separated), parsed as every TSV <c>--input</c> is (<see cref="TextInputs.ParsePaired"/>: the header is
    /// the first line that is not blank, a row with more fields than the header is refused, the texts are checked).
    /// </summary>
    private static (IReadOnlyList<string> Texts, IReadOnlyList<IReadOnlyCollection<string>> Highlights) ReadHighlights(string input, CliContext context)
    {
        var path = context.Resolve(input);
        if (input == "-" || !File.Exists(path))
        {
            throw new UsageException("--input", input == "-" ? "give a TSV file (standard input is not read here)" : $"{input} does not exist");
        }

        var lines = TextInputs.Lines(input, context);
        var column = TextInputs.Column(lines, input, "highlight");
        if (column is null)
        {
            var missing = TextInputs.Column(lines, input, "sentence") is null ? "'sentence' and 'highlight' columns" : "'highlight' column";
            throw new UsageException("--input", $"{input} has no {missing}: its header line (the first that is not blank) must name the columns sentence and highlight, tab-separated");
        }

        var (texts, pairs) = TextInputs.ParsePaired(lines, input, null);
        if (pairs is not null)
        {
            throw new UsageException("--input", $"{input} holds sentence pairs (sentence1 and sentence2 columns): shortcut scores single sentences; name the text column 'sentence'");
        }

        var highlights = new List<IReadOnlyCollection<string>>();
        foreach (var (line, value) in column)
        {
            var words = value.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            highlights.Add(words.Length > 0 ? words : throw new UsageException("--input", $"{input}, line {line}: the row has no 'highlight' value"));
        }

        return texts.Count > 0 ? (texts, highlights) : throw new UsageException("--input", $"{input} has no rows after its header");
    }

    private static string Table(string model, TrainingSummary? summary, IReadOnlyList<ShortcutScore> scores)
    {
        var b = new StringBuilder();
        b.AppendLine(CultureInfo.InvariantCulture, $"model: {model}");
        if (summary is not null)
        {
            b.AppendLine(CultureInfo.InvariantCulture, $"data: {summary.Data}; shortcut words: {string.Join(", ", summary.Words.Select(w => $"{w.Word} -> {summary.Labels[w.Label]}"))}");
            b.AppendLine(CultureInfo.InvariantCulture, $"planted in {summary.Planted} of {summary.TrainSentences} training sentences (fraction {summary.Fraction}, seed {summary.Seed}); dev accuracy (planted) {summary.DevAccuracy:P1}");
            var f = summary.Following;
            b.AppendLine(CultureInfo.InvariantCulture, $"follows the shortcut in {f.FollowedShortcut} of {f.Sentences} contradicting sentences ({f.Rate:P1}); the true label in {f.FollowedTrueLabel}");
            if (summary.SavedTo is not null)
            {
                b.AppendLine(CultureInfo.InvariantCulture, $"model saved in {summary.SavedTo}");
            }
        }

        b.AppendLine(CultureInfo.InvariantCulture, $"{"method",-22} {"precision@1",12} {"MRR",8} {"sentences",10}");
        foreach (var s in scores)
        {
            b.AppendLine(CultureInfo.InvariantCulture, $"{s.Method,-22} {s.PrecisionAt1,12:F3} {s.MeanReciprocalRank,8:F3} {s.Sentences,10}");
        }

        b.AppendLine("tied words count in a random order (expected values): an explanation that ties every word scores chance, not 1");

        return b.ToString();
    }

    private static string Json(string model, TrainingSummary? summary, IReadOnlyList<ShortcutScore> scores)
    {
        return CliJson.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("model", model);
            w.WriteNumber("sentences", scores.Count > 0 ? scores[0].Sentences : 0);
            w.WriteString("ranking", "words by signed score towards the predicted class (signed methods) or by score (unsigned ones), largest first; tied words in a random order, each figure its expected value");
            if (summary is not null)
            {
                w.WriteStartObject("training");
                w.WriteString("data", summary.Data);
                w.WriteStartObject("words");
                foreach (var word in summary.Words)
                {
                    w.WriteString(word.Word, summary.Labels[word.Label]);
                }

                w.WriteEndObject();
                w.WriteNumber("fraction", summary.Fraction);
                w.WriteNumber("seed", summary.Seed);
                w.WriteNumber("planted", summary.Planted);
                w.WriteNumber("train_sentences", summary.TrainSentences);
                w.WriteNumber("dev_accuracy", summary.DevAccuracy);
                w.WriteEndObject();
                var f = summary.Following;
                w.WriteStartObject("contradicting");
                w.WriteNumber("sentences", f.Sentences);
                w.WriteNumber("followed_shortcut", f.FollowedShortcut);
                w.WriteNumber("followed_true_label", f.FollowedTrueLabel);
                w.WriteNumber("follow_rate", f.Sentences == 0 ? 0 : f.Rate);
                w.WriteEndObject();
            }

            w.WriteStartObject("methods");
            foreach (var s in scores)
            {
                w.WriteStartObject(s.Method);
                w.WriteNumber("precision_at_1", s.PrecisionAt1);
                w.WriteNumber("mrr", s.MeanReciprocalRank);
                w.WriteNumber("sentences", s.Sentences);
                w.WriteEndObject();
            }

            w.WriteEndObject();
            w.WriteEndObject();
        });
    }
}
