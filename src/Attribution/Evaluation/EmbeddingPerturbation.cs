using Attribution.Pipeline;
using Attribution.Engine;
using Attribution.Methods;
using Attribution.Methods.Internal;
using Attribution.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Evaluation;

/// <summary>
/// The model's scored output with its word-embedding output replaced, for several replacements in one forward pass:
/// what infidelity needs (f(x − I) for each perturbation I), written once.
/// </summary>
internal static class EmbeddingPerturbation
{
    /// <summary>
    /// The text's (or the pair's) word-embedding output x, [tokens, hidden] in float64, and its scored output f(x). The
    /// input is truncated to the model's limit, as an explanation made with truncation is (a text that fits is whole).
    /// Two passes (the context's prediction, then the capture), <paramref name="cancellation"/> checked before each.
    /// </summary>
    public static (double[][] Embedding, double Score) Embed(ITextClassifier model, string text, string? pair, int target, ScoreOutput score,
        CancellationToken cancellation = default)
    {
        // Runs the module itself (past the attribution context's first pass): one lease for the whole call (ModelLease).
        using var lease = ModelLease.Enter(model);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (context, batch, layer) = Context(model, text, pair, target, score, cancellation);
        cancellation.ThrowIfCancellationRequested();
        var x = PathInputs.Capture(context, layer, LayerSide.Output, 0, batch.Input, out var logits);
        return (Rows(x.squeeze(0)), context.ScoreValues(logits)[0]);
    }

    /// <summary>
    /// The word-embedding output x′ of <paramref name="baseline"/> for the text (or the pair), [tokens, hidden] in float64,
    /// as a path method takes it at the word embeddings: a token baseline's ids (special tokens kept) through the model,
    /// or zeros for <see cref="Baseline.Zero"/>. Two or three passes (the context's prediction, the text's capture, the
    /// baseline's), <paramref name="cancellation"/> checked before each.
    /// </summary>
    public static double[][] BaselineEmbedding(ITextClassifier model, string text, string? pair, int target, ScoreOutput score, Baseline baseline,
        CancellationToken cancellation = default)
    {
        // Runs the module itself (past the attribution context's first pass): one lease for the whole call (ModelLease).
        using var lease = ModelLease.Enter(model);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (context, batch, layer) = Context(model, text, pair, target, score, cancellation);
        cancellation.ThrowIfCancellationRequested();
        var x = PathInputs.Capture(context, layer, LayerSide.Output, 0, batch.Input, out _);
        if (baseline.Token is null && baseline.Ids is null)
        {
            return Rows(zeros_like(x).squeeze(0));
        }

        var ids = PathInputs.BaselineIds(context, baseline);
        cancellation.ThrowIfCancellationRequested();
        return Rows(PathInputs.Capture(context, layer, LayerSide.Output, 0, context.WithIds(ids), out _).squeeze(0));
    }

    /// <summary>f(x′) for each replacement x′ of the word-embedding output ([tokens][hidden] each), batched.</summary>
    public static double[] Scores(ITextClassifier model, string text, string? pair, int target, ScoreOutput score, IReadOnlyList<double[][]> replacements,
        CancellationToken cancellation = default)
    {
        // Runs the module itself (past the attribution context's first pass): one lease for the whole call (ModelLease).
        using var lease = ModelLease.Enter(model);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (context, _, layer) = Context(model, text, pair, target, score, cancellation);
        var results = new List<double>(replacements.Count);
        foreach (var chunk in replacements.Chunk(32))
        {
            cancellation.ThrowIfCancellationRequested();
            using var inner = NewDisposeScope();
            var stacked = stack(chunk.Select(r => tensor(r.SelectMany(row => row).ToArray(), [r.Length, r[0].Length], ScalarType.Float64)).ToArray())
                .to(ScalarType.Float32);
            using var tap = new LayerTap(layer, LayerSide.Output, 0, _ => stacked);
            var logits = model.Module.call(context.Repeat(chunk.Length));
            PathInputs.EnsureRanOnce(tap, context);
            results.AddRange(context.Score(logits, chunk.Length).to(ScalarType.Float64).data<double>().ToArray());
        }

        if (results.Any(v => !double.IsFinite(v)))
        {
            throw new NonFiniteValueException(NonFiniteSource.ModelOutput, $"{model.Name}'s scored output is not finite for a perturbed embedding: the perturbation is too large, or the weights hold NaN or infinite values");
        }

        return [.. results];
    }

