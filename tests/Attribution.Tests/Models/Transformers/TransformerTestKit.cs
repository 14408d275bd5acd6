using System.Globalization;
using System.Text;
using System.Text.Json;
using Attribution.Models;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Models;

/// <summary>
/// Tiny configs, random weights, model folders on disk, golden-file readers, and a second forward pass of
/// each architecture written out op by op from a state dict (float64, no model classes).
/// </summary>
internal static class TransformerTestKit
{
    public static TransformerConfig TinyBert => new()
    {
        ModelType = "bert", VocabSize = 50, HiddenSize = 16, NumHiddenLayers = 2, NumAttentionHeads = 2,
        IntermediateSize = 24, MaxPositionEmbeddings = 12, TypeVocabSize = 2, LayerNormEps = 1e-12, NumLabels = 3,
    };

    public static TransformerConfig TinyDistilBert => new()
    {
        ModelType = "distilbert", VocabSize = 50, HiddenSize = 16, NumHiddenLayers = 2, NumAttentionHeads = 4,
        IntermediateSize = 24, MaxPositionEmbeddings = 12, TypeVocabSize = 0, NumLabels = 3,
    };

    public static TransformerConfig TinyRoberta => new()
    {
        ModelType = "roberta", VocabSize = 50, HiddenSize = 12, NumHiddenLayers = 2, NumAttentionHeads = 3,
        IntermediateSize = 20, MaxPositionEmbeddings = 14, TypeVocabSize = 1, LayerNormEps = 1e-5, PadTokenId = 1, NumLabels = 2,
    };

    /// <summary>A model of the config's type with every parameter redrawn (seeded), so no weight is 0 or 1 by construction.</summary>
    public static TransformerClassifier RandomModel(TransformerConfig config, ulong seed)
    {
        manual_seed((long)seed);
        TransformerClassifier model = config.ModelType switch
        {
            "bert" => new BertForSequenceClassification(config),
            "distilbert" => new DistilBertForSequenceClassification(config),
            _ => new RobertaForSequenceClassification(config),
        };
        // Redrawn from a generator of this call's own: the global one is shared with tests running at the same time,
        // and a draw of theirs between manual_seed and here would change the weights (a flaky precondition).
        using var generator = new Generator(seed);
        using var scope = NewDisposeScope();
        using (no_grad())
        {
            foreach (var (name, p) in model.named_parameters())
            {
                var noise = randn(p.shape, generator: generator).Times(0.3);
                p.copy_(name.Contains("LayerNorm", StringComparison.Ordinal) || name.Contains("layer_norm", StringComparison.Ordinal)
                    ? (name.EndsWith("weight", StringComparison.Ordinal) ? noise.Plus(1.0) : noise)
                    : noise);
            }
        }

        model.eval();
        return model;
    }

    /// <summary>
    /// <see cref="RandomModel"/> of <see cref="TinyBert"/> as a 3-label classifier (labels a, b, c) whose texts are token
    /// ids ("5 9 12"; [CLS] = 2, [SEP] = 3, padding 0).
    /// </summary>
    public static TextClassifier RandomTinyBertClassifier(ulong seed)
    {
        var module = RandomModel(TinyBert, seed);
        return new TextClassifier("random-tiny-bert", new Attribution.Tests.Methods.IdsTokenizer(2, 3, 0, module.Config.VocabSize), module, ["a", "b", "c"],
            module.WordEmbeddingPath, module.Config.MaxSequenceLength, usesTokenTypes: true);
    }

    /// <summary>The config written with Hugging Face's field names for its model type.</summary>
    public static string ConfigJson(TransformerConfig c, string? hiddenAct = null)
    {
        var act = hiddenAct ?? c.HiddenAct;
        var labels = string.Join(", ", c.Id2Label.OrderBy(kv => kv.Key).Select(kv => $"\"{kv.Key}\": \"{kv.Value}\""));
        return c.ModelType == "distilbert"
            ? $$"""
              { "model_type": "distilbert", "vocab_size": {{c.VocabSize}}, "dim": {{c.HiddenSize}}, "n_layers": {{c.NumHiddenLayers}},
                "n_heads": {{c.NumAttentionHeads}}, "hidden_dim": {{c.IntermediateSize}}, "activation": "{{act}}",
                "max_position_embeddings": {{c.MaxPositionEmbeddings}}, "pad_token_id": {{c.PadTokenId}}, "id2label": { {{labels}} } }
              """
            : $$"""
              { "model_type": "{{c.ModelType}}", "vocab_size": {{c.VocabSize}}, "hidden_size": {{c.HiddenSize}},
                "num_hidden_layers": {{c.NumHiddenLayers}}, "num_attention_heads": {{c.NumAttentionHeads}},
                "intermediate_size": {{c.IntermediateSize}}, "hidden_act": "{{act}}", "max_position_embeddings": {{c.MaxPositionEmbeddings}},
                "type_vocab_size": {{c.TypeVocabSize}}, "layer_norm_eps": {{c.LayerNormEps.ToString("R", CultureInfo.InvariantCulture)}},
                "pad_token_id": {{c.PadTokenId}}, "id2label": { {{labels}} } }
              """;
    }

