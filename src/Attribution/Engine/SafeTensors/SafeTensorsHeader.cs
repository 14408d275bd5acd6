using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Engine;

/// <summary>One tensor's entry in a safetensors header: where its bytes are and how to read them.</summary>
public sealed class SafeTensorInfo
{
    internal SafeTensorInfo(string name, ScalarType dtype, long[] shape, long begin, long end)
    {
        Name = name;
        DType = dtype;
        Shape = Array.AsReadOnly(shape);
        Begin = begin;
        End = end;
    }

    /// <summary>The tensor's name (the header key).</summary>
    public string Name { get; }

    /// <summary>The element type.</summary>
    public ScalarType DType { get; }

    /// <summary>Size of each dimension (empty for a 0-dimensional tensor).</summary>
    public IReadOnlyList<long> Shape { get; }

    /// <summary>First byte of the tensor's data, relative to the start of the data buffer.</summary>
    public long Begin { get; }

    /// <summary>One past the last byte of the tensor's data, relative to the start of the data buffer.</summary>
    public long End { get; }

    /// <summary>Number of bytes of data (<see cref="End"/> − <see cref="Begin"/>).</summary>
    public long ByteCount => End - Begin;

    /// <summary>Shape, dtype and range, e.g. <c>w: F32 [2, 3] @ [0, 24)</c>.</summary>
    public override string ToString() =>
        $"{Name}: {SafeTensors.DTypeName(DType)} [{string.Join(", ", Shape)}] @ [{Begin}, {End})";
}

/// <summary>
/// A validated safetensors header: the tensor entries in data-buffer order and the free-form
/// <c>__metadata__</c> map (empty when the file has none).
/// </summary>
public sealed class SafeTensorsHeader
{
    internal SafeTensorsHeader(IReadOnlyList<SafeTensorInfo> tensors, IReadOnlyDictionary<string, string> metadata, long dataStart, long dataLength)
    {
        Tensors = tensors;
        Metadata = metadata;
        DataStart = dataStart;
        DataLength = dataLength;
    }

    /// <summary>The tensor entries, ordered by their position in the data buffer.</summary>
    public IReadOnlyList<SafeTensorInfo> Tensors { get; }

    /// <summary>The <c>__metadata__</c> map (string to string); empty when absent.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Offset of the data buffer from the start of the file (8 + header length).</summary>
    public long DataStart { get; }

    /// <summary>Length of the data buffer in bytes.</summary>
    public long DataLength { get; }
}
