using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Attribution.Models;

/// <summary>
/// The architecture of one of the library's small text classifiers (<see cref="LstmClassifier"/>,
/// <see cref="CnnClassifier"/>, <see cref="MeanMlpClassifier"/>), as stored in the <c>config.json</c> of its model
/// folder (Hugging Face layout: <c>model_type</c>, sizes, <c>id2label</c>/<c>label2id</c>).
/// </summary>
public sealed record SmallClassifierConfig
{
    /// <summary><c>model_type</c> of the bidirectional LSTM classifier.</summary>
    public const string LstmType = "attribution-lstm";

    /// <summary><c>model_type</c> of the convolutional classifier.</summary>
    public const string CnnType = "attribution-cnn";

    /// <summary><c>model_type</c> of the embedding-mean MLP classifier.</summary>
    public const string MlpType = "attribution-mlp";

    /// <summary>The model types of the small classifiers.</summary>
    public static IReadOnlyList<string> SupportedModelTypes { get; } = [LstmType, CnnType, MlpType];

    /// <summary><c>model_type</c>: one of <see cref="SupportedModelTypes"/>.</summary>
    public required string ModelType { get; init; }

    /// <summary><c>vocab_size</c>: rows of the word-embedding table (at least the tokenizer's vocabulary size).</summary>
    public required int VocabSize { get; init; }

    /// <summary><c>embedding_dim</c>: size of a word vector.</summary>
    public int EmbeddingDim { get; init; } = 64;

    /// <summary><c>hidden_size</c>: LSTM state size per direction, or the MLP's hidden width (unused by the CNN).</summary>
    public int HiddenSize { get; init; } = 64;

    /// <summary><c>kernel_sizes</c>: the CNN's convolution widths (Kim 2014 uses 3, 4, 5).</summary>
    public IReadOnlyList<int> KernelSizes { get; init; } = [3, 4, 5];

    /// <summary><c>num_filters</c>: the CNN's feature maps per width.</summary>
    public int NumFilters { get; init; } = 32;

    /// <summary><c>dropout</c>: dropout probability before the output layer, in training mode only.</summary>
    public double Dropout { get; init; } = 0.2;

    /// <summary>
    /// <c>max_length</c>: the longest input in tokens (special tokens included) the model accepts, as
    /// <c>max_position_embeddings</c> bounds a transformer's. These models have no position table; the bound keeps
    /// over-long inputs an explicit error (or an explicit truncation) rather than a silent cost.
    /// </summary>
    public int MaxLength { get; init; } = 128;

    /// <summary><c>pad_token_id</c>: the padding id, whose embedding row is zero and receives no gradient.</summary>
    public int PadTokenId { get; init; }

    /// <summary>Label names by class index (written as <c>id2label</c> and <c>label2id</c>); <c>num_labels</c> is their count.</summary>
    public IReadOnlyList<string> Labels { get; init; } = ["negative", "positive"];

    /// <summary>Number of classes.</summary>
    public int NumLabels => Labels.Count;

    /// <summary>Reads a <c>config.json</c>.</summary>
    /// <exception cref="ModelLoadException">The file is missing, unreadable, not JSON, or describes no valid small classifier.</exception>
    public static SmallClassifierConfig FromFile(string path) =>
        Parse(ConfigJson.ReadText(path, "A model folder holds config.json next to model.safetensors (write both with Trainer.SaveFolder)."), path);

    /// <summary>Parses the text of a <c>config.json</c>; <paramref name="source"/> names it in messages.</summary>
    /// <exception cref="ModelLoadException">The text is not JSON or describes no valid small classifier.</exception>
    public static SmallClassifierConfig Parse(string json, string source = "config.json")
    {
        var document = ConfigJson.ParseObject(json, source, "Fix the file or save the model again.");
        using (document)
        {
            var reader = new ConfigFields(document.RootElement, source, "fix the value or save the model again.");
            var modelType = reader.String("model_type")
                ?? throw new ModelLoadException(source, "model_type", $"{source} has no \"model_type\"; add one of {string.Join(", ", SupportedModelTypes.Select(t => $"\"{t}\""))}.");
            if (!SupportedModelTypes.Contains(modelType))
            {
                throw new ModelLoadException(source, "model_type",
                    $"{source}: \"model_type\": \"{modelType}\" is not a small classifier; use one of {string.Join(", ", SupportedModelTypes)}.");
            }

            var defaults = new SmallClassifierConfig { ModelType = modelType, VocabSize = 1 };
            var config = new SmallClassifierConfig
            {
                ModelType = modelType,
                VocabSize = reader.Int("vocab_size") ?? throw new ModelLoadException(source, "vocab_size", $"{source} has no \"vocab_size\"; it must give the rows of the embedding table."),
                EmbeddingDim = reader.Int("embedding_dim") ?? defaults.EmbeddingDim,
                HiddenSize = reader.Int("hidden_size") ?? defaults.HiddenSize,
                KernelSizes = reader.IntList("kernel_sizes") ?? defaults.KernelSizes,
                NumFilters = reader.Int("num_filters") ?? defaults.NumFilters,
                Dropout = reader.Double("dropout") ?? defaults.Dropout,
                MaxLength = reader.Int("max_length") ?? defaults.MaxLength,
                PadTokenId = reader.Int("pad_token_id") ?? defaults.PadTokenId,
                Labels = ReadLabels(reader, source) ?? defaults.Labels,
            };
            if (reader.Int("num_labels") is { } n && n != config.NumLabels)
            {
                throw new ModelLoadException(source, "num_labels", $"{source}: \"num_labels\" is {n} but \"id2label\" names {config.NumLabels} classes; make them agree.");
            }

