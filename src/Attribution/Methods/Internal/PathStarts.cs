using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods.Internal;

/// <summary>
/// The input ends of path methods' paths for one batch: the tensor at a layer in a forward pass of the batch's own
/// input, with that pass's logits (<see cref="PathInputs"/>). Integrated Gradients, conductance and GradientSHAP at the
/// same layer, every class explained and every baseline start from it, so it is computed once per batch and layer
/// (by the batch's first pass when a path method comes first: <see cref="FirstPass.PathStart"/>) instead of once per
/// method, class and baseline. Per batch of one call, never shared between threads; its tensors are freed with it.
/// </summary>
internal sealed class PathStarts : IDisposable
{
    // Own handles, outside every dispose scope: callers get handles of their own (a caller may dispose what it got).
    private readonly Dictionary<LayerSite, (Tensor Activation, Tensor Logits)> sites = [];

    /// <summary>Passes run and input ends reused, for tests.</summary>
    public (int Computed, int Reused) Counts { get; private set; }

    /// <summary>The input end kept at <paramref name="site"/> (handles of the caller's own), or null when none is.</summary>
    public Tensor? Get(LayerSite site, out Tensor? logits)
    {
        if (!sites.TryGetValue(site, out var kept))
        {
            logits = null;
            return null;
        }

        Counts = (Counts.Computed, Counts.Reused + 1);
        logits = kept.Logits.alias();
        return kept.Activation.alias();
    }

    /// <summary>Keeps the input end computed at <paramref name="site"/> for the batch's later askers.</summary>
    public void Keep(LayerSite site, Tensor activation, Tensor logits)
    {
        Counts = (Counts.Computed + 1, Counts.Reused);
        if (sites.Remove(site, out var old))
        {
            old.Activation.Dispose();
            old.Logits.Dispose();
        }

        sites[site] = (activation.alias().DetachFromDisposeScope(), logits.alias().DetachFromDisposeScope());
    }

    public void Dispose()
    {
        foreach (var (activation, logits) in sites.Values)
        {
            activation.Dispose();
            logits.Dispose();
        }

        sites.Clear();
    }
}
