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
    /// <param name="objective">
    /// The scalar to differentiate, from the summed scored output of the rows' targets and the observed tensor; default
    /// that sum itself. On rows that repeat texts per class it is called once per class, with that class's sum.
    /// </param>
    public static LayerGradient Run(
        AttributionContext context,
        LayerSite site,
        int repeats,
        Func<Tensor, Tensor>? replace,
        (LayerSite Site, Tensor Value)? upstream = null,
        LayerSite? observe = null,
        Func<Tensor, Tensor?, Tensor>? objective = null)
    {
        if (context.SharedTexts is { } sharing)
        {
            return RunShared(context, sharing, site, repeats, replace, upstream, observe, objective);
        }

        using var grad = enable_grad();
        Tensor? leaf = null;
        var observed = new Observed();
        using var upstreamTap = upstream is { } u ? new LayerTap(u.Site.Module, u.Site.Side, u.Site.Index, _ => u.Value) : null;
        using var tap = new LayerTap(site.Module, site.Side, site.Index, value =>
        {
            var used = replace is null ? value.detach() : replace(value.detach());
            leaf = used.detach().requires_grad_();
            return leaf;
        });
        using var observeTap = Observe(observe, observed);
        var logits = context.Model.Module.call(context.ForPassTappedAt(context.Repeat(repeats), site, upstream?.Site, observe));
        if (upstreamTap is not null)
        {
            PathInputs.EnsureRanOnce(upstreamTap, context);
        }

        PathInputs.EnsureRanOnce(tap, context);
        RequireTokenAxis(context, site, leaf!, (long)repeats * context.Size);
        if (observeTap is not null)
        {
            PathInputs.EnsureRanOnce(observeTap, context);
        }

        var score = context.Score(logits, repeats).sum();
        var target = objective is null ? score : objective(score, observed.Value);
        var gradient = LeafGradient(context, target, leaf!, site, upstream?.Site, retainGraph: false);
        return new LayerGradient(leaf!.detach(), gradient);
    }

    /// <summary>
    /// The gradient of <paramref name="target"/> at the leaf; zeros where the output does not depend on it, except below an
    /// upstream substitution (conductance's InputLayer): there a leaf the output never reaches means the layer runs before
    /// the input layer (or off its way to the output), so the path never moves it, and every conductance came out 0
    /// without a word (Captum's autograd.grad refuses an unused input too). Refused naming InputLayer.
    /// </summary>
    private static Tensor LeafGradient(AttributionContext context, Tensor target, Tensor leaf, LayerSite site, LayerSite? upstream, bool retainGraph)
    {
        if (upstream is not { } input || !target.requires_grad)
        {
            // No graph at all is refused by Gradients.Of itself, with both causes (a model cutting its graph, an input
            // layer after the layer with nothing trainable after it).
            return Gradients.OfOrZeros(target, leaf, retainGraph);
        }

        return Gradients.Of([target], [leaf], retainGraph: retainGraph)[0]
            ?? throw new ArgumentException(
                $"the model's output does not depend on the layer {LayerTap.Describe(context.Model.Module, site.Module)} once InputLayer " +
                $"{LayerTap.Describe(context.Model.Module, input.Module)} is moved along the path: the layer runs before the input layer (or off its way to " +
                "the output), so no conductance flows through it. Give an InputLayer that runs before Layer (or leave it null for the word embeddings)",
                "InputLayer");
    }

    /// <summary>A tap that keeps the tensor at <paramref name="observe"/> in <paramref name="into"/> (null when nothing is observed).</summary>
    private static LayerTap? Observe(LayerSite? observe, Observed into) => observe is { } o
        ? new LayerTap(o.Module, o.Side, o.Index, value =>
        {
            // An own handle: the model may dispose the layer's output once used (TorchSharp's Sequential does).
            into.Value = value.alias();
            return null;
        })
        : null;

    /// <summary>The tensor an observing tap saw in a pass.</summary>
    private sealed class Observed
    {
        public Tensor? Value { get; set; }
    }

    /// <summary>
    /// Refuses, after the first forward pass and before any backward, a site whose tensor has no [rows, tokens, …]
    /// layout (a classifier's or pooler's output): no per-token score can come from it, which a path method would
    /// otherwise find only after all its passes. <see cref="TextAttributor"/> checks the attributions again, for
    /// methods that do not pass through here. A tensor that is [rows, length] by coincidence (3 classes' logits for
    /// texts of 3 tokens) cannot be told from one with a token axis, and passes.
    /// </summary>
    public static void RequireTokenAxis(AttributionContext context, LayerSite site, Tensor leaf, long rows)
    {
        if (leaf.dim() >= 2 && leaf.size(0) == rows && leaf.size(1) == context.Length)
        {
            return;
        }

        var side = site.Side == LayerSide.Output ? "output" : "input";
        throw new ArgumentException(
            $"the layer {LayerTap.Describe(context.Model.Module, site.Module)} has an {side} of shape [{string.Join(", ", leaf.shape)}] in a pass of {rows} rows of {context.Length} tokens: " +
            $"it has no [batch, tokens, …] layout, so no score per token can come from it; attribute to a layer whose {side} is [batch, tokens, …], such as the word embeddings or an encoder layer",
            "Layer");
    }

    /// <summary>
    /// <see cref="Run"/> on a batch whose rows repeat texts for several classes: each distinct text runs forward once
    /// (per path point), and one backward per class present gives every row the gradient of its own class, as a pass
    /// per class would, for one forward instead of one per class. <paramref name="replace"/> and the upstream value
    /// give a tensor for every row (and path point) of the batch, whose rows of one text are equal, so the text's first
    /// row stands for them; or one for every text, as <paramref name="replace"/> does when it adds noise to the tensor
    /// it is given (the distinct texts'), drawing what a pass for one class would. An own <paramref name="objective"/>
    /// (neuron conductance's) is built once per class from that class's summed scored output, as a pass per class builds it.
    /// </summary>
    private static LayerGradient RunShared(
        AttributionContext context, TextSharing sharing, LayerSite site, int repeats, Func<Tensor, Tensor>? replace, (LayerSite Site, Tensor Value)? upstream,
        LayerSite? observe, Func<Tensor, Tensor?, Tensor>? objective)
    {
        var rows = context.Size;
        var texts = sharing.Representatives.Length;
        using var grad = enable_grad();
        using var firstRows = tensor(Enumerable.Range(0, repeats).SelectMany(k => sharing.Representatives.Select(r => (long)((k * rows) + r))).ToArray());
        using var textRows = tensor(sharing.Representatives.Select(r => (long)r).ToArray());
        Tensor PerText(Tensor given) => given.size(0) == (long)repeats * rows
            ? given.index_select(0, firstRows)
            : given.size(0) == (long)repeats * texts
                ? given
                : throw new InvalidOperationException($"a shared pass needs a tensor for each of the {repeats}×{rows} rows or {repeats}×{texts} texts, got {given.size(0)}");

        Tensor? leaf = null;
        using var upstreamTap = upstream is { } u ? new LayerTap(u.Site.Module, u.Site.Side, u.Site.Index, _ => PerText(u.Value)) : null;
        using var tap = new LayerTap(site.Module, site.Side, site.Index, value =>
        {
            var used = replace is null ? value.detach() : PerText(replace(value.detach()));
            leaf = used.detach().requires_grad_();
            return leaf;
        });
        var observed = new Observed();
        using var observeTap = Observe(observe, observed);
        var input = context.Batch.Input;
        var distinct = new Models.ModelInput(input.InputIds.index_select(0, textRows), input.AttentionMask?.index_select(0, textRows), input.TokenTypeIds?.index_select(0, textRows));
        var logits = context.Model.Module.call(context.ForPassTappedAt(AttributionContext.Repeat(distinct, repeats), site, upstream?.Site, observe));
        if (upstreamTap is not null)
        {
            PathInputs.EnsureRanOnce(upstreamTap, context);
        }

        PathInputs.EnsureRanOnce(tap, context);
        RequireTokenAxis(context, site, leaf!, (long)repeats * texts);
        if (observeTap is not null)
        {
            PathInputs.EnsureRanOnce(observeTap, context);
        }

        // Row (k, r) is its text's row of path point k in the pass.
        var passRows = new long[repeats * rows];
        for (var k = 0; k < repeats; k++)
        {
            for (var r = 0; r < rows; r++)
            {
                passRows[(k * rows) + r] = (k * texts) + sharing.TextOfRow[r];
            }
        }

        // One backward per class, each class's rows taking their gradient from it at once (so one class's gradient is held at a time).
        var classes = context.Targets.Distinct().ToArray();
        Tensor? gradient = null;
        for (var c = 0; c < classes.Length; c++)
        {
            var score = context.ScoreOfClass(logits, classes[c]).sum();
            var target = objective is null ? score : objective(score, observed.Value);
            using var classGradient = LeafGradient(context, target, leaf!, site, upstream?.Site, retainGraph: c < classes.Length - 1);
            var to = Enumerable.Range(0, repeats * rows).Where(i => context.Targets[i % rows] == classes[c]).Select(i => (long)i).ToArray();
            using var noGrad = no_grad();
            using var toIndex = tensor(to);
            using var fromIndex = tensor(to.Select(i => passRows[i]).ToArray());
            gradient ??= empty([repeats * rows, .. classGradient.shape[1..]], classGradient.dtype);
            using var taken = classGradient.index_select(0, fromIndex);
            gradient.index_copy_(0, toIndex, taken);
        }

        using (no_grad())
        {
            using var activationIndex = tensor(passRows);
            return new LayerGradient(leaf!.detach().index_select(0, activationIndex), gradient!);
        }
    }
}
