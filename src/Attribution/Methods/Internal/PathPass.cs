using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods.Internal;

/// <summary>
/// The one "tap, repeat, forward, score, gradient" pass of every gradient method: Gradient and Gradient × Input (the
/// batch once, a leaf at the layer), SmoothGrad (noise added at the leaf), Integrated Gradients (the leaf replaced by
/// path points, the batch repeated once per point), layer conductance (path points substituted at an upstream layer,
/// the leaf at the attributed one) and neuron conductance (its own objective through an observed layer). Leaves are
/// detached copies, so gradients are taken exactly there whether or not the model's parameters require gradients.
/// </summary>
internal static class PathPass
{
    /// <summary>
    /// Path points (or draws) per pass for this batch: as many as fit in <paramref name="rowCap"/> rows and in
    /// <paramref name="tokenBudget"/> padded tokens, and at least one (a batch is already bounded by the text
    /// batches' own token budget, so a point of every text is the smallest pass there is).
    /// </summary>
    public static int PointsPerPass(int texts, long paddedLength, int rowCap, int tokenBudget)
    {
        var rows = Math.Min(rowCap, tokenBudget / Math.Max(1, paddedLength));
        return (int)Math.Max(1, rows / texts);
    }

    /// <param name="context">The batch.</param>
    /// <param name="site">Where the leaf is made (the gradient is taken with respect to it).</param>
    /// <param name="repeats">Copies of the batch in the forward pass (path points, alpha-major).</param>
    /// <param name="replace">What the tensor at <paramref name="site"/> becomes before it is made a leaf (null: its own value).</param>
    /// <param name="upstream">Another layer's tensor to substitute in the forward pass (conductance's path points), or null.</param>
    /// <param name="observe">A layer whose tensor <paramref name="objective"/> needs (kept in the graph), or null.</param>
    /// <param name="objective">The scalar to differentiate, from the logits and the observed tensor; default the summed scored output.</param>
    public static LayerGradient Run(
        AttributionContext context,
        LayerSite site,
        int repeats,
        Func<Tensor, Tensor>? replace,
        (LayerSite Site, Tensor Value)? upstream = null,
        LayerSite? observe = null,
        Func<Tensor, Tensor?, Tensor>? objective = null)
    {
        using var grad = enable_grad();
        Tensor? leaf = null;
        Tensor? observed = null;
        using var upstreamTap = upstream is { } u ? new LayerTap(u.Site.Module, u.Site.Side, u.Site.Index, _ => u.Value) : null;
        using var tap = new LayerTap(site.Module, site.Side, site.Index, value =>
        {
            var used = replace is null ? value.detach() : replace(value.detach());
            leaf = used.detach().requires_grad_();
            return leaf;
        });
        using var observeTap = observe is { } o
            ? new LayerTap(o.Module, o.Side, o.Index, value =>
            {
                // An own handle: the model may dispose the layer's output once used (TorchSharp's Sequential does).
                observed = value.alias();
                return null;
            })
            : null;
        var logits = context.Model.Module.call(context.ForPassTappedAt(context.Repeat(repeats), site, upstream?.Site, observe));
        if (upstreamTap is not null)
        {
            PathInputs.EnsureRanOnce(upstreamTap, context);
        }

        PathInputs.EnsureRanOnce(tap, context);
        if (observeTap is not null)
        {
            PathInputs.EnsureRanOnce(observeTap, context);
        }

        var target = objective is null ? context.Score(logits, repeats).sum() : objective(logits, observed);
        var gradient = Gradients.OfOrZeros(target, leaf!);
        return new LayerGradient(leaf!.detach(), gradient);
    }
}
