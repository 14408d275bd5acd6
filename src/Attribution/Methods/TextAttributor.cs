using System.Diagnostics;
using System.Globalization;
using Attribution.Methods.Internal;
using Attribution.Models;
using Attribution.Salience;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods;

/// <summary>
/// The pipeline every gradient-based method shares: validation, length-bucketed batching, encoding, the forward
/// pass that fixes the prediction and target, the method's own computation, the reduction to one score per token,
/// zeroing of padding, and the salience post-processing. Subclasses only compute attributions for a batch.
/// </summary>
public abstract class TextAttributor : IAttributor
{
    private protected TextAttributor()
    {
    }

    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public IReadOnlyList<KeyValuePair<string, string>> Settings => DescribeSettings().ToList();

    /// <summary>Whether the per-token scores carry a sign.</summary>
    private protected abstract bool Signed { get; }

    /// <summary>How per-dimension attributions become per-token scores.</summary>
    private protected abstract HiddenReduction Reduction { get; }

    /// <summary>The method's settings, in a stable order.</summary>
    private protected abstract IEnumerable<KeyValuePair<string, string>> DescribeSettings();

    /// <summary>Attributions for one batch (inside a dispose scope the caller owns).</summary>
    private protected abstract MethodOutput Attribute(AttributionContext context);

    /// <summary>Checks the settings against the model before any work (e.g. that a layer path exists).</summary>
    private protected virtual void Validate(ITextClassifier model)
    {
    }

    /// <inheritdoc />
    public IReadOnlyList<Explanation> Explain(ITextClassifier model, IReadOnlyList<string> texts, ExplainOptions? options = null) =>
        Explainer.ExplainAll(model, texts, [this], options)[0];

    /// <summary>Runs the method on a batch and builds one explanation per text.</summary>
    internal Explanation[] ExplainBatch(AttributionContext context)
    {
        var clock = Stopwatch.StartNew();
        var (scores, raw, deltas) = ScoreBatch(context);
        var elapsed = (clock.Elapsed + context.SharedTime) / context.Size;
        return Enumerable.Range(0, context.Size).Select(row => Build(context, row, scores, raw, deltas?[row], elapsed)).ToArray();
    }

    /// <summary>Per-token scores for the whole padded batch ([text][position], padding included), raw attributions and deltas.</summary>
    internal (double[][] Scores, float[][][]? Raw, double[]? Deltas) ScoreBatch(AttributionContext context)
    {
        var output = Attribute(context);
        var (scores, raw) = PerToken(output, context);
        return (scores, raw, output.Deltas);
    }

    internal void ValidateFor(ITextClassifier model) => Validate(model);

    internal bool IsSigned => Signed;

    internal HiddenReduction TokenReduction => Reduction;

    private (double[][] Scores, float[][][]? Raw) PerToken(MethodOutput output, AttributionContext context)
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

        return (scores, raw);
    }

    private Explanation Build(AttributionContext context, int row, double[][] scores, float[][][]? raw, double? delta, TimeSpan elapsed)
    {
        var encoding = context.Batch.Encodings[row];
        var n = context.Batch.Lengths[row];
        var text = context.Batch.Texts[row];
        var notes = new List<string>();
        if (encoding.Truncated > 0)
        {
            notes.Add($"the text was truncated: {encoding.Truncated} token(s) beyond the model's limit of {context.Model.MaxLength} were dropped and are not explained");
        }

        var target = (int)context.Targets[row];
        var explanation = new Explanation
        {
            Text = text,
            Model = context.Model.Name,
            Method = Name,
            Settings = DescribeSettings().Append(new("score", context.Options.Score.ToString().ToLowerInvariant())).ToList(),
            Tokens = encoding.Tokens[..n],
            TokenIds = encoding.Ids[..n],
            Offsets = encoding.Offsets[..n],
            IsSpecial = encoding.SpecialTokensMask[..n],
            Scores = scores[row][..n],
            RawAttributions = raw?[row][..n],
            Target = target,
            TargetLabel = context.Model.Labels[target],
            Logits = context.LogitRows[row],
            Probabilities = context.ProbabilityRows[row],
            ScoreOutput = context.Options.Score,
            Signed = Signed,
            Reduction = Reduction.Name(),
            ConvergenceDelta = delta,
            Notes = notes,
            Elapsed = elapsed,
        };
        return SalienceLayer.Apply(Decorate(context, row, explanation), context.Options.Salience);
    }

    /// <summary>Adds what a method reports per text beyond its scores (notes, relevance shares), before post-processing.</summary>
    private protected virtual Explanation Decorate(AttributionContext context, int row, Explanation explanation) => explanation;

    /// <summary>Formats a number for <see cref="Settings"/>.</summary>
    private protected static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
