using System.Text.Json;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Models;

/// <summary>
/// Loads a Hugging Face BERT, DistilBERT or RoBERTa sequence classifier from a model folder
/// (<c>config.json</c> + <c>model.safetensors</c>, or sharded safetensors with
/// <c>model.safetensors.index.json</c>). Pickled checkpoints (<c>pytorch_model.bin</c>) are refused:
/// unpickling can run arbitrary code, so they must be converted to safetensors first.
/// </summary>
public static class TransformerLoader
{
    /// <summary>
    /// Builds the classifier <c>config.json</c> describes and fills it with the folder's weights, strictly:
    /// every parameter must be present with its shape and no other tensor may be (Hugging Face's
    /// non-parameter buffers such as <c>embeddings.position_ids</c>, and a RoBERTa pooler the classifier does
    /// not use, are skipped). Weights stored as float16, bfloat16 or float64 are converted to the model's float32, as
    /// transformers loads them by default (exactly for the two half-precision types, rounded to nearest for float64);
    /// an integer or boolean tensor where a parameter belongs is refused. The model is returned in evaluation mode;
    /// dispose it when done.
    /// </summary>
    /// <param name="directory">The model folder.</param>
    /// <returns>A <see cref="BertForSequenceClassification"/>, <see cref="DistilBertForSequenceClassification"/> or <see cref="RobertaForSequenceClassification"/>.</returns>
    /// <exception cref="ModelLoadException">The folder, its config or its weights cannot be used; the message says why and what to do.</exception>
    public static TransformerClassifier Load(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory))
        {
            throw new ModelLoadException(directory, null, File.Exists(directory)
                ? $"{directory} is a file; pass the model folder that holds config.json and model.safetensors."
                : $"model folder {directory} does not exist; pass a folder holding config.json and model.safetensors (as written by save_pretrained).");
        }

        var config = TransformerConfig.FromFile(Path.Combine(directory, "config.json"));
        var weightFiles = FindWeightFiles(directory);

        // Before anything is allocated: a config whose sizes do not match the weights (a typo, or a hostile
        // num_hidden_layers of 10^9) would otherwise reach libtorch as a request for terabytes.
        CheckConfigAgainstWeights(config, weightFiles, Path.Combine(directory, "config.json"));

        var model = Create(config);
        try
        {
            var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            try
            {
                foreach (var file in weightFiles)
                {
                    ReadInto(tensors, file);
                }

                CopyWeights(model, tensors, weightFiles.Count == 1 ? weightFiles[0] : Path.Combine(directory, "model.safetensors.index.json"));
            }
            finally
            {
                foreach (var t in tensors.Values)
                {
                    t.Dispose();
                }
            }

            model.eval();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Compares the sizes in config.json with the shapes in the weights' headers (no tensor data is read): the word,
    /// position and token-type embeddings, the number of layers, the feed-forward width and the classifier's labels. A
    /// mismatch names the config field, both values and the file; weights without word embeddings or without layers
    /// are refused here too, before the model config.json describes is allocated.
    /// </summary>
    private static void CheckConfigAgainstWeights(TransformerConfig config, List<string> weightFiles, string configPath)
    {
        var shapes = new Dictionary<string, IReadOnlyList<long>>(StringComparer.Ordinal);
        foreach (var file in weightFiles)
        {
            try
            {
                foreach (var tensor in SafeTensors.ReadHeader(file).Tensors)
                {
                    shapes[tensor.Name] = tensor.Shape;
                }
            }
            catch (Exception e) when (e is SafeTensorsException or IOException or UnauthorizedAccessException)
            {
                throw new ModelLoadException(file, (e as SafeTensorsException)?.TensorName,
                    $"{file} cannot be read: {e.Message.TrimEnd('.')}. Re-download it or re-save the model with save_pretrained(folder, safe_serialization=True).", e);
            }
        }

        IReadOnlyList<long>? Shape(params string[] suffixes) =>
            shapes.Where(kv => suffixes.Any(s => kv.Key == s || kv.Key.EndsWith("." + s, StringComparison.Ordinal))).Select(kv => kv.Value).FirstOrDefault();

        void Expect(string field, long configured, IReadOnlyList<long>? shape, int axis, string tensor)
        {
            if (shape is not null && shape.Count > axis && shape[axis] != configured)
            {
                throw new ModelLoadException(configPath, field,
                    $"{configPath} says {field} = {configured}, but the weights' {tensor} has {shape[axis]} there (shape [{string.Join(", ", shape)}]): the config does not belong to these weights; fix {field}");
            }
        }

        var distil = config.ModelType == "distilbert";
        var words = Shape("embeddings.word_embeddings.weight");
        if (words is null)
        {
            // Without it nothing checks vocab_size or hidden_size, and the model those describe would be allocated as written.
            var prefix = distil ? "distilbert" : config.ModelType;
            var file = weightFiles.Count == 1 ? weightFiles[0] : Path.Combine(Path.GetDirectoryName(configPath)!, "model.safetensors.index.json");
            throw new ModelLoadException(file, $"{prefix}.embeddings.word_embeddings.weight",
                $"{file} holds no word embeddings ({prefix}.embeddings.word_embeddings.weight), so it is not the checkpoint of a {config.ModelType} classifier " +
                $"(it holds {shapes.Count} tensor(s){(shapes.Count > 0 ? ", e.g. " + string.Join(", ", shapes.Keys.Order(StringComparer.Ordinal).Take(3)) : string.Empty)}); " +
                "put the classifier's own model.safetensors (save_pretrained(folder, safe_serialization=True)) beside its config.json.");
        }

        // A size whose tensor the weights lack cannot be compared; it is bounded instead: a tensor of more values than the
        // whole checkpoint holds cannot load, and allocating it first (a hostile num_labels of 10^9 beside weights without a
        // classifier is terabytes) is not how that should be found out.
        var values = shapes.Values.Sum(shape => shape.Aggregate(1.0, (product, n) => product * n));
        void Bounded(string field, long configured, IReadOnlyList<long>? shape, string tensor)
        {
            if (shape is null && (double)configured * config.HiddenSize > values)
            {
                throw new ModelLoadException(configPath, field,
                    $"{configPath} says {field} = {configured}, which makes the {tensor} {configured} × {config.HiddenSize} values, more than the weights hold in all " +
                    $"({values.ToString("0", System.Globalization.CultureInfo.InvariantCulture)} values), and the weights have no {tensor} to compare it with: the config does not belong to these weights; fix {field}");
            }
        }

        Expect("vocab_size", config.VocabSize, words, 0, "word embeddings");
        Expect(distil ? "dim" : "hidden_size", config.HiddenSize, words, 1, "word embeddings");
        var positions = Shape("embeddings.position_embeddings.weight");
        Expect("max_position_embeddings", config.MaxPositionEmbeddings, positions, 0, "position embeddings");
        Bounded("max_position_embeddings", config.MaxPositionEmbeddings, positions, "position embeddings");
        if (!distil)
        {
            var types = Shape("embeddings.token_type_embeddings.weight");
            Expect("type_vocab_size", config.TypeVocabSize, types, 0, "token type embeddings");
            Bounded("type_vocab_size", config.TypeVocabSize, types, "token type embeddings");
        }

        var feedForward = Shape("layer.0.intermediate.dense.weight", "layer.0.ffn.lin1.weight");
        Expect(distil ? "hidden_dim" : "intermediate_size", config.IntermediateSize, feedForward, 0, "first layer's feed-forward input");
        Bounded(distil ? "hidden_dim" : "intermediate_size", config.IntermediateSize, feedForward, "first layer's feed-forward input");
        var classifier = Shape("classifier.weight", "classifier.out_proj.weight");
        Expect("num_labels (or id2label)", config.NumLabels, classifier, 0, "classifier");
        Bounded("num_labels (or id2label)", config.NumLabels, classifier, "classifier");

        var layers = shapes.Keys
            .Select(k => System.Text.RegularExpressions.Regex.Match(k, @"(?:^|\.)layer\.(\d+)\."))
            .Where(m => m.Success && int.TryParse(m.Groups[1].Value, out _))
            .Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))
            .DefaultIfEmpty(-1).Max() + 1;
        // Zero layers in the weights is a mismatch too: the config's count would otherwise be allocated unchecked.
        if (layers != config.NumHiddenLayers)
        {
            var field = distil ? "n_layers" : "num_hidden_layers";
            throw new ModelLoadException(configPath, field,
                $"{configPath} says {field} = {config.NumHiddenLayers}, but the weights hold {layers} layer(s): the config does not belong to these weights; fix {field}");
        }
    }

    /// <summary>A classifier of the config's model type with freshly initialized weights.</summary>
    internal static TransformerClassifier Create(TransformerConfig config) => config.ModelType switch
    {
        "bert" => new BertForSequenceClassification(config),
        "distilbert" => new DistilBertForSequenceClassification(config),
        "roberta" => new RobertaForSequenceClassification(config),
        _ => throw new ArgumentException($"model type '{config.ModelType}' is not supported", nameof(config)),
    };

    private static List<string> FindWeightFiles(string directory)
    {
        var single = Path.Combine(directory, "model.safetensors");
        if (File.Exists(single))
        {
            return [single];
        }

        if (Engine.FileChecks.Problem(single) is { } problem)
        {
            throw new ModelLoadException(single, null, $"{problem}: the model's weights must be a safetensors file there.");
        }

        var index = Path.Combine(directory, "model.safetensors.index.json");
        if (File.Exists(index))
        {
            return ReadShardIndex(index, directory);
        }

        var pickle = new[] { "pytorch_model.bin", "pytorch_model.bin.index.json", "model.bin" }
            .Select(n => Path.Combine(directory, n)).FirstOrDefault(File.Exists);
        if (pickle is not null)
        {
            throw new ModelLoadException(pickle, null,
                $"{pickle} {(pickle.EndsWith(".json", StringComparison.Ordinal) ? "indexes sharded PyTorch pickles" : "is a PyTorch pickle")} and {directory} has no model.safetensors. Pickles can run arbitrary code when " +
                "loaded, so this library never reads them. Convert the checkpoint once, in Python with transformers installed:\n" +
                $"  python -c \"from transformers import AutoModelForSequenceClassification as M; M.from_pretrained(r'{directory}').save_pretrained(r'{directory}', safe_serialization=True)\"\n" +
                "then load the folder again.");
        }

        // An Optimum export: the graph runs in ONNX Runtime (package Attribution.Onnx), not in this loader.
        var onnx = new[] { "model.onnx", Path.Combine("onnx", "model.onnx") }.Select(n => Path.Combine(directory, n)).FirstOrDefault(File.Exists);
        if (onnx is not null)
        {
            throw new ModelLoadException(Path.Combine(directory, "model.safetensors"), null,
                $"{directory} holds an ONNX export ({Path.GetRelativePath(directory, onnx)}) and no model.safetensors: load it with OnnxTextClassifier.Load " +
                "(the ONNX Runtime package of this library; perturbation methods), or put the PyTorch model's model.safetensors (save_pretrained(folder, " +
                "safe_serialization=True)) beside config.json for the gradient methods.");
        }

        var other = new[] { "tf_model.h5", "flax_model.msgpack" }.Select(n => Path.Combine(directory, n)).FirstOrDefault(File.Exists);
        throw new ModelLoadException(Path.Combine(directory, "model.safetensors"), null, other is not null
            ? $"{directory} holds {Path.GetFileName(other)} (TensorFlow/Flax weights) but no model.safetensors; convert it with transformers " +
              $"(from_pretrained(r'{directory}', from_tf=True) or from_flax=True, then save_pretrained(r'{directory}', safe_serialization=True))."
            : $"{directory} has no model.safetensors (nor model.safetensors.index.json for sharded weights); save the model with " +
              "model.save_pretrained(folder, safe_serialization=True) or download model.safetensors from its Hugging Face repository.");
    }

    private static List<string> ReadShardIndex(string index, string directory)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(index));

            // JsonElement.TryGetProperty throws InvalidOperationException on anything but an object (an index saved as an array).
            if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("weight_map", out var map)
                || map.ValueKind != JsonValueKind.Object || !map.EnumerateObject().Any())
            {
                throw new ModelLoadException(index, "weight_map",
                    $"{index} must be a JSON object whose \"weight_map\" names the shard of each tensor, but it is " +
                    (document.RootElement.ValueKind == JsonValueKind.Object ? "an object without a non-empty weight_map" : $"a JSON {document.RootElement.ValueKind.ToString().ToLowerInvariant()}") + "; " +
                    "re-save the model with save_pretrained(folder, safe_serialization=True) or download the index again.");
            }

            var files = new List<string>();
            foreach (var entry in map.EnumerateObject())
            {
                var name = entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString()! : string.Empty;
                if (name.Length == 0 || Path.GetFileName(name) != name)
                {
                    throw new ModelLoadException(index, entry.Name, $"{index}: the shard of \"{entry.Name}\" must be a file name in the same folder, got {entry.Value.GetRawText()}.");
                }

                var path = Path.Combine(directory, name);
                if (!files.Contains(path))
                {
                    if (!File.Exists(path))
                    {
                        throw new ModelLoadException(path, entry.Name, $"{path}, the shard {index} names for \"{entry.Name}\", is missing; download every shard listed in the index.");
                    }

                    files.Add(path);
                }
            }

            return files;
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            throw new ModelLoadException(index, null, $"{index} cannot be read as a shard index: {e.Message}", e);
        }
    }

    private static void ReadInto(Dictionary<string, Tensor> tensors, string file)
    {
        Dictionary<string, Tensor> loaded;
        try
        {
            loaded = SafeTensors.Load(file);
        }
        catch (Exception e) when (e is SafeTensorsException or IOException or UnauthorizedAccessException)
        {
            throw new ModelLoadException(file, (e as SafeTensorsException)?.TensorName,
                $"{file} cannot be read: {e.Message.TrimEnd('.')}. Re-download it or re-save the model with save_pretrained(folder, safe_serialization=True).", e);
        }

        // Every tensor ends in the caller's dictionary (disposed by it) or is disposed here, even on error.
        string? duplicate = null;
        foreach (var (name, tensor) in loaded)
        {
            if (!tensors.TryAdd(name, tensor))
            {
                tensor.Dispose();
                duplicate ??= name;
            }
        }

        if (duplicate is not null)
        {
            throw new ModelLoadException(file, duplicate, $"tensor \"{duplicate}\" appears in more than one shard ({file} and another); the sharded checkpoint is inconsistent.");
        }
    }

    /// <summary>
    /// Maps checkpoint names onto the model's (legacy LayerNorm gamma/beta, skipped buffers), checks the
    /// whole set at once so the message lists every problem, then copies.
    /// </summary>
    private static void CopyWeights(TransformerClassifier model, Dictionary<string, Tensor> checkpoint, string file)
    {
        var own = model.state_dict();
        var source = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var skipped = new List<string>();
        foreach (var (rawName, tensor) in checkpoint)
        {
            var name = rawName;

            // Checkpoints converted from the original TensorFlow BERT name LayerNorm parameters gamma/beta;
            // transformers renames them on load, and so do we.
            if (!own.ContainsKey(name) && name.EndsWith(".gamma", StringComparison.Ordinal))
            {
                name = name[..^".gamma".Length] + ".weight";
            }
            else if (!own.ContainsKey(name) && name.EndsWith(".beta", StringComparison.Ordinal))
            {
                name = name[..^".beta".Length] + ".bias";
            }

            if (IsIgnored(name, model))
            {
                skipped.Add(rawName);
                continue;
            }

            if (!source.TryAdd(name, tensor))
            {
                throw new ModelLoadException(file, name, $"{file} holds \"{name}\" twice (once under a legacy gamma/beta name); keep one of them.");
            }
        }

        CheckpointFit.Compare(own, source).ThrowUnlessFits(file, model.GetName(), fit => Hint(model, fit, source));

        try
        {
            model.load_state_dict(source, strict: true);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            throw new ModelLoadException(file, null, $"{file} does not fit {model.GetName()}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Tensors Hugging Face saves that are not parameters of the classifier: the position_ids /
    /// token_type_ids buffers of the embeddings, and the pooler of a RoBERTa checkpoint (the classification
    /// head reads the first token itself). A pooler is tolerated only when the model has none.
    /// </summary>
    private static bool IsIgnored(string name, TransformerClassifier model) =>
        name.EndsWith("embeddings.position_ids", StringComparison.Ordinal)
        || name.EndsWith("embeddings.token_type_ids", StringComparison.Ordinal)
        || (model is RobertaForSequenceClassification && name.StartsWith("roberta.pooler.", StringComparison.Ordinal));

    private static string Hint(TransformerClassifier model, CheckpointFit fit, IReadOnlyDictionary<string, Tensor> source)
    {
        var prefix = model.WordEmbeddingPath.Split('.')[0] + ".";
        var own = model.state_dict();

        // Names that are the model's own without the base model's prefix: a state dict saved from model.bert, or renamed
        // by hand (Hugging Face then loads a random head, or refuses the file as corrupted when it holds a classifier too).
        var unprefixed = fit.Unexpected.Count(n => own.ContainsKey(prefix + n));
        if (unprefixed > 0 && unprefixed * 2 >= fit.Unexpected.Count)
        {
            var example = fit.Unexpected.First(n => own.ContainsKey(prefix + n));
            return $"{unprefixed} tensor name(s) lack the \"{prefix}\" prefix of the model's own (\"{example}\" for \"{prefix}{example}\"): the file was saved from " +
                $"the base model (model.{prefix.TrimEnd('.')}, whose names have no prefix and which has no classification head) or renamed by hand; save the " +
                "fine-tuned classifier itself with save_pretrained(folder, safe_serialization=True).";
        }

        if (fit.Mismatched.Count > 0 && fit.Mismatched.Select(m => m.Split(':')[0]).All(n => source[n].shape.SequenceEqual(own[n].shape)))
        {
            return "integer or boolean tensors stand where floating-point parameters belong: the file was written wrongly; save the model again with " +
                "save_pretrained(folder, safe_serialization=True) (float32, float16, bfloat16 or float64 weights load).";
        }

        if (fit.Mismatched.Count > 0)
        {
            return "config.json does not describe these weights (check vocab_size, hidden_size, intermediate_size, max_position_embeddings, type_vocab_size and num_labels/id2label against the checkpoint).";
        }

        if (fit.Missing.Count == 0)
        {
            return $"the checkpoint holds tensors {model.GetName()} has no place for (such as a pre-training head, cls.*, lm_head.* or vocab_*, saved beside the classifier); " +
                "this loader is strict, so remove them from the file, or save the classifier alone with save_pretrained(folder, safe_serialization=True).";
        }

        return fit.Missing.Any(k => !k.Contains(".embeddings.", StringComparison.Ordinal) && !k.Contains(".encoder.", StringComparison.Ordinal) && !k.Contains(".transformer.", StringComparison.Ordinal))
              && fit.Missing.Count < own.Count
                ? "the checkpoint lacks the classification head (or the BERT pooler): it may be a base or pre-training checkpoint; fine-tune it with AutoModelForSequenceClassification and save that model."
                : $"the checkpoint does not match {model.GetName()} (a different architecture or model_type, or names without the \"{prefix}\" prefix of a base model); save the classifier itself with save_pretrained(folder, safe_serialization=True).";
    }
}
