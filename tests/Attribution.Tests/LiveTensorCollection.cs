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
