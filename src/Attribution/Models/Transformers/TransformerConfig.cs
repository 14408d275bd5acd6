using System.Globalization;
using System.Text.Json;

namespace Attribution.Models;

/// <summary>
/// The architecture of a BERT-family classifier, as read from a Hugging Face <c>config.json</c>
/// (<see cref="FromFile"/>) or written in code. Fields the file omits take the Hugging Face defaults of
/// its <c>model_type</c>. DistilBERT's own names (<c>dim</c>, <c>n_layers</c>, <c>n_heads</c>,
/// <c>hidden_dim</c>, <c>activation</c>, <c>dropout</c>, <c>attention_dropout</c>,
/// <c>seq_classif_dropout</c>) are read into the same properties.
/// </summary>
public sealed record TransformerConfig
{
    /// <summary>The model types this library builds.</summary>
    public static IReadOnlyList<string> SupportedModelTypes { get; } = ["bert", "distilbert", "roberta"];

    /// <summary>The activations this library builds (<c>gelu</c> is the exact erf form; <c>gelu_new</c> and
    /// <c>gelu_pytorch_tanh</c> the tanh approximation).</summary>
    public static IReadOnlyList<string> SupportedActivations { get; } = ["gelu", "gelu_new", "gelu_pytorch_tanh", "relu"];

    private readonly IReadOnlyDictionary<int, string>? id2label;
    private readonly IReadOnlyDictionary<string, int>? label2id;
    private readonly int? padTokenId;

    /// <summary><c>model_type</c>: "bert", "distilbert" or "roberta".</summary>
    public required string ModelType { get; init; }

    /// <summary><c>vocab_size</c>: rows of the word-embedding table (read from a file without it: 50265 for RoBERTa, 30522 otherwise).</summary>
    public int VocabSize { get; init; } = 30522;

    /// <summary><c>hidden_size</c> (DistilBERT: <c>dim</c>).</summary>
    public int HiddenSize { get; init; } = 768;

    /// <summary><c>num_hidden_layers</c> (DistilBERT: <c>n_layers</c>).</summary>
    public int NumHiddenLayers { get; init; } = 12;

    /// <summary><c>num_attention_heads</c> (DistilBERT: <c>n_heads</c>); divides <see cref="HiddenSize"/>.</summary>
    public int NumAttentionHeads { get; init; } = 12;

    /// <summary><c>intermediate_size</c> (DistilBERT: <c>hidden_dim</c>): width of the feed-forward layer.</summary>
    public int IntermediateSize { get; init; } = 3072;

    /// <summary><c>hidden_act</c> (DistilBERT: <c>activation</c>); one of <see cref="SupportedActivations"/>.</summary>
    public string HiddenAct { get; init; } = "gelu";

    /// <summary><c>max_position_embeddings</c>: rows of the position table (RoBERTa uses pad_token_id + 1 of them up).</summary>
    public int MaxPositionEmbeddings { get; init; } = 512;

    /// <summary><c>type_vocab_size</c>: rows of the token-type table (RoBERTa checkpoints have 1; unused by DistilBERT).</summary>
    public int TypeVocabSize { get; init; } = 2;

    /// <summary><c>layer_norm_eps</c> (DistilBERT always uses 1e-12).</summary>
    public double LayerNormEps { get; init; } = 1e-12;

    /// <summary>
    /// <c>pad_token_id</c>; unless set, 1 for RoBERTa and 0 otherwise (transformers' defaults). RoBERTa numbers positions
    /// from pad_token_id + 1, so its pad id decides every token's position embedding.
    /// </summary>
    public int PadTokenId
    {
        get => padTokenId ?? (ModelType == "roberta" ? 1 : 0);
        init => padTokenId = value;
    }

    /// <summary><c>hidden_dropout_prob</c> (DistilBERT: <c>dropout</c>); active only in training mode.</summary>
    public double HiddenDropoutProb { get; init; } = 0.1;

    /// <summary><c>attention_probs_dropout_prob</c> (DistilBERT: <c>attention_dropout</c>); training mode only.</summary>
    public double AttentionProbsDropoutProb { get; init; } = 0.1;

    /// <summary><c>classifier_dropout</c> (DistilBERT: <c>seq_classif_dropout</c>); null uses <see cref="HiddenDropoutProb"/>.</summary>
    public double? ClassifierDropout { get; init; }

