using Attribution.Models;
using Attribution.Text.Tokenizers;

namespace Attribution.Methods;

/// <summary>
/// An attribution method: says how much each token of a text pushed a classifier's score for one class.
/// Implementations act on any <see cref="ITextClassifier"/> through hooks on its modules and autograd; none has
/// model-specific code. Every call frees every native tensor it made.
/// </summary>
/// <remarks>
/// <para>
/// <b>Threads.</b> The library's attributors may be called from several threads at once, with the same attributor
/// object and the same loaded classifier: each call returns exactly what it returns alone (bit for bit; a test runs
/// every method from 4 threads × 50 calls). Attributor objects are immutable after construction and keep no
/// per-call state; a call's hooks act only inside that call's own forward passes (see
/// <see cref="Engine.ModuleHooks"/>: they are scoped to the calling thread or async flow, as TorchSharp's dispose
/// scopes and libtorch's grad mode are); the model's parameters are only read (eval mode is set once, when the
/// classifier is built); seeded methods (SmoothGrad, LIME) draw from a generator of their own per call.
/// </para>
/// <para>
/// What is serialized, and why: installing the one hook dispatcher each module gets, once per module under a
/// process-wide lock, because TorchSharp keeps hooks in plain dictionaries that a running forward pass enumerates.
/// <see cref="TextClassifier"/> installs them on its whole model when it is built, and every explanation checks
/// before its first forward pass, so no call ever waits after the first. Forward and backward passes themselves run
/// in parallel.
/// </para>
/// <para>
/// What stays the caller's business: changing the model while other threads use it (moving it to another device or
/// dtype, training it, switching it to train mode, adding modules), disposing it while calls run, and hooks
/// registered directly with TorchSharp's <c>register_forward_hook</c>, which fire for every caller. A custom
/// <see cref="ITextClassifier"/> or <see cref="Lrp.ILrpRule"/> must itself keep no per-call state on shared objects and
/// add hooks through <see cref="Engine.ModuleHooks"/>. A wrapped model's own code should avoid TorchSharp's
/// implicit temporary scalars (<c>a + b</c>, <c>x * 0.5</c>, <c>mask.eq(0)</c>): in TorchSharp 0.107 a garbage
/// collection caused by another thread can free one while libtorch still reads it (a rare crash); the library's
/// models and methods keep theirs alive, and so can yours (<c>using var half = 0.5.ToScalar(); x.mul(half)</c>;
/// <c>a.add(b, one)</c> with a kept <c>one</c>). libtorch's intra-op threads (<c>torch.set_num_threads</c>, 2
/// by default here) multiply with the caller threads: see docs/performance.md for the measured throughput.
/// </para>
/// </remarks>
public interface IAttributor
{
    /// <summary>The method's name, e.g. <c>integrated-gradients</c>.</summary>
    string Name { get; }

    /// <summary>Which method this is; <see cref="MethodKind.Custom"/> (the default) for methods written outside the library.</summary>
    MethodKind Kind => MethodKind.Custom;

    /// <summary>The method's settings as recorded on every result.</summary>
    IReadOnlyList<KeyValuePair<string, string>> Settings { get; }

    /// <summary>
    /// Token-level attributions for each text (batched internally), in input order: tokens, one score per token, the
    /// prediction and the class explained; no words and no normalization (the salience layer adds those: call
    /// <c>Explain</c> from <c>Attribution.Pipeline</c> for the finished result).
    /// </summary>
    /// <param name="model">The classifier.</param>
    /// <param name="texts">Non-empty texts.</param>
    /// <param name="options">Target class, scored output, batching; defaults when null.</param>
    /// <exception cref="ArgumentException">The library's methods: no text, a null, empty or whitespace text, pairs without one
    /// per text, a target the model does not have, or settings that do not fit the model (as
    /// <see cref="MethodRunner.AttributeAll"/> refuses them).</exception>
    /// <exception cref="OperationCanceledException"><see cref="AttributionOptions.Cancellation"/> was cancelled.</exception>
    IReadOnlyList<Explanation> Attribute(ITextClassifier model, IReadOnlyList<string> texts, AttributionOptions? options = null);
}

/// <summary>
/// A method that needs only a model's outputs (perturbation methods: LIME, occlusion, Shapley values, KernelSHAP), so
/// it also explains classifiers without gradients, such as ONNX models, and black-box predictors.
/// </summary>
public interface IPerturbationAttributor : IAttributor
{
    /// <summary>
    /// Token-level attributions for a classifier known only by its outputs: an <see cref="ITokenClassifier"/>
    /// (tokenizer and logits; results carry the model's tokens) or a black-box <see cref="ITextPredictor"/> (texts to
    /// probabilities; the results' tokens are the features). Results are in input order.
    /// </summary>
    /// <param name="model">The classifier or predictor.</param>
    /// <param name="texts">Non-empty texts.</param>
    /// <param name="options">Target class, scored output, batching; defaults when null.</param>
    IReadOnlyList<Explanation> Attribute(ITextPredictor model, IReadOnlyList<string> texts, AttributionOptions? options = null);
}

