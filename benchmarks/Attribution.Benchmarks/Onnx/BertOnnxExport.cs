using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Attribution.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Benchmarks.Onnx;

/// <summary>
/// Writes the library's own <see cref="BertForSequenceClassification"/> as an ONNX model in the Hugging Face Optimum
/// folder layout (<c>model.onnx</c>, <c>config.json</c>, tokenizer files), so ONNX Runtime can run the very weights
/// TorchSharp runs. No exporter is involved: the graph is built node by node and the protobuf is hand-encoded
/// (onnx.proto3 field numbers), default-domain opset 17 (LayerNormalization), IR version 8, weights inline as
/// TensorProto raw_data (little-endian float32).
/// </summary>
/// <remarks>
/// The graph mirrors Bert.cs operation by operation: word + token-type embeddings, then + position embeddings
/// (positions 0..n−1 from Range over the input's length), LayerNorm; the additive mask (1 − mask) × −10000 as
/// [batch, 1, 1, seq]; per layer Q·Kᵀ ÷ √d + mask, softmax, ·V, dense + residual, LayerNorm, dense, exact GELU
/// (0.5·x·(1 + erf(x/√2))), dense + residual, LayerNorm; pooler tanh(dense(first token)); classifier dense. Dropout is
/// left out (eval mode). Inputs <c>input_ids</c>, <c>attention_mask</c>, <c>token_type_ids</c> (int64 [batch,
/// sequence], both axes symbolic); output <c>logits</c> (float32 [batch, labels]). Every parameter of the module must
/// be used by the graph, so a weight the export would silently drop is an error.
/// Shared with the tests by linking this file (it is no part of the library's API).
/// </remarks>
internal static class BertOnnxExport
{
    private const int FloatType = 1;
    private const int Int64Type = 7;

    /// <summary>
    /// Writes <paramref name="classifier"/> (a <see cref="BertForSequenceClassification"/>) into <paramref name="folder"/>
    /// (created if needed) with the tokenizer files of <paramref name="tokenizerFolder"/>.
    /// </summary>
    /// <param name="classifier">The classifier; its module must be a <see cref="BertForSequenceClassification"/>.</param>
    /// <param name="folder">Where model.onnx, config.json and the tokenizer files go.</param>
    /// <param name="tokenizerFolder">The folder whose tokenizer files (tokenizer.json, tokenizer_config.json, vocab.txt, …) are copied.</param>
    /// <param name="ignoreAttentionMask">A deliberately wrong graph that never adds the mask (padding attended to), so a check can prove it notices.</param>
    public static void Write(TextClassifier classifier, string folder, string tokenizerFolder, bool ignoreAttentionMask = false)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        var bert = classifier.Module as BertForSequenceClassification
            ?? throw new ArgumentException($"{classifier.Name} is a {classifier.Module.GetType().Name}; only BertForSequenceClassification is exported", nameof(classifier));
        if (bert.Config.HiddenAct != "gelu")
        {
            throw new ArgumentException($"hidden_act '{bert.Config.HiddenAct}' is not exported (only the exact erf GELU, \"gelu\")", nameof(classifier));
        }

        Directory.CreateDirectory(folder);
        foreach (var name in new[] { "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json" })
        {
            var source = Path.Combine(tokenizerFolder, name);
            if (File.Exists(source))
            {
                File.Copy(source, Path.Combine(folder, name), overwrite: true);
            }
        }