    /// <summary><c>num_labels</c>: outputs of the classifier. When <c>id2label</c> is given it decides (as in Hugging Face).</summary>
    public int NumLabels { get; init; } = 2;

    /// <summary><c>id2label</c>: label names by class index (defaults to LABEL_0, LABEL_1, …).</summary>
    public IReadOnlyDictionary<int, string> Id2Label
    {
        get => id2label ?? Enumerable.Range(0, NumLabels).ToDictionary(i => i, i => "LABEL_" + i.ToString(CultureInfo.InvariantCulture));
        init => id2label = value;
    }

    /// <summary>
    /// <c>label2id</c>: class index by label name (defaults to the inverse of <see cref="Id2Label"/>). Kept as written
    /// when given, even where its names differ from <see cref="Id2Label"/>'s (which name the outputs); each index must
    /// be a class in [0, <see cref="NumLabels"/>) and name it once, or loading fails.
    /// </summary>
    public IReadOnlyDictionary<string, int> Label2Id
    {
        get => label2id ?? Inverse(Id2Label);
        init => label2id = value;
    }

    /// <summary><c>problem_type</c>: "single_label_classification", "multi_label_classification", "regression" or null.</summary>
    public string? ProblemType { get; init; }

    /// <summary>The longest input the position table allows (RoBERTa: positions start after the pad id).</summary>
    public int MaxSequenceLength => UsableLength(ModelType, MaxPositionEmbeddings, PadTokenId);

    /// <summary>
    /// The longest input a position table of <paramref name="maxPositionEmbeddings"/> rows allows: RoBERTa-family
    /// models number positions from pad_token_id + 1, so pad_token_id + 1 rows are never used by tokens.
    /// </summary>
    internal static int UsableLength(string modelType, int maxPositionEmbeddings, int padTokenId) =>
        PositionsFromPadId(modelType) ? maxPositionEmbeddings - padTokenId - 1 : maxPositionEmbeddings;

    /// <summary>
    /// Whether transformers computes this model type's position ids from the pad id (create_position_ids_from_input_ids):
    /// RoBERTa and the types built on its embeddings.
    /// </summary>
    internal static bool PositionsFromPadId(string modelType) => modelType is "roberta" or "xlm-roberta" or "camembert";

    /// <summary>
    /// The one rule behind three refusals (ClassifierLoader, the TextClassifier constructor, OnnxTextClassifier; each
    /// keeps its own exception and message): true when a model of <paramref name="modelType"/> numbers its positions from
    /// a pad id (<paramref name="configPadId"/>, config.json's pad_token_id) other than the one the tokenizer pads with
    /// (<paramref name="tokenizerPadId"/>). Such a model takes a real token equal to the config's id for padding and
    /// shifts every later position, silently in transformers too; models that find padding by the mask alone (BERT,
    /// DistilBERT) are unaffected, so for them it is false.
    /// </summary>
    internal static bool PadIdsDisagree(string modelType, int configPadId, long tokenizerPadId) =>
        PositionsFromPadId(modelType) && configPadId != tokenizerPadId;

    internal int HeadDim => HiddenSize / NumAttentionHeads;

    internal double ClassifierDropoutProb => ClassifierDropout ?? HiddenDropoutProb;

    // Two classes may share a name in a hand-written id2label; the lower index wins rather than throwing.
    private static Dictionary<string, int> Inverse(IReadOnlyDictionary<int, string> names)
    {
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (id, name) in names.OrderBy(kv => kv.Key))
        {
            result.TryAdd(name, id);
        }

