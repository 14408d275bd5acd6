namespace Attribution.Tests;

/// <summary>
/// Tests that compare <c>torch.LiveTensorCount</c> before and after a call: the count is process-wide, so they run
/// alone, after the parallel tests.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LiveTensorCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Live tensor count";
}