/// <summary>Which class an explanation is for.</summary>
public readonly record struct Target
{
    private Target(int? index, string? label)
    {
        Index = index;
        Label = label;
    }

    /// <summary>The class the model predicts for each text (the default).</summary>
    public static Target Predicted => default;

    /// <summary>A class by index, or null.</summary>
    public int? Index { get; }

    /// <summary>A class by label name, or null.</summary>
    public string? Label { get; }

    /// <summary>True for <see cref="Predicted"/>.</summary>
    public bool IsPredicted => Index is null && Label is null;

    /// <summary>The class at <paramref name="index"/>.</summary>
    public static Target Class(int index) => new(index, null);

    /// <summary>The class named <paramref name="label"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="label"/> is null or empty.</exception>
    public static Target Named(string label)
    {
        ArgumentException.ThrowIfNullOrEmpty(label);
        return new Target(null, label);
    }

    /// <summary>
    /// Parses <c>predicted</c> (any case), an integer (a class index; not checked against a model until
    /// <see cref="Resolve"/>), or else a label name.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="text"/> is null or empty.</exception>
    public static Target Parse(string text)
    {
        // Empty, it reached Named and was refused naming "label", which is no parameter of Parse.
        ArgumentException.ThrowIfNullOrEmpty(text);
        if (text.Equals("predicted", StringComparison.OrdinalIgnoreCase))
        {
            return Predicted;
        }

        return int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var i)
            ? Class(i)
            : Named(text);
    }

    /// <summary>
    /// The class index for a model with these labels and this predicted class; invalid targets throw. A label matches
    /// exactly, else ignoring case when only one label does; a label that several classes share (names may repeat, as in
    /// a Hugging Face <c>id2label</c>) is an <see cref="ArgumentException"/> naming their indices.
    /// </summary>
    /// <param name="labels">The model's class names, in output order.</param>
    /// <param name="predicted">The predicted class, returned for <see cref="Predicted"/> (not checked).</param>
    /// <exception cref="ArgumentOutOfRangeException">The index is not a class of the model (the parameter named is
    /// <c>Target</c>, the option that holds it).</exception>
    /// <exception cref="ArgumentException">The label is unknown, names several classes, or matches several only ignoring case.</exception>
    public int Resolve(IReadOnlyList<string> labels, int predicted)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (Index is { } i)
        {
            if (i < 0 || i >= labels.Count)
            {
                throw new ArgumentOutOfRangeException(nameof(Target), i,
                    labels.Count == 1
                        ? $"target class {i} is out of range: the model has 1 output (class 0: {labels[0]})"
                        : $"target class {i} is out of range: the model has {labels.Count} classes (0..{labels.Count - 1}: {string.Join(", ", labels)})");
            }

            return i;
        }

        if (Label is { } name)
        {
            // Labels may repeat (a Hugging Face id2label may name two classes alike): a shared name picks no class.
            var exact = Enumerable.Range(0, labels.Count).Where(k => labels[k] == name).ToList();
            if (exact.Count > 1)
            {
                throw new ArgumentException(
                    $"target label '{name}' names {exact.Count} classes ({string.Join(", ", exact)}) of the model's labels {string.Join(", ", labels)}: " +
                    $"name the class by index instead (Target.Class({exact[0]}), --target {exact[0]})", nameof(Target));
            }

            if (exact.Count == 1)
            {
                return exact[0];
            }

            var folded = labels.Select((l, k) => (l, k)).Where(x => string.Equals(x.l, name, StringComparison.OrdinalIgnoreCase)).ToList();
            if (folded.Count == 1)
            {
                return folded[0].k;
            }

            if (folded.Count > 1)
            {
                // Not unknown: several labels match, none exactly.
                throw new ArgumentException(
                    $"target label '{name}' matches {folded.Count} labels only ignoring case ({string.Join(", ", folded.Select(x => $"{x.k}: {x.l}"))}): " +
                    $"give the exact name or the class index (Target.Class({folded[0].k}), --target {folded[0].k})", nameof(Target));
            }

            // A number that is no int (1.5, 1e3, or past int's range) was parsed as a name; it was surely meant as an index.
            var index = double.TryParse(name, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var number) && double.IsFinite(number)
                ? $"; a class index is a whole number, 0..{labels.Count - 1}"
                : string.Empty;
            throw new ArgumentException($"unknown target label '{name}': the model's labels are {string.Join(", ", labels)}{index}", nameof(Target));
        }

        return predicted;
    }

    /// <inheritdoc />
    public override string ToString() => Index?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? Label ?? "predicted";
}

