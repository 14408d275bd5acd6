using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Attribution.Data;
using Attribution.Text.Tokenizers;
using Attribution.Engine;
using Attribution.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Training;

/// <summary>
/// The demo's model, which needs nothing outside this library: a small <see cref="CnnClassifier"/> trained on the
/// generated <see cref="SentimentCorpus"/> (a few seconds on two cores), saved in Hugging Face layout in a cache
/// folder and loaded from there with <see cref="ClassifierLoader"/>. The next call reuses the cached folder. Every
/// attribution method of the library works on it, LRP included (embedding, Conv1d, ReLU, max over time, Linear).
/// </summary>
public static class DefaultModel
{
    /// <summary>
    /// Names the recipe (corpus, architecture, training settings). The cache folder is named after it; within the folder,
    /// training.json records the recipe itself (the corpus's SHA-256, the vocabulary's, the configuration, the training
    /// options, the library and TorchSharp versions), and a cached model whose recorded recipe is not this library's is
    /// trained again, so a recipe changed without a new version is not served from an older cache either.
    /// </summary>
    public const string Version = "sentiment-cnn-v2";

    /// <summary>Sizes of the generated corpus portions: training, development (early stopping), held-out test.</summary>
    public static (int Train, int Dev, int Test) CorpusSizes { get; } = (3000, 500, 1000);

    /// <summary>The seed of the corpus, the initialization and the training.</summary>
    public const ulong Seed = SentimentCorpus.DefaultSeed;

    private const int MaxLength = 64;

    private static readonly object Gate = new();

    /// <summary>
    /// The cache root used when none is given: <c>$XDG_CACHE_HOME/attribution/default-model</c>, or
    /// <c>~/.cache/attribution/default-model</c> when XDG_CACHE_HOME is not set (or not an absolute path). A home
    /// folder that does not exist yet is used all the same (the cache is created in it, or, where that cannot be
    /// written, the model is trained without caching).
    /// </summary>
    /// <exception cref="InvalidOperationException">XDG_CACHE_HOME is not an absolute path and neither is the home folder
    /// (HOME relative or blank, or unset or empty with no home folder in the account database): there is no cache folder
    /// that does not depend on the current folder. The message says which.</exception>
    public static string DefaultCacheDirectory =>
        CacheDirectory(Environment.GetEnvironmentVariable("XDG_CACHE_HOME"), HomeFolder.Current, HomeFolder.Variable);

    /// <summary>
    /// <see cref="DefaultCacheDirectory"/> from the values it reads: XDG_CACHE_HOME, the home folder .NET answers
    /// (unverified: a home that does not exist yet made it answer "", and the cache became
    /// ".cache/attribution/default-model" in whatever folder the process was started from) and HOME itself, which the
    /// refusal names as it is (unset, empty, blank or relative).
    /// </summary>
    internal static string CacheDirectory(string? xdgCacheHome, string home, string? homeVariable)
    {
        if (!string.IsNullOrWhiteSpace(xdgCacheHome) && Path.IsPathFullyQualified(xdgCacheHome))
        {
            return Path.Combine(xdgCacheHome, "attribution", "default-model");
        }

        if (HomeFolder.Unusable(home, homeVariable) is { } what)
        {
            throw new InvalidOperationException(
                $"{what}, so the default model has no cache folder; set HOME or XDG_CACHE_HOME to an absolute path, or give " +
                "the cache folder explicitly");
        }

        return Path.Combine(home, ".cache", "attribution", "default-model");
    }

    /// <summary>The corpus the default model is trained and tested on.</summary>
    public static SentimentSplits Corpus() => SentimentCorpus.Create(CorpusSizes.Train, CorpusSizes.Dev, CorpusSizes.Test, Seed);

    /// <summary>The architecture of the default model for a vocabulary of <paramref name="vocabSize"/> ids.</summary>
    public static SmallClassifierConfig Config(int vocabSize) => new()
    {
        ModelType = SmallClassifierConfig.CnnType,
        VocabSize = vocabSize,
        EmbeddingDim = 48,
        KernelSizes = [3, 4, 5],
        NumFilters = 32,
        Dropout = 0.2,
        MaxLength = MaxLength,
        Labels = SentimentCorpus.Labels,
    };