    /// <summary>
    /// Refuses given perturbations that are null or hold a NaN or infinite value: such a point is no perturbation of the
    /// input, and the metric's value at it was NaN (which max-sensitivity's maximum passed over) or an error that blamed
    /// the model.
    /// </summary>
    public static void CheckGiven(IReadOnlyList<double[][]>? perturbations, string settingsType)
    {
        if (perturbations is null)
        {
            return;
        }

        for (var s = 0; s < perturbations.Count; s++)
        {
            if (perturbations[s] is not { } sample || sample.Any(row => row is null))
            {
                throw new ArgumentException($"{settingsType}.Perturbations[{s}] is null or has a null row: give each perturbation as [tokens][hidden] values", "settings");
            }

            for (var t = 0; t < sample.Length; t++)
            {
                var h = Array.FindIndex(sample[t], v => !double.IsFinite(v));
                if (h >= 0)
                {
                    throw new ArgumentException(
                        $"{settingsType}.Perturbations[{s}][{t}][{h}] is {sample[t][h].ToString(System.Globalization.CultureInfo.InvariantCulture)}: every perturbation value must be finite",
                        "settings");
                }

                // Finite in double, infinite in the float32 embeddings it is applied to: the model's output or the
                // attributions failed as non-finite only after the model's passes.
                h = Array.FindIndex(sample[t], v => Math.Abs(v) > float.MaxValue);
                if (h >= 0)
                {
                    throw new ArgumentException(
                        $"{settingsType}.Perturbations[{s}][{t}][{h}] is {sample[t][h].ToString(System.Globalization.CultureInfo.InvariantCulture)}: " +
                        BeyondFloat32("a perturbation value", null),
                        "settings");
                }
            }
        }
    }

    /// <summary>
    /// Why a perturbation size beyond <see cref="float.MaxValue"/> is refused, and the fix: the perturbation is applied to
    /// the word-embedding output in the model's precision, float32 for the library's models, where it is infinite. (A
    /// float64 model could hold it, but no embedding is of that scale; a half-precision one overflows far sooner, which
    /// only its output reveals.)
    /// </summary>
    /// <param name="what">The setting in words ("the radius").</param>
    /// <param name="usual">Its default and whose it is, or null.</param>
    public static string BeyondFloat32(string what, string? usual) =>
        $"{what} exceeds {float.MaxValue.ToString("R", System.Globalization.CultureInfo.InvariantCulture)} in size, float32's largest value: the perturbation is applied " +
        "to the model's word-embedding output in its precision (float32 for the library's models), where it would be infinite, and every value it gave " +
        $"would be non-finite; use a size of the embeddings' own scale{(usual is null ? string.Empty : $" (default {usual})")}";

    /// <summary>
    /// The attribution context of the text (or the pair) that each read above starts from, with its encoding and the
    /// word-embedding layer: the input truncated to the model's limit, the target and score given. Making the context is
    /// the first forward pass (the prediction), so <paramref name="cancellation"/> is checked before it; the caller holds
    /// the lease, the dispose scope and no_grad around its use.
    /// </summary>
    private static (AttributionContext Context, EncodedBatch Batch, nn.Module Layer) Context(ITextClassifier model, string text, string? pair, int target,
        ScoreOutput score, CancellationToken cancellation)
    {
        var batch = model.Encode([text], true, pair is null ? null : [pair]);
        cancellation.ThrowIfCancellationRequested();
        var context = new AttributionContext(model, batch, new ExplainOptions { Target = Target.Class(target), Score = score, Cancellation = cancellation });
        return (context, batch, context.Layer(null));
    }

    /// <summary>A [rows, columns] tensor as float64 rows.</summary>
    public static double[][] Rows(Tensor matrix)
    {
        var columns = (int)matrix.size(1);
        var values = matrix.to(ScalarType.Float64).contiguous().data<double>().ToArray();
        return Enumerable.Range(0, (int)matrix.size(0)).Select(r => values.AsSpan(r * columns, columns).ToArray()).ToArray();
    }
}
