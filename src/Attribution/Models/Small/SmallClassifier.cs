using Attribution.Engine;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Attribution.Models;

/// <summary>
/// Base of the library's small text classifiers: a word-embedding table at <see cref="WordEmbeddingPath"/>
/// (<c>embeddings</c>, the layer attributors hook), an encoder that honours the attention mask (padding never changes
/// a text's logits), and a linear output layer (<c>classifier</c>). Input is <see cref="ModelInput"/> (ids and mask,
/// [batch, length]; token types are ignored), output the logits [batch, labels]. Build one with <see cref="Create"/>,
/// train it with <c>Attribution.Training.Trainer</c>, save it with <c>Trainer.SaveFolder</c>, load it with
/// <see cref="SmallClassifierLoader"/> or <see cref="ClassifierLoader"/>.
/// </summary>
/// <remarks>
/// Every small classifier is an <see cref="ICompositeModule"/> (LRP treats it as a container): its own code only masks with
/// constants, transposes, concatenates, takes masked means and maxima over time (winner takes all) and applies dropout
/// (off in evaluation mode), so its layers' rules decide. The CNN and the MLP are then fully covered (Embedding,
/// Conv1d, ReLU, Linear); the LSTM classifier is refused by LRP because of its LSTM layer.
/// </remarks>
public abstract class SmallClassifier : nn.Module<ModelInput, Tensor>, ICompositeModule
{
    /// <summary>The dotted path of the word-embedding module in every small classifier.</summary>
    public const string EmbeddingsPath = "embeddings";

    private protected SmallClassifier(string name, SmallClassifierConfig config, string modelType)
        : base(name)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate(null);
        if (config.ModelType != modelType)
        {
            throw new ArgumentException($"{name} needs a configuration with model_type \"{modelType}\", not \"{config.ModelType}\"", nameof(config));
        }

