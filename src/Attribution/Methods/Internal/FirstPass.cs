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

    /// <summary>The first of the methods' passes, a plain gradient's before LRP's (either saves one forward; a plain gradient serves Gradient and Gradient × Input alike).</summary>
    public static FirstPass? ForAll(IEnumerable<FirstPass?> passes)
    {
        var all = passes.OfType<FirstPass>().ToArray();
        return all.OfType<PlainGradient>().FirstOrDefault() ?? all.FirstOrDefault();
    }

    /// <summary>The plain gradient at <paramref name="Site"/>, no replacement (Gradient, Gradient × Input).</summary>
    public sealed record PlainGradient(LayerSite Site) : FirstPass;

    /// <summary>LRP's relevance pass with these settings (<see cref="LrpEpsilon"/>), from the target logit.</summary>
    public sealed record Lrp(LrpSettings Settings) : FirstPass;
}
