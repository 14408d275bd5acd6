using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Engine;

/// <summary>
/// A safetensors file (or buffer) is malformed: truncated, an oversized or unparsable header, a bad
/// entry, or tensor data ranges that overlap, leave holes or run past the data. The message names the
/// file (when known), the tensor (when the problem belongs to one) and what is wrong.
/// </summary>
public sealed class SafeTensorsException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="problem">What is wrong, e.g. <c>data_offsets [0, 20] hold 20 bytes but F32 shape [2, 3] needs 24</c>.</param>
    /// <param name="path">The file being read, or null for an in-memory buffer.</param>
    /// <param name="tensorName">The tensor the problem belongs to, or null when it concerns the whole file.</param>
    /// <param name="inner">The underlying exception (e.g. the JSON parser's), if any.</param>
    public SafeTensorsException(string problem, string? path = null, string? tensorName = null, Exception? inner = null)
        : base(Compose(problem, path, tensorName), inner)
    {
        Problem = problem;
        Path = path;
        TensorName = tensorName;
    }

    /// <summary>What is wrong, without the file and tensor prefix.</summary>
    public string Problem { get; }

    /// <summary>The file being read, or null for an in-memory buffer.</summary>
    public string? Path { get; }

    /// <summary>The tensor the problem belongs to, or null when it concerns the whole file.</summary>
    public string? TensorName { get; }

    private static string Compose(string problem, string? path, string? tensorName)
    {
        var where = path is null ? "safetensors data" : $"safetensors file '{path}'";
        return tensorName is null
            ? $"{where}: {problem}"
            : $"{where}: tensor '{Shorten(tensorName)}': {problem}";
    }

    /// <summary>Keeps messages readable when a hostile file uses enormous names.</summary>
    internal static string Shorten(string text, int max = 200) =>
        text.Length <= max ? text : string.Concat(text.AsSpan(0, max), $"… ({text.Length} characters)");
}
