using Attribution.Engine;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Attribution.Models;

/// <summary>
/// A Kim (2014) style convolutional text classifier: word embeddings (<c>embeddings</c>), one 1-D convolution per
/// width in <see cref="SmallClassifierConfig.KernelSizes"/> (<c>convs.0</c>, <c>convs.1</c>, …, each
/// <see cref="SmallClassifierConfig.NumFilters"/> maps, zero-padded by width − 1 so a one-token text has windows), ReLU
/// (<c>activation</c>), max-pooling over time, concatenation, dropout and a linear layer
/// (<c>classifier</c>).
/// </summary>
/// <remarks>
/// Padding is exactly invisible: padded positions are zeroed before the convolutions (so they act as the
/// convolution's own zero padding), and windows holding no real token are set to −10⁴ before the max, so they never
/// win. A finite value rather than −∞ keeps gradient-times-input and LRP free of NaN.
/// </remarks>
public sealed class CnnClassifier : SmallClassifier
{
    /// <summary>The value windows without a real token take before max-pooling.</summary>
    public const double MaskedValue = -1e4;

    private readonly Embedding embeddings;
    private readonly ModuleList<WindowConv1d> convs;
    private readonly ReLU activation;
    private readonly Linear classifier;

    // Softplus's β and the log-sum-exp pooling's β of a smoothed copy (see Smoothed); null for ReLU and max-pooling.
    private readonly double? smoothness;

    /// <summary>Creates the classifier with fresh weights (PyTorch's initialization, from <paramref name="generator"/>).</summary>
    public CnnClassifier(SmallClassifierConfig config, Generator? generator = null)
        : base(nameof(CnnClassifier), config, SmallClassifierConfig.CnnType)
    {
        embeddings = NewEmbedding(config);
        convs = new ModuleList<WindowConv1d>(config.KernelSizes.Select(k =>
            new WindowConv1d(config.EmbeddingDim, config.NumFilters, k, padding: k - 1)).ToArray());
        activation = nn.ReLU();
        classifier = nn.Linear((long)config.NumFilters * config.KernelSizes.Count, config.NumLabels);
        RegisterComponents();
        InitializeFrom(generator);
    }

    private CnnClassifier(SmallClassifierConfig config, double smoothness)
        : this(config)
    {
        this.smoothness = smoothness;
    }

    /// <summary>The β of the smooth copy (Softplus and log-sum-exp pooling), or null for the model as trained.</summary>
    public double? Smoothness => smoothness;

    /// <summary>
    /// A copy with the same weights in which ReLU is Softplus with <paramref name="beta"/> (log(1 + e^{βx})/β) and
    /// max-pooling over time is log-sum-exp pooling (log Σ e^{βx}/β): the smooth surrogate the seed paper explains
    /// (Kokhlikyan et al., Figure 2). Both tend to the original as β grows. This model is not changed.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="beta"/> is not positive and finite.</exception>
    public CnnClassifier Smoothed(double beta)
    {
        if (!(beta > 0) || !double.IsFinite(beta))
        {
            throw new ArgumentOutOfRangeException(nameof(beta), beta, "the smoothness β must be positive and finite (larger is closer to ReLU and max)");
        }

        var copy = new CnnClassifier(Config, beta);
        using (no_grad())
        {
            copy.load_state_dict(state_dict(), strict: true);
        }

        copy.train(training);
        return copy;
    }

    /// <inheritdoc />
    public override Tensor forward(ModelInput input)
    {
        var mask = CheckedMask(input, embeddings.weight!.dtype);
        var embedded = embeddings.call(input.InputIds);

        // (batch, length, dim) → (batch, dim, length), padding zeroed.
        var x = embedded.mul(mask.unsqueeze(-1)).transpose(1, 2);
        var maskRow = mask.unsqueeze(1);
        var pooled = new List<Tensor>(convs.Count);
        foreach (var conv in convs)
        {
            var k = conv.KernelSize;
            var maps = smoothness is { } beta ? conv.call(x).Softplus(beta) : activation.call(conv.call(x));

            // A window is real when it covers at least one real token: dilate the mask by the kernel width.
            var padded = k > 1 ? cat([zeros([mask.size(0), 1, k - 1], mask.dtype, mask.device), maskRow, zeros([mask.size(0), 1, k - 1], mask.dtype, mask.device)], 2) : maskRow;
            var real = nn.functional.max_pool1d(padded, k, 1);
            var masked = maps.MaskedFill(real.EqualTo(0), MaskedValue);
            pooled.Add(smoothness is { } b ? masked.Times(b).logsumexp(2).DividedBy(b) : masked.max(2).values);
        }

        var features = pooled.Count == 1 ? pooled[0] : cat(pooled, 1);
        return classifier.call(Dropout(features));
    }
}
