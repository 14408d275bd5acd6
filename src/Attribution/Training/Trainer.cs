using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Attribution.Data;
using Attribution.Models;
using Attribution.Text.Tokenizers;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Training;

/// <summary>
/// Fits a text classifier (any <see cref="ModelInput"/> → logits module) on labelled texts: cross-entropy, AdamW,
/// shuffled mini-batches from a seeded <see cref="Generator"/>, optional word dropout and gradient clipping, and early
/// stopping on development data. Texts are tokenized once, up front.
/// </summary>
public sealed class Trainer
{
    private readonly nn.Module<ModelInput, Tensor> model;
    private readonly ITokenizer tokenizer;
    private readonly int numLabels;

    /// <summary>The longest input the model takes (a small classifier's max_length), or null when not known.</summary>
    private readonly int? modelMaxLength;

    /// <summary>Prepares to train <paramref name="model"/>, whose inputs <paramref name="tokenizer"/> makes.</summary>
    /// <param name="model">The model; its parameters are updated in place.</param>
    /// <param name="tokenizer">The tokenizer of the model's vocabulary.</param>
    /// <param name="numLabels">Number of classes (labels must be in [0, numLabels)).</param>
    /// <param name="options">Training settings (defaults when null).</param>
    /// <param name="usesTokenTypes">Whether the model reads token type ids (BERT); the small classifiers do not.</param>
    public Trainer(nn.Module<ModelInput, Tensor> model, ITokenizer tokenizer, int numLabels, TrainingOptions? options = null, bool usesTokenTypes = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentOutOfRangeException.ThrowIfLessThan(numLabels, 1);
        this.model = model;
        this.tokenizer = tokenizer;
        this.numLabels = numLabels;
        Options = options ?? new TrainingOptions();
        Options.Validate();
        UsesTokenTypes = usesTokenTypes;
    }

    /// <summary>
    /// A trainer for a small classifier: its label count comes from its configuration, and a text longer than its
    /// <c>max_length</c> (in tokens, special tokens included) is refused, as the loaded model refuses it, unless
    /// <see cref="TrainingOptions.MaxLength"/> asks for truncation (at most <c>max_length</c>).
    /// </summary>
    /// <exception cref="ArgumentException">The tokenizer has more ids than the model's embedding has rows.</exception>
    public Trainer(SmallClassifier model, ITokenizer tokenizer, TrainingOptions? options = null)
        : this(model, tokenizer, model?.Config.NumLabels ?? throw new ArgumentNullException(nameof(model)), options)
    {
        // The same check as SaveFolder's, here so that a mismatch is named before training rather than by the
        // model's forward pass at the first batch holding an id past the embedding.
        if (tokenizer.VocabularySize > model.Config.VocabSize)
        {
            throw new ArgumentException(
                $"the tokenizer has {tokenizer.VocabularySize} ids but the model's embedding only {model.Config.VocabSize} rows: " +
                "use the tokenizer the model was made for, or make the model with vocab_size at least the tokenizer's size",
                nameof(tokenizer));
        }

        // Before, the model's max_length became TrainingOptions.MaxLength, so longer training and evaluation texts were
        // cut silently (a user's TSV, say: a word past the cut never seen in training).
        modelMaxLength = model.Config.MaxLength;
    }

    /// <summary>The settings.</summary>
    public TrainingOptions Options { get; }

    /// <summary>Whether token type ids are passed to the model.</summary>
    public bool UsesTokenTypes { get; }

