using System.Diagnostics;
using System.Globalization;
using Attribution.Methods.Internal;
using Attribution.Models;
using System.Collections.Immutable;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods;

/// <summary>
/// The pipeline every gradient-based method shares: validation, length-bucketed batching, encoding, the forward
/// pass that fixes the prediction and target, the method's own computation, the reduction to one score per token,
/// zeroing of padding, and the result. Subclasses only compute attributions for a batch (<see cref="Attribute(AttributionContext)"/>).
/// </summary>
/// <remarks>
/// This is the extension point for new methods: a class in any assembly that derives from it gets batching, target
/// selection, scoring, sharing of the first forward pass with other methods (<see cref="MethodRunner"/>), and, through
/// the pipeline above, the salience layer, rendering, JSON, comparison and the evaluation scorecard, exactly as the
/// built-in methods do. <see cref="NoiseTunnel"/> wraps any subclass that also implements <see cref="INoiseTunnelable"/>.
/// Keep no per-call state on the object: one instance serves many threads (docs/own-method.md).
/// </remarks>
public abstract class TextAttributor : IAttributor
{
    /// <summary>For subclasses.</summary>
    protected TextAttributor()
    {
    }

    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public virtual MethodKind Kind => MethodKind.Custom;

    /// <inheritdoc />
    public IReadOnlyList<KeyValuePair<string, string>> Settings => DescribeSettings().ToList();

    /// <summary>Whether the per-token scores carry a sign.</summary>
    public abstract Signedness Signedness { get; }

    /// <summary>How per-dimension attributions become per-token scores (used when <see cref="MethodOutput.PerDimension"/> is true).</summary>
    public abstract HiddenReduction Reduction { get; }

    /// <summary>The method's settings, in a stable order (recorded on every result).</summary>
    protected abstract IEnumerable<KeyValuePair<string, string>> DescribeSettings();

    /// <summary>
    /// Attributions for one batch. Runs inside a dispose scope the pipeline owns (return tensors without disposing
    /// them); use <paramref name="context"/> for the model, the input, the targets, the scored output and layer passes.
    /// </summary>
    /// <param name="context">The batch.</param>
    protected abstract MethodOutput Attribute(AttributionContext context);

    /// <summary>Checks the settings against the model before any work (e.g. that a layer path exists); throw a typed error naming the setting.</summary>
    /// <param name="model">The classifier about to be explained.</param>
    protected virtual void Validate(ITextClassifier model)
    {
    }

    /// <summary>
    /// Checks what the call's <paramref name="options"/> ask of the method (LRP explains only the logit), before any
    /// text is tokenized or run forward; throws a typed error naming the option and the fix. Nothing by default.
    /// </summary>
    internal virtual void CheckOptions(AttributionOptions options)
    {
    }

    /// <summary>
    /// Checks the settings against the call's texts once they are tokenized, before any forward pass (a custom baseline
    /// must have one id per token of every text); throws a typed error naming the setting and the fix. Nothing by default.
    /// </summary>
    /// <param name="texts">The call's texts, tokenized (each one's token count, special tokens included).</param>
    internal virtual void CheckTokenized(TokenizedTexts texts)
    {
    }

    /// <summary>
    /// The pass this method runs on every batch where the batch's first forward pass can be that pass
    /// (<see cref="FirstPass"/>): the pipeline then keeps the first pass's graph for it instead of running the model
    /// again. Null (the default) for methods with passes of their own.
    /// </summary>
    internal virtual FirstPass? SharedFirstPass(ITextClassifier model) => null;

    /// <summary>
    /// Whether the method explains several classes at once on a batch whose rows repeat each text once per class
    /// (<see cref="AttributionContext.ForClasses"/>): true for methods whose passes all go through the path pass,
    /// which runs each text forward once and takes a backward per class.
    /// </summary>
    internal virtual bool SharesPathsAcrossClasses => false;

    /// <inheritdoc />
    public IReadOnlyList<Explanation> Attribute(ITextClassifier model, IReadOnlyList<string> texts, AttributionOptions? options = null) =>
        MethodRunner.AttributeAll(model, texts, [this], options)[0];

