using System.Text;

namespace Attribution.Tests.Onnx;

/// <summary>
/// Writes tiny ONNX models by hand-encoding the protobuf (onnx.proto3 field numbers), so the bad-input tests need no
/// exporter: graphs whose inputs and outputs are chosen by the test.
/// </summary>
internal static class OnnxGraphWriter
{
    /// <summary>ONNX TensorProto element types.</summary>
    public const int FloatType = 1;
    public const int Int64Type = 7;

    /// <summary>
    /// One graph input or output: a tensor of <paramref name="ElementType"/> with symbolic dims (e.g. "batch") or, written
    /// as a number (e.g. "8"), fixed ones.
    /// </summary>
    public sealed record Value(string Name, int ElementType, params string[] Dims);

    /// <summary>One node: <paramref name="OpType"/> from inputs to outputs, with integer attributes.</summary>
    public sealed record Node(string OpType, string[] Inputs, string[] Outputs, params (string Name, long Value)[] IntAttributes);

    /// <summary>A ModelProto (IR 8, default-domain opset 14) with one graph.</summary>
    public static byte[] Model(IReadOnlyList<Value> inputs, IReadOnlyList<Value> outputs, IReadOnlyList<Node> nodes)
    {
        var graph = new Proto();
        foreach (var node in nodes)
        {
            var n = new Proto();
            foreach (var input in node.Inputs)
            {
                n.String(1, input);
            }

            foreach (var output in node.Outputs)
            {
                n.String(2, output);
            }

            n.String(4, node.OpType);
            foreach (var (name, value) in node.IntAttributes)
            {
                // AttributeProto: name = 1, i = 3, type = 20 (INT = 2).
                n.Message(5, new Proto().String(1, name).Varint(3, value).Varint(20, 2));
            }

            graph.Message(1, n);
        }

        graph.String(2, "test-graph");
        foreach (var input in inputs)
        {
            graph.Message(11, ValueInfo(input));
        }

        foreach (var output in outputs)
        {
            graph.Message(12, ValueInfo(output));
        }

        // ModelProto: ir_version = 1, producer_name = 2, graph = 7, opset_import = 8 (domain = 1, version = 2).
        return new Proto()
            .Varint(1, 8)
            .String(2, "Attribution.Tests")
            .Message(7, graph)
            .Message(8, new Proto().String(1, string.Empty).Varint(2, 14))
            .ToArray();
    }

    private static Proto ValueInfo(Value value)
    {
        // ValueInfoProto: name = 1, type = 2; TypeProto.tensor_type = 1; Tensor: elem_type = 1, shape = 2;
        // TensorShapeProto.dim = 1; Dimension.dim_value = 1, dim_param = 2.
        var shape = new Proto();
        foreach (var dim in value.Dims)
        {
            shape.Message(1, long.TryParse(dim, out var size) ? new Proto().Varint(1, size) : new Proto().String(2, dim));
        }

        var tensor = new Proto().Varint(1, value.ElementType).Message(2, shape);
        return new Proto().String(1, value.Name).Message(2, new Proto().Message(1, tensor));
    }

    /// <summary>A protobuf message under construction: varint and length-delimited fields only.</summary>
    private sealed class Proto
    {
        private readonly MemoryStream bytes = new();

        public Proto Varint(int field, long value)
        {
            Raw((ulong)field << 3);
            Raw((ulong)value);
            return this;
        }

        public Proto String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

        public Proto Message(int field, Proto message) => Bytes(field, message.ToArray());

        public byte[] ToArray() => bytes.ToArray();

        private Proto Bytes(int field, byte[] value)
        {
            Raw(((ulong)field << 3) | 2);
            Raw((ulong)value.Length);
            bytes.Write(value);
            return this;
        }

        private void Raw(ulong value)
        {
            while (value >= 0x80)
            {
                bytes.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }

            bytes.WriteByte((byte)value);
        }
    }
}
