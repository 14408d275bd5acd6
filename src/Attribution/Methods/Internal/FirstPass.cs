using Attribution.Methods.Lrp;

namespace Attribution.Methods.Internal;

/// <summary>
/// A pass one method would run on every batch that can also serve as the batch's first forward pass (the one that
/// makes the prediction): the pipeline runs it in place of a plain forward and keeps its graph for that method, which
/// then costs one backward and no forward of its own.
/// </summary>
internal abstract record FirstPass
{
    private FirstPass()
    {
    }

    /// <summary>
    /// The first method's pass, in the order the methods were given, a path method's only when no other method offers
    /// one. Among the others which one makes no difference to the work: each saves one forward pass per batch (and
    /// class), and every other method runs its own passes as before.
    /// </summary>
    /// <remarks>
    /// <para>
    /// LRP's pass and a plain gradient's cannot be one pass, although their forward values are equal bit for bit: each
    /// LRP rule that changes a gradient (ε on Linear, LayerNorm's constant σ, GELU, the attention product) hands the next module detach(value) + (surrogate − detach(surrogate)) (<see cref="LrpRules.Rewire"/>), so
    /// every module downstream of the first rule runs on the rewired tensor and the graph of the stock forward is never
    /// built. A backward through that graph gives LRP's rewritten gradient, not the plain one; giving both would mean
    /// running every layer downstream of the first rule twice, which is the second forward pass. Gradient (or
    /// Gradient × Input) with LRP therefore costs two forward passes per batch, and the first one makes the prediction.
    /// </para>
    /// <para>
    /// A path method's pass (<see cref="PathStart"/>) is taken only when no method can take a pass with a graph: a plain
    /// gradient's pass gives the path's input end as well (its leaf is the tensor there), while a path start serves the
    /// path methods alone and leaves Gradient and Gradient × Input a forward pass each.
    /// </para>
    /// </remarks>
    public static FirstPass? ForAll(IEnumerable<FirstPass?> passes)
    {
        var offered = passes.OfType<FirstPass>().ToArray();
        return offered.FirstOrDefault(pass => pass is not PathStart) ?? offered.FirstOrDefault();
    }

    /// <summary>The plain gradient at <paramref name="Site"/>, no replacement (Gradient, Gradient × Input).</summary>
    public sealed record PlainGradient(LayerSite Site) : FirstPass;

    /// <summary>
    /// The input end of a path method's path at <paramref name="Site"/> (Integrated Gradients, conductance,
    /// GradientSHAP): the tensor there in a pass of the batch's input, kept for every path method and class at that site
    /// (<see cref="PathStarts"/>). No graph is kept.
    /// </summary>
    public sealed record PathStart(LayerSite Site) : FirstPass;

    /// <summary>LRP's relevance pass with these settings (<see cref="LrpEpsilon"/>), from the target logit.</summary>
    public sealed record Lrp(LrpSettings Settings) : FirstPass;

    /// <summary>
    /// A pass that keeps the attention probabilities of these <paramref name="Modules"/> (attention rollout), in the
    /// autograd graph when <paramref name="WithGradients"/> (the gradient-weighted rule), otherwise without gradients.
    /// </summary>
    public sealed record AttentionProbabilities(IReadOnlyList<TorchSharp.torch.nn.Module> Modules, bool WithGradients) : FirstPass;
}