/// <summary>
/// Per-call options shared by every method (the pipeline's <c>ExplainOptions</c> adds the salience post-processing).
/// </summary>
public record AttributionOptions
{
    /// <summary>Which class to explain (default: the predicted one).</summary>
    public Target Target { get; init; } = Target.Predicted;

    /// <summary>Which output of that class to attribute (default: the logit).</summary>
    public ScoreOutput Score { get; init; } = ScoreOutput.Logit;

    /// <summary>Keep the per-dimension attributions on the result (<see cref="Explanation.RawAttributions"/>).</summary>
    public bool KeepRawAttributions { get; init; }

    /// <summary>The largest <see cref="BatchSize"/> (1,024 texts); a larger one, or one under 1, is refused when a method runs.</summary>
    public const int MaxBatchSize = 1024;

    /// <summary>
    /// The most texts per batch (default 64); texts are grouped by token length so padding stays small, and a batch
    /// also stays within <see cref="TokenBudget"/>. Of 1, 4, 16 and 64 on sst2-bert-tiny, 64 measured fastest for
    /// Gradient × Input and LRP-ε, 16 slightly faster for Integrated Gradients and conductance
    /// (benchmarks/results/2026-12-04-speed/speed-report.md).
    /// </summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>The largest <see cref="TokenBudget"/> (1,048,576 padded tokens); a larger one, or one under 1, is refused when a method runs.</summary>
    public const int MaxTokenBudget = TokenBudgetBatches.MaxTokenBudget;

    /// <summary>
    /// The most padded tokens per batch of texts (texts × the longest text; default 2048), so long texts go fewer to a
    /// batch and memory stays bounded (a BERT-base forward pass kept for its backward holds about 1 MiB per token, benchmarks/results/2026-12-04-speed/path-passes.md); a text longer than the
    /// budget goes alone. Results do not depend on it.
    /// </summary>
    public int TokenBudget { get; init; } = 2048;

    /// <summary>Truncate texts longer than the model accepts (reported in <see cref="Explanation.Notes"/>) instead of failing.</summary>
    public bool Truncate { get; init; }

    /// <summary>
    /// Which text of a pair loses tokens when <see cref="Truncate"/> cuts it (default longest first, as Hugging Face).
    /// </summary>
    public TruncationStrategy TruncationStrategy { get; init; } = TruncationStrategy.LongestFirst;

    /// <summary>
    /// For sentence-pair models (NLI, paraphrase): the second text of each pair, one per text; null for single texts.
    /// Every method then explains both texts: scores for the tokens of both, words per text, and the perturbation
    /// methods perturb the words of both (never the separators).
    /// </summary>
    public IReadOnlyList<string>? Pairs { get; init; }

    /// <summary>
    /// Stops a long call. The token is checked before each model pass the call runs: before each batch, before each
    /// method's work on a batch, and within the built-in methods before each of their passes (a path's ends and points,
    /// perturbed inputs, noise samples). Once a check sees it cancelled, no further model pass starts and the call
    /// throws <see cref="OperationCanceledException"/>: nothing is returned, every tensor made so far is freed and every
    /// hook added is removed. A token cancelled while the call's last model pass runs, when no model work is left to
    /// stop, may let the call return its result. A <see cref="TextAttributor"/> of your own is checked before each
    /// batch; between its own passes only where it reads this token (<see cref="AttributionContext.Options"/>).
    /// </summary>
    public CancellationToken Cancellation { get; init; }

    internal void Validate()
    {
        if (BatchSize < 1 || BatchSize > MaxBatchSize)
        {
            throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, $"the batch size must be between 1 and {MaxBatchSize}");
        }

        TokenBudgetBatches.Validate(TokenBudget, nameof(TokenBudget));

        // Undefined values were found only after the first forward pass (Score), or never (TruncationStrategy).
        Internal.EnumSettings.Check(Score, nameof(Score));
        Internal.EnumSettings.Check(TruncationStrategy, nameof(TruncationStrategy));
    }

    /// <summary>As <see cref="Validate()"/>, and a target index or label that is not one of <paramref name="labels"/> is
    /// refused before the first forward pass (it was found only after it).</summary>
    internal void Validate(IReadOnlyList<string> labels)
    {
        Validate();
        ValidateTarget(labels);
    }

    /// <summary>The target half of <see cref="Validate(IReadOnlyList{string})"/>, for a caller that has made <see cref="Validate()"/> already.</summary>
    internal void ValidateTarget(IReadOnlyList<string> labels)
    {
        if (!Target.IsPredicted)
        {
            _ = Target.Resolve(labels, 0);
        }
    }
}