        Config = config;
    }

    /// <summary>The architecture.</summary>
    public SmallClassifierConfig Config { get; }

    /// <summary>Dotted path of the word-embedding module (<c>embeddings</c>): what embedding-space attributions hook.</summary>
    public string WordEmbeddingPath => EmbeddingsPath;

    /// <summary>
    /// A classifier of the configuration's <c>model_type</c> with fresh weights, initialized as PyTorch initializes
    /// its layers, from <paramref name="generator"/> (the global generator when null). It starts in training mode.
    /// </summary>
    public static SmallClassifier Create(SmallClassifierConfig config, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.ModelType switch
        {
            SmallClassifierConfig.LstmType => new LstmClassifier(config, generator),
            SmallClassifierConfig.CnnType => new CnnClassifier(config, generator),
            SmallClassifierConfig.MlpType => new MeanMlpClassifier(config, generator),
            _ => throw new ArgumentException($"model type '{config.ModelType}' is not a small classifier; use one of {string.Join(", ", SmallClassifierConfig.SupportedModelTypes)}", nameof(config)),
        };
    }

    /// <summary>
    /// The state-dict names of the classifier <paramref name="config"/> describes, without building it (a loader checks
    /// a checkpoint's names before it allocates what the config's sizes ask for). A test keeps them equal to the built
    /// models' names.
    /// </summary>
    internal static IReadOnlyList<string> ParameterNames(SmallClassifierConfig config)
    {
        var names = new List<string> { $"{EmbeddingsPath}.weight" };
        switch (config.ModelType)
        {
            case SmallClassifierConfig.LstmType:
                foreach (var suffix in new[] { string.Empty, "_reverse" })
                {
                    names.AddRange(new[] { "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0" }.Select(n => $"lstm.{n}{suffix}"));
                }

                break;
            case SmallClassifierConfig.CnnType:
                for (var i = 0; i < config.KernelSizes.Count; i++)
                {
                    names.AddRange([$"convs.{i}.weight", $"convs.{i}.bias"]);
                }

                break;
            case SmallClassifierConfig.MlpType:
                names.AddRange(["hidden.weight", "hidden.bias"]);
                break;
            default:
                throw new ArgumentException($"model type '{config.ModelType}' is not a small classifier; use one of {string.Join(", ", SmallClassifierConfig.SupportedModelTypes)}", nameof(config));
        }

        names.AddRange(["classifier.weight", "classifier.bias"]);
        return names;
    }

    /// <summary>
    /// The random stream dropout draws from in training mode, or null for libtorch's global generator.
    /// <c>Trainer.Fit</c> sets it to its own seeded stream while it trains, so training is reproducible even when
    /// other threads use the global generator.
    /// </summary>
    public Generator? DropoutGenerator { get; set; }

    /// <summary>Dropout with the configured probability in training mode (from <see cref="DropoutGenerator"/>); the identity in evaluation mode.</summary>
    private protected Tensor Dropout(Tensor input) =>
        training && Config.Dropout > 0 ? SeededDropout(input) : input;

    // Inverted dropout as PyTorch computes it (keep with probability 1 − p, scale by 1/(1 − p)), drawn from
    // DropoutGenerator: TorchSharp's dropout takes no generator.
    private Tensor SeededDropout(Tensor input)
    {
        using var draws = rand(input.shape, input.dtype, input.device, generator: DropoutGenerator);
        using var dropout = Config.Dropout.ToScalar();
        using var keep = draws.ge(dropout);
        using var kept = input.mul(keep);
        return kept.DividedBy(1.0 - Config.Dropout);
    }

    /// <summary>
    /// Re-initializes every layer as PyTorch does, drawing from <paramref name="generator"/>; with null, keeps the
    /// initialization TorchSharp's layer factories drew from the global generator. Call after RegisterComponents.
    /// </summary>
    private protected void InitializeFrom(Generator? generator)
    {
        if (generator is not null)
        {
            ParameterInit.Reset(this, generator, Config.PadTokenId);
        }
    }

    /// <summary>A word-embedding table of the configuration's size, with a zero, gradient-free padding row.</summary>
    private protected static Embedding NewEmbedding(SmallClassifierConfig config) =>
        nn.Embedding(config.VocabSize, config.EmbeddingDim, padding_idx: config.PadTokenId);

    /// <summary>
    /// Checks the input (int64 ids [batch, length] within the vocabulary; a mask of the same shape; at least one real
    /// token per row) and returns the mask as 0/1 in <paramref name="dtype"/> (all ones when absent).
    /// </summary>
    private protected Tensor CheckedMask(ModelInput input, ScalarType dtype)
    {
        ArgumentNullException.ThrowIfNull(input);
        var ids = input.InputIds ?? throw new ArgumentException($"{GetName()}: the input has no token ids", nameof(input));
        if (ids.dim() != 2 || ids.dtype != ScalarType.Int64 || ids.size(1) < 1)
        {
            throw new ArgumentException(
                $"{GetName()} expects int64 token ids [batch, length] with length ≥ 1, got {ids.dtype} [{string.Join(", ", ids.shape)}]", nameof(input));
        }

        if (ids.numel() > 0)
        {
            using var scope = NewDisposeScope();
            var low = ids.min().ItemAsInt64();
            var high = ids.max().ItemAsInt64();
            if (low < 0 || high >= Config.VocabSize)
            {
                throw new ArgumentException(
                    $"{GetName()}: token id {(low < 0 ? low : high)} is outside the vocabulary [0, {Config.VocabSize}); the tokenizer does not belong to this model",
                    nameof(input));
            }
        }

        if (input.AttentionMask is not { } mask)
        {
            return ones(ids.shape, dtype, ids.device);
        }

        if (!mask.shape.SequenceEqual(ids.shape))
        {
            throw new ArgumentException(
                $"{GetName()}: the attention mask is [{string.Join(", ", mask.shape)}] but the ids are [{string.Join(", ", ids.shape)}]", nameof(input));
        }

        using (var scope = NewDisposeScope())
        {
            var empty = mask.NotEqualTo(0).sum(1).min().ItemAsInt64();
            if (empty == 0)
            {
                throw new ArgumentException($"{GetName()}: a row of the attention mask has no real token (all zeros); there is nothing to classify", nameof(input));
            }
        }

        using var nonzero = mask.NotEqualTo(0);
        return nonzero.to(dtype);
    }
}
