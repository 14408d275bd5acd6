using Microsoft.ML.OnnxRuntime;

namespace Attribution.Onnx;

/// <summary>How much ONNX Runtime rewrites the graph before running it (ONNX Runtime's <see cref="GraphOptimizationLevel"/>).</summary>
public enum OnnxGraphOptimization
{
    /// <summary>No rewriting: the graph runs as exported.</summary>
    Disabled,

    /// <summary>Semantics-preserving rewrites only (constant folding, redundant node removal).</summary>
    Basic,

    /// <summary>Basic plus fused operators for common subgraphs (attention, GELU, LayerNorm).</summary>
    Extended,

    /// <summary>Everything, layout rewrites included (ONNX Runtime's default).</summary>
    All,
}

/// <summary>
/// Settings of the ONNX Runtime session behind an <see cref="OnnxTextClassifier"/>, and how many sequences go into one
/// run. Every value is checked when it is set: an impossible value is an <see cref="ArgumentOutOfRangeException"/>
/// naming the property.
/// </summary>
public sealed record OnnxSessionSettings
{
    private readonly int intraOpThreads;
    private readonly int interOpThreads;
    private readonly OnnxGraphOptimization optimization = OnnxGraphOptimization.All;
    private readonly int batchSize = 32;

    /// <summary>Threads inside one operator (a matrix product); 0 (the default) lets ONNX Runtime use one per core.</summary>
    public int IntraOpThreads
    {
        get => intraOpThreads;
        init => intraOpThreads = CheckThreads(value, nameof(IntraOpThreads));
    }

    /// <summary>Threads running independent operators at once; 0 (the default) lets ONNX Runtime decide.</summary>
    public int InterOpThreads
    {
        get => interOpThreads;
        init => interOpThreads = CheckThreads(value, nameof(InterOpThreads));
    }

    /// <summary>Graph optimization level (default <see cref="OnnxGraphOptimization.All"/>, ONNX Runtime's own default).</summary>
    public OnnxGraphOptimization GraphOptimization
    {
        get => optimization;
        init => optimization = Enum.IsDefined(value)
            ? value
            : throw new ArgumentOutOfRangeException(nameof(GraphOptimization), value,
                $"GraphOptimization {(int)value} is not a level; use one of {string.Join(", ", Enum.GetNames<OnnxGraphOptimization>())}");
    }

    /// <summary>
    /// Sequences per run of the graph (default 32). Sequences are sorted by length first, so a batch holds similar
    /// lengths and little padding.
    /// </summary>
    public int BatchSize
    {
        get => batchSize;
        init => batchSize = value >= 1
            ? value
            : throw new ArgumentOutOfRangeException(nameof(BatchSize), value, $"BatchSize is {value}; at least one sequence must go into a run");
    }

    /// <summary>ONNX Runtime's options for these settings (the caller disposes them).</summary>
    internal SessionOptions ToSessionOptions()
    {
        var options = new SessionOptions
        {
            IntraOpNumThreads = IntraOpThreads,
            InterOpNumThreads = InterOpThreads,
            GraphOptimizationLevel = GraphOptimization switch
            {
                OnnxGraphOptimization.Disabled => GraphOptimizationLevel.ORT_DISABLE_ALL,
                OnnxGraphOptimization.Basic => GraphOptimizationLevel.ORT_ENABLE_BASIC,
                OnnxGraphOptimization.Extended => GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                _ => GraphOptimizationLevel.ORT_ENABLE_ALL,
            },
        };
        return options;
    }

    private static int CheckThreads(int value, string name) => value >= 0
        ? value
        : throw new ArgumentOutOfRangeException(name, value, $"{name} is {value}; give a thread count of at least 1, or 0 to let ONNX Runtime choose");
}