    /// <summary>Runs the method on a batch and builds one explanation per text.</summary>
    internal Explanation[] ExplainBatch(AttributionContext context)
    {
        var clock = Stopwatch.StartNew();
        var (scores, raw, output) = ScoreBatch(context);
        var elapsed = (clock.Elapsed + context.SharedTime) / context.Size;
        return Enumerable.Range(0, context.Size).Select(row => Build(context, row, scores, raw, output, elapsed)).ToArray();
    }

    /// <summary>Per-token scores for the whole padded batch ([text][position], padding included), raw attributions and the method's output.</summary>
    internal (double[][] Scores, float[][][]? Raw, MethodOutput Output) ScoreBatch(AttributionContext context)
    {
        // Several methods on a batch share its first pass, then each may run its own: a cancelled call starts none.
        context.Options.Cancellation.ThrowIfCancellationRequested();
        var output = Attribute(context);
        var (scores, raw, cancelled) = PerToken(output, context);
        if (cancelled.Any(c => c))
        {
            output = output with
            {
                Notes = Enumerable.Range(0, context.Size).Select(row =>
                    (IReadOnlyList<string>)[.. output.Notes?[row] ?? [], .. cancelled[row] ? [CancelledSumNote] : Array.Empty<string>()]).ToArray(),
            };
        }

        return (scores, raw, output);
    }

    /// <summary>
    /// The note of a text whose every token's signed sum over the hidden dimension is rounding noise next to the
    /// attributions' size: gradients alone (no × input) at a layer that feeds a LayerNorm sum to zero.
    /// </summary>
    internal const string CancelledSumNote =
        "the signed sum over the hidden dimension cancels for every token (|sum| ≤ 1e-4 of the attributions' L2 norm): gradients at a layer that feeds a LayerNorm " +
        "(a transformer's word embeddings) sum to zero, so these scores are rounding noise; reduce by the L2 norm instead (Reduce = L2, --reduce l2)";

    // Below this share of a token's L2 norm, a signed sum over the hidden dimension is cancellation, not a score.
    private const double CancelledShare = 1e-4;

    internal void ValidateFor(ITextClassifier model) => Validate(model);

    /// <summary><see cref="Validate"/> and <see cref="CheckOptions"/>: everything checked before a call's first pass.</summary>
    internal void ValidateFor(ITextClassifier model, AttributionOptions options)
    {
        Validate(model);
        CheckOptions(options);
    }

    /// <summary>Calls <see cref="Attribute(AttributionContext)"/> (for wrappers such as <see cref="NoiseTunnel"/>).</summary>
    internal MethodOutput AttributeBatch(AttributionContext context) => Attribute(context);

    private (double[][] Scores, float[][][]? Raw, bool[] Cancelled) PerToken(MethodOutput output, AttributionContext context)
    {
        var attributions = output.Attributions;
        var length = context.Length;
        if (attributions.dim() < 2 || attributions.size(0) != context.Size || attributions.size(1) != length)
        {
            throw new InvalidOperationException(
                $"{Name} produced attributions of shape [{string.Join(", ", attributions.shape)}], which has no [batch, token] layout for a batch of {context.Size} texts of {length} tokens; attribute to a layer whose output is [batch, tokens, …]");
        }

        Tensor perDimension = attributions.dim() > 3 ? attributions.flatten(2) : attributions;
        Tensor perToken;
        using (no_grad())
        {
            perToken = !output.PerDimension || attributions.dim() == 2
                ? attributions
                : Reduction switch
                {
                    HiddenReduction.Sum => perDimension.sum(-1),
                    HiddenReduction.L2 => perDimension.norm(-1, false, 2),
                    HiddenReduction.L1 => perDimension.abs().sum(-1),
                    _ => throw new ArgumentOutOfRangeException(nameof(Reduction)),
                };

            // Padding never receives attribution, whatever the method computed there.
            perToken = (perToken.to(ScalarType.Float64) * context.TokenMask.to(ScalarType.Float64)).contiguous();
        }

        var cancelled = new bool[context.Size];
        if (output.PerDimension && attributions.dim() > 2 && Reduction == HiddenReduction.Sum)
        {
            // Real tokens with attributions, each summing to (almost) nothing: the cancellation CancelledSumNote describes.
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var norms = (perDimension.to(ScalarType.Float64).norm(-1, false, 2) * context.TokenMask.to(ScalarType.Float64)).contiguous().data<double>().ToArray();
            var sums = perToken.data<double>().ToArray();
            for (var b = 0; b < context.Size; b++)
            {
                var positions = Enumerable.Range((int)(b * length), (int)length).Where(i => norms[i] > 0).ToArray();
                cancelled[b] = positions.Length > 0 && positions.All(i => Math.Abs(sums[i]) <= CancelledShare * norms[i]);
            }
        }

        var flat = perToken.data<double>().ToArray();
        for (var i = 0; i < flat.Length; i++)
        {
            if (!double.IsFinite(flat[i]))
            {
                var row = (int)(i / length);
                throw new NonFiniteValueException(NonFiniteSource.Attribution,
                    $"{Name} produced a non-finite score ({flat[i]}) for token {i % length} of \"{NonFiniteValueException.Shorten(context.Batch.Texts[row])}\" although the model's output is finite: " +
                    "an extreme setting (a huge noise standard deviation, an enormous epsilon or step count) or an overflow inside the model's backward pass; use moderate settings");
            }
        }

        var scores = Enumerable.Range(0, context.Size).Select(b => flat.AsSpan((int)(b * length), (int)length).ToArray()).ToArray();
        float[][][]? raw = null;
        if (context.Options.KeepRawAttributions && output.PerDimension && attributions.dim() >= 3)
        {
            var dims = (int)perDimension.size(2);
            var values = perDimension.to(ScalarType.Float32).contiguous().data<float>().ToArray();
            raw = Enumerable.Range(0, context.Size)
                .Select(b => Enumerable.Range(0, (int)length).Select(t => values.AsSpan((int)(((b * length) + t) * dims), dims).ToArray()).ToArray())
                .ToArray();
        }

        return (scores, raw, cancelled);
    }