    /// <summary>
    /// Trains for up to <see cref="TrainingOptions.MaxEpochs"/> epochs, stopping early when the development score has
    /// not improved for <see cref="TrainingOptions.Patience"/> epochs, and (by default) puts back the best epoch's
    /// weights. The model is left in evaluation mode on every exit once training has begun, an exception included (a
    /// divergence, an <see cref="TrainingOptions.OnEpochEnd"/> that throws): not in the mode it had before, since a
    /// freshly built TorchSharp module starts in training mode and the library explains and predicts only in evaluation
    /// mode. A refusal before training begins (bad data, non-finite weights) leaves the mode as it was.
    /// <para>
    /// Fit writes to the shared model: do not run it while other threads predict with or explain the same model (or
    /// its <see cref="TextClassifier"/>). During Fit the model is in training mode, so their forward passes would run
    /// dropout, and its weights change at every step; an explanation checks evaluation mode only when it starts.
    /// Train first, or train a copy and load it.
    /// </para>
    /// </summary>
    /// <param name="train">Training examples (at least one, of at least two classes when there are several).</param>
    /// <param name="dev">Development examples for early stopping, or null to train all epochs.</param>
    /// <exception cref="ArgumentOutOfRangeException">Training diverged (a batch's loss or gradient was not finite): the
    /// learning rate is too high for this model. The model then holds the weights of the step before.</exception>
    /// <exception cref="ArgumentException">The data are not usable (empty, null entries, empty texts or texts of which the
    /// tokenizer keeps no token, labels out of range, one class only), or the model holds NaN or infinity before training
    /// (named <c>model</c>), or the tokenizer has more ids than the module's token embedding (the <c>Embedding</c> the
    /// input ids reach) has rows (named <c>tokenizer</c>; checked with one probe forward pass, no step taken).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellation"/> was cancelled (checked before the probe
    /// pass, each training batch and each batch of the development set's evaluation). The model keeps the weights of the
    /// last step taken, in evaluation mode; the best epoch's weights are not put back.</exception>
    /// <param name="cancellation">Stops training before its next forward pass.</param>
    public TrainingHistory Fit(IReadOnlyList<LabeledText> train, IReadOnlyList<LabeledText>? dev = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (train.Count == 0)
        {
            throw new ArgumentException("no training examples", nameof(train));
        }

        var trainSet = Encode(train, nameof(train));
        if (numLabels > 1 && trainSet.All(e => e.Label == trainSet[0].Label))
        {
            // Fitting it would only teach the model to answer that class for everything.
            throw new ArgumentException(
                $"every one of the {trainSet.Length} training examples has label {trainSet[0].Label}; a classifier of {numLabels} classes " +
                "needs training examples of at least two of them (check the label column, or the filter that chose the examples)", nameof(train));
        }

        var devSet = dev is { Count: > 0 } ? Encode(dev, nameof(dev)) : null;
        cancellation.ThrowIfCancellationRequested();
        CheckTokenEmbedding(trainSet[0].Ids.Length);
        CheckWeightsFinite();
        var clock = Stopwatch.StartNew();
        manual_seed((long)Options.Seed);
        using var generator = new Generator(Options.Seed);
        using var optimizer = new AdamW(model.parameters().Where(p => p.requires_grad), Options.LearningRate, Options.Beta1, Options.Beta2, Options.Epsilon, Options.WeightDecay);
        var epochs = new List<EpochResult>();
        Dictionary<string, Tensor>? best = null;
        var bestEpoch = 0;
        var bestScore = (accuracy: double.NegativeInfinity, loss: double.PositiveInfinity);
        var stoppedEarly = false;
        var small = model as SmallClassifier;
        var previousDropoutGenerator = small?.DropoutGenerator;
        if (small is not null)
        {
            small.DropoutGenerator = generator;
        }

        try
        {
            for (var epoch = 1; epoch <= Options.MaxEpochs; epoch++)
            {
                // Checked from the second epoch on: a limit already spent on tokenizing would return an untrained model.
                if (epoch > 1 && Options.TimeLimit is { } limit && clock.Elapsed > limit)
                {
                    stoppedEarly = true;
                    break;
                }

                var (loss, accuracy) = TrainEpoch(epoch, trainSet, optimizer, generator, cancellation);
                Evaluation? devEvaluation = devSet is null ? null : Evaluate(devSet, cancellation);
                var result = new EpochResult(epoch, loss, accuracy, devEvaluation?.Loss, devEvaluation?.Accuracy, clock.Elapsed);
                epochs.Add(result);
                Options.OnEpochEnd?.Invoke(result);
                if (devEvaluation is null)
                {
                    bestEpoch = epoch;
                    continue;
                }

                if (devEvaluation.Accuracy > bestScore.accuracy || (devEvaluation.Accuracy == bestScore.accuracy && devEvaluation.Loss < bestScore.loss))
                {
                    bestScore = (devEvaluation.Accuracy, devEvaluation.Loss);
                    bestEpoch = epoch;
                    if (Options.RestoreBestWeights)
                    {
                        Release(best);
                        best = Snapshot();
                    }
                }
                else if (epoch - bestEpoch >= Options.Patience)
                {
                    stoppedEarly = epoch < Options.MaxEpochs;
                    break;
                }
            }

            if (best is not null && bestEpoch != epochs[^1].Epoch)
            {
                model.load_state_dict(best, strict: true);
            }
        }
        finally
        {
            if (small is not null)
            {
                small.DropoutGenerator = previousDropoutGenerator;
            }

            Release(best);
            optimizer.zero_grad();
            model.eval();
        }

        return new TrainingHistory(epochs, bestEpoch, stoppedEarly, clock.Elapsed);
    }