    /// <summary>The training settings of the default model.</summary>
    public static TrainingOptions TrainingOptions { get; } = new()
    {
        MaxEpochs = 10,
        BatchSize = 32,
        LearningRate = 2e-3,
        WeightDecay = 1e-2,
        Patience = 2,
        WordDropout = 0.1,
        Seed = Seed,

        // No time limit: the cached model must not depend on how busy the machine was while it trained.
    };

    /// <summary>
    /// Loads the cached default model, training and caching it first when the cache has no (valid) model of this
    /// <see cref="Version"/>: valid means its training.json names the version and records this library's recipe (see
    /// <see cref="Version"/>), the SHA-256 of each file loading reads matches the one training recorded there, and it
    /// loads; anything else (a damaged, cut-short or older folder) is trained again and replaced. Dispose the result. Staging folders that a training killed midway left in the cache are
    /// removed once nothing has written to them for a day (a training still running in another process is never that old).
    /// Processes sharing a cache take turns (a lock file in the cache root): a call waits while another process trains,
    /// then uses the model that one cached.
    /// </summary>
    /// <param name="cacheDir">The cache root (the model goes in a subfolder named <see cref="Version"/>); null for <see cref="DefaultCacheDirectory"/>.</param>
    /// <param name="log">Receives progress lines (training, caching), or null.</param>
    /// <param name="cancellation">Stops a training this call runs before its next batch (see <see cref="Train"/>): the cache
    /// then holds no model folder of it. It also stops the wait while another thread or process uses the cache. A valid
    /// cached model needs no training and is loaded whatever the token says, once the call has its turn at the cache.</param>
    /// <exception cref="IOException">The cache holds something in the model folder's place that cannot be deleted or
    /// replaced (the message names the folder and the fix).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellation"/> was cancelled while the model had to be
    /// trained, or while the call waited for another thread or process using the cache.</exception>
    public static TextClassifier GetOrTrain(string? cacheDir = null, Action<string>? log = null, CancellationToken cancellation = default)
    {
        var folder = GetOrTrainFolder(cacheDir, log, cancellation);
        try
        {
            return ClassifierLoader.Load(folder.Path);
        }
        finally
        {
            if (folder.Temporary)
            {
                StagedFolder.TryDelete(folder.Path);
            }
        }
    }

    /// <summary>
    /// The path of the cached model folder, training it first when needed (see <see cref="GetOrTrain"/>). When the
    /// cache cannot be written, the model is trained into a temporary folder (the log names it), which is returned (the caller
    /// may delete it); a training there that fails or is cancelled deletes it.
    /// </summary>
    /// <param name="cacheDir">The cache root (the model goes in a subfolder named <see cref="Version"/>); null for <see cref="DefaultCacheDirectory"/>.</param>
    /// <param name="log">Receives progress lines (training, caching), or null.</param>
    /// <param name="cancellation">Stops a training this call runs before its next batch: the cache then holds no model
    /// folder of it. It also stops the wait while another thread or process uses the cache. A valid cached model needs no
    /// training and is returned whatever the token says, once the call has its turn at the cache.</param>
    /// <exception cref="OperationCanceledException"><paramref name="cancellation"/> was cancelled while the model had to be
    /// trained, or while the call waited for another thread or process using the cache.</exception>
    public static string EnsureFolder(string? cacheDir = null, Action<string>? log = null, CancellationToken cancellation = default) =>
        GetOrTrainFolder(cacheDir, log, cancellation).Path;

    /// <summary>
    /// Trains the default model into <paramref name="directory"/> (config.json, model.safetensors, vocab.txt,
    /// tokenizer_config.json, training.json with the held-out test accuracy and the SHA-256 of the other files) and
    /// returns the training.json figures.
    /// The files are written into a hidden sibling folder and moved in once all are written, so a training that fails
    /// or is cancelled (<paramref name="cancellation"/>, or an exception from <paramref name="log"/>) leaves
    /// <paramref name="directory"/> as it was.
    /// </summary>
    /// <param name="directory">The folder to write the model into (created, or its model files replaced).</param>
    /// <param name="log">Receives progress lines (one per epoch, then the held-out accuracy), or null.</param>
    /// <param name="cancellation">Stops training (<see cref="Trainer.Fit"/>) and the held-out evaluation before their next batch.</param>
    /// <exception cref="OperationCanceledException"><paramref name="cancellation"/> was cancelled; nothing was written to <paramref name="directory"/>.</exception>
    public static DefaultModelReport Train(string directory, Action<string>? log = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        DefaultModelReport? report = null;
        StagedFolder.Write(directory, nameof(directory), staging => report = TrainInto(staging, log, cancellation));
        return report!;
    }

