using Attribution.Text.Tokenizers;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Models;

/// <summary>
/// The standard <see cref="ITextClassifier"/>: a tokenizer plus a module, with batched prediction.
/// Load one from a folder with <c>ClassifierLoader.Load</c>, or assemble one from parts.
/// </summary>
/// <remarks>
/// One classifier may serve many threads at once, <see cref="Dispose"/> included: Dispose waits for no call, the calls
/// other threads have running (a prediction, a method's forward and backward passes, LIME's batches, a rationale-removal
/// metric) finish normally, and the module is disposed when the last of them returns. A call started after Dispose
/// (predicting, explaining, evaluating, reading <see cref="Module"/> once the module is disposed) throws
/// <see cref="ObjectDisposedException"/> naming the model; a second Dispose does nothing. Code that runs
/// <see cref="Module"/> itself, outside the library's calls, is not covered: it must not dispose the classifier while
/// such a pass runs (docs/reliability.md).
/// </remarks>
public sealed partial class TextClassifier : ITextClassifier, IDisposable
{
    // The calls running on the module, and its disposal when the last one ends after Dispose (see CallGate).
    private readonly CallGate gate;
    private readonly torch.nn.Module<ModelInput, Tensor> module;

    /// <summary>Assembles a classifier. The module is put in eval mode; this object owns (and disposes) it.</summary>
    /// <param name="name">Short name for reports.</param>
    /// <param name="tokenizer">Tokenizer matching the model's vocabulary.</param>
    /// <param name="module">ModelInput → logits [batch, labels].</param>
    /// <param name="labels">Label names in output order.</param>
    /// <param name="wordEmbeddingPath">Dotted path of the word-embedding submodule.</param>
    /// <param name="maxLength">Longest accepted input in tokens, or null.</param>
    /// <param name="usesTokenTypes">Whether token type ids are passed to the module.</param>
    /// <param name="head">What the outputs mean (<see cref="OutputHead"/>): by default Hugging Face's rule without a
    /// <c>problem_type</c>, one output a regression, more softmax labels; <see cref="OutputHead.MultiLabel"/> for a sigmoid per label.</param>
    /// <exception cref="ArgumentNullException"><paramref name="name"/>, <paramref name="tokenizer"/>, <paramref name="module"/>,
    /// <paramref name="labels"/> or <paramref name="wordEmbeddingPath"/> is null.</exception>
    /// <exception cref="ArgumentException">An empty or blank <paramref name="name"/>; a <paramref name="wordEmbeddingPath"/>
    /// that is empty (the whole model) or names no submodule; no label, a null, empty or blank label name (names may repeat), one
    /// output with <see cref="OutputHead.SingleLabel"/>, or a <see cref="RobertaForSequenceClassification"/> whose config's
    /// pad_token_id is not the tokenizer's pad id (RoBERTa's position ids depend on it).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> is below 1, or <paramref name="head"/> is unknown.</exception>
    public TextClassifier(string name, ITokenizer tokenizer, torch.nn.Module<ModelInput, Tensor> module, IReadOnlyList<string> labels,
        string wordEmbeddingPath, int? maxLength, bool usesTokenTypes, OutputHead? head = null)
    {
        // The name heads every report, result (Explanation.Model) and refusal: a null one was kept and written out as null.
        ArgumentNullException.ThrowIfNull(name, nameof(name));
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new ArgumentException($"the model's name is empty or blank (\"{name}\"): give a short name for reports, e.g. the model folder's name", nameof(name));
        }

        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(labels);
        // As in every factory and loader: no label, or a null, empty or blank name, is refused naming its index.
        CheckLabels(labels, maxLength);

        if (head == OutputHead.SingleLabel && labels.Count == 1)
        {
            // The config readers refuse the same (problem_type single_label_classification with num_labels 1).
            throw new ArgumentException(
                $"head is {OutputHead.SingleLabel} with one label (\"{labels[0]}\"): a softmax over one logit is 1 for every text, so every " +
                $"explanation of its probability would be zero. Pass {nameof(OutputHead)}.{OutputHead.Regression} (or leave head null) for one " +
                $"real-valued output, {nameof(OutputHead)}.{OutputHead.MultiLabel} for one sigmoid label, or give a single-label model two labels.", nameof(head));
        }