    /// <summary>Writes config.json and model.safetensors (the given tensors) into a new folder under <paramref name="root"/>.</summary>
    public static string WriteFolder(string root, string configJson, IReadOnlyDictionary<string, Tensor>? weights)
    {
        var dir = Path.Combine(root, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), configJson, Encoding.UTF8);
        if (weights is not null)
        {
            SafeTensors.Save(Path.Combine(dir, "model.safetensors"), weights);
        }

        return dir;
    }

    public static long[] Longs(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt64()).ToArray();

    public static double[] Doubles(JsonElement array) => array.EnumerateArray().Select(e => e.GetDouble()).ToArray();

    public static JsonDocument ReadJson(string path) => JsonDocument.Parse(File.ReadAllText(path));

    /// <summary>Right-pads sequences with <paramref name="pad"/>; returns ids and the 0/1 mask, [batch, longest].</summary>
    public static (Tensor ids, Tensor mask) Pad(IReadOnlyList<long[]> sequences, long pad)
    {
        var longest = sequences.Max(s => s.Length);
        var ids = new long[sequences.Count * longest];
        var mask = new long[ids.Length];
        for (var b = 0; b < sequences.Count; b++)
        {
            for (var i = 0; i < longest; i++)
            {
                var real = i < sequences[b].Length;
                ids[(b * longest) + i] = real ? sequences[b][i] : pad;
                mask[(b * longest) + i] = real ? 1 : 0;
            }
        }

        return (tensor(ids, [sequences.Count, longest]), tensor(mask, [sequences.Count, longest]));
    }

    public static double MaxAbsDiff(float[] actual, IReadOnlyList<double> expected)
    {
        actual.Length.Should().Be(expected.Count);
        return actual.Select((a, i) => Math.Abs(a - expected[i])).Max();
    }

    // ---- the independent forward pass (float64, plain ops) ----

    /// <summary>
    /// Logits [batch, labels] of the Hugging Face architecture, computed from a state dict with explicit ops:
    /// lookups by index_select, LayerNorm from mean and variance, GELU from erf, attention with einsum and a
    /// hand-written softmax, RoBERTa positions counted in a C# loop.
    /// </summary>
    public static double[] ReferenceLogits(TransformerConfig c, IReadOnlyDictionary<string, Tensor> stateDict, long[,] ids, long[,] mask)
    {
        using var scope = NewDisposeScope();
        var w = stateDict.ToDictionary(kv => kv.Key, kv => kv.Value.detach().to(ScalarType.Float64));
        int batch = ids.GetLength(0), seq = ids.GetLength(1);
        var positions = new long[batch, seq];
        for (var b = 0; b < batch; b++)
        {
            var count = 0L;
            for (var i = 0; i < seq; i++)
            {
                if (c.ModelType == "roberta")
                {
                    // Non-pad tokens are numbered pad+1, pad+2, …; pads keep pad.
                    positions[b, i] = ids[b, i] == c.PadTokenId ? c.PadTokenId : c.PadTokenId + ++count;
                }
                else
                {
                    positions[b, i] = i;
                }
            }
        }

        var additive = new double[batch * seq];
        for (var b = 0; b < batch; b++)
        {
            for (var i = 0; i < seq; i++)
            {
                additive[(b * seq) + i] = mask[b, i] == 0 ? (c.ModelType == "distilbert" ? -1e300 : -10000.0) : 0.0;
            }
        }

        var maskAdd = tensor(additive, [batch, 1, 1, seq]);
        Tensor x;
        string layerPrefix;
        if (c.ModelType == "distilbert")
        {
            x = Lookup(w["distilbert.embeddings.word_embeddings.weight"], ids).Plus(Lookup(w["distilbert.embeddings.position_embeddings.weight"], positions));
            x = Norm(w, "distilbert.embeddings.LayerNorm", x, 1e-12);
            layerPrefix = "distilbert.transformer.layer.";
        }
        else
        {
            var p = c.ModelType + ".embeddings.";
            var types = new long[batch, seq];
            x = Lookup(w[p + "word_embeddings.weight"], ids).Plus(Lookup(w[p + "token_type_embeddings.weight"], types)).Plus(Lookup(w[p + "position_embeddings.weight"], positions));
            x = Norm(w, p + "LayerNorm", x, c.LayerNormEps);
            layerPrefix = c.ModelType + ".encoder.layer.";
        }

        for (var l = 0; l < c.NumHiddenLayers; l++)
        {
            var p = layerPrefix + l.ToString(CultureInfo.InvariantCulture) + ".";
            if (c.ModelType == "distilbert")
            {
                var a = Attention(w, x, p + "attention.q_lin", p + "attention.k_lin", p + "attention.v_lin", c.NumAttentionHeads, maskAdd);
                var h = Norm(w, p + "sa_layer_norm", Lin(w, p + "attention.out_lin", a).Plus(x), 1e-12);
                var f = Lin(w, p + "ffn.lin2", Act(c.HiddenAct, Lin(w, p + "ffn.lin1", h)));
                x = Norm(w, p + "output_layer_norm", f.Plus(h), 1e-12);
            }
            else
            {
                var a = Attention(w, x, p + "attention.self.query", p + "attention.self.key", p + "attention.self.value", c.NumAttentionHeads, maskAdd);
                var h = Norm(w, p + "attention.output.LayerNorm", Lin(w, p + "attention.output.dense", a).Plus(x), c.LayerNormEps);
                var f = Lin(w, p + "output.dense", Act(c.HiddenAct, Lin(w, p + "intermediate.dense", h)));
                x = Norm(w, p + "output.LayerNorm", f.Plus(h), c.LayerNormEps);
            }
        }

        var first = x.select(1, 0);
        var logits = c.ModelType switch
        {
            "bert" => Lin(w, "classifier", Lin(w, "bert.pooler.dense", first).tanh()),
            "distilbert" => Lin(w, "classifier", Lin(w, "pre_classifier", first).relu()),
            _ => Lin(w, "classifier.out_proj", Lin(w, "classifier.dense", first).tanh()),
        };
        return logits.data<double>().ToArray();
    }

    private static Tensor Lookup(Tensor table, long[,] ids)
    {
        var flat = new long[ids.Length];
        Buffer.BlockCopy(ids, 0, flat, 0, flat.Length * sizeof(long));
        return table.index_select(0, tensor(flat)).reshape(ids.GetLength(0), ids.GetLength(1), table.size(1));
    }

    private static Tensor Lin(Dictionary<string, Tensor> w, string name, Tensor x) => x.matmul(w[name + ".weight"].t()).Plus(w[name + ".bias"]);

    private static Tensor Norm(Dictionary<string, Tensor> w, string name, Tensor x, double eps)
    {
        var centered = x - x.mean([-1], keepdim: true);
        var variance = (centered * centered).mean([-1], keepdim: true);
        return (centered / variance.Plus(eps).sqrt() * w[name + ".weight"]).Plus(w[name + ".bias"]);
    }

    private static Tensor Act(string name, Tensor x) => name switch
    {
        "gelu" => x.Times(0.5) * x.DividedBy(Math.Sqrt(2)).erf().Plus(1.0),
        "relu" => x.relu(),
        _ => x.Times(0.5) * x.Plus(x.Times(0.044715) * x * x).Times(Math.Sqrt(2 / Math.PI)).tanh().Plus(1.0),
    };

    private static Tensor Attention(Dictionary<string, Tensor> w, Tensor x, string q, string k, string v, int heads, Tensor maskAdd)
    {
        var shape = x.shape;
        var d = shape[2] / heads;
        Tensor Heads(string name) => Lin(w, name, x).reshape(shape[0], shape[1], heads, d);
        var scores = einsum("bqhd,bkhd->bhqk", Heads(q), Heads(k)).DividedBy(Math.Sqrt(d)).Plus(maskAdd);
        var shifted = (scores - scores.amax([-1], keepdim: true)).exp();
        var probs = shifted / shifted.sum(-1, keepdim: true);
        return einsum("bhqk,bkhd->bqhd", probs, Heads(v)).reshape(shape[0], shape[1], shape[2]);
    }
}