            config.Validate(source);
            return config;
        }
    }

    /// <summary>The <c>config.json</c> text for this configuration (indented, stable field order).</summary>
    public string ToJson()
    {
        Validate(null);
        var id2label = new JsonObject();
        var label2id = new JsonObject();
        for (var i = 0; i < Labels.Count; i++)
        {
            id2label[i.ToString(CultureInfo.InvariantCulture)] = Labels[i];
            label2id[Labels[i]] = i;
        }

        var root = new JsonObject
        {
            ["model_type"] = ModelType,
            ["architectures"] = new JsonArray(ArchitectureName),
            ["vocab_size"] = VocabSize,
            ["embedding_dim"] = EmbeddingDim,

            // Every size is written, also those another model type ignores, so a folder round-trips exactly.
            ["hidden_size"] = HiddenSize,
            ["kernel_sizes"] = new JsonArray(KernelSizes.Select(k => (JsonNode)k).ToArray()),
            ["num_filters"] = NumFilters,
        };
        root["dropout"] = Dropout;
        root["max_length"] = MaxLength;
        root["pad_token_id"] = PadTokenId;
        root["num_labels"] = NumLabels;
        root["id2label"] = id2label;
        root["label2id"] = label2id;
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>The class (and <c>GetName()</c>) of the model this configuration describes, as config.json's <c>architectures</c> names it.</summary>
    internal string ArchitectureName => ModelType switch
    {
        LstmType => nameof(LstmClassifier),
        CnnType => nameof(CnnClassifier),
        _ => nameof(MeanMlpClassifier),
    };

    /// <summary>Checks every field; <paramref name="source"/> is the file, or null for a configuration built in code.</summary>
    internal void Validate(string? source)
    {
        void Fail(string field, string problem)
        {
            if (source is null)
            {
                throw new ArgumentException($"SmallClassifierConfig.{field}: {problem}");
            }

            throw new ModelLoadException(source, field, $"{source}: {problem}");
        }

        if (!SupportedModelTypes.Contains(ModelType))
        {
            Fail("model_type", $"model type '{ModelType}' is not a small classifier; use one of {string.Join(", ", SupportedModelTypes)}.");
        }

        foreach (var (field, value) in new[]
                 {
                     ("vocab_size", VocabSize), ("embedding_dim", EmbeddingDim), ("hidden_size", HiddenSize), ("num_filters", NumFilters),
                     ("max_length", MaxLength),
                 })
        {
            if (value < 1)
            {
                Fail(field, $"\"{field}\" is {value}; it must be at least 1.");
            }
        }

        if (KernelSizes is null || KernelSizes.Count == 0 || KernelSizes.Any(k => k < 1))
        {
            Fail("kernel_sizes", $"\"kernel_sizes\" must list at least one width, each at least 1; got [{string.Join(", ", KernelSizes ?? [])}].");
        }

        if (!(Dropout >= 0 && Dropout < 1))
        {
            Fail("dropout", $"\"dropout\" is {Dropout}; a dropout probability must be in [0, 1).");
        }

        if (PadTokenId < 0 || PadTokenId >= VocabSize)
        {
            Fail("pad_token_id", $"\"pad_token_id\" is {PadTokenId}; it must be a token id in [0, {VocabSize}).");
        }

        // A name may repeat, as in a Hugging Face id2label: classes are addressed by index (a target named by a shared
        // label is refused when it is resolved).
        if (Labels is null || Labels.Count < 1 || Labels.Any(string.IsNullOrEmpty))
        {
            Fail("id2label", "\"id2label\" must name at least one class, each with a non-empty name.");
        }
    }

    /// <summary>Label names from <c>id2label</c> (indices 0..n−1, each once), checked against <c>label2id</c> when present.</summary>
    private static string[]? ReadLabels(ConfigFields reader, string source)
    {
        if (reader.Id2Label() is not { } byIndex)
        {
            return null;
        }

        if (Enumerable.Range(0, byIndex.Count).Any(i => !byIndex.ContainsKey(i)))
        {
            throw new ModelLoadException(source, "id2label",
                $"{source}: \"id2label\" must number the classes 0..{byIndex.Count - 1}; it has keys {string.Join(", ", byIndex.Keys.Order())}.");
        }

        var labels = Enumerable.Range(0, byIndex.Count).Select(i => byIndex[i]).ToArray();
        foreach (var (name, id) in reader.Label2Id() ?? [])
        {
            if (id < 0 || id >= labels.Length || labels[id] != name)
            {
                throw new ModelLoadException(source, "label2id",
                    $"{source}: \"label2id\" maps \"{name}\" to {id}, which disagrees with \"id2label\"; make them inverse of each other.");
            }
        }

        return labels;
    }
}
