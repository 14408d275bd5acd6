using System.Globalization;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Text.Tokenizers;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Attribution.Onnx;

/// <summary>
/// A sequence classifier exported to ONNX (Hugging Face Optimum layout), run with ONNX Runtime. It has no gradients, so
/// it is explained by the perturbation methods (<see cref="IPerturbationAttributor"/>: LIME and the like), which need
/// only its tokenizer and its logits. Load one with <see cref="Load"/>.
/// </summary>
/// <remarks>
/// The graph takes <c>input_ids</c>, <c>attention_mask</c> and, when it has it, <c>token_type_ids</c> (int64
/// [batch, sequence]) and returns <c>logits</c> [batch, labels] (float32, float64, float16 or bfloat16). Sequences are sorted by length, padded with the
/// tokenizer's pad id (attention 0) and run in batches of <see cref="OnnxSessionSettings.BatchSize"/>. Nothing is ever
/// truncated: an input longer than <see cref="MaxLength"/> is an <see cref="ArgumentException"/>. Every method is safe
/// to call from several threads at once (ONNX Runtime's <c>Run</c> is, and this object keeps no per-call state), Dispose
/// included: it waits for no call, but the session closes only when the calls already running have returned.
/// </remarks>
public sealed class OnnxTextClassifier : ITokenClassifier, ICancellableTokenClassifier, IDisposable
{
    private const string IdsInput = "input_ids";
    private const string MaskInput = "attention_mask";
    private const string TypesInput = "token_type_ids";
    private const string LogitsOutput = "logits";

    private static readonly string[] OutputNames = [LogitsOutput];

    private readonly InferenceSession session;
    private readonly bool takesMask;
    private readonly TensorElementType logitsType;
    private readonly IReadOnlySet<string> int32Inputs;
    private readonly long vocabularySize;
    private readonly string configPath;

    // Dispose and the calls running the session: ONNX Runtime frees the session at once, under a run that another thread
    // has in flight, so the last call out closes it when Dispose came while calls were running (CallGate, as TextClassifier).
    private readonly CallGate gate;

    // Whether a run has returned a row that is not a probability distribution (see Run).
    private volatile bool logitsSeen;