        if (module is TransformerClassifier transformer && TransformerConfig.PadIdsDisagree(transformer.Config.ModelType, transformer.Config.PadTokenId, tokenizer.PadId))
        {
            // RoBERTa's positions count from its config's pad id and skip tokens equal to it; the tokenizer pads with its own.
            throw new ArgumentException(
                $"the tokenizer pads with id {tokenizer.PadId} but the RoBERTa module's config has pad_token_id {transformer.Config.PadTokenId}: its position ids " +
                "start at pad_token_id + 1 and skip the tokens equal to it, so the two must be the same id; give the model's own tokenizer (or a config whose " +
                "pad_token_id is the tokenizer's pad id)", nameof(tokenizer));
        }

        // Fails early, with the list of close paths, if the embedding path is wrong (named as this constructor's argument:
        // the lookup's own name, "path", is no parameter here). An empty path is the whole model, whose output is the
        // logits, not the token embeddings every method attributes through.
        ArgumentNullException.ThrowIfNull(wordEmbeddingPath);
        if (wordEmbeddingPath.Length == 0)
        {
            throw new ArgumentException(
                "wordEmbeddingPath is empty, which names the whole model rather than its word embedding: give the dotted path of the token-embedding submodule (e.g. embeddings.word_embeddings)",
                nameof(wordEmbeddingPath));
        }

        if (module.FindSubmodule(wordEmbeddingPath, nameof(wordEmbeddingPath)) is TorchSharp.Modules.Embedding embedding)
        {
            // Every read of weight is a new tensor handle (TorchSharp counts it live): disposed here, the module's own stays.
            using var weight = embedding.weight;
            EmbeddingRows = weight?.shape[0];
        }
        Name = name;
        Tokenizer = tokenizer;
        this.module = module;
        gate = new CallGate(module.Dispose, () => new ObjectDisposedException(name,
            $"the classifier {name} was disposed: calls started after Dispose are refused (those already running finished first). Load or build the model again"));
        Labels = labels;
        WordEmbeddingPath = wordEmbeddingPath;
        MaxLength = maxLength;
        UsesTokenTypes = usesTokenTypes;
        // A softmax over one output is 1 for every input: one output without a stated head is a regression, as in Hugging Face.
        Head = head is null ? OutputHeads.FromProblemType(null, labels.Count)
            : Enum.IsDefined(head.Value) ? head.Value : throw new ArgumentOutOfRangeException(nameof(head), head, "unknown output head");
        module.eval();

        // Every hookable module gets its hook dispatcher now, before the classifier can be shared between threads:
        // installing one later would write to a module another thread may be running (see ModuleHooks).
        ModuleHooks.Prepare(module);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public ITokenizer Tokenizer { get; }

    /// <inheritdoc />
    /// <exception cref="ObjectDisposedException">The classifier was disposed and its module with it (the message names the model).</exception>
    public torch.nn.Module<ModelInput, Tensor> Module => gate.IsClosed ? throw gate.Refusal() : module;

    /// <summary>
    /// Enters a call on the module (<see cref="ModelLease"/>): until the lease is disposed, Dispose leaves the module alive.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The classifier was disposed.</exception>
    internal CallGate.Lease Enter() => gate.Enter();

    /// <inheritdoc />
    public IReadOnlyList<string> Labels { get; }

    /// <inheritdoc />
    public string WordEmbeddingPath { get; }

    /// <summary>The rows of the word embedding (ids 0 to rows − 1) when it is an <c>nn.Embedding</c>; null for another module.</summary>
    internal long? EmbeddingRows { get; }