        return result;
    }

    /// <summary>Reads a Hugging Face <c>config.json</c>.</summary>
    /// <exception cref="ModelLoadException">The file is missing, is not valid JSON, or describes an unsupported model.</exception>
    public static TransformerConfig FromFile(string path) =>
        Parse(ConfigJson.ReadText(path, "A Hugging Face model folder holds config.json next to model.safetensors; " +
            "write both with model.save_pretrained(folder, safe_serialization=True) (or download the whole repository)."), path);

    /// <summary>Parses the text of a Hugging Face <c>config.json</c>; <paramref name="source"/> names it in messages.</summary>
    /// <exception cref="ModelLoadException">The text is not valid JSON or describes an unsupported model.</exception>
    public static TransformerConfig Parse(string json, string source = "config.json")
    {
        var document = ConfigJson.ParseObject(json, source, "Fix the file or re-save it with model.config.save_pretrained(folder).");
        using (document)
        {
            var reader = new ConfigFields(document.RootElement, source, "fix the value (Hugging Face writes it with model.config.save_pretrained).");
            var modelType = reader.String("model_type")
                ?? throw new ModelLoadException(source, "model_type",
                    $"{source} has no \"model_type\"; add one of {string.Join(", ", SupportedModelTypes.Select(t => $"\"model_type\": \"{t}\""))} matching the checkpoint.");
            if (!SupportedModelTypes.Contains(modelType))
            {
                throw new ModelLoadException(source, "model_type",
                    $"{source}: \"model_type\": \"{modelType}\" is not supported; this library builds {string.Join(", ", SupportedModelTypes)} " +
                    "classifiers. Use a checkpoint of one of those architectures (fine-tuned with a sequence-classification head).");
            }

            var positionType = reader.String("position_embedding_type");
            if (positionType is not null && positionType != "absolute")
            {
                throw new ModelLoadException(source, "position_embedding_type",
                    $"{source}: \"position_embedding_type\": \"{positionType}\" is not supported; only \"absolute\" position embeddings are implemented.");
            }

            // Hugging Face gives a BERT or RoBERTa saved with "is_decoder": true a causal mask (each token attends only to
            // those before it); built here as an encoder it would attend both ways and compute other logits without a word.
            if (modelType != "distilbert" && reader.Bool("is_decoder") == true)
            {
                throw new ModelLoadException(source, "is_decoder",
                    $"{source}: \"is_decoder\" is true, so Hugging Face runs this {modelType} with causal (left-to-right) attention; this library " +
                    "builds bidirectional encoders only. Use a checkpoint saved as an encoder (\"is_decoder\": false, the default for sequence classifiers).");
            }

            // "architectures" names the head the checkpoint was saved with: a token classifier, a masked-LM or a bare
            // encoder would otherwise be read as a sequence classifier (or fail later on a missing pooler).
            if (document.RootElement.TryGetProperty("architectures", out var architectures) && architectures.ValueKind == JsonValueKind.Array)
            {
                var heads = architectures.EnumerateArray().Where(a => a.ValueKind == JsonValueKind.String).Select(a => a.GetString()!).ToArray();
                if (heads.Length > 0 && !heads.Any(n => n.EndsWith("ForSequenceClassification", StringComparison.Ordinal)))
                {
                    throw new ModelLoadException(source, "architectures",
                        $"{source}: \"architectures\" is [{string.Join(", ", heads.Select(n => $"\"{n}\""))}], not a sequence classifier: this library explains whole-text " +
                        "classifiers (…ForSequenceClassification). Use a checkpoint fine-tuned with AutoModelForSequenceClassification.");
                }
            }

            var distil = modelType == "distilbert";
            var defaults = new TransformerConfig { ModelType = modelType };
            var config = new TransformerConfig
            {
                ModelType = modelType,
                // transformers' RobertaConfig defaults to RoBERTa's own vocabulary (50265), not BERT's.
                VocabSize = reader.Int("vocab_size") ?? (modelType == "roberta" ? 50265 : defaults.VocabSize),
                HiddenSize = (distil ? DistilBertSize(reader, source, "dim", "hidden_size") : reader.Int("hidden_size")) ?? defaults.HiddenSize,
                NumHiddenLayers = (distil ? DistilBertSize(reader, source, "n_layers", "num_hidden_layers") : reader.Int("num_hidden_layers")) ?? (distil ? 6 : defaults.NumHiddenLayers),
                NumAttentionHeads = (distil ? DistilBertSize(reader, source, "n_heads", "num_attention_heads") : reader.Int("num_attention_heads")) ?? defaults.NumAttentionHeads,
                IntermediateSize = (distil ? reader.Int("hidden_dim") ?? reader.Int("intermediate_size") : reader.Int("intermediate_size")) ?? defaults.IntermediateSize,
                HiddenAct = (distil ? DistilBertActivation(reader, source) : reader.String("hidden_act")) ?? defaults.HiddenAct,
                MaxPositionEmbeddings = reader.Int("max_position_embeddings") ?? defaults.MaxPositionEmbeddings,
                TypeVocabSize = distil ? 0 : reader.Int("type_vocab_size") ?? defaults.TypeVocabSize,

                // Hugging Face's DistilBERT hard-codes eps = 1e-12 in every LayerNorm whatever the config says.
                LayerNormEps = distil ? 1e-12 : reader.Double("layer_norm_eps") ?? defaults.LayerNormEps,
                PadTokenId = reader.Int("pad_token_id") ?? (modelType == "roberta" ? 1 : 0),
                HiddenDropoutProb = (distil ? reader.Double("dropout") : reader.Double("hidden_dropout_prob")) ?? defaults.HiddenDropoutProb,
                AttentionProbsDropoutProb = (distil ? reader.Double("attention_dropout") : reader.Double("attention_probs_dropout_prob")) ?? defaults.AttentionProbsDropoutProb,
                ClassifierDropout = distil ? reader.Double("seq_classif_dropout") ?? 0.2 : reader.Double("classifier_dropout"),
                ProblemType = reader.String("problem_type"),
                NumLabels = reader.Int("num_labels") ?? defaults.NumLabels,
            };

            var names = reader.Id2Label();
            if (names is { Count: 0 })
            {
                // It decides num_labels; without this the error would blame a num_labels of 0 the file may not even hold.
                throw new ModelLoadException(source, "id2label",
                    $"{source}: \"id2label\" is empty, so the model would have no classes; name each class (\"id2label\": {{ \"0\": \"negative\", \"1\": \"positive\" }}) or remove it to use num_labels.");
            }

            if (names is not null)
            {
                config = config with { NumLabels = names.Count, Id2Label = names };
            }

            var ids = reader.Label2Id();
            if (ids is not null)
            {
                config = config with { Label2Id = ids };
            }

            config.Validate(source);
            return config;
        }
    }

    /// <summary>
    /// A DistilBERT size under its own name (<paramref name="own"/>) or the BERT name transformers maps onto it
    /// (<paramref name="alias"/>, DistilBertConfig.attribute_map), or null. Where a file holds both with different values,
    /// transformers silently takes the alias (it is set after the own name); that is refused: the number of heads, unlike
    /// the other sizes, is not in the weights' shapes, so nothing later would notice which one the model was trained with.
    /// </summary>
    private static int? DistilBertSize(ConfigFields reader, string source, string own, string alias)
    {
        var ownValue = reader.Int(own);
        var aliasValue = reader.Int(alias);
        if (ownValue is not null && aliasValue is not null && ownValue != aliasValue)
        {
            throw new ModelLoadException(source, own,
                $"{source}: \"{own}\" is {ownValue} but \"{alias}\" is {aliasValue}; a DistilBERT reads both as one size (transformers takes \"{alias}\", " +
                $"its alias for \"{own}\"), so keep only the one the model was trained with.");
        }

        return ownValue ?? aliasValue;
    }

    /// <summary>
    /// DistilBERT's <c>activation</c>, or null for its default (gelu). transformers' DistilBertConfig has no
    /// <c>hidden_act</c> (nor an alias for it): a config holding only <c>hidden_act</c> runs GELU there whatever it says,
    /// so one naming another activation is refused rather than built with an activation Hugging Face never ran.
    /// </summary>
    private static string? DistilBertActivation(ConfigFields reader, string source)
    {
        var activation = reader.String("activation");
        var hiddenAct = reader.String("hidden_act");
        if (activation is null && hiddenAct is not null && hiddenAct != "gelu")
        {
            throw new ModelLoadException(source, "hidden_act",
                $"{source}: \"hidden_act\" is \"{hiddenAct}\", but a DistilBERT takes its activation from \"activation\" (Hugging Face ignores \"hidden_act\" " +
                "and runs \"gelu\", its default, under this config); set \"activation\" to the one the model was trained with and remove \"hidden_act\".");
        }

        return activation;
    }

    /// <summary>Checks the sizes, activation and labels; <paramref name="source"/> is the file name, or null for a config built in code.</summary>
    internal void Validate(string? source)
    {
        void Fail(string field, string problem)
        {
            if (source is null)
            {
                throw new ArgumentException($"TransformerConfig.{field}: {problem}");
            }

            throw new ModelLoadException(source, field, $"{source}: {problem}");
        }

        if (!SupportedModelTypes.Contains(ModelType))
        {
            Fail("model_type", $"model type '{ModelType}' is not supported; use one of {string.Join(", ", SupportedModelTypes)}.");
        }

        var distil = ModelType == "distilbert";
        foreach (var (field, value) in new[]
                 {
                     ("vocab_size", VocabSize), (distil ? "dim" : "hidden_size", HiddenSize),
                     (distil ? "n_layers" : "num_hidden_layers", NumHiddenLayers), (distil ? "n_heads" : "num_attention_heads", NumAttentionHeads),
                     (distil ? "hidden_dim" : "intermediate_size", IntermediateSize), ("max_position_embeddings", MaxPositionEmbeddings),
                     ("num_labels", NumLabels),
                 })
        {
            if (value < 1)
            {
                Fail(field, $"\"{field}\" is {value}; it must be at least 1.");
            }
        }

        if (!distil && TypeVocabSize < 1)
        {
            Fail("type_vocab_size", $"\"type_vocab_size\" is {TypeVocabSize}; it must be at least 1.");
        }

        if (HiddenSize % NumAttentionHeads != 0)
        {
            Fail(distil ? "n_heads" : "num_attention_heads",
                $"the hidden size {HiddenSize} is not a multiple of the number of attention heads {NumAttentionHeads}; check \"{(distil ? "dim" : "hidden_size")}\" and \"{(distil ? "n_heads" : "num_attention_heads")}\".");
        }

        if (!SupportedActivations.Contains(HiddenAct))
        {
            Fail(distil ? "activation" : "hidden_act",
                $"activation \"{HiddenAct}\" is not supported; use one of {string.Join(", ", SupportedActivations)} (\"gelu\" is the exact erf GELU, \"gelu_new\"/\"gelu_pytorch_tanh\" the tanh approximation).");
        }

        if (!(LayerNormEps > 0) || double.IsInfinity(LayerNormEps))
        {
            Fail("layer_norm_eps", $"\"layer_norm_eps\" is {LayerNormEps}; it must be a small positive number such as 1e-12.");
        }

        if (PadTokenId < 0 || PadTokenId >= VocabSize)
        {
            Fail("pad_token_id", $"\"pad_token_id\" is {PadTokenId}; it must be a token id in [0, {VocabSize}).");
        }

        if (MaxSequenceLength < 1)
        {
            Fail("max_position_embeddings",
                $"\"max_position_embeddings\" is {MaxPositionEmbeddings}, which leaves no position for tokens (RoBERTa positions start at pad_token_id + 1 = {PadTokenId + 1}).");
        }

        foreach (var (field, p) in new[]
                 {
                     (distil ? "dropout" : "hidden_dropout_prob", HiddenDropoutProb),
                     (distil ? "attention_dropout" : "attention_probs_dropout_prob", AttentionProbsDropoutProb),
                     (distil ? "seq_classif_dropout" : "classifier_dropout", ClassifierDropoutProb),
                 })
        {
            if (!(p >= 0 && p <= 1))
            {
                Fail(field, $"\"{field}\" is {p}; a dropout probability must be in [0, 1].");
            }
        }

        if (ProblemType is not (null or "single_label_classification" or "multi_label_classification" or "regression"))
        {
            Fail("problem_type", $"\"problem_type\" is \"{ProblemType}\"; use \"single_label_classification\", \"multi_label_classification\", \"regression\" or leave it out.");
        }

        if (OutputHeads.OutputCountProblem(ProblemType, NumLabels) is { } headProblem)
        {
            Fail("problem_type", headProblem);
        }

        if (id2label is not null)
        {
            if (id2label.Count != NumLabels || Enumerable.Range(0, NumLabels).Any(i => !id2label.ContainsKey(i)))
            {
                Fail("id2label", $"\"id2label\" must name every class 0..{NumLabels - 1} exactly once (num_labels = {NumLabels}); it has keys {string.Join(", ", id2label.Keys.Order())}.");
            }

            // config.json's id2label is checked as it is read; this is for a config built in code.
            foreach (var (id, name) in id2label.OrderBy(p => p.Key))
            {
                if (string.IsNullOrWhiteSpace(name))
                {
                    Fail("id2label", $"\"id2label\" leaves class {id} without a name (its name is {TextClassifier.BlankName(name)}); give every class a non-empty, non-blank name (Hugging Face's default is \"LABEL_{id}\").");
                }
            }
        }

        if (label2id is not null && ConfigFields.Label2IdProblem(label2id, NumLabels) is { } label2idProblem)
        {
            Fail("label2id", label2idProblem);
        }
    }
}