    private OnnxTextClassifier(string name, string modelPath, string configPath, InferenceSession session, ITokenizer tokenizer,
        IReadOnlyList<string> labels, OutputHead head, int? maxLength, GraphInputs inputs, long vocabularySize, OnnxSessionSettings settings)
    {
        Name = name;
        ModelPath = modelPath;
        this.configPath = configPath;
        this.session = session;
        gate = new CallGate(session.Dispose, () => new ObjectDisposedException(GetType().FullName));
        Tokenizer = tokenizer;
        Labels = labels;
        Head = head;
        MaxLength = maxLength;
        UsesTokenTypes = inputs.TakesTypes;
        takesMask = inputs.TakesMask;
        logitsType = inputs.LogitsType;
        int32Inputs = inputs.Int32Inputs;
        this.vocabularySize = vocabularySize;
        Settings = settings;
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The ONNX file the session runs.</summary>
    public string ModelPath { get; }

    /// <summary>The session settings and batch size in use.</summary>
    public OnnxSessionSettings Settings { get; }

    /// <inheritdoc />
    public ITokenizer Tokenizer { get; }

    /// <inheritdoc />
    public IReadOnlyList<string> Labels { get; }

    /// <summary>
    /// What the outputs mean, from config.json's <c>problem_type</c> as the safetensors loader reads it (absent: one
    /// output is regression, more are single-label): the scored probability (softmax or a sigmoid per label) and the
    /// predicted labels follow it.
    /// </summary>
    public OutputHead Head { get; }

    /// <inheritdoc />
    public int? MaxLength { get; }

    /// <summary>Whether the graph has a <c>token_type_ids</c> input (BERT exports do; DistilBERT and RoBERTa exports do not).</summary>
    public bool UsesTokenTypes { get; }

    /// <summary>
    /// Loads a Hugging Face Optimum export: <c>model.onnx</c> (or <c>onnx/model.onnx</c>), <c>config.json</c> (labels
    /// from <c>id2label</c> or <c>num_labels</c>; a <c>label2id</c> may name them otherwise, but each of its indices must
    /// be one of those classes, named once; the length limit from <c>max_position_embeddings</c>, less
    /// pad_token_id + 1 for RoBERTa) and the tokenizer files (<c>tokenizer.json</c>, or <c>vocab.txt</c> /
    /// <c>vocab.json</c> + <c>merges.txt</c>). The graph's inputs and output are checked against what this class feeds
    /// and reads: int64 (or int32) inputs [batch, sequence] with both axes dynamic (a batch axis fixed at 1 only when
    /// <see cref="OnnxSessionSettings.BatchSize"/> is 1).
    /// </summary>
    /// <param name="folder">The model folder.</param>
    /// <param name="settings">Session settings (threads, graph optimization, batch size); defaults when null.</param>
    /// <exception cref="ModelLoadException">
    /// The folder, the ONNX file or config.json is missing or malformed, or the graph's inputs or output are not those of
    /// a sequence classifier; the message names the file, what the graph has, and the fix.
    /// </exception>
    /// <exception cref="TokenizerException">The tokenizer files are missing or malformed.</exception>
    public static OnnxTextClassifier Load(string folder, OnnxSessionSettings? settings = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        settings ??= new OnnxSessionSettings();
        if (!Directory.Exists(folder))
        {
            throw new ModelLoadException(folder, null, File.Exists(folder)
                ? $"'{folder}' is a file; pass the model's folder (model.onnx or onnx/model.onnx, config.json and tokenizer files)"
                : $"model folder '{folder}' does not exist; pass a folder with model.onnx (or onnx/model.onnx), config.json and tokenizer files");
        }

        var modelPath = FindModelFile(folder)
            ?? throw new ModelLoadException(folder, null,
                $"'{folder}' has no model.onnx and no onnx/model.onnx; " +
                (File.Exists(Path.Combine(folder, "model.safetensors")) || File.Exists(Path.Combine(folder, "model.safetensors.index.json"))
                    ? "it holds PyTorch weights (model.safetensors), which ClassifierLoader.Load reads, or export the classifier with Hugging Face Optimum "
                    : "export the classifier with Hugging Face Optimum ") +
                "(optimum-cli export onnx --model NAME --task text-classification FOLDER) or torch.onnx.export into FOLDER/model.onnx");
        var config = ReadConfig(folder);
        var tokenizer = TokenizerLoader.FromDirectory(folder);
        if (config.VocabSize is { } vocab && tokenizer.VocabularySize > vocab)
        {
            throw new ModelLoadException(config.Path, "vocab_size",
                $"the tokenizer in '{folder}' has {tokenizer.VocabularySize} ids but {config.Path} says vocab_size {vocab}: they do not belong together");
        }

        if (config.PositionsPadId is { } positionsPad && TransformerConfig.PadIdsDisagree(config.ModelType, positionsPad, tokenizer.PadId))
        {
            // An exported RoBERTa graph computes its position ids from the pad id it was exported with (positions start
            // at pad_token_id + 1 and skip tokens equal to it), while this class pads with the tokenizer's: with two ids
            // a real token equal to the config's is taken for padding and every later position shifts, silently.
            // ClassifierLoader refuses the same mismatch in a safetensors folder.
            throw new ModelLoadException(config.Path, "pad_token_id",
                $"{config.Path} says pad_token_id = {positionsPad} but the tokenizer in '{folder}' pads with id {tokenizer.PadId}: a {config.ModelType} graph's " +
                "position ids start at pad_token_id + 1 and skip the tokens equal to it, so both must be the same id; put the config.json and tokenizer " +
                "files saved with this model beside it (or set pad_token_id in config.json to the tokenizer's pad id if they belong together)");
        }

        var session = OpenSession(modelPath, settings);
        try
        {
            var inputs = CheckGraph(session, modelPath, config, settings);
            var name = Path.GetFileName(Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));
            return new OnnxTextClassifier(name, modelPath, config.Path, session, tokenizer, config.Labels, config.Head, config.MaxLength ?? tokenizer.ModelMaxLength,
                inputs, config.VocabSize ?? tokenizer.VocabularySize, settings);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">A sequence is empty, longer than <see cref="MaxLength"/>, has an id outside the vocabulary, or type ids of another length.</exception>
    /// <exception cref="ModelLoadException">The graph returns a number of logits other than the labels config.json names,
    /// or, for a softmax head, probabilities (every row of a run in (0, 1] and summing to 1, before any run returned logits).</exception>
    /// <exception cref="ObjectDisposedException">The classifier was disposed before the call (a call already running when
    /// another thread disposes it finishes first).</exception>
    public double[][] PredictLogits(IReadOnlyList<TokenSequence> sequences) => PredictLogits(sequences, CancellationToken.None);

    /// <summary>
    /// <see cref="PredictLogits(IReadOnlyList{TokenSequence})"/> with <paramref name="cancellation"/> checked before each
    /// session run (one per <see cref="OnnxSessionSettings.BatchSize"/> sequences; for a graph without
    /// <c>attention_mask</c>, also one per length): no run starts once it is cancelled. The removal metrics
    /// (<c>RationaleRemoval</c>, the scorecard's), the perturbation methods (occlusion, KernelSHAP, …) and LIME's sentence
    /// pairs pass their own token here, so they too stop between runs.
    /// </summary>
    /// <param name="sequences">Non-empty sequences of at most <see cref="MaxLength"/> ids.</param>
    /// <param name="cancellation">Stops the call before its next session run (a service scoring many sequences).</param>
    /// <exception cref="ArgumentException">A sequence is empty, longer than <see cref="MaxLength"/>, has an id outside the vocabulary, or type ids of another length.</exception>
    /// <exception cref="ModelLoadException">The graph's logits do not fit config.json (see <see cref="PredictLogits(IReadOnlyList{TokenSequence})"/>).</exception>
    /// <exception cref="ObjectDisposedException">The classifier was disposed before the call.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellation"/> was cancelled (checked before each run).</exception>
    public double[][] PredictLogits(IReadOnlyList<TokenSequence> sequences, CancellationToken cancellation)
    {
        using var lease = gate.Enter();
        TokenBatches.Check(this, sequences);
        CheckIds(sequences);
        var results = new double[sequences.Count][];

        // A graph without attention_mask cannot be told which positions are padding: give it one length per batch.
        foreach (var chunk in TokenBatches.Chunks(sequences, Settings.BatchSize, sameLengthOnly: !takesMask))
        {
            cancellation.ThrowIfCancellationRequested();
            var logits = Run(sequences, chunk);
            NonFiniteValueException.CheckLogits(Name, logits);
            for (var row = 0; row < chunk.Length; row++)
            {
                results[chunk[row]] = logits[row];
            }
        }

        return results;
    }

    /// <summary>
    /// Each label's probability as <see cref="Head"/> defines it (softmax of the logits, or a sigmoid per logit for a
    /// multi-label model; in float64) for each text; empty rows for a regression model.
    /// </summary>
    /// <exception cref="ArgumentException">A text is null, empty or longer than <see cref="MaxLength"/> tokens.</exception>
    public double[][] PredictProbabilities(IReadOnlyList<string> texts) => PredictProbabilities(texts, CancellationToken.None);

    /// <summary>
    /// <see cref="PredictProbabilities(IReadOnlyList{string})"/> with <paramref name="cancellation"/> checked before each
    /// session run (one per <see cref="OnnxSessionSettings.BatchSize"/> texts). LIME passes its token here for its
    /// perturbed texts, so it too stops between runs.
    /// </summary>
    /// <param name="texts">The texts to classify.</param>
    /// <param name="cancellation">Stops the call before its next session run (a service classifying many texts).</param>
    /// <exception cref="ArgumentException">A text is null, empty or longer than <see cref="MaxLength"/> tokens.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellation"/> was cancelled (checked before each run).</exception>
    public double[][] PredictProbabilities(IReadOnlyList<string> texts, CancellationToken cancellation) =>
        PredictLogits(Encode(texts), cancellation).Select(row => Head.Probabilities(row)).ToArray();

    /// <summary>The prediction (logits, probabilities and predicted labels as <see cref="Head"/> defines them) for each text, in input order.</summary>
    /// <param name="texts">The texts to classify.</param>
    /// <exception cref="ArgumentException">A text is null, empty or longer than <see cref="MaxLength"/> tokens.</exception>
    // An overload, not an optional token: callers compiled against the one-argument Predict, and method-group
    // conversions to Func<IReadOnlyList<string>, IReadOnlyList<Prediction>>, keep working (as for PredictLogits and
    // PredictProbabilities).
    public IReadOnlyList<Prediction> Predict(IReadOnlyList<string> texts) => Predict(texts, CancellationToken.None);

    /// <summary>
    /// <see cref="Predict(IReadOnlyList{string})"/> with <paramref name="cancellation"/> checked before each session run
    /// (one per <see cref="OnnxSessionSettings.BatchSize"/> texts).
    /// </summary>
    /// <param name="texts">The texts to classify.</param>
    /// <param name="cancellation">Stops the call before its next session run.</param>
    /// <exception cref="ArgumentException">A text is null, empty or longer than <see cref="MaxLength"/> tokens.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellation"/> was cancelled (checked before each run).</exception>
    public IReadOnlyList<Prediction> Predict(IReadOnlyList<string> texts, CancellationToken cancellation)
    {
        var logits = PredictLogits(Encode(texts), cancellation);
        return logits.Select((row, i) => LogitMath.Predict(texts[i], row, Labels, Head)).ToList();
    }

    /// <summary>
    /// Closes the ONNX Runtime session; later calls throw <see cref="ObjectDisposedException"/>. Calls that other threads
    /// have running finish first: the session closes when the last of them returns. A second Dispose does nothing.
    /// </summary>
    public void Dispose() => gate.Dispose();

    /// <summary>The token sequences of <paramref name="texts"/>, refusing (never truncating) one that is too long.</summary>
    private TokenSequence[] Encode(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var sequences = new TokenSequence[texts.Count];
        for (var i = 0; i < texts.Count; i++)
        {
            if (texts[i] is null)
            {
                throw new ArgumentNullException(nameof(texts), $"texts[{i}] is null");
            }

            if (string.IsNullOrWhiteSpace(texts[i]))
            {
                throw new ArgumentException($"texts[{i}] is empty or whitespace: there is nothing to classify", nameof(texts));
            }

            var encoding = Tokenizer.Encode(texts[i]);
            if (MaxLength is { } max && encoding.Length > max)
            {
                throw new ArgumentException($"texts[{i}] has {encoding.Length} tokens but {Name} accepts at most {max}: shorten it (nothing is truncated silently)", nameof(texts));
            }

            sequences[i] = new TokenSequence(encoding.Ids, encoding.TypeIds);
        }

        return sequences;
    }

    /// <summary>An id outside the embedding table would fail inside the graph's Gather with a message naming no input.</summary>
    private void CheckIds(IReadOnlyList<TokenSequence> sequences)
    {
        for (var i = 0; i < sequences.Count; i++)
        {
            foreach (var id in sequences[i].Ids)
            {
                if (id < 0 || id >= vocabularySize)
                {
                    throw new ArgumentException($"sequences[{i}] has id {id}, outside {Name}'s vocabulary [0, {vocabularySize})", nameof(sequences));
                }
            }
        }
    }

    /// <summary>
    /// Called on the calling thread as each session run starts: the cancellation tests count runs with it and cancel
    /// during one (ONNX Runtime reports no run to its caller). Null outside tests.
    /// </summary>
    internal Action? RunStarting { get; set; }

    /// <summary>One run of the graph on the sequences <paramref name="chunk"/> (right-padded to the longest).</summary>
    private double[][] Run(IReadOnlyList<TokenSequence> sequences, int[] chunk)
    {
        RunStarting?.Invoke();
        var (ids, mask, types, shape) = TokenBatches.Pad(sequences, chunk, Tokenizer.PadId);
        var names = new List<string>();
        var values = new List<OrtValue>();

        // Ids, masks and type ids fit in int32 (ids are below the vocabulary size), so narrowing them loses nothing.
        void Add(string name, long[] data)
        {
            names.Add(name);
            values.Add(int32Inputs.Contains(name)
                ? OrtValue.CreateTensorValueFromMemory(Array.ConvertAll(data, v => checked((int)v)), shape)
                : OrtValue.CreateTensorValueFromMemory(data, shape));
        }

        try
        {
            Add(IdsInput, ids);
            if (takesMask)
            {
                Add(MaskInput, mask);
            }

            if (UsesTokenTypes)
            {
                Add(TypesInput, types);
            }

            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, names, values, OutputNames);
            var logits = outputs.First();
            var outputShape = logits.GetTensorTypeAndShape().Shape;
            if (outputShape.Length != 2 || outputShape[0] != chunk.Length)
            {
                throw new InvalidOperationException(
                    $"{ModelPath} returned logits of shape [{string.Join(", ", outputShape)}] for {chunk.Length} sequences; expected [{chunk.Length}, {Labels.Count}]");
            }

            if (outputShape[1] != Labels.Count)
            {
                throw new ModelLoadException(configPath, "id2label",
                    $"{ModelPath} returns {outputShape[1]} logits per text but {configPath} names {Labels.Count} labels ({string.Join(", ", Labels)}): " +
                    "the config does not belong to this graph; put the config.json saved with this model beside it (its id2label or num_labels decides the labels)");
            }

            var width = Labels.Count;
            var flat = Widen(logits, logitsType);
            var rows = Enumerable.Range(0, chunk.Length).Select(row => flat.AsSpan(row * width, width).ToArray()).ToArray();
            // Until a run shows logits (a row that is not a probability distribution), a run of nothing but distributions
            // is refused. Once logits were seen, a later run whose rows happen to look like distributions is not judged:
            // real logits do that by chance (about once in a million rows), and a refusal in a running service would be
            // worse than none. The flag only ever goes from false to true, so threads may race on it harmlessly.
            // Probabilities returned in half precision sum to 1 only within its rounding.
            var sumTolerance = logitsType switch
            {
                TensorElementType.Float16 => LogitMath.HalfSumTolerance,
                TensorElementType.BFloat16 => LogitMath.BFloat16SumTolerance,
                _ => 1e-5,
            };
            if (Head == OutputHead.SingleLabel && !logitsSeen && LogitMath.LookLikeProbabilities(rows, sumTolerance))
            {
                throw new ModelLoadException(ModelPath, LogitsOutput,
                    $"'{ModelPath}' output '{LogitsOutput}' holds probabilities, not logits: every row of this run of {chunk.Length} sequence(s) lies in (0, 1] and " +
                    $"sums to 1 (first: [{string.Join(", ", rows[0].Select(v => v.ToString("G4", CultureInfo.InvariantCulture)))}]), and this class applies the " +
                    "softmax itself, so it would apply it twice. Export the logits, before the softmax (optimum-cli export onnx --task text-classification does)");
            }

            logitsSeen = true;
            return rows;
        }
        finally
        {
            foreach (var value in values)
            {
                value.Dispose();
            }
        }
    }

    /// <summary>The logits as float64 (every float16, bfloat16 and float32 value is one exactly).</summary>
    private static double[] Widen(OrtValue logits, TensorElementType type) => type switch
    {
        TensorElementType.Double => logits.GetTensorDataAsSpan<double>().ToArray(),
        TensorElementType.Float16 => Array.ConvertAll(logits.GetTensorDataAsSpan<Float16>().ToArray(), v => (double)v.ToFloat()),
        TensorElementType.BFloat16 => Array.ConvertAll(logits.GetTensorDataAsSpan<BFloat16>().ToArray(), v => (double)v.ToFloat()),
        _ => Array.ConvertAll(logits.GetTensorDataAsSpan<float>().ToArray(), v => (double)v),
    };

    private static string? FindModelFile(string folder) =>
        new[] { Path.Combine(folder, "model.onnx"), Path.Combine(folder, "onnx", "model.onnx") }.FirstOrDefault(File.Exists);

    private static InferenceSession OpenSession(string modelPath, OnnxSessionSettings settings)
    {
        using var options = settings.ToSessionOptions();
        try
        {
            return new InferenceSession(modelPath, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ModelLoadException(modelPath, null,
                $"'{modelPath}' is not an ONNX model that ONNX Runtime can load ({e.Message.Trim()}); export it again (torch.onnx.export or optimum-cli export onnx)", e);
        }
    }

    /// <summary>What the graph takes and returns, after checking it against what <see cref="Run"/> feeds and reads.</summary>
    /// <param name="TakesMask">Whether the graph takes <c>attention_mask</c>.</param>
    /// <param name="TakesTypes">Whether the graph takes <c>token_type_ids</c>.</param>
    /// <param name="LogitsType">The element type of <c>logits</c>: float32, float64, float16 or bfloat16.</param>
    /// <param name="Int32Inputs">The inputs the graph takes as int32 (some exports narrow ids and masks); the others are int64.</param>
    private sealed record GraphInputs(bool TakesMask, bool TakesTypes, TensorElementType LogitsType, IReadOnlySet<string> Int32Inputs);

    private static GraphInputs CheckGraph(InferenceSession session, string modelPath, OnnxConfig config, OnnxSessionSettings settings)
    {
        var inputs = session.InputMetadata;
        var outputs = session.OutputMetadata;
        var described = $"its inputs are {Describe(inputs)} and its outputs {Describe(outputs)}";
        const string Fix = "export the sequence classifier with Hugging Face Optimum (optimum-cli export onnx --task text-classification) " +
            "or torch.onnx.export(model, ..., input_names=[\"input_ids\", \"attention_mask\"], output_names=[\"logits\"], dynamic_axes=...)";
        if (!inputs.ContainsKey(IdsInput))
        {
            throw new ModelLoadException(modelPath, IdsInput, $"'{modelPath}' has no input '{IdsInput}': {described}; {Fix}");
        }

        var unknown = inputs.Keys.Where(k => k is not (IdsInput or MaskInput or TypesInput)).ToList();
        if (unknown.Count > 0)
        {
            throw new ModelLoadException(modelPath, unknown[0],
                $"'{modelPath}' has input(s) {string.Join(", ", unknown)} that a text classifier is not given (only {IdsInput}, {MaskInput} and {TypesInput}): {described}; {Fix}");
        }

        foreach (var (name, meta) in inputs)
        {
            if (!meta.IsTensor || meta.ElementDataType is not (TensorElementType.Int64 or TensorElementType.Int32) || meta.Dimensions.Length != 2)
            {
                throw new ModelLoadException(modelPath, name,
                    $"'{modelPath}' input '{name}' is {Describe(meta)}; it must be an int64 (or int32) tensor [batch, sequence] ({described}); {Fix}");
            }

            // An axis fixed at export (torch.onnx.export without dynamic_axes) makes ONNX Runtime refuse every other
            // length or batch size when the graph runs, with an error that names no text; a batch fixed at one still
            // works when every run holds one sequence.
            var (batch, length) = (meta.Dimensions[0], meta.Dimensions[1]);
            if (length >= 0)
            {
                throw new ModelLoadException(modelPath, name,
                    $"'{modelPath}' input '{name}' is {Describe(meta)}: a fixed sequence length of {length}, so every text of another length would be refused " +
                    $"when the graph runs; export it with a dynamic sequence axis (dynamic_axes={{\"{name}\": {{0: \"batch\", 1: \"sequence\"}}, ...}}); {Fix}");
            }

            if (batch >= 0 && !(batch == 1 && settings.BatchSize == 1))
            {
                throw new ModelLoadException(modelPath, name,
                    $"'{modelPath}' input '{name}' is {Describe(meta)}: a fixed batch size of {batch}, but runs hold up to {settings.BatchSize} sequences; " +
                    $"export it with a dynamic batch axis (dynamic_axes={{\"{name}\": {{0: \"batch\", 1: \"sequence\"}}, ...}})" +
                    (batch == 1 ? " or load it with new OnnxSessionSettings { BatchSize = 1 }" : string.Empty) + $"; {Fix}");
            }
        }

        if (!outputs.TryGetValue(LogitsOutput, out var logits))
        {
            throw new ModelLoadException(modelPath, LogitsOutput, $"'{modelPath}' has no output '{LogitsOutput}': {described}; {Fix}");
        }

        // A half-precision export (optimum-cli export onnx --dtype fp16) returns float16 logits; they are read as they are.
        if (!logits.IsTensor || logits.ElementDataType is not (TensorElementType.Float or TensorElementType.Double or TensorElementType.Float16 or TensorElementType.BFloat16)
            || logits.Dimensions.Length != 2)
        {
            // A regression graph that squeezed its one output away is the likely [batch]; its fix is one dimension. A
            // [batch, sequence, labels] output scores every token: a token-classification export, the wrong task.
            var squeezed = !logits.IsTensor ? string.Empty : logits.Dimensions.Length switch
            {
                1 => " (one output per text, as a regression head gives, must keep its labels axis: [batch, 1], as Hugging Face's model returns it)",
                3 => " (a [batch, sequence, labels] output scores every token, as a token-classification export (NER, tagging) does: " +
                     "export the model with --task text-classification for one row of logits per text)",
                _ => string.Empty,
            };
            throw new ModelLoadException(modelPath, LogitsOutput,
                $"'{modelPath}' output '{LogitsOutput}' is {Describe(logits)}; it must be a floating-point tensor (float32, float64, float16 or bfloat16) [batch, labels]{squeezed} ({described}); {Fix}");
        }

        // A fixed width can be checked now; a symbolic one is checked on every run.
        if (logits.Dimensions[1] > 0 && logits.Dimensions[1] != config.Labels.Count)
        {
            throw new ModelLoadException(config.Path, "id2label",
                $"'{modelPath}' returns {logits.Dimensions[1]} logits per text but {config.Path} names {config.Labels.Count} labels ({string.Join(", ", config.Labels)}): " +
                "the config does not belong to this graph; put the config.json saved with this model beside it");
        }

        var int32 = inputs.Where(i => i.Value.ElementDataType == TensorElementType.Int32).Select(i => i.Key).ToHashSet(StringComparer.Ordinal);
        return new GraphInputs(inputs.ContainsKey(MaskInput), inputs.ContainsKey(TypesInput), logits.ElementDataType, int32);
    }

    private static string Describe(IReadOnlyDictionary<string, NodeMetadata> nodes) =>
        nodes.Count == 0 ? "(none)" : string.Join(", ", nodes.Select(kv => $"{kv.Key} {Describe(kv.Value)}"));

    private static string Describe(NodeMetadata meta)
    {
        if (!meta.IsTensor)
        {
            return $"a {meta.OnnxValueType}";
        }

        var dims = meta.Dimensions.Select((d, i) => d >= 0 ? d.ToString(CultureInfo.InvariantCulture)
            : meta.SymbolicDimensions.Length > i && meta.SymbolicDimensions[i].Length > 0 ? meta.SymbolicDimensions[i] : "?");
        return $"{meta.ElementDataType.ToString().ToLowerInvariant()} [{string.Join(", ", dims)}]";
    }

    /// <summary>
    /// What this class needs from config.json. PositionsPadId: for the RoBERTa family, whose position ids come from the
    /// pad id, config.json's pad_token_id (1, transformers' default, when absent); null for other models, which find
    /// padding by the mask.
    /// </summary>
    private sealed record OnnxConfig(string Path, string ModelType, IReadOnlyList<string> Labels, OutputHead Head, int? MaxLength, int? VocabSize, int? PositionsPadId);

    /// <summary>
    /// Reads config.json with the library's config reader. Unlike <see cref="TransformerConfig"/>, the architecture
    /// fields are not checked: ONNX Runtime runs the graph, so any model_type will do.
    /// </summary>
    private static OnnxConfig ReadConfig(string folder)
    {
        var path = Path.Combine(folder, "config.json");
        var text = ConfigJson.ReadText(path, "An ONNX model folder holds the config.json of the exported model (Optimum writes it; model.config.save_pretrained(folder) does too).");
        using var document = ConfigJson.ParseObject(text, path, "Fix the file or save it again with model.config.save_pretrained(folder).");
        var reader = new ConfigFields(document.RootElement, path, "fix the value (Hugging Face writes it with model.config.save_pretrained).");
        var modelType = reader.String("model_type") ?? string.Empty;
        var names = reader.Id2Label();
        string[] labels;
        if (names is not null)
        {
            if (names.Count == 0 || Enumerable.Range(0, names.Count).Any(i => !names.ContainsKey(i)))
            {
                throw new ModelLoadException(path, "id2label",
                    $"{path}: \"id2label\" must name every class 0..n-1 exactly once; it has keys {string.Join(", ", names.Keys.Order())}");
            }

            labels = Enumerable.Range(0, names.Count).Select(i => names[i]).ToArray();
        }
        else
        {
            // Hugging Face's default when neither is given: two classes, LABEL_0 and LABEL_1.
            var count = reader.Int("num_labels") ?? 2;
            if (count < 1)
            {
                throw new ModelLoadException(path, "num_labels", $"{path}: \"num_labels\" is {count}; it must be at least 1");
            }

            labels = Enumerable.Range(0, count).Select(i => "LABEL_" + i.ToString(CultureInfo.InvariantCulture)).ToArray();
        }

        if (reader.Label2Id() is { } label2id && ConfigFields.Label2IdProblem(label2id, labels.Length) is { } label2idProblem)
        {
            throw new ModelLoadException(path, "label2id", $"{path}: {label2idProblem}");
        }

        int? maxLength = null;
        if (reader.Int("max_position_embeddings") is { } positions)
        {
            var padId = reader.Int("pad_token_id") ?? (TransformerConfig.PositionsFromPadId(modelType) ? 1 : 0);
            maxLength = TransformerConfig.UsableLength(modelType, positions, padId);
            if (maxLength < 1)
            {
                throw new ModelLoadException(path, "max_position_embeddings",
                    $"{path}: \"max_position_embeddings\" is {positions}, which leaves no position for tokens");
            }
        }

        var vocab = reader.Int("vocab_size");
        if (vocab is < 1)
        {
            throw new ModelLoadException(path, "vocab_size", $"{path}: \"vocab_size\" is {vocab}; it must be at least 1");
        }

        var problemType = reader.String("problem_type");
        OutputHead head;
        try
        {
            head = OutputHeads.FromProblemType(problemType, labels.Length);
        }
        catch (ArgumentException e)
        {
            throw new ModelLoadException(path, "problem_type", $"{path}: {e.Message.Split(" (Parameter", 2)[0]}");
        }

        if (OutputHeads.OutputCountProblem(problemType, labels.Length) is { } headProblem)
        {
            throw new ModelLoadException(path, "problem_type", $"{path}: {headProblem}");
        }

        int? positionsPadId = TransformerConfig.PositionsFromPadId(modelType) ? reader.Int("pad_token_id") ?? 1 : null;
        return new OnnxConfig(path, modelType, labels, head, maxLength, vocab, positionsPadId);
    }
}
