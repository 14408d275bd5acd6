using Attribution.Engine;
using Attribution.Methods;
using Attribution.Methods.Internal;
using Attribution.Models;
using Attribution.Pipeline;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Evaluation;

/// <summary>
/// One text's (or pair's) attribution context kept open for every read of a metric that perturbs the word-embedding
/// output (infidelity): the text's embedding x and its scored output f(x), the word embeddings of a baseline x′, and f at
/// replacements of x. One lease, one dispose scope, one no_grad and one context for them all, so the model runs the text
/// once: the context's first pass is the capture of x, whose logits are the prediction (<see cref="FirstPass.PathStart"/>),
/// where before each read made a context of its own and ran the prediction (up to three times) and the text's capture
/// (twice). Per call, on the thread that opened it; dispose it on that thread (it closes the scope it opened).
/// </summary>
internal sealed class EmbeddingPerturbationSession : IDisposable
{
    private readonly CallGate.Lease lease;
    private readonly DisposeScope scope;
    private readonly IDisposable noGrad;
    private readonly PathStarts starts;
    private readonly AttributionContext context;
    private readonly nn.Module layer;
    private readonly Tensor x;
    private readonly CancellationToken cancellation;
    private bool disposed;

    private EmbeddingPerturbationSession(CallGate.Lease lease, DisposeScope scope, IDisposable noGrad, PathStarts starts, AttributionContext context,
        nn.Module layer, Tensor x, double score, CancellationToken cancellation)
    {
        this.lease = lease;
        this.scope = scope;
        this.noGrad = noGrad;
        this.starts = starts;
        this.context = context;
        this.layer = layer;
        this.x = x;
        this.cancellation = cancellation;
        Embedding = EmbeddingPerturbation.Rows(x.squeeze(0));
        Score = score;
    }

    /// <summary>The text's word-embedding output x, [tokens][hidden] in float64.</summary>
    public double[][] Embedding { get; }

    /// <summary>The scored output f(x) of the explained class at the text.</summary>
    public double Score { get; }

    /// <summary>
    /// Opens the session: encodes the text (or the pair) truncated to the model's limit, as an explanation made with
    /// truncation is (a text that fits is whole), and reads x and f(x). One pass, the capture, whose logits serve as the
    /// context's prediction; two where the capture cannot be the prediction's pass (a hook of the caller's on the model
    /// makes the prediction logits-only and the capture whole: the prediction then runs first, as
    /// <see cref="FirstPass.PathStart"/> does for path methods). <paramref name="cancellation"/> is checked before each.
    /// </summary>
    public static EmbeddingPerturbationSession Open(ITextClassifier model, string text, string? pair, int target, ScoreOutput score,
        CancellationToken cancellation)
    {
        // Runs the module itself (past the attribution context's first pass): one lease for the whole session (ModelLease).
        var lease = ModelLease.Enter(model);
        DisposeScope? scope = null;
        IDisposable? noGrad = null;
        PathStarts? starts = null;
        try
        {
            scope = NewDisposeScope();
            noGrad = no_grad();
            starts = new PathStarts();
            var batch = model.Encode([text], true, pair is null ? null : [pair]);
            var layer = LayerPaths.Resolve(model, null, "Layer");
            var site = new LayerSite(layer, LayerSide.Output, 0);
            cancellation.ThrowIfCancellationRequested();
            var context = new AttributionContext(model, batch, new ExplainOptions { Target = Target.Class(target), Score = score, Cancellation = cancellation },
                new FirstPass.PathStart(site), pathStarts: starts);

            // The capture ran as the first pass unless it could not be the prediction's; then it runs now, a pass of its own.
            cancellation.ThrowIfCancellationRequested();
            var x = context.PathStart(site, out var logits);
            return new EmbeddingPerturbationSession(lease, scope, noGrad, starts, context, layer, x, context.ScoreValues(logits)[0], cancellation);
        }
        catch
        {
            starts?.Dispose();
            noGrad?.Dispose();
            scope?.Dispose();
            lease.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The word-embedding output x′ of <paramref name="baseline"/> for the text (or the pair), [tokens][hidden] in float64,
    /// as a path method takes it at the word embeddings: a token baseline's ids (special tokens kept) through the model
    /// (one pass, the token checked before it), or zeros for <see cref="Baseline.Zero"/> (no pass).
    /// </summary>
    public double[][] BaselineEmbedding(Baseline baseline)
    {
        if (baseline.Token is null && baseline.Ids is null)
        {
            return EmbeddingPerturbation.Rows(zeros_like(x).squeeze(0));
        }

        var ids = PathInputs.BaselineIds(context, baseline);
        cancellation.ThrowIfCancellationRequested();
        return EmbeddingPerturbation.Rows(PathInputs.Capture(context, layer, LayerSide.Output, 0, context.WithIds(ids), out _).squeeze(0));
    }

    /// <summary>
    /// f(x′) for each replacement x′ of the word-embedding output ([tokens][hidden] each), 32 to a pass, the token checked
    /// before each pass.
    /// </summary>
    /// <exception cref="NonFiniteValueException">The model's scored output is not finite at a replacement.</exception>
    public double[] Scores(IReadOnlyList<double[][]> replacements)
    {
        var results = new List<double>(replacements.Count);
        foreach (var chunk in replacements.Chunk(32))
        {
            cancellation.ThrowIfCancellationRequested();
            using var inner = NewDisposeScope();
            var stacked = stack(chunk.Select(r => tensor(r.SelectMany(row => row).ToArray(), [r.Length, r[0].Length], ScalarType.Float64)).ToArray())
                .to(ScalarType.Float32);
            using var tap = new LayerTap(layer, LayerSide.Output, 0, _ => stacked);
            var logits = context.Model.Module.call(context.Repeat(chunk.Length));
            PathInputs.EnsureRanOnce(tap, context);
            results.AddRange(context.Score(logits, chunk.Length).to(ScalarType.Float64).data<double>().ToArray());
        }

        if (results.Any(v => !double.IsFinite(v)))
        {
            throw new NonFiniteValueException(NonFiniteSource.ModelOutput, $"{context.Model.Name}'s scored output is not finite for a perturbed embedding: the perturbation is too large, or the weights hold NaN or infinite values");
        }

        return [.. results];
    }

    /// <summary>
    /// Frees the session's tensors and closes its no_grad, scope and lease, in the reverse order of opening; once (a second
    /// call would leave the model's lease a second time).
    /// </summary>
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        starts.Dispose();
        noGrad.Dispose();
        scope.Dispose();
        lease.Dispose();
    }
}
