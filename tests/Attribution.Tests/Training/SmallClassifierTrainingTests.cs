using System.Diagnostics;
using System.Text.Json;
using Attribution.Data;
using Attribution.Models;
using Attribution.Tests.Models.Small;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;
using Attribution.Training;
using Xunit.Abstractions;

namespace Attribution.Tests.Training;

/// <summary>Training is CPU-heavy: these tests run one after another (alongside other test classes).</summary>
[CollectionDefinition(nameof(SmallClassifierTrainingTests))]
public sealed class SmallClassifierTrainingCollection
{
}

/// <summary>The models learn the generated corpus: held-out accuracy of at least 90%, so they are real.</summary>
[Collection(nameof(SmallClassifierTrainingTests))]
public sealed class SmallClassifierTrainingTests(ITestOutputHelper output) : IDisposable
{
    private readonly string root = SmallModelKit.TempRoot("attribution-training-tests-");

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Theory]
    [InlineData(SmallClassifierConfig.LstmType, 3e-3)]
    [InlineData(SmallClassifierConfig.CnnType, 5e-3)]
    public void Trains_on_the_generated_corpus_to_90_percent_held_out_accuracy(string type, double learningRate)
    {
        var clock = Stopwatch.StartNew();
        var corpus = SentimentCorpus.Create(2000, 300, 600, seed: 17);
        var dir = Path.Combine(root, type);
        var tokenizer = WordVocabulary.Write(dir, SentimentCorpus.Vocabulary, 64);
        var config = new SmallClassifierConfig
        {
            ModelType = type,
            VocabSize = tokenizer.VocabularySize,
            EmbeddingDim = 32,
            HiddenSize = 32,
            NumFilters = 24,
            MaxLength = 64,
            Labels = SentimentCorpus.Labels,
        };
        using var generator = new Generator(17);
        using var model = SmallClassifier.Create(config, generator);
        var trainer = new Trainer(model, tokenizer, new TrainingOptions
        {
            MaxEpochs = 8,
            LearningRate = learningRate,
            WordDropout = 0.1,
            Seed = 17,
            OnEpochEnd = e => output.WriteLine($"{type} epoch {e.Epoch}: train loss {e.TrainLoss:F3}, dev accuracy {e.DevAccuracy:P1} ({e.Elapsed.TotalSeconds:F1} s)"),
        });
        var history = trainer.Fit(corpus.Train, corpus.Dev);
        var test = trainer.Evaluate(corpus.Test);
        output.WriteLine($"{type}: held-out accuracy {test.Accuracy:P2} on {test.Count}, {history.Epochs.Count} epochs, {clock.Elapsed.TotalSeconds:F1} s");
        test.Accuracy.Should().BeGreaterThanOrEqualTo(0.9);

        // The saved folder loads through the general loader and predicts the same.
        Trainer.SaveFolder(dir, model, tokenizer, history, new Dictionary<string, object> { ["test_accuracy"] = test.Accuracy });
        using var loaded = ClassifierLoader.Load(dir);
        var predictions = loaded.Predict(corpus.Test.Select(e => e.Text).ToArray());
        predictions.Zip(corpus.Test, (p, e) => p.Label == e.Label ? 1.0 : 0.0).Average().Should().BeApproximately(test.Accuracy, 1e-9);
        loaded.Predict(["a sometimes tedious film"])[0].LabelName.Should().Be("negative");
    }

    [Fact]
    public void The_default_model_trains_once_reaches_90_percent_and_is_reused_from_the_cache()
    {
        var cache = Path.Combine(root, "cache");

        // A stale version left by an older library, and a broken folder of the current version.
        var stale = Path.Combine(cache, "sentiment-cnn-v0");
        Directory.CreateDirectory(stale);
        File.WriteAllText(Path.Combine(stale, "training.json"), "{\"default_model_version\": \"sentiment-cnn-v0\"}");
        var unrelated = Path.Combine(cache, "my-notes");
        Directory.CreateDirectory(unrelated);
        var current = Path.Combine(cache, DefaultModel.Version);
        Directory.CreateDirectory(current);
        File.WriteAllText(Path.Combine(current, "config.json"), "{}");

        var clock = Stopwatch.StartNew();
        var log = new List<string>();
        using (var classifier = DefaultModel.GetOrTrain(cache, log.Add))
        {
            var trainSeconds = clock.Elapsed.TotalSeconds;
            foreach (var line in log)
            {
                output.WriteLine(line);
            }

            output.WriteLine($"default model: trained and loaded in {trainSeconds:F1} s");
            log.Should().Contain(l => l.Contains("incomplete or unreadable", StringComparison.Ordinal));
            classifier.Module.Should().BeOfType<CnnClassifier>();
            classifier.Labels.Should().Equal("negative", "positive");

            var report = DefaultModel.ReadReport(current);
            report.Should().NotBeNull();
            report!.TestAccuracy.Should().BeGreaterThanOrEqualTo(0.9);

            // The held-out figure holds for the loaded classifier too.
            var test = DefaultModel.Corpus().Test;
            var predictions = classifier.Predict(test.Select(e => e.Text).ToArray());
            var accuracy = predictions.Zip(test, (p, e) => p.Label == e.Label ? 1.0 : 0.0).Average();
            output.WriteLine($"default model: held-out accuracy {accuracy:P2} on {test.Count} (training.json: {report.TestAccuracy:P2}), dev {report.DevAccuracy:P2}, {report.Epochs} epochs, {report.Elapsed.TotalSeconds:F1} s");
            accuracy.Should().BeApproximately(report.TestAccuracy, 1e-9);
            classifier.Predict(["a sometimes tedious film"])[0].LabelName.Should().Be("negative");
        }

        Directory.Exists(stale).Should().BeFalse("a stale version is removed once the new one is cached");
        Directory.Exists(unrelated).Should().BeTrue("folders that are not default models are left alone");
        Directory.GetDirectories(cache).Select(Path.GetFileName).Should().BeEquivalentTo(DefaultModel.Version, "my-notes");

        // The second call loads the cached folder without training.
        var written = File.GetLastWriteTimeUtc(Path.Combine(current, "model.safetensors"));
        log.Clear();
        clock.Restart();
        using (var again = DefaultModel.GetOrTrain(cache, log.Add))
        {
            output.WriteLine($"default model: loaded from the cache in {clock.Elapsed.TotalSeconds:F2} s");
            log.Should().BeEmpty();
            again.Predict(["i loved this movie"])[0].LabelName.Should().Be("positive");
        }

        File.GetLastWriteTimeUtc(Path.Combine(current, "model.safetensors")).Should().Be(written);
        using var training = JsonDocument.Parse(File.ReadAllText(Path.Combine(current, "training.json")));
        training.RootElement.GetProperty("default_model_version").GetString().Should().Be(DefaultModel.Version);
    }

    [Fact]
    public void A_default_model_training_that_is_cancelled_leaves_its_folder_as_it_was()
    {
        // Cancelled by the caller's log at the first epoch's end. Before: the folder kept a vocab.txt and a
        // tokenizer_config.json of a model that was never saved (written before training began).
        var fresh = Path.Combine(root, "fresh");
        var existing = Path.Combine(root, "existing");
        Directory.CreateDirectory(existing);
        File.WriteAllText(Path.Combine(existing, "notes.txt"), "mine");
        foreach (var folder in new[] { fresh, existing })
        {
            Action train = () => DefaultModel.Train(folder, line =>
            {
                if (line.StartsWith("default model: epoch 1,", StringComparison.Ordinal))
                {
                    throw new OperationCanceledException("cancelled by the caller");
                }
            });
            train.Should().Throw<OperationCanceledException>();
        }

        Directory.Exists(fresh).Should().BeFalse();
        Directory.GetFiles(existing).Select(Path.GetFileName).Should().Equal("notes.txt");
        Directory.GetFileSystemEntries(root).Select(Path.GetFileName).Should().BeEquivalentTo(["existing"], "no staging folder is left either");
    }

    /// <summary>
    /// A default-model training killed midway leaves its staging folder (and the nested one of Train) in the cache;
    /// nothing removed them. GetOrTrain now removes those older than a day, also when the cached model is valid,
    /// and leaves a recent one (a training running now in another process) and folders that are not staging folders.
    /// </summary>
    [Fact]
    public void The_default_model_cache_drops_staging_folders_a_killed_training_left_a_day_ago()
    {
        var cache = TrainedDefaultModel.CacheDirectory;
        var old = TrainerTests.PlantStaging(cache, DefaultModel.Version, TimeSpan.FromDays(3));
        var nested = TrainerTests.PlantStaging(cache, $".{DefaultModel.Version}.tmp-7-{Guid.NewGuid():N}", TimeSpan.FromDays(3));
        var recent = TrainerTests.PlantStaging(cache, DefaultModel.Version, TimeSpan.FromMinutes(5));
        var notOurs = Path.Combine(cache, ".keep-me");
        Directory.CreateDirectory(notOurs);
        Directory.SetLastWriteTimeUtc(notOurs, DateTime.UtcNow - TimeSpan.FromDays(3));
        try
        {
            using (TrainedDefaultModel.Load())
            {
            }

            Directory.Exists(old).Should().BeFalse();
            Directory.Exists(nested).Should().BeFalse();
            Directory.Exists(recent).Should().BeTrue();
            Directory.Exists(notOurs).Should().BeTrue();
        }
        finally
        {
            Directory.Delete(recent, recursive: true);
            Directory.Delete(notOurs);
        }
    }

    /// <summary>
    /// A cached folder whose files are not those training wrote is not used. Before, validity meant "training.json names
    /// the version and the model loads", and the strict loader only sees headers and lengths: a weights file with a
    /// damaged tensor byte, or a vocab.txt cut short (the tokenizer loads with fewer words, the others becoming [UNK]),
    /// loaded and predicted garbage without a word. The expected hashes here are computed by the test (SHA-256 of the
    /// files as training left them), not read from the code under test.
    /// </summary>
    [Fact]
    public void A_cached_default_model_whose_files_were_damaged_or_that_records_no_checksums_is_not_valid()
    {
        string Copy() => CopyOfCachedModel("copy");

        // As trained: the recorded checksums are the files' own.
        var intact = Copy();
        DefaultModel.IsValid(intact).Should().BeTrue();
        using (var training = JsonDocument.Parse(File.ReadAllText(Path.Combine(intact, "training.json"))))
        {
            var sums = training.RootElement.GetProperty("sha256");
            foreach (var name in new[] { "config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json" })
            {
                sums.GetProperty(name).GetString().Should().Be(
                    Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path.Combine(intact, name)))), name);
            }
        }

        // One tensor byte changed (the low mantissa byte of the last float, so still a finite number): the loader
        // takes it, the cache must not.
        var damaged = Copy();
        var weights = Path.Combine(damaged, "model.safetensors");
        var bytes = File.ReadAllBytes(weights);
        bytes[^4] ^= 0x5A;
        File.WriteAllBytes(weights, bytes);
        using (ClassifierLoader.Load(damaged))
        {
        }

        DefaultModel.IsValid(damaged).Should().BeFalse("a damaged weights file loads but is not the trained model");

        // vocab.txt cut short by its last 20 words: loads, but those words would read as [UNK].
        var shortVocabulary = Copy();
        var vocab = Path.Combine(shortVocabulary, "vocab.txt");
        File.WriteAllLines(vocab, File.ReadAllLines(vocab).SkipLast(20));
        using (ClassifierLoader.Load(shortVocabulary))
        {
        }

        DefaultModel.IsValid(shortVocabulary).Should().BeFalse("a truncated vocabulary loads but is not the trained tokenizer");

        // An older library's folder of the same version, without checksums: trained again rather than trusted.
        var older = Copy();
        var trainingJson = Path.Combine(older, "training.json");
        var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(trainingJson))!.AsObject();
        node.Remove("sha256");
        File.WriteAllText(trainingJson, node.ToJsonString());
        DefaultModel.ReadReport(older).Should().NotBeNull();
        DefaultModel.IsValid(older).Should().BeFalse();
    }

    /// <summary>
    /// The recipe listed TrainingOptions' fields by hand, so an option added later would not have entered the cache key,
    /// and a model trained with another value would have been served from the cache. Every public property (callbacks
    /// aside: they do not change the weights) must appear under its snake_case name (a TimeSpan in seconds), the names
    /// converted here by a regular expression, not by the code under test. The whole training object must also be the
    /// one the hand-written recipe recorded, names, order and values (DefaultModel's and TrainingOptions' documented
    /// settings, written here by hand), so caches trained before stay valid.
    /// </summary>
    [Fact]
    public void Every_public_training_option_enters_the_default_model_recipe()
    {
        using var recipe = JsonDocument.Parse(DefaultModel.Recipe());
        var training = recipe.RootElement.GetProperty("training");
        var names = training.EnumerateObject().Select(p => p.Name).ToList();
        foreach (var property in typeof(TrainingOptions).GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance))
        {
            if (typeof(Delegate).IsAssignableFrom(property.PropertyType))
            {
                continue;
            }

            var snake = System.Text.RegularExpressions.Regex.Replace(property.Name, "(?<!^)([A-Z])", "_$1").ToLowerInvariant();
            var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            names.Should().Contain(type == typeof(TimeSpan) ? snake + "_seconds" : snake, $"TrainingOptions.{property.Name} decides the weights");
        }

        var expected = new System.Text.Json.Nodes.JsonObject
        {
            ["max_epochs"] = 10,
            ["batch_size"] = 32,
            ["learning_rate"] = 2e-3,
            ["weight_decay"] = 1e-2,
            ["beta1"] = 0.9,
            ["beta2"] = 0.999,
            ["epsilon"] = 1e-8,
            ["max_grad_norm"] = 5.0,
            ["patience"] = 2,
            ["restore_best_weights"] = true,
            ["seed"] = 20_240_601UL,
            ["word_dropout"] = 0.1,
            ["bucket_by_length"] = true,
            ["max_length"] = null,
            ["time_limit_seconds"] = null,
        };
        training.GetRawText().Should().Be(expected.ToJsonString());
    }

    /// <summary>
    /// The recipe was made afresh, the corpus generated and hashed, on every validity check of the cache (each
    /// GetOrTrain); it is deterministic, so it is now made once per process: the same string instance every call.
    /// </summary>
    [Fact]
    public void The_default_model_recipe_is_made_once_per_process()
    {
        ReferenceEquals(DefaultModel.Recipe(), DefaultModel.Recipe()).Should().BeTrue();
    }

    /// <summary>
    /// Something in the model folder's place that cannot be replaced surfaced as the system's raw IOException, naming
    /// neither the cache nor a fix. It is now an IOException naming the folder and what to do, the system's error
    /// inside. The tests run as root here, for whom a read-only folder can still be deleted, so the obstacle is a
    /// regular file where the model folder goes (a move onto it fails for root too). It is refused before training,
    /// so the test trains nothing (and the user waits for nothing).
    /// </summary>
    [Fact]
    public void A_cache_folder_that_cannot_be_replaced_is_a_clear_error_naming_it()
    {
        var cache = Path.Combine(root, "cache");
        Directory.CreateDirectory(cache);
        var folder = Path.Combine(cache, DefaultModel.Version);
        File.WriteAllText(folder, "not a model folder");

        var act = () => DefaultModel.GetOrTrain(cache);

        act.Should().Throw<IOException>()
            .WithMessage($"default model: cannot replace the cache folder {folder} with a newly trained model ({folder} is not a folder*); remove {folder}*, or give another cache folder")
            .WithInnerException<IOException>();
        File.ReadAllText(folder).Should().Be("not a model folder");
        Directory.GetFileSystemEntries(cache).Select(Path.GetFileName).Should().BeEquivalentTo([DefaultModel.Version, DefaultModel.LockFile], "no staging folder is left");
    }

    /// <summary>A copy of the cached default model's folder in this test's folder, named <paramref name="prefix"/>-….</summary>
    private string CopyOfCachedModel(string prefix)
    {
        var source = Path.Combine(TrainedDefaultModel.CacheDirectory, DefaultModel.Version);
        var copy = Path.Combine(root, prefix + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.GetFiles(source))
        {
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        }

        return copy;
    }

    /// <summary>
    /// The cache was keyed by <see cref="DefaultModel.Version"/> alone, a name bumped by hand: a library whose training
    /// options, architecture or corpus changed without a new name served the model an older recipe had cached, so the
    /// demo's model depended on which library first filled the cache. Now training.json records the recipe and a folder
    /// recording another is not valid. The values checked are DefaultModel's documented settings, written here by hand,
    /// the config.json of the trained model itself, and the SHA-256 of the corpus computed here.
    /// </summary>
    [Fact]
    public void A_cached_default_model_trained_by_another_recipe_of_the_same_version_is_not_valid()
    {
        string Copy() => CopyOfCachedModel("recipe");

        var intact = Copy();
        DefaultModel.IsValid(intact).Should().BeTrue();
        using (var training = JsonDocument.Parse(File.ReadAllText(Path.Combine(intact, "training.json"))))
        {
            var recipe = training.RootElement.GetProperty("recipe");
            recipe.GetProperty("version").GetString().Should().Be("sentiment-cnn-v2");
            recipe.GetProperty("corpus_seed").GetUInt64().Should().Be(20_240_601UL);
            recipe.GetProperty("corpus_sizes").GetString().Should().Be("3000/500/1000");
            var options = recipe.GetProperty("training");
            options.GetProperty("max_epochs").GetInt32().Should().Be(10);
            options.GetProperty("batch_size").GetInt32().Should().Be(32);
            options.GetProperty("learning_rate").GetDouble().Should().Be(2e-3);
            options.GetProperty("weight_decay").GetDouble().Should().Be(1e-2);
            options.GetProperty("patience").GetInt32().Should().Be(2);
            options.GetProperty("word_dropout").GetDouble().Should().Be(0.1);
            options.GetProperty("seed").GetUInt64().Should().Be(20_240_601UL);

            // The recorded architecture is the trained model's own.
            using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(intact, "config.json")));
            JsonElement.DeepEquals(recipe.GetProperty("config"), config.RootElement).Should().BeTrue(recipe.GetProperty("config").GetRawText());

            var corpus = DefaultModel.Corpus();
            var lines = corpus.Train.Concat(corpus.Dev).Concat(corpus.Test).Select(e => $"{e.Label}\t{e.Text}");
            recipe.GetProperty("corpus_sha256").GetString().Should().Be(
                Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(string.Join('\n', lines)))));
        }

        // A model trained with another learning rate, on another corpus, or before recipes were recorded: trained again.
        foreach (var (what, edit) in new (string, Action<System.Text.Json.Nodes.JsonObject>)[]
        {
            ("another learning rate", r => r["training"]!["learning_rate"] = 3e-3),
            ("another corpus", r => r["corpus_sha256"] = new string('0', 64)),
            ("another TorchSharp", r => r["torchsharp"] = "0.0.1.0"),
            ("no recipe", r => r.Parent!.AsObject().Remove("recipe")),
        })
        {
            var copy = Copy();
            var path = Path.Combine(copy, "training.json");
            var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!.AsObject();
            edit(node["recipe"]!.AsObject());
            File.WriteAllText(path, node.ToJsonString());
            DefaultModel.IsValid(copy).Should().BeFalse(what);
        }
    }

    /// <summary>
    /// Two processes sharing a cache each checked, trained and moved in on their own (the lock was per process): the
    /// second trained in vain, and could delete as invalid the folder the first had just moved in, under the first's
    /// feet. Now a call takes the cache's lock file (an exclusive open) and waits while another holds it. Here the test
    /// plays the other process: it holds the lock while the cache has a broken folder, replaces it by a trained model,
    /// and lets go; the call must have waited and then use that model, training nothing.
    /// </summary>
    [Fact]
    public async Task A_call_waits_while_another_process_holds_the_cache_and_then_uses_the_model_it_cached()
    {
        var trained = Path.Combine(TrainedDefaultModel.CacheDirectory, DefaultModel.Version);
        var cache = Path.Combine(root, "shared-cache");
        var folder = Path.Combine(cache, DefaultModel.Version);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "config.json"), "{}");
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        Task<string> call;
        using (new FileStream(Path.Combine(cache, ".default-model.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            call = Task.Run(() => DefaultModel.EnsureFolder(cache, log.Enqueue));
            SpinWait.SpinUntil(() => !log.IsEmpty, TimeSpan.FromSeconds(60)).Should().BeTrue("the call says what it does");

            // The other process finishes: its model replaces the broken folder.
            Directory.Delete(folder, recursive: true);
            Directory.CreateDirectory(folder);
            foreach (var file in Directory.GetFiles(trained))
            {
                File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
            }
        }

        (await call.WaitAsync(TimeSpan.FromMinutes(5))).Should().Be(folder);
        log.Should().Equal([$"default model: waiting for another process that is using the cache {cache}"], "it waited and trained nothing");
        File.ReadAllBytes(Path.Combine(folder, "model.safetensors")).Should().Equal(File.ReadAllBytes(Path.Combine(trained, "model.safetensors")));
    }

    [Fact]
    public void The_default_cache_directory_follows_xdg()
    {
        DefaultModel.DefaultCacheDirectory.Should().EndWith(Path.Combine("attribution", "default-model"));
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrWhiteSpace(xdg) && Path.IsPathRooted(xdg))
        {
            DefaultModel.DefaultCacheDirectory.Should().StartWith(xdg);
        }
        else
        {
            DefaultModel.DefaultCacheDirectory.Should().Contain(Path.Combine(".cache", "attribution"));
        }
    }

    /// <summary>
    /// Before, every unusable home was reported as "the home folder '' is not an absolute path (is HOME relative?)",
    /// though an unset or empty HOME is no relative one; the refusal now says which (the loader's wording, one helper for
    /// both caches). <paramref name="home"/> is .NET's answer (the account database's when HOME is unset or empty). The
    /// messages are written out by hand.
    /// </summary>
    [Theory]
    [InlineData(null, "", "HOME is unset and the account database gives no home folder either, so")]
    [InlineData("", "", "HOME is set but empty and the account database gives no home folder either, so")]
    [InlineData("", "rel", "HOME is set but empty and the account database's home folder 'rel' is not an absolute path, so")]
    [InlineData("\t", "\t", "HOME is set to blanks ('\t'), not an absolute path, so")]
    [InlineData("relative-home", "relative-home", "the home folder 'relative-home' is not an absolute path (HOME is relative), so")]
    public void The_default_cache_folder_refuses_a_home_that_is_not_absolute_saying_why(string? homeVariable, string home, string why)
    {
        ((Action)(() => DefaultModel.CacheDirectory(null, home, homeVariable))).Should().Throw<InvalidOperationException>()
            .Which.Message.Should().Be(why + " the default model has no cache folder; set HOME or XDG_CACHE_HOME to an absolute path, " +
                "or give the cache folder explicitly");
        ((Action)(() => DefaultModel.CacheDirectory("relative/xdg", home, homeVariable))).Should().Throw<InvalidOperationException>(
            "a relative XDG_CACHE_HOME is ignored, as the XDG spec says");
        DefaultModel.CacheDirectory("/xdg", home, homeVariable).Should().Be("/xdg/attribution/default-model");
        DefaultModel.CacheDirectory(null, "/home/u", homeVariable).Should().Be("/home/u/.cache/attribution/default-model");
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void A_home_folder_that_does_not_exist_still_holds_the_cache_never_the_current_folder()
    {
        // HOME naming a folder that does not exist (a CI user's /nonexistent, a fresh container) made .NET's
        // GetFolderPath answer "", and the default model was cached in ./.cache of whatever folder the command ran in.
        // The command says where it caches before it trains; it is stopped there (a training takes minutes under load).
        using var work = new Attribution.Tests.Engine.Loading.TorchSharpLoaderTests.TempFolder();
        var home = Path.Combine(work.Path, "no-such-home");
        var line = FirstCachingLine(work.Path, home);
        line.Should().Contain($"caching it in {Path.Combine(home, ".cache", "attribution", "default-model", DefaultModel.Version)}");
        Directory.Exists(Path.Combine(work.Path, ".cache")).Should().BeFalse("the cache must not depend on the current folder");

        // A relative HOME names no folder either: refused, naming HOME and the fix, and nothing is written.
        var relative = Attribution.Tests.Engine.Loading.TorchSharpLoaderTests.Engine(
            Attribution.Tests.Engine.Loading.TorchSharpLoaderTests.TestOutput, work, Path.Combine(work.Path, "native"), mode: null,
            new Dictionary<string, string> { ["HOME"] = "relative-home", ["XDG_CACHE_HOME"] = string.Empty }, "predict", "--text", "a fine film");
        relative.Code.Should().NotBe(0, relative.ToString());
        relative.Error.Should().Contain("the home folder 'relative-home' is not an absolute path").And.Contain("XDG_CACHE_HOME");
        Directory.Exists(Path.Combine(work.Path, "relative-home")).Should().BeFalse();
        Directory.Exists(Path.Combine(work.Path, ".cache")).Should().BeFalse();
    }

    /// <summary>Starts <c>attribution predict</c> in <paramref name="folder"/> with HOME = <paramref name="home"/> and returns its "caching it in" line, then stops it.</summary>
    private string FirstCachingLine(string folder, string home)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Attribution.Cli.dll"));
        foreach (var arg in new[] { "predict", "--text", "a fine film" })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment.Remove(Attribution.Engine.Loading.TorchSharpLoader.ModeVariable);
        start.Environment[Attribution.Engine.Loading.TorchSharpLoader.CacheVariable] = Path.Combine(folder, "native");
        start.Environment["XDG_CACHE_HOME"] = string.Empty;
        start.Environment["HOME"] = home;
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var process = Process.Start(start)!;
        try
        {
            var seen = new List<string>();
            var reading = Task.Run(() =>
            {
                while (process.StandardError.ReadLine() is { } line)
                {
                    seen.Add(line);
                    if (line.Contains("caching it in", StringComparison.Ordinal))
                    {
                        return line;
                    }
                }

                return null;
            });
            reading.Wait(TimeSpan.FromMinutes(2)).Should().BeTrue("the command says where it caches before it trains");
            output.WriteLine(string.Join('\n', seen));
            return reading.Result ?? throw new InvalidOperationException("no 'caching it in' line: " + string.Join(" | ", seen));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            process.WaitForExit();
        }
    }
}