    private static DefaultModelReport TrainInto(string directory, Action<string>? log, CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        var corpus = Corpus();
        var tokenizer = WordVocabulary.Write(directory, SentimentCorpus.Vocabulary, MaxLength);
        using var generator = new Generator(Seed);
        using var model = new CnnClassifier(Config(tokenizer.VocabularySize), generator);
        var options = TrainingOptions with
        {
            OnEpochEnd = e => log?.Invoke(e.ProgressLine("default model")),
        };
        var trainer = new Trainer(model, tokenizer, options);
        var history = trainer.Fit(corpus.Train, corpus.Dev, cancellation);
        var test = trainer.Evaluate(corpus.Test, cancellation);
        var report = new DefaultModelReport(Version, history.BestDevAccuracy ?? double.NaN, test.Accuracy, test.Count, history.Epochs.Count, clock.Elapsed);
        Trainer.SaveFolder(directory, model, tokenizer, history, new Dictionary<string, object>
        {
            ["default_model_version"] = Version,
            ["test_accuracy"] = test.Accuracy,
            ["test_examples"] = test.Count,
            ["corpus"] = "Attribution.Data.SentimentCorpus",
            ["corpus_seed"] = Seed,
            ["corpus_sizes"] = $"{CorpusSizes.Train}/{CorpusSizes.Dev}/{CorpusSizes.Test}",
            ["total_seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 3),
        });
        RecordRecipe(directory);
        RecordChecksums(directory);
        log?.Invoke(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"default model: held-out accuracy {test.Accuracy:P1} on {test.Count} generated sentences, trained in {clock.Elapsed.TotalSeconds:F1} s"));
        return report;
    }