    /// <summary>
    /// Refuses a padded batch of ids [rows × <paramref name="length"/>] holding an id the word embedding has no row for,
    /// before libtorch's lookup fails with "index out of range in self", which names no text, id or tokenizer. Such ids
    /// come from a tokenizer that is not the model's (a user's <see cref="ITokenizer"/>, or a vocabulary with added tokens
    /// the embedding was never resized for). Nothing is checked where the embedding is not an <c>nn.Embedding</c>.
    /// </summary>
    /// <param name="ids">The batch's ids, row-major.</param>
    /// <param name="length">The padded length of a row.</param>
    /// <param name="row">Names the input of a row, for the message (<c>texts[2]</c>).</param>
    /// <param name="parameter">The argument that holds the inputs.</param>
    /// <exception cref="ArgumentException">An id is negative or not below <see cref="EmbeddingRows"/>.</exception>
    internal void CheckIdsInEmbedding(long[] ids, int length, Func<int, string> row, string parameter)
    {
        if (EmbeddingRows is not { } rows)
        {
            return;
        }

        for (var i = 0; i < ids.Length; i++)
        {
            if ((ulong)ids[i] >= (ulong)rows)
            {
                var pad = ids[i] == Tokenizer.PadId ? $" (the tokenizer's pad id, which fills the padding of shorter inputs)" : string.Empty;
                throw new ArgumentException(
                    $"{row(i / length)} has token id {ids[i]}{pad} at position {i % length}, but {Name}'s word embedding ({WordEmbeddingPath}) has {rows} rows " +
                    $"(ids 0 to {rows - 1}): the tokenizer's ids are not this model's. Give the model its own tokenizer (or resize the embedding to the tokenizer's " +
                    $"{Tokenizer.VocabularySize} ids and train it)", parameter);
            }
        }
    }

    /// <inheritdoc />
    public int? MaxLength { get; }

    /// <inheritdoc />
    public bool UsesTokenTypes { get; }

    /// <inheritdoc />
    public OutputHead Head { get; }

    /// <summary>Texts per forward pass in <see cref="Predict"/> and <see cref="PredictProbabilities"/> (at least 1; default 32).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Set below 1.</exception>
    public int BatchSize
    {
        get => batchSize;
        // Checked when set: below 1 it was refused only at the first Predict, naming "size", no property of this class.
        init => batchSize = value >= 1 ? value
            : throw new ArgumentOutOfRangeException(nameof(BatchSize), value, $"TextClassifier.BatchSize is {value}: a forward pass takes at least 1 text; give 1 or more (default 32)");
    }

    private readonly int batchSize = 32;

    /// <inheritdoc />
    public EncodedBatch Encode(IReadOnlyList<string> texts, bool truncate = false) => Encode(texts, truncate, null);

    /// <inheritdoc />
    public EncodedBatch Encode(IReadOnlyList<string> texts, bool truncate, IReadOnlyList<string>? pairs, TruncationStrategy strategy = TruncationStrategy.LongestFirst)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (texts.Count == 0)
        {
            throw new ArgumentException("no texts given", nameof(texts));
        }

        TextPairs.Check(texts, pairs);

        for (var i = 0; i < texts.Count; i++)
        {
            _ = TokenizedTexts.CheckedText(texts, i);
        }

