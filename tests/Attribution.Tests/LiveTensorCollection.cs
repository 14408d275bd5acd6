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
}
