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
    /// The first method's pass, in the order the methods were given. Which one makes no difference to the work: each
    /// saves one forward pass per batch (and class), and every other method runs its own passes as before.
    /// </summary>
    public static FirstPass? ForAll(IEnumerable<FirstPass?> passes) => passes.FirstOrDefault(pass => pass is not null);

    /// <summary>The plain gradient at <paramref name="Site"/>, no replacement (Gradient, Gradient × Input).</summary>
    public sealed record PlainGradient(LayerSite Site) : FirstPass;

    /// <summary>LRP's relevance pass with these settings (<see cref="LrpEpsilon"/>), from the target logit.</summary>
    public sealed record Lrp(LrpSettings Settings) : FirstPass;
}