    /// <summary>Reads the figures a trained default-model folder recorded, or null when it has none of this version.</summary>
    public static DefaultModelReport? ReadReport(string directory)
    {
        var path = Path.Combine(directory, "training.json");
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            var root = document.RootElement;
            if (!root.TryGetProperty("default_model_version", out var version) || version.GetString() != Version)
            {
                return null;
            }

            return new DefaultModelReport(
                Version,
                root.GetProperty("dev_accuracy").GetDouble(),
                root.GetProperty("test_accuracy").GetDouble(),
                root.GetProperty("test_examples").GetInt32(),
                root.GetProperty("epochs").GetInt32(),
                TimeSpan.FromSeconds(root.GetProperty("total_seconds").GetDouble()));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    private static (string Path, bool Temporary) GetOrTrainFolder(string? cacheDir, Action<string>? log, CancellationToken cancellation)
    {
        var root = Path.GetFullPath(cacheDir ?? DefaultCacheDirectory);
        var folder = Path.Combine(root, Version);
        var entered = false;
        try
        {
            // Taken in slices, not with lock: a call whose token is cancelled while another thread trains (seconds to
            // minutes) stops waiting, rather than waiting out that whole training only to throw then. Tried before the
            // token is looked at, so an uncontended call with a cancelled token still returns a valid cached model.
            while (!entered)
            {
                Monitor.TryEnter(Gate, WaitSlice, ref entered);
                if (!entered)
                {
                    cancellation.ThrowIfCancellationRequested();
                }
            }

            // Other processes (a second demo started meanwhile) use the same cache: one at a time checks, trains and
            // moves in, so that none trains in vain, nor deletes as invalid a folder another has just moved in.
            using var crossProcess = LockCache(root, log, cancellation);

            // What runs killed while training left behind; the root is this library's own cache, so every staging
            // folder in it is one of ours.
            StagedFolder.RemoveStale(root);
            if (IsValid(folder))
            {
                return (folder, false);
            }

            // Only a valid cached model is served whatever the token says: a cancelled call stops before it logs,
            // deletes the invalid folder or generates the corpus, not at the trainer's first batch after all that.
            cancellation.ThrowIfCancellationRequested();

            if (Directory.Exists(folder))
            {
                log?.Invoke($"default model: the cached folder {folder} is incomplete or unreadable (or its files differ from those training wrote, or another recipe trained it); training again");
            }

            string staging;
            try
            {
                Directory.CreateDirectory(root);
                staging = StagedFolder.StagingPath(folder);
                Directory.CreateDirectory(staging);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // No writable cache: train into a temporary folder the caller discards after loading.
                log?.Invoke($"default model: cannot write the cache {root} ({e.Message}); training without caching");
                var temporary = Directory.CreateTempSubdirectory("attribution-default-model-").FullName;
                try
                {
                    log?.Invoke($"default model: training on the generated sentiment corpus (version {Version}) in the temporary folder {temporary} (not cached)");
                    Train(temporary, log, cancellation);
                }
                catch
                {
                    // A failed or cancelled training left the temporary folder empty (Train writes into a staging folder
                    // it removes), and nobody is told its path to delete it: removed here, best effort, so the original
                    // exception is the one that propagates.
                    StagedFolder.TryDelete(temporary);
                    throw;
                }

                return (temporary, true);
            }

            try
            {
                // What is in the model folder's place is not a valid model: removed before training, so that one that
                // cannot be removed is said at once, not after minutes of training.
                if (Directory.Exists(folder))
                {
                    Directory.Delete(folder, recursive: true);
                }
                else if (Path.Exists(folder))
                {
                    throw new IOException($"{folder} is not a folder");
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                StagedFolder.TryDelete(staging);
                throw CannotReplace(folder, e);
            }

            try
            {
                log?.Invoke($"default model: training on the generated sentiment corpus (version {Version}), caching it in {folder}");
                Train(staging, log, cancellation);
                if (Directory.Exists(folder))
                {
                    // Invalid leftovers (or another process finished first with an invalid folder): replace them.
                    if (IsValid(folder))
                    {
                        return (folder, false);
                    }

                    Directory.Delete(folder, recursive: true);
                }

                Directory.Move(staging, folder);
                RemoveStaleVersions(root, log);
            }
            catch (IOException) when (IsValid(folder))
            {
                // Another process moved its own copy in first; use that one.
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw CannotReplace(folder, e);
            }
            finally
            {
                StagedFolder.TryDelete(staging);
            }

            return (folder, false);
        }
        finally
        {
            if (entered)
            {
                Monitor.Exit(Gate);
            }
        }
    }

    /// <summary>How long a call waits for <see cref="Gate"/> or the cache's lock file between two looks at its token.</summary>
    private static readonly TimeSpan WaitSlice = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// The error for a model folder that cannot be removed or replaced: the system's message names neither the cache
    /// nor what to do (a file where the folder goes, a folder with files that cannot be deleted).
    /// </summary>
    private static IOException CannotReplace(string folder, Exception e) => new(
        $"default model: cannot replace the cache folder {folder} with a newly trained model ({e.Message.TrimEnd('.')}); " +
        $"remove {folder} (or make it and its files deletable), or give another cache folder", e);

    /// <summary>The file in the cache root whose exclusive lock a call holds while it checks, trains and moves in the model.</summary>
    internal const string LockFile = ".default-model.lock";

    /// <summary>How long a call waits for another process that holds the lock (training takes seconds to minutes).</summary>
    private static readonly TimeSpan LockWait = TimeSpan.FromMinutes(20);

    /// <summary>
    /// Takes the cache's lock (an exclusive open of <see cref="LockFile"/>: an advisory lock on Unix, released by the
    /// system when its process ends, killed or not), waiting while another process holds it. Null, and the call goes
    /// on unguarded, where no lock file can be made or opened (a read-only cache, where it can only read or train
    /// elsewhere) or after <see cref="LockWait"/>.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellation"/> was cancelled while another process
    /// held the lock (looked at every <see cref="WaitSlice"/> of the wait: a Ctrl-C must not wait out another process's training).</exception>
    private static FileStream? LockCache(string root, Action<string>? log, CancellationToken cancellation)
    {
        var path = Path.Combine(root, LockFile);
        var clock = Stopwatch.StartNew();
        var told = false;
        while (true)
        {
            try
            {
                Directory.CreateDirectory(root);

                // Read access is enough for the lock, and opens the file in a cache made read-only after it was made.
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.Read, FileShare.None);
            }
            catch (IOException) when (File.Exists(path) && clock.Elapsed < LockWait)
            {
                if (!told)
                {
                    log?.Invoke($"default model: waiting for another process that is using the cache {root}");
                    told = true;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                log?.Invoke($"default model: going on without the cache's lock ({e.Message})");
                return null;
            }

            // Wakes at once when the token is cancelled, rather than at the end of the slice.
            cancellation.WaitHandle.WaitOne(WaitSlice);
            cancellation.ThrowIfCancellationRequested();
        }
    }

    /// <summary>The key of training.json under which the recipe the model was trained by is recorded.</summary>
    private const string RecipeKey = "recipe";

    /// <summary>
    /// Everything of this library that decides the trained weights: the version name, the library and TorchSharp
    /// versions (their code: initialization, training loop, optimizer, kernels), the corpus (seed, sizes and the SHA-256
    /// of every text and label in order), the vocabulary's SHA-256, the architecture and every training option.
    /// </summary>
    internal static string Recipe() => RecipeText.Value;

    /// <summary>
    /// <see cref="Recipe"/>, made once per process: it is deterministic (constants, the seeded corpus, the immutable
    /// <see cref="TrainingOptions"/>), and made afresh it generated and hashed the corpus on every validity check.
    /// </summary>
    private static readonly Lazy<string> RecipeText = new(MakeRecipe, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>
    /// <see cref="TrainingOptions"/> as the recipe records them: every public property, in declaration order, under
    /// its snake_case name (a <see cref="TimeSpan"/> in seconds, under NAME_seconds), so an option added later enters
    /// the recipe without being listed here; callbacks (delegates) do not change the weights and are left out. A
    /// property of a type with no JSON form here throws, rather than being skipped.
    /// </summary>
    internal static JsonObject TrainingRecipe(TrainingOptions options)
    {
        var result = new JsonObject();
        var properties = typeof(TrainingOptions).GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance)
            .Where(p => !typeof(Delegate).IsAssignableFrom(p.PropertyType) && p.Name != "EqualityContract")
            .OrderBy(p => p.MetadataToken);
        foreach (var property in properties)
        {
            var name = SnakeCase(property.Name);
            var value = property.GetValue(options);
            result[value is TimeSpan || Nullable.GetUnderlyingType(property.PropertyType) == typeof(TimeSpan) ? name + "_seconds" : name] = value switch
            {
                null => null,
                int i => JsonValue.Create(i),
                ulong u => JsonValue.Create(u),
                double d => JsonValue.Create(d),
                bool b => JsonValue.Create(b),
                TimeSpan t => JsonValue.Create(t.TotalSeconds),
                _ => throw new InvalidOperationException(
                    $"TrainingOptions.{property.Name} ({property.PropertyType}) has no form in the default model's recipe; add one in DefaultModel.TrainingRecipe"),
            };
        }

        return result;
    }

    private static string SnakeCase(string name) =>
        string.Concat(name.Select((c, i) => char.IsUpper(c) ? (i > 0 ? "_" : string.Empty) + char.ToLowerInvariant(c) : c.ToString()));

    private static string MakeRecipe()
    {
        static string Hash(IEnumerable<string> lines) =>
            Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(string.Join('\n', lines))));

        var corpus = Corpus();
        var recipe = new JsonObject
        {
            ["version"] = Version,
            ["library"] = typeof(DefaultModel).Assembly.GetName().Version?.ToString(),
            ["torchsharp"] = typeof(torch).Assembly.GetName().Version?.ToString(),
            ["corpus_seed"] = Seed,
            ["corpus_sizes"] = $"{CorpusSizes.Train}/{CorpusSizes.Dev}/{CorpusSizes.Test}",
            ["corpus_sha256"] = Hash(corpus.Train.Concat(corpus.Dev).Concat(corpus.Test).Select(e => $"{e.Label}\t{e.Text}")),
            ["vocabulary_sha256"] = Hash(SentimentCorpus.Vocabulary),
            ["config"] = JsonNode.Parse(Config(WordVocabulary.SpecialTokens.Count + SentimentCorpus.Vocabulary.Count).ToJson()),
            ["training"] = TrainingRecipe(TrainingOptions),
        };

        // Written and read back, as the comparison with a recorded recipe sees it.
        return JsonNode.Parse(recipe.ToJsonString())!.ToJsonString();
    }