        File.WriteAllText(Path.Combine(folder, "config.json"), ConfigJson(bert.Config, classifier.Labels));
        WriteModel(bert, classifier.Labels.Count, Path.Combine(folder, "model.onnx"), ignoreAttentionMask);
    }

    /// <summary>A Hugging Face style config.json for the exported model.</summary>
    private static string ConfigJson(TransformerConfig config, IReadOnlyList<string> labels)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("model_type", "bert");
            json.WriteStartArray("architectures");
            json.WriteStringValue("BertForSequenceClassification");
            json.WriteEndArray();
            json.WriteNumber("vocab_size", config.VocabSize);
            json.WriteNumber("hidden_size", config.HiddenSize);
            json.WriteNumber("num_hidden_layers", config.NumHiddenLayers);
            json.WriteNumber("num_attention_heads", config.NumAttentionHeads);
            json.WriteNumber("intermediate_size", config.IntermediateSize);
            json.WriteString("hidden_act", config.HiddenAct);
            json.WriteNumber("max_position_embeddings", config.MaxPositionEmbeddings);
            json.WriteNumber("type_vocab_size", config.TypeVocabSize);
            json.WriteNumber("layer_norm_eps", config.LayerNormEps);
            json.WriteNumber("pad_token_id", config.PadTokenId);
            json.WriteString("position_embedding_type", "absolute");
            json.WriteNumber("num_labels", labels.Count);
            if (config.ProblemType is { } problemType)
            {
                json.WriteString("problem_type", problemType);
            }

            json.WriteStartObject("id2label");
            for (var i = 0; i < labels.Count; i++)
            {
                json.WriteString(i.ToString(CultureInfo.InvariantCulture), labels[i]);
            }

            json.WriteEndObject();
            json.WriteStartObject("label2id");
            for (var i = 0; i < labels.Count; i++)
            {
                json.WriteNumber(labels[i], i);
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteModel(BertForSequenceClassification bert, int labels, string path, bool ignoreAttentionMask)
    {
        var config = bert.Config;
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var weights = bert.state_dict();
        var used = new HashSet<string>(StringComparer.Ordinal);
        var g = new GraphBuilder();

        Tensor Weight(string name)
        {
            if (!weights.TryGetValue(name, out var tensor))
            {
                throw new InvalidOperationException($"the module has no parameter '{name}' (it has {string.Join(", ", weights.Keys.Take(8))}, …)");
            }

            used.Add(name);
            return tensor;
        }

        string Parameter(string name) => g.Initializer(name, Weight(name));

        // y = x·Wᵀ + b, with Wᵀ stored as the initializer.
        string Linear(string x, string prefix)
        {
            using var transposed = Weight(prefix + ".weight").t();
            var w = g.Initializer(prefix + ".weight.T", transposed);
            var product = g.Node("MatMul", [x, w]);
            return g.Node("Add", [product, Parameter(prefix + ".bias")]);
        }

        string LayerNorm(string x, string prefix) =>
            g.Node("LayerNormalization", [x, Parameter(prefix + ".weight"), Parameter(prefix + ".bias")],
                Attribute.Int("axis", -1), Attribute.Float("epsilon", (float)config.LayerNormEps));

        var heads = config.NumAttentionHeads;
        var headDim = config.HiddenSize / heads;
        var zero = g.Int64Constant("zero_i64", [], 0);
        var one = g.Int64Constant("one_i64", [], 1);
        var oneFloat = g.FloatConstant("one_f32", [], 1f);
        var splitShape = g.Int64Constant("split_heads_shape", [4], 0, 0, heads, headDim);
        var mergeShape = g.Int64Constant("merge_heads_shape", [3], 0, 0, config.HiddenSize);

        // Embeddings: (words + types) + positions, positions 0..n−1; then LayerNorm.
        var words = g.Node("Gather", [Parameter("bert.embeddings.word_embeddings.weight"), "input_ids"], Attribute.Int("axis", 0));
        var types = g.Node("Gather", [Parameter("bert.embeddings.token_type_embeddings.weight"), "token_type_ids"], Attribute.Int("axis", 0));
        var inputShape = g.Node("Shape", ["input_ids"]);
        var length = g.Node("Gather", [inputShape, one], Attribute.Int("axis", 0));
        var positionIds = g.Node("Range", [zero, length, one]);
        var positions = g.Node("Gather", [Parameter("bert.embeddings.position_embeddings.weight"), positionIds], Attribute.Int("axis", 0));
        var wordsAndTypes = g.Node("Add", [words, types]);
        var sum = g.Node("Add", [wordsAndTypes, positions]);
        var hidden = LayerNorm(sum, "bert.embeddings.LayerNorm");

        // The additive mask [batch, 1, 1, seq]: (1 − mask) × −10000, as TransformerOps.AdditiveMask.
        var maskFloat = g.Node("Cast", ["attention_mask"], Attribute.Int("to", FloatType));
        var inverted = g.Node("Sub", [oneFloat, maskFloat]);
        var scaledMask = g.Node("Mul", [inverted, g.FloatConstant("mask_scale", [], -10000f)]);
        var mask = g.Node("Unsqueeze", [scaledMask, g.Int64Constant("mask_axes", [2], 1, 2)]);

        var scale = g.FloatConstant("attention_scale", [], (float)Math.Sqrt(headDim));
        var invSqrt2 = g.FloatConstant("gelu_inv_sqrt2", [], (float)(1 / Math.Sqrt(2)));
        var half = g.FloatConstant("gelu_half", [], 0.5f);
        for (var layer = 0; layer < config.NumHiddenLayers; layer++)
        {
            var p = $"bert.encoder.layer.{layer}.";

            // Self-attention: heads split as [batch, heads, seq, dim]; K transposed straight to [batch, heads, dim, seq].
            var q = g.Node("Transpose", [g.Node("Reshape", [Linear(hidden, p + "attention.self.query"), splitShape])], Attribute.Ints("perm", 0, 2, 1, 3));
            var kT = g.Node("Transpose", [g.Node("Reshape", [Linear(hidden, p + "attention.self.key"), splitShape])], Attribute.Ints("perm", 0, 2, 3, 1));
            var v = g.Node("Transpose", [g.Node("Reshape", [Linear(hidden, p + "attention.self.value"), splitShape])], Attribute.Ints("perm", 0, 2, 1, 3));
            var scores = g.Node("Div", [g.Node("MatMul", [q, kT]), scale]);
            if (!ignoreAttentionMask)
            {
                scores = g.Node("Add", [scores, mask]);
            }

            var probs = g.Node("Softmax", [scores], Attribute.Int("axis", -1));
            var context = g.Node("MatMul", [probs, v]);
            var merged = g.Node("Reshape", [g.Node("Transpose", [context], Attribute.Ints("perm", 0, 2, 1, 3)), mergeShape]);
            var attentionOut = g.Node("Add", [Linear(merged, p + "attention.output.dense"), hidden]);
            var attended = LayerNorm(attentionOut, p + "attention.output.LayerNorm");

            // Feed-forward: exact GELU x · 0.5 · (1 + erf(x / √2)).
            var widened = Linear(attended, p + "intermediate.dense");
            var erf = g.Node("Erf", [g.Node("Mul", [widened, invSqrt2])]);
            var gelu = g.Node("Mul", [g.Node("Mul", [widened, half]), g.Node("Add", [erf, oneFloat])]);
            var outputSum = g.Node("Add", [Linear(gelu, p + "output.dense"), attended]);
            hidden = LayerNorm(outputSum, p + "output.LayerNorm");
        }

        // Pooler tanh(dense(first token)), then the classifier.
        var first = g.Node("Gather", [hidden, zero], Attribute.Int("axis", 1));
        var pooled = g.Node("Tanh", [Linear(first, "bert.pooler.dense")]);
        var logits = Linear(pooled, "classifier");
        g.Node("Identity", [logits], "logits");

        var unused = weights.Keys.Where(k => !used.Contains(k)).ToList();
        if (unused.Count > 0)
        {
            throw new InvalidOperationException($"the graph does not use the parameter(s) {string.Join(", ", unused)}: the export would not mirror the module");
        }

        g.Input("input_ids", Int64Type, "batch", "sequence");
        g.Input("attention_mask", Int64Type, "batch", "sequence");
        g.Input("token_type_ids", Int64Type, "batch", "sequence");
        g.Output("logits", FloatType, "batch", labels);
        g.Save(path);
    }

    /// <summary>An AttributeProto (name = 1, f = 2, i = 3, ints = 8, type = 20: FLOAT 1, INT 2, INTS 7).</summary>
    private sealed record Attribute(Proto Message)
    {
        public static Attribute Int(string name, long value) => new(new Proto().String(1, name).Varint(3, value).Varint(20, 2));

        public static Attribute Float(string name, float value) => new(new Proto().String(1, name).Fixed32(2, value).Varint(20, 1));

        public static Attribute Ints(string name, params long[] values)
        {
            var message = new Proto().String(1, name);
            foreach (var value in values)
            {
                message.Varint(8, value);
            }

            return new(message.Varint(20, 7));
        }
    }

    /// <summary>
    /// A GraphProto written as it is built (protobuf fields may come in any order): nodes = 1, name = 2,
    /// initializer = 5, input = 11, output = 12.
    /// </summary>
    private sealed class GraphBuilder
    {
        private readonly Proto graph = new Proto().String(2, "bert-for-sequence-classification");
        private readonly HashSet<string> initializers = new(StringComparer.Ordinal);
        private int counter;

        /// <summary>Adds a node; its single output gets a fresh name unless <paramref name="output"/> names it.</summary>
        public string Node(string op, string[] inputs, params Attribute[] attributes) => Node(op, inputs, null, attributes);

        public string Node(string op, string[] inputs, string? output, params Attribute[] attributes)
        {
            var name = output ?? $"{op.ToLowerInvariant()}_{counter}";
            counter++;
            var node = new Proto();
            foreach (var input in inputs)
            {
                node.String(1, input);
            }

            // NodeProto: input = 1, output = 2, name = 3, op_type = 4, attribute = 5.
            node.String(2, name).String(3, $"{op}_{counter}").String(4, op);
            foreach (var attribute in attributes)
            {
                node.Message(5, attribute.Message);
            }

            graph.Message(1, node);
            return name;
        }

        /// <summary>A float32 initializer with <paramref name="tensor"/>'s shape and values (copied, made contiguous).</summary>
        public string Initializer(string name, Tensor tensor)
        {
            if (tensor.dtype != ScalarType.Float32)
            {
                throw new InvalidOperationException($"parameter '{name}' is {tensor.dtype}; the export writes float32 only");
            }

            if (initializers.Contains(name))
            {
                return name;
            }

            using var contiguous = tensor.detach().contiguous();
            var values = contiguous.data<float>().ToArray();
            return WriteTensor(name, FloatType, tensor.shape, MemoryMarshal.AsBytes(values.AsSpan()));
        }

        public string FloatConstant(string name, long[] dims, params float[] values) =>
            WriteTensor(name, FloatType, dims, MemoryMarshal.AsBytes(values.AsSpan()));

        public string Int64Constant(string name, long[] dims, params long[] values) =>
            WriteTensor(name, Int64Type, dims, MemoryMarshal.AsBytes(values.AsSpan()));

        public void Input(string name, int elementType, params object[] dims) => graph.Message(11, ValueInfo(name, elementType, dims));

        public void Output(string name, int elementType, params object[] dims) => graph.Message(12, ValueInfo(name, elementType, dims));

        /// <summary>ModelProto: ir_version = 1, producer_name = 2, graph = 7, opset_import = 8 (domain = 1, version = 2).</summary>
        public void Save(string path)
        {
            var header = new Proto()
                .Varint(1, 8)
                .String(2, "Attribution.Benchmarks BertOnnxExport")
                .Message(8, new Proto().String(1, string.Empty).Varint(2, 17));
            using var file = File.Create(path);
            header.WriteTo(file);
            graph.WriteAsField(7, file);
        }

        /// <summary>TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9 (little-endian).</summary>
        private string WriteTensor(string name, int elementType, long[] dims, ReadOnlySpan<byte> raw)
        {
            if (!BitConverter.IsLittleEndian)
            {
                throw new PlatformNotSupportedException("raw_data is little-endian; this writer assumes a little-endian machine");
            }

            if (!initializers.Add(name))
            {
                throw new InvalidOperationException($"initializer '{name}' written twice");
            }

            var tensor = new Proto();
            foreach (var dim in dims)
            {
                tensor.Varint(1, dim);
            }

            tensor.Varint(2, elementType).String(8, name).Bytes(9, raw);
            graph.Message(5, tensor);
            return name;
        }

        /// <summary>ValueInfoProto (name = 1, type = 2) of a tensor; dims are names (dim_param = 2) or sizes (dim_value = 1).</summary>
        private static Proto ValueInfo(string name, int elementType, object[] dims)
        {
            var shape = new Proto();
            foreach (var dim in dims)
            {
                shape.Message(1, dim is string symbol ? new Proto().String(2, symbol) : new Proto().Varint(1, Convert.ToInt64(dim, CultureInfo.InvariantCulture)));
            }

            var tensor = new Proto().Varint(1, elementType).Message(2, shape);
            return new Proto().String(1, name).Message(2, new Proto().Message(1, tensor));
        }
    }

    /// <summary>A protobuf message under construction: varint, fixed32 and length-delimited fields.</summary>
    private sealed class Proto
    {
        private readonly MemoryStream bytes = new();

        public Proto Varint(int field, long value)
        {
            Raw((ulong)field << 3);
            Raw((ulong)value);
            return this;
        }

        public Proto Fixed32(int field, float value)
        {
            Raw(((ulong)field << 3) | 5);
            Span<byte> four = stackalloc byte[4];
            BitConverter.TryWriteBytes(four, value);
            bytes.Write(four);
            return this;
        }

        public Proto String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

        public Proto Message(int field, Proto message) => Bytes(field, message.bytes.GetBuffer().AsSpan(0, (int)message.bytes.Length));

        public Proto Bytes(int field, ReadOnlySpan<byte> value)
        {
            Raw(((ulong)field << 3) | 2);
            Raw((ulong)value.Length);
            bytes.Write(value);
            return this;
        }

        public void WriteTo(Stream stream) => stream.Write(bytes.GetBuffer(), 0, (int)bytes.Length);

        /// <summary>Writes this message as field <paramref name="field"/> of an enclosing message, without copying it.</summary>
        public void WriteAsField(int field, Stream stream)
        {
            var prefix = new Proto();
            prefix.Raw(((ulong)field << 3) | 2);
            prefix.Raw((ulong)bytes.Length);
            prefix.WriteTo(stream);
            WriteTo(stream);
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
