using Attribution.Engine;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Attribution.Models;

/// <summary>
/// The simplest neural text classifier: the mean of the word embeddings (<c>embeddings</c>) of the real tokens, a
/// hidden layer (<c>hidden</c>, <see cref="SmallClassifierConfig.HiddenSize"/> units) with ReLU (<c>activation</c>),
/// dropout and a linear output layer (<c>classifier</c>). Word order is invisible to it.
/// </summary>
public sealed class MeanMlpClassifier : SmallClassifier
{
    private readonly Embedding embeddings;
    private readonly Linear hidden;
    private readonly ReLU activation;
    private readonly Linear classifier;

    /// <summary>Creates the classifier with fresh weights (PyTorch's initialization, from <paramref name="generator"/>).</summary>
    public MeanMlpClassifier(SmallClassifierConfig config, Generator? generator = null)
        : base(nameof(MeanMlpClassifier), config, SmallClassifierConfig.MlpType)
    {
        embeddings = NewEmbedding(config);
        hidden = nn.Linear(config.EmbeddingDim, config.HiddenSize);
        activation = nn.ReLU();
        classifier = nn.Linear(config.HiddenSize, config.NumLabels);
        RegisterComponents();
        InitializeFrom(generator);
    }

    /// <inheritdoc />
    public override Tensor forward(ModelInput input)
    {
        var mask = CheckedMask(input, embeddings.weight!.dtype);
        var embedded = embeddings.call(input.InputIds);
        var sum = embedded.mul(mask.unsqueeze(-1)).sum(1);
        var mean = sum.div(mask.sum(1, keepdim: true));
        return classifier.call(Dropout(activation.call(hidden.call(mean))));
    }
}
