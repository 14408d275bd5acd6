using Attribution.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods.Internal;

/// <summary>
/// The baseline's forward pass, kept for one call across its batches: a token baseline ([CLS] [PAD] … [SEP]) is the
/// same for every text of the same padded length, so its activation at a layer and its logits are computed once per
/// distinct row (ids, attention mask, token types) and layer, and reused by later batches, noise samples and methods.
/// Per call, never shared between threads; the tensors it holds are freed when the call ends.
/// </summary>
internal sealed class BaselineCache : IDisposable
{
    /// <summary>Rows kept at most; beyond that the cache starts afresh (each row holds one activation of [length, hidden]).</summary>
    public const int MaxRows = 256;

    private readonly int maxRows;

    /// <param name="maxRows">Rows kept at most (<see cref="MaxRows"/>; tests lower it).</param>
    public BaselineCache(int maxRows = MaxRows) => this.maxRows = maxRows;

    // Per layer tensor (modules compare by reference), then per input row.
    private readonly Dictionary<LayerSite, Dictionary<string, (Tensor Activation, Tensor Logits)>> sites = [];
    private int count;

    /// <summary>Forward passes run and rows reused, for tests and benchmarks.</summary>
    public (int Computed, int Reused) Counts { get; private set; }

    /// <summary>
    /// The activation of <paramref name="site"/> and the logits for the baseline ids <paramref name="ids"/> of this
    /// batch (with its attention mask and token types), running the model only on rows not seen before.
    /// </summary>
    public Tensor Capture(AttributionContext context, LayerSite site, Tensor ids, out Tensor logits)
    {
        var input = context.WithIds(ids);
        var keys = Keys(input);
        if (!sites.TryGetValue(site, out var rows))
        {
            rows = new Dictionary<string, (Tensor Activation, Tensor Logits)>(StringComparer.Ordinal);
            sites[site] = rows;
        }

        int[] Missing() => keys.Select((k, i) => (k, i)).Where(x => !rows.ContainsKey(x.k)).DistinctBy(x => x.k).Select(x => x.i).ToArray();
        var missing = Missing();
        if (missing.Length > 0 && count + missing.Length > maxRows)
        {
            // Starting afresh frees this batch's cached rows too: they are computed again with the new ones.
            Clear();
            missing = Missing();
        }

        Counts = (Counts.Computed + missing.Length, Counts.Reused + keys.Length - missing.Length);
        if (missing.Length > 0)
        {
            count += missing.Length;

            using var scope = NewDisposeScope();
            using var index = tensor(missing.Select(i => (long)i).ToArray());
            var subset = new ModelInput(input.InputIds.index_select(0, index), input.AttentionMask?.index_select(0, index), input.TokenTypeIds?.index_select(0, index));
            var activation = PathInputs.Capture(context, site.Module, site.Side, site.Index, subset, out var subsetLogits);
            for (var j = 0; j < missing.Length; j++)
            {
                rows[keys[missing[j]]] = (activation[j].clone().DetachFromDisposeScope(), subsetLogits[j].detach().clone().DetachFromDisposeScope());
            }
        }

        using (no_grad())
        {
            logits = stack(keys.Select(k => rows[k].Logits).ToArray());
            return stack(keys.Select(k => rows[k].Activation).ToArray());
        }
    }

    public void Dispose() => Clear();

    private void Clear()
    {
        foreach (var (activation, logits) in sites.Values.SelectMany(r => r.Values))
        {
            activation.Dispose();
            logits.Dispose();
        }

        foreach (var rows in sites.Values)
        {
            rows.Clear();
        }

        count = 0;
    }

    private static string[] Keys(ModelInput input)
    {
        var batch = (int)input.InputIds.size(0);
        var ids = input.InputIds.data<long>().ToArray();
        var mask = input.AttentionMask?.to(ScalarType.Int64).data<long>().ToArray();
        var types = input.TokenTypeIds?.data<long>().ToArray();
        var length = ids.Length / batch;
        return Enumerable.Range(0, batch).Select(b =>
            string.Join(',', ids.AsSpan(b * length, length).ToArray())
            + "|" + (mask is null ? "-" : string.Join(',', mask.AsSpan(b * length, length).ToArray()))
            + "|" + (types is null ? "-" : string.Join(',', types.AsSpan(b * length, length).ToArray()))).ToArray();
    }
}