    /// <summary>Loss and accuracy of the model (in evaluation mode, without gradients) on labelled texts.</summary>
    /// <param name="data">The labelled texts (at least one).</param>
    /// <param name="cancellation">Stops the evaluation before its next forward pass.</param>
    /// <exception cref="OperationCanceledException"><paramref name="cancellation"/> was cancelled (checked before the probe
    /// pass and each batch).</exception>
    public Evaluation Evaluate(IReadOnlyList<LabeledText> data, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Count == 0)
        {
            throw new ArgumentException("no examples to evaluate", nameof(data));
        }

        var encoded = Encode(data, nameof(data));
        cancellation.ThrowIfCancellationRequested();
        CheckTokenEmbedding(encoded[0].Ids.Length);
        return Evaluate(encoded, cancellation);
    }

    /// <summary>
    /// Saves a small classifier as a model folder in Hugging Face layout, the one <see cref="ClassifierLoader.Load"/>
    /// reads: <c>config.json</c>, <c>model.safetensors</c> (its state dict), <c>vocab.txt</c> and
    /// <c>tokenizer_config.json</c> (the WordPiece tokenizer), and <c>training.json</c> (the history and
    /// <paramref name="extra"/> figures, when given).
    /// The files are written into a hidden staging folder beside <paramref name="directory"/> and moved in once all
    /// are written: when writing fails, <paramref name="directory"/> is left as it was and the staging folder is removed.
    /// A new folder appears whole, in one rename. An existing folder is replaced file by file: files of those names
    /// are replaced, and an older save's <c>training.json</c> is removed when this save writes none (it would describe
    /// another model); other files, which this method never writes (a README), are kept, except that a folder holding
    /// a <c>tokenizer.json</c> is refused (loading reads it before the saved <c>vocab.txt</c>). Its
    /// old <c>model.safetensors</c> is removed first and the new one moved in last, so that a folder caught midway (a
    /// crash during the moves) has no weights and never loads as a model.
    /// </summary>
    /// <param name="directory">The folder: new (created, with its parents), or one to replace the model in.</param>
    /// <param name="model">The classifier.</param>
    /// <param name="tokenizer">Its WordPiece tokenizer (e.g. from <see cref="WordVocabulary.Write"/>).</param>
    /// <param name="history">What training did, recorded in <c>training.json</c>, or null.</param>
    /// <param name="extra">More figures for <c>training.json</c> (numbers, strings, booleans), or null.</param>
    /// <param name="doLowerCase">Whether the tokenizer lower-cases its input (recorded in <c>tokenizer_config.json</c>).</param>
    /// <exception cref="ArgumentException">The tokenizer is not a WordPiece tokenizer, or has more ids than the model's
    /// embedding rows; or a value of <paramref name="extra"/> cannot be written as JSON (NaN, infinity, a ToString that
    /// throws) or its key is a figure of <paramref name="history"/> (<c>dev_accuracy</c>, <c>epochs</c>, <c>best_epoch</c>,
    /// <c>stopped_early</c>, <c>training_seconds</c>, <c>history</c>), refused before any file is written; or
    /// <paramref name="directory"/> holds a <c>tokenizer.json</c>, which would replace the saved vocabulary on loading.</exception>
    public static void SaveFolder(string directory, SmallClassifier model, ITokenizer tokenizer, TrainingHistory? history = null,
        IReadOnlyDictionary<string, object>? extra = null, bool doLowerCase = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (tokenizer.VocabularySize > model.Config.VocabSize)
        {
            throw new ArgumentException($"the tokenizer has {tokenizer.VocabularySize} ids but the model's embedding only {model.Config.VocabSize} rows", nameof(tokenizer));
        }

        if (tokenizer.PadId != model.Config.PadTokenId)
        {
            throw new ArgumentException($"the tokenizer pads with id {tokenizer.PadId} but the model's pad_token_id is {model.Config.PadTokenId}", nameof(tokenizer));
        }

        // The save writes vocab.txt, but a loader reads a tokenizer.json first: one left in the folder would replace the
        // saved vocabulary when the model is loaded back.
        var foreignTokenizer = Path.Combine(directory, "tokenizer.json");
        if (File.Exists(foreignTokenizer))
        {
            throw new ArgumentException(
                $"{directory} holds a tokenizer.json, which loading reads before the vocab.txt this save writes, so the model would come back with that other tokenizer: " +
                "save into a new folder, or remove tokenizer.json (and the other model's files) first", nameof(directory));
        }

        // Made before anything is written, so that a value JSON cannot hold is refused by name and not midway.
        var trainingJson = history is not null || extra is not null ? TrainingJson(history, extra) : null;
        StagedFolder.Write(directory, nameof(directory), staging =>
        {
            File.WriteAllText(Path.Combine(staging, "config.json"), model.Config.ToJson());
            SafeTensors.Save(Path.Combine(staging, StagedFolder.WeightsFile), model.state_dict(), new Dictionary<string, string> { ["format"] = "pt" });
            WordVocabulary.Save(staging, tokenizer, model.Config.MaxLength, doLowerCase);
            if (trainingJson is not null)
            {
                File.WriteAllText(Path.Combine(staging, TrainingFile), trainingJson);
            }
        }, SavedFiles);
    }

    /// <summary>The record of training that <see cref="SaveFolder"/> writes when given a history or extra figures.</summary>
    private const string TrainingFile = "training.json";

    /// <summary>Every file <see cref="SaveFolder"/> writes; an older save's that a new one does not write are removed.</summary>
    private static readonly string[] SavedFiles = ["config.json", StagedFolder.WeightsFile, "vocab.txt", "tokenizer_config.json", TrainingFile];

    private static string TrainingJson(TrainingHistory? history, IReadOnlyDictionary<string, object>? extra)
    {
        var root = new JsonObject();
        if (history is not null)
        {
            if (history.BestDevAccuracy is { } devAccuracy)
            {
                root["dev_accuracy"] = devAccuracy;
            }

            root["epochs"] = history.Epochs.Count;
            root["best_epoch"] = history.BestEpoch;
            root["stopped_early"] = history.StoppedEarly;
            root["training_seconds"] = Math.Round(history.Elapsed.TotalSeconds, 3);
            root["history"] = new JsonArray(history.Epochs.Select(e => (JsonNode)new JsonObject
            {
                ["epoch"] = e.Epoch,
                ["train_loss"] = e.TrainLoss,
                ["train_accuracy"] = e.TrainAccuracy,
                ["dev_loss"] = e.DevLoss,
                ["dev_accuracy"] = e.DevAccuracy,
                ["seconds"] = Math.Round(e.Elapsed.TotalSeconds, 3),
            }).ToArray());
        }

        foreach (var (key, value) in extra ?? new Dictionary<string, object>())
        {
            if (root.ContainsKey(key))
            {
                throw new ArgumentException(
                    $"{nameof(extra)}[\"{key}\"] would replace the history's figure of that name in training.json; give it another key", nameof(extra));
            }

            root[key] = ExtraValue(key, value, nameof(extra));
        }

        return root.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>
    /// The JSON value of <c>extra[key]</c>: a value JSON has no number for (NaN, infinity) or whose text cannot be made
    /// (a throwing ToString) is an <see cref="ArgumentException"/> naming <c>extra</c>, the key and the value, not the
    /// serializer's or the ToString's exception, which name neither.
    /// </summary>
    private static JsonNode? ExtraValue(string key, object? value, string parameterName)
    {
        if (value is double d && !double.IsFinite(d) || value is float f && !float.IsFinite(f))
        {
            throw new ArgumentException(
                $"{parameterName}[\"{key}\"] is {Convert.ToString(value, CultureInfo.InvariantCulture)}, which JSON has no number for; pass a finite number, null, or the text as a string",
                parameterName);
        }

        JsonNode? node;
        try
        {
            node = value switch
            {
                null => null,
                string s => s,
                bool b => b,
                int i => i,
                long l => l,
                double number => number,
                float single => single,
                ulong u => u,
                IFormattable other => other.ToString(null, CultureInfo.InvariantCulture),
                _ => value.ToString(),
            };
        }
        catch (Exception e)
        {
            throw new ArgumentException(
                $"{parameterName}[\"{key}\"] (a {value?.GetType().Name}) cannot be written to training.json: its ToString threw {e.GetType().Name} ({e.Message}); pass a number, a boolean or a string",
                parameterName, e);
        }

        return node;
    }

    // ---- internals ----

    private sealed record Example(long[] Ids, long[] Types, int Label);

    private Example[] Encode(IReadOnlyList<LabeledText> data, string name)
    {
        var result = new Example[data.Count];
        for (var i = 0; i < data.Count; i++)
        {
            var item = data[i] ?? throw new ArgumentException($"{name}[{i}] is null", name);
            if (string.IsNullOrWhiteSpace(item.Text))
            {
                throw new ArgumentException($"{name}[{i}] has an empty text", name);
            }

            if (item.Label < 0 || item.Label >= numLabels)
            {
                throw new ArgumentException($"{name}[{i}] has label {item.Label}; labels must be in [0, {numLabels})", name);
            }

            var encoding = tokenizer.Encode(item.Text, maxLength: Options.MaxLength);
            if (encoding.Ids.All(id => id == tokenizer.ClsId || id == tokenizer.SepId || id == tokenizer.PadId))
            {
                // Zero-width and format characters (U+200B, a stray byte-order mark) pass the whitespace check but the
                // tokenizer drops them: the model would be fitted on an input of special tokens only, under a label.
                var shown = string.Join(" ", item.Text.EnumerateRunes().Take(8).Select(r => $"U+{r.Value:X4}"));
                throw new ArgumentException(
                    $"{name}[{i}] has no token: its text ({shown}{(item.Text.EnumerateRunes().Count() > 8 ? " ..." : string.Empty)}) is only characters the " +
                    "tokenizer drops (zero-width or format characters); remove the example or give it words", name);
            }

            if (modelMaxLength is { } most && encoding.Ids.Length > most)
            {
                throw new ArgumentException(
                    $"{name}[{i}] is {encoding.Ids.Length} tokens long (special tokens included), but the model takes at most {most} (its max_length): " +
                    $"shorten or drop it, set {nameof(TrainingOptions)}.{nameof(TrainingOptions.MaxLength)} = {most} to truncate every longer text, " +
                    "or build the model with a larger max_length", name);
            }

            result[i] = new Example(encoding.Ids, encoding.TypeIds, item.Label);
        }

        return result;
    }

    private (double loss, double accuracy) TrainEpoch(int epoch, Example[] data, AdamW optimizer, Generator generator, CancellationToken cancellation)
    {
        model.train();
        var totalLoss = 0.0;
        var correct = 0L;
        var step = 0;
        foreach (var batch in Batches(data, generator))
        {
            // Before the batch's dropout draws: a cancelled run leaves the generator where the last step left it.
            cancellation.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var (input, targets) = Collate(data, batch, generator);
            var logits = CheckedLogits(model.call(input), batch.Length);
            var loss = nn.functional.cross_entropy(logits, targets);
            var lossValue = loss.to(ScalarType.Float64).ItemAsDouble();
            step++;
            if (!double.IsFinite(lossValue))
            {
                // Stepping on would spread the NaN or infinity through every weight, and the epochs after it would
                // report NaN figures for a model that predicts one class.
                throw new ArgumentOutOfRangeException(nameof(TrainingOptions.LearningRate), Options.LearningRate,
                    $"training diverged: the loss of epoch {epoch}, batch {step}, is {lossValue.ToString(CultureInfo.InvariantCulture)}. " +
                    $"Lower {nameof(TrainingOptions.LearningRate)}{(Options.MaxGradNorm is null ? $" or set {nameof(TrainingOptions.MaxGradNorm)}" : string.Empty)} " +
                    "and train a fresh model (this one holds the weights of the step before)");
            }

            loss.backward();
            var gradientNorm = GradientNorm();
            if (!double.IsFinite(gradientNorm))
            {
                // A finite loss can still have an infinite or NaN gradient (a square root at 0, an overflow in the
                // backward pass). Clipping cannot rescue it (the coefficient is 0 or NaN, and 0 · ∞ is NaN), and the
                // step would make every weight NaN, after which the next batch would report a NaN loss for weights
                // that are no longer "the step before".
                throw new ArgumentOutOfRangeException(nameof(TrainingOptions.LearningRate), Options.LearningRate,
                    $"training diverged: the gradient of epoch {epoch}, batch {step}, is {gradientNorm.ToString(CultureInfo.InvariantCulture)} " +
                    $"(norm over all parameters) although the loss is {lossValue.ToString(CultureInfo.InvariantCulture)}. " +
                    $"Lower {nameof(TrainingOptions.LearningRate)} or check the model for an operation without a finite derivative, " +
                    "and train a fresh model (this one holds the weights of the step before)");
            }

            if (Options.MaxGradNorm is { } maxNorm)
            {
                ClipGradNorm(maxNorm, gradientNorm);
            }

            optimizer.step();
            optimizer.zero_grad();
            totalLoss += lossValue * batch.Length;
            correct += logits.argmax(1).eq(targets).sum().ItemAsInt64();
        }

        return (totalLoss / data.Length, (double)correct / data.Length);
    }

    private Evaluation Evaluate(Example[] data, CancellationToken cancellation)
    {
        var wasTraining = model.training;
        model.eval();
        try
        {
            var totalLoss = 0.0;
            var correct = 0L;
            var order = Enumerable.Range(0, data.Length).OrderBy(i => data[i].Ids.Length).ToArray();
            foreach (var batch in order.Chunk(Math.Max(Options.BatchSize, 64)))
            {
                cancellation.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                var (input, targets) = Collate(data, batch, null);
                var logits = CheckedLogits(model.call(input), batch.Length);
                totalLoss += nn.functional.cross_entropy(logits, targets, reduction: nn.Reduction.Sum).to(ScalarType.Float64).ItemAsDouble();
                correct += logits.argmax(1).eq(targets).sum().ItemAsInt64();
            }

            return new Evaluation(totalLoss / data.Length, (double)correct / data.Length, data.Length);
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    /// <summary>A shuffled order cut into batches; with bucketing, similar lengths share a batch and the batch order is shuffled.</summary>
    private List<int[]> Batches(Example[] data, Generator generator)
    {
        int[] Permutation(int n)
        {
            using var p = randperm(n, generator: generator);
            return p.data<long>().ToArray().Select(i => (int)i).ToArray();
        }

        var order = Permutation(data.Length);
        if (!Options.BucketByLength)
        {
            return order.Chunk(Options.BatchSize).ToList();
        }

        var batches = order.Chunk(Options.BatchSize * 50)
            .SelectMany(pool => pool.OrderBy(i => data[i].Ids.Length).Chunk(Options.BatchSize))
            .ToList();
        return Permutation(batches.Count).Select(i => batches[i]).ToList();
    }

    /// <summary>Pads a batch into tensors (in the current dispose scope); with a generator, applies word dropout.</summary>
    private (ModelInput input, Tensor targets) Collate(Example[] data, int[] batch, Generator? generator)
    {
        var length = batch.Max(i => data[i].Ids.Length);
        var ids = new long[batch.Length * length];
        var mask = new long[batch.Length * length];
        var types = new long[batch.Length * length];
        Array.Fill(ids, tokenizer.PadId);
        float[]? draws = null;
        if (generator is not null && Options.WordDropout > 0)
        {
            using var r = rand([batch.Length, length], ScalarType.Float32, generator: generator);
            draws = r.data<float>().ToArray();
        }

        var unk = tokenizer.UnkId;
        for (var b = 0; b < batch.Length; b++)
        {
            var example = data[batch[b]];
            for (var t = 0; t < example.Ids.Length; t++)
            {
                var id = example.Ids[t];
                if (draws is not null && unk is { } u && draws[(b * length) + t] < Options.WordDropout
                    && id != tokenizer.ClsId && id != tokenizer.SepId && id != tokenizer.PadId)
                {
                    id = u;
                }

                ids[(b * length) + t] = id;
                mask[(b * length) + t] = 1;
                types[(b * length) + t] = example.Types[t];
            }
        }

        long[] shape = [batch.Length, length];
        var input = new ModelInput(tensor(ids, shape), tensor(mask, shape), UsesTokenTypes ? tensor(types, shape) : null);
        return (input, tensor(batch.Select(i => (long)data[i].Label).ToArray()));
    }

    /// <summary>
    /// The model's output, which must be logits [batch, numLabels]. Before, a model of another class count failed inside
    /// libtorch's cross-entropy ("Target 2 is out of bounds", untyped) when it had fewer classes, and trained silently when
    /// it had more (the extra classes never a target, yet free to be predicted).
    /// </summary>
    private Tensor CheckedLogits(Tensor logits, int batchSize)
    {
        if (logits.dim() != 2 || logits.size(0) != batchSize || logits.size(1) != numLabels)
        {
            throw new ArgumentException(
                $"the model returned logits of shape [{string.Join(", ", logits.shape)}] for a batch of {batchSize}, but the trainer was made for " +
                $"{numLabels} classes and needs [{batchSize}, {numLabels}]: pass the model's class count as numLabels (or give the model {numLabels} outputs)",
                nameof(numLabels));
        }

        return logits;
    }

    /// <summary>The global L2 norm of the parameters' gradients (in float64; 0 when none has one).</summary>
    private double GradientNorm()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return Math.Sqrt(model.parameters().Select(p => p.grad).OfType<Tensor>().Sum(g => g.to(ScalarType.Float64).Squared().sum().ItemAsDouble()));
    }

    /// <summary>
    /// Refuses a tokenizer with more ids than the module's token embedding has rows (another model's tokenizer, say),
    /// before any step: before, the first batch holding such an id failed inside libtorch's lookup ("index out of range
    /// in self", naming neither). The token embedding is the <c>Embedding</c> module the input ids reach, found by one
    /// forward pass in evaluation mode without gradients on a probe of <paramref name="length"/> tokens whose ids (1, then
    /// 0s) no position (0, 1, …) or token type (0s) repeats; the mode is put back. A module whose ids reach no
    /// <c>Embedding</c> through <c>call</c> (a lookup of its own), or that fails on the probe, is not checked here.
    /// </summary>
    private void CheckTokenEmbedding(int length)
    {
        (string Path, nn.Module Module)[] embeddings;
        try
        {
            embeddings = model.SelfAndDescendants().Where(m => m.Module is TorchSharp.Modules.Embedding).ToArray();
            if (embeddings.Length == 0)
            {
                return;
            }

            ModuleHooks.Prepare(model);
        }
        catch (ArgumentException)
        {
            // A tree with a child no path can name: not checked here (training itself needs no paths).
            return;
        }

        var probe = new long[length];
        probe[0] = 1;
        long[] shape = [1, length];
        var reached = new List<(string Path, long Rows)>();
        var hooks = embeddings.Select(e => ModuleHooks.AddForwardPreHook(e.Module, (module, input) =>
        {
            if (input is Tensor ids && ids.dtype == ScalarType.Int64 && ids.shape.SequenceEqual(shape)
                && ids.contiguous().to(CPU).data<long>().SequenceEqual(probe))
            {
                // Every read of weight is a new tensor handle (TorchSharp counts it live): disposed here, the module's own stays.
                using var weight = ((TorchSharp.Modules.Embedding)module).weight!;
                reached.Add((e.Path, weight.shape[0]));
            }

            return null;
        })).ToList();
        var training = model.training;
        try
        {
            model.eval();
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            model.call(new ModelInput(tensor(probe, shape), ones(shape, ScalarType.Int64), UsesTokenTypes ? zeros(shape, ScalarType.Int64) : null));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A module that refuses the probe is left to training, which names what it refuses.
            return;
        }
        finally
        {
            hooks.ForEach(h => h.Dispose());
            model.train(training);
        }

        if (reached.Count > 0 && reached.MinBy(r => r.Rows) is var (path, rows) && tokenizer.VocabularySize > rows)
        {
            throw new ArgumentException(
                $"the tokenizer has {tokenizer.VocabularySize} ids but the module's token embedding '{path}' (the Embedding the input ids reach) has {rows} rows, " +
                $"so ids from {rows} up would fail inside libtorch: use the tokenizer the module was made for, or build the module's embedding with at least {tokenizer.VocabularySize} rows",
                nameof(tokenizer));
        }
    }

    /// <summary>
    /// Refuses a model that holds NaN or infinity before training: no step can repair such a weight (AdamW's decay and
    /// update keep it NaN), and a non-finite loss at the first batch would otherwise be blamed on the learning rate.
    /// </summary>
    private void CheckWeightsFinite()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var (name, parameter) in model.named_parameters())
        {
            if (parameter.is_floating_point() && !isfinite(parameter).all().ItemAsBoolean())
            {
                throw new ArgumentException(
                    $"the model's parameter {name} holds NaN or infinity before training; training cannot repair it (every step keeps it non-finite): " +
                    "build or load a model with finite weights", "model");
            }
        }
    }

    private void ClipGradNorm(double maxNorm, double total)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var grads = model.parameters().Select(p => p.grad).OfType<Tensor>().ToList();
        if (grads.Count == 0)
        {
            return;
        }

        var coefficient = maxNorm / (total + 1e-6);
        if (coefficient < 1)
        {
            // Held until libtorch has used it (see KeptScalars).
            using var scale = coefficient.ToScalar();
            foreach (var g in grads)
            {
                g.mul_(scale);
            }
        }
    }

    private Dictionary<string, Tensor> Snapshot()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone().DetachFromDisposeScope(), StringComparer.Ordinal);
    }

    private static void Release(Dictionary<string, Tensor>? tensors)
    {
        foreach (var t in tensors?.Values ?? Enumerable.Empty<Tensor>())
        {
            t.Dispose();
        }
    }
}