        return Assemble(texts, pairs, Tokenizer.EncodeBatch(texts, pairs, truncate ? MaxLength : null, TruncationSide.Right, strategy), truncate);
    }

    /// <summary>
    /// <see cref="Encode(IReadOnlyList{string}, bool, IReadOnlyList{string}?, TruncationStrategy)"/> from the texts'
    /// unpadded encodings, already made with the same truncation (<see cref="TokenizedTexts"/>) and padded here as
    /// <see cref="ITokenizer.EncodeBatch"/> is defined to pad, so the texts are not tokenized a second time.
    /// </summary>
    internal EncodedBatch Encode(IReadOnlyList<string> texts, IReadOnlyList<string>? pairs, IReadOnlyList<Encoding> unpadded, bool truncate) =>
        Assemble(texts, pairs, EncodingPadding.ToLongest(unpadded, Tokenizer), truncate);

    private EncodedBatch Assemble(IReadOnlyList<string> texts, IReadOnlyList<string>? pairs, IReadOnlyList<Encoding> encodings, bool truncate)
    {
        var lengths = encodings.Select(e => e.AttentionMask.Count(m => m != 0)).ToArray();
        for (var i = 0; i < lengths.Length; i++)
        {
            TokenizedTexts.CheckLength(this, pairs, i, lengths[i], truncate);
        }

        var batch = encodings.Count;
        var length = encodings[0].Length;
        var ids = new long[batch * length];
        var mask = new long[batch * length];
        var types = new long[batch * length];
        for (var b = 0; b < batch; b++)
        {
            Array.Copy(encodings[b].Ids, 0, ids, b * length, length);
            Array.Copy(encodings[b].AttentionMask, 0, mask, b * length, length);
            Array.Copy(encodings[b].TypeIds, 0, types, b * length, length);
        }

        CheckIdsInEmbedding(ids, length, b => pairs is null ? $"texts[{b}]" : $"texts[{b}] with pairs[{b}]", nameof(texts));
        long[] shape = [batch, length];
        var input = new ModelInput(
            torch.tensor(ids, shape),
            torch.tensor(mask, shape),
            UsesTokenTypes ? torch.tensor(types, shape) : null);
        return new EncodedBatch(texts, encodings, input, lengths) { Pairs = pairs };
    }

    /// <summary>Logits for a batch of inputs (hooks on the module fire).</summary>
    /// <param name="input">Token ids [batch, length] (int64, or int32 for a module of the caller's that takes them; each a row of the word embedding), with an attention mask and
    /// token types of the same shape or null, as <see cref="Encode(IReadOnlyList{string}, bool)"/> makes them.</param>
    /// <exception cref="ArgumentNullException"><paramref name="input"/> is null.</exception>
    /// <exception cref="ArgumentException">The ids are not an int64 or int32 [batch, length] tensor, the mask or token types have
    /// another shape, or an id has no row in the word embedding (<paramref name="input"/>).</exception>
    /// <exception cref="ObjectDisposedException">The classifier was disposed.</exception>
    public Tensor Logits(ModelInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var lease = gate.Enter();
        CheckInput(input);
        return module.call(input);
    }

    /// <summary>
    /// The checks of a caller's own <see cref="ModelInput"/> (<see cref="Logits"/>): what <see cref="Encode(IReadOnlyList{string}, bool)"/>
    /// guarantees. Without them a null ids tensor was a NullReferenceException, and ids of another shape or past the
    /// embedding failed inside libtorch ("Dimension out of range", "index out of range in self"), naming no argument.
    /// </summary>
    private void CheckInput(ModelInput input)
    {
        var ids = input.InputIds ?? throw new ArgumentException("input.InputIds is null: give the token ids as an int64 [batch, length] tensor (Encode makes one)", nameof(input));
        // Int32 ids are the user's module's business (a module of its own may take them); only non-integer ids are refused.
        if (ids.dim() != 2 || ids.dtype is not (ScalarType.Int64 or ScalarType.Int32))
        {
            throw new ArgumentException(
                $"input.InputIds is {ids.dtype} [{string.Join(", ", ids.shape)}]: give the token ids as an int64 [batch, length] tensor, one row per text (Encode makes one)",
                nameof(input));
        }

        foreach (var (name, other) in new[] { ("AttentionMask", input.AttentionMask), ("TokenTypeIds", input.TokenTypeIds) })
        {
            if (other is not null && !other.shape.SequenceEqual(ids.shape))
            {
                throw new ArgumentException(
                    $"input.{name} has shape [{string.Join(", ", other.shape)}] but the ids have [{string.Join(", ", ids.shape)}]: give one value per token, or null",
                    nameof(input));
            }
        }

        using var scope = torch.NewDisposeScope();
        using var cpu = ids.to(ScalarType.Int64, torch.CPU).contiguous();
        CheckIdsInEmbedding(cpu.data<long>().ToArray(), (int)Math.Max(1, ids.size(1)), row => $"input.InputIds row {row}", nameof(input));
    }

    /// <summary>
    /// Predicts every text, in batches of <see cref="BatchSize"/> texts of similar length, with logits-only forward passes
    /// (<see cref="ModelInput.LogitsOnly"/>), as every forward-only scoring in the library.
    /// </summary>
    /// <param name="texts">The texts to classify.</param>
    /// <param name="truncate">Whether a text longer than <see cref="MaxLength"/> tokens is cut to it (otherwise refused).</param>
    /// <param name="cancellation">Stops the call before its next batch's forward pass (a service classifying many texts).</param>
    /// <exception cref="ObjectDisposedException">The classifier was disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellation"/> was cancelled (checked before each batch).</exception>
    public IReadOnlyList<Prediction> Predict(IReadOnlyList<string> texts, bool truncate = false, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        using var lease = gate.Enter();
        var tokenized = TokenizedTexts.Of(this, texts, truncate);
        var results = new Prediction[texts.Count];
        foreach (var chunk in tokenized.Chunks(BatchSize))
        {
            cancellation.ThrowIfCancellationRequested();
            using var scope = torch.NewDisposeScope();
            var predictions = PredictBatch(tokenized.Batch(chunk));
            for (var row = 0; row < chunk.Length; row++)
            {
                results[chunk[row]] = predictions[row];
            }
        }

        return results;
    }

    /// <summary>Predictions for one encoded batch, row by row, from a logits-only forward pass without gradients.</summary>
    internal Prediction[] PredictBatch(EncodedBatch batch)
    {
        using var lease = gate.Enter();
        ModelReadiness.RequireEval(Name, module);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var logits = Logits(batch.Input with { LogitsOnly = true }).to(ScalarType.Float64);
        var l = logits.data<double>().ToArray();
        var n = Labels.Count;
        var rows = batch.Texts.Count;
        NonFiniteValueException.CheckLogits(Name, Enumerable.Range(0, rows).Select(r => l.AsSpan(r * n, n).ToArray()).ToArray(), batch.Texts);
        return Enumerable.Range(0, rows).Select(row => LogitMath.Predict(batch.Texts[row], l.AsSpan(row * n, n).ToArray(), Labels, Head)).ToArray();
    }

    /// <inheritdoc />
    public double[][] PredictProbabilities(IReadOnlyList<string> texts) => Predict(texts).Select(p => p.Probabilities).ToArray();

    /// <summary>
    /// A smooth copy for explaining (the seed paper's "smoother models explain better"): for the CNN classifier, ReLU
    /// becomes Softplus and max-pooling log-sum-exp pooling, both with <paramref name="beta"/>
    /// (<see cref="CnnClassifier.Smoothed"/>). The copy has this classifier's output head and batch size and owns its module;
    /// this classifier is not changed.
    /// </summary>
    /// <exception cref="NotSupportedException">The model has no smooth variant (only the CNN classifier has ReLU and max-pooling to replace).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="beta"/> is not positive and finite.</exception>
    public TextClassifier Smoothed(double beta)
    {
        using var lease = gate.Enter();
        return module is CnnClassifier cnn
            ? new TextClassifier($"{Name} (softplus/lse beta={beta.ToString("R", System.Globalization.CultureInfo.InvariantCulture)})", Tokenizer, cnn.Smoothed(beta), Labels,
                // The head and batch size as this classifier's: without them a multi-label or regression CNN's copy read its
                // outputs as softmax classes (the default head for its label count).
                WordEmbeddingPath, MaxLength, UsesTokenTypes, Head) { BatchSize = BatchSize }
            // The model, not beta, is what is wrong: no parameter names it.
            : throw new NotSupportedException(
                $"{Name} has no smooth variant: only the CNN classifier has ReLU and max-pooling to replace (transformers already use GELU and no max)");
    }

    /// <summary>
    /// Disposes the module: now when no call is running, else when the last call that other threads have running returns
    /// (they finish normally). Calls started afterwards throw <see cref="ObjectDisposedException"/>; a second Dispose does nothing.
    /// </summary>
    public void Dispose() => gate.Dispose();
}