    private Explanation Build(AttributionContext context, int row, double[][] scores, float[][][]? raw, MethodOutput output, TimeSpan elapsed)
    {
        var encoding = context.Batch.Encodings[row];
        var n = context.Batch.Lengths[row];
        var text = context.Batch.Texts[row];
        var notes = new List<string>();
        if (encoding.Truncated > 0)
        {
            notes.Add($"the text was truncated: {encoding.Truncated} token(s) beyond the model's limit of {context.Model.MaxLength} were dropped and are not explained");
        }

        if (output.Notes is { } extraNotes)
        {
            notes.AddRange(extraNotes[row]);
        }

        var target = (int)context.Targets[row];
        return new Explanation
        {
            Text = text,
            TextPair = context.Batch.Pairs?[row],
            Model = context.Model.Name,
            Method = Name,
            Kind = Kind,
            Settings = DescribeSettings().Append(new("score", context.Options.Score.ToString().ToLowerInvariant())).Concat(output.RowSettings?[row] ?? []).ToList(),
            Tokens = [.. encoding.Tokens.AsSpan(0, n)],
            TokenIds = [.. encoding.Ids.AsSpan(0, n)],
            Offsets = [.. encoding.Offsets.AsSpan(0, n)],
            IsSpecial = [.. encoding.SpecialTokensMask.AsSpan(0, n)],
            TokenTypeIds = context.Batch.Pairs is null ? [] : [.. encoding.TypeIds.AsSpan(0, n)],
            Segments = context.Batch.Pairs is null ? [] : [.. Enumerable.Range(0, n).Select(encoding.SequenceOf)],
            Scores = [.. scores[row].AsSpan(0, n)],
            RawAttributions = raw?[row][..n].Select(v => ImmutableArray.Create(v)).ToArray(),
            Target = target,
            TargetLabel = context.Model.Labels[target],
            Logits = [.. context.LogitRows[row]],
            Probabilities = [.. context.ProbabilityRows[row]],
            ScoreOutput = context.Options.Score,
            Head = context.Model.Head,
            Signedness = Signedness,
            // Scores that came per token (no hidden dimension, as PerToken above reads them) were not reduced by the
            // method's Reduction: saying "sum" there would describe a step that did not happen.
            Reduction = output.PerDimension && output.Attributions.dim() > 2 ? Reduction.ToScoreReduction() : ScoreReduction.PerToken,
            ConvergenceDelta = output.Deltas?[row],
            RelevanceShares = output.RelevanceShares?[row],
            Notes = notes,
            Elapsed = elapsed,
        };
    }

    /// <summary>Formats a number for <see cref="Settings"/> (round-trip, invariant culture).</summary>
    protected static string Format(double value) => Text.RoundTripNumber.Format(value);
}
