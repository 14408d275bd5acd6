namespace Attribution.Tests;

/// <summary>
/// Tests that read or change process-wide state (the live-tensor counts compared before and after a call, the global
/// random generator, resident memory): they run alone, one at a time, after the parallel tests.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LiveTensorCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Live tensor count";
}

/// <summary>TorchSharp's count of live tensors (process-wide): what every public call must return to where it was.</summary>
internal static class LiveTensors
{
    /// <summary>Tensors created in managed code and not yet disposed or finalized.</summary>
    public static long Count => TorchSharp.torch.Tensor.TotalCount;

    /// <summary>The count after the garbage collector has finalized every unreachable tensor (TorchSharp's finalizer decrements it).</summary>
    public static long Settled()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        return Count;
    }

    /// <summary>
    /// What building a model holds while alive (<c>Held</c>) and what stays counted after it is disposed
    /// (<c>Residue</c>), both counted with the garbage collector held off, so a tensor someone forgot to dispose
    /// counts even when nothing references it any more (the collector would otherwise finalize it quietly).
    /// TorchSharp's own layers keep a few tensors beyond their parameters (Linear and LayerNorm two each, measured),
    /// some past Dispose; a loader is judged against the same model built directly.
    /// </summary>
    public static (long Held, long Residue) Footprint(Func<IDisposable> build)
    {
        var before = Settled();
        long held;
        long residue;
        using (new NoCollection())
        {
            using (build())
            {
                held = Count - before;
            }

            residue = Count - before;
        }

        return (held, residue);
    }

    /// <summary>Holds the garbage collector off (nothing is finalized) for a small amount of allocation.</summary>
    private sealed class NoCollection : IDisposable
    {
        private readonly bool started = GC.TryStartNoGCRegion(200_000_000);

        public void Dispose()
        {
            if (started && System.Runtime.GCSettings.LatencyMode == System.Runtime.GCLatencyMode.NoGCRegion)
            {
                GC.EndNoGCRegion();
            }
        }
    }
}