    /// <summary>Adds <see cref="Recipe"/> to the training.json of a freshly trained folder.</summary>
    private static void RecordRecipe(string directory)
    {
        var path = Path.Combine(directory, "training.json");
        var root = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        root[RecipeKey] = JsonNode.Parse(Recipe());
        File.WriteAllText(path, root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Whether the folder's training.json records this library's <see cref="Recipe"/> (a folder without one fails).</summary>
    private static bool RecipeMatches(string folder)
    {
        try
        {
            var root = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "training.json")));
            return root is JsonObject o && o[RecipeKey] is JsonObject recorded
                && string.Equals(recorded.ToJsonString(), Recipe(), StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>The key of training.json under which the SHA-256 of every other file of the folder is recorded.</summary>
    private const string ChecksumsKey = "sha256";

    /// <summary>The files whose SHA-256 training.json records: all those loading reads.</summary>
    private static readonly string[] CheckedFiles = ["config.json", StagedFolder.WeightsFile, "vocab.txt", "tokenizer_config.json"];

    /// <summary>Adds the SHA-256 of each of <see cref="CheckedFiles"/> to the training.json of a freshly trained folder.</summary>
    private static void RecordChecksums(string directory)
    {
        var path = Path.Combine(directory, "training.json");
        var root = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        var sums = new JsonObject();
        foreach (var name in CheckedFiles)
        {
            sums[name] = Sha256(Path.Combine(directory, name));
        }

        root[ChecksumsKey] = sums;
        File.WriteAllText(path, root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>
    /// Whether every file loading reads is the one training wrote, byte for byte. A strict loader refuses a weights file
    /// whose header or length is wrong, but not one whose tensor bytes were damaged (a disk error, a crash before the
    /// data reached the disk), nor a vocab.txt cut short (the tokenizer loads with fewer words, the rest become
    /// [UNK]): both would load and predict garbage silently. A folder without the checksums (an older library's) fails too.
    /// </summary>
    private static bool ChecksumsMatch(string folder)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "training.json")));
            if (!document.RootElement.TryGetProperty(ChecksumsKey, out var sums) || sums.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            return CheckedFiles.All(name => sums.TryGetProperty(name, out var sum) && sum.ValueKind == JsonValueKind.String
                && string.Equals(sum.GetString(), Sha256(Path.Combine(folder, name)), StringComparison.Ordinal));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// A folder of this version that loads: its training.json names the version and records this library's recipe,
    /// its files match the checksums it recorded, and its model and tokenizer load.
    /// </summary>
    internal static bool IsValid(string folder)
    {
        if (!Directory.Exists(folder) || ReadReport(folder) is null || !RecipeMatches(folder) || !ChecksumsMatch(folder))
        {
            return false;
        }

        try
        {
            using var classifier = ClassifierLoader.Load(folder);
            return true;
        }
        catch (Exception e) when (e is ModelLoadException or TokenizerException)
        {
            return false;
        }
    }

    /// <summary>Deletes sibling folders holding a default model of another version (recognized by their training.json).</summary>
    private static void RemoveStaleVersions(string root, Action<string>? log)
    {
        foreach (var sibling in Directory.EnumerateDirectories(root))
        {
            if (Path.GetFileName(sibling) == Version)
            {
                continue;
            }

            try
            {
                using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(sibling, "training.json")));
                if (document.RootElement.TryGetProperty("default_model_version", out var version) && version.ValueKind == JsonValueKind.String
                    && version.GetString() != Version && Path.GetFileName(sibling) == version.GetString())
                {
                    log?.Invoke($"default model: removing the stale cache {sibling} (version {version.GetString()})");
                    StagedFolder.TryDelete(sibling);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
            {
                // Not one of ours (or unreadable): leave it alone.
            }
        }
    }
}

/// <summary>What training the default model achieved (as recorded in its <c>training.json</c>).</summary>
/// <param name="Version">The recipe version.</param>
/// <param name="DevAccuracy">Accuracy on the generated development sentences (best epoch).</param>
/// <param name="TestAccuracy">Accuracy on the held-out generated test sentences.</param>
/// <param name="TestExamples">Number of held-out test sentences.</param>
/// <param name="Epochs">Epochs trained.</param>
/// <param name="Elapsed">Wall-clock time of corpus generation, training, evaluation and saving.</param>
public sealed record DefaultModelReport(string Version, double DevAccuracy, double TestAccuracy, int TestExamples, int Epochs, TimeSpan Elapsed);
