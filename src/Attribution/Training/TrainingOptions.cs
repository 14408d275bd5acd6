namespace Attribution.Training;

/// <summary>How <see cref="Trainer"/> fits a model: optimizer settings, batching, randomness and early stopping.</summary>
public sealed record TrainingOptions
{
    /// <summary>The most passes over the training data.</summary>
    public int MaxEpochs { get; init; } = 10;

    /// <summary>Examples per optimizer step.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>AdamW learning rate.</summary>
    public double LearningRate { get; init; } = 2e-3;

    /// <summary>AdamW decoupled weight decay λ: non-negative, with <see cref="LearningRate"/> · λ below 1 (see <see cref="AdamW"/>).</summary>
    public double WeightDecay { get; init; } = 1e-2;

    /// <summary>AdamW β₁.</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>AdamW β₂.</summary>
    public double Beta2 { get; init; } = 0.999;

    /// <summary>AdamW ε (positive).</summary>
    public double Epsilon { get; init; } = 1e-8;

    /// <summary>When set, gradients are rescaled so their global L2 norm is at most this before each step.</summary>
    public double? MaxGradNorm { get; init; } = 5.0;

    /// <summary>
    /// Epochs without a better development score before training stops (early stopping; needs development data).
    /// The score is development accuracy, ties broken by lower development loss.
    /// </summary>
    public int Patience { get; init; } = 2;

    /// <summary>Whether the weights of the best development epoch are put back at the end.</summary>
    public bool RestoreBestWeights { get; init; } = true;

    /// <summary>
    /// Seeds the stream (a <see cref="TorchSharp.torch.Generator"/>) that shuffles, applies word dropout and, for a
    /// <see cref="Models.SmallClassifier"/>, drives its dropout. <see cref="Trainer.Fit"/> also seeds libtorch's global
    /// generator with it, which the dropout layers of other models draw from.
    /// </summary>
    /// <remarks>
    /// The same seed, data, model initialization and libtorch thread count (<c>torch.get_num_threads</c>) give
    /// bit-identical weights, figures and predictions on the CPU. Another thread count may not: libtorch then splits
    /// some sums differently, so float32 results can differ in the last bits (measured on the small classifiers, one
    /// thread against two: the mean-of-embeddings MLP's weights differed by up to 6e-8 after two epochs, the CNN's and
    /// LSTM's did not), and such differences can grow over many epochs. Set the thread count too where runs must match.
    /// </remarks>
    public ulong Seed { get; init; }

    /// <summary>
    /// Probability of replacing each ordinary token of a training input by the unknown token, so the model learns
    /// what to make of words it has never seen (0 turns it off).
    /// </summary>
    public double WordDropout { get; init; }

    /// <summary>Group examples of similar length into batches (less padding; the batch order is still shuffled).</summary>
    public bool BucketByLength { get; init; } = true;

    /// <summary>
    /// Inputs longer than this many tokens are truncated for training and evaluation (null: never; a longer input than a
    /// small classifier's <c>max_length</c> is then refused).
    /// </summary>
    public int? MaxLength { get; init; }

    /// <summary>
    /// When set (positive), no new epoch starts once this much time has passed; the first epoch always runs, so the
    /// model is never returned untrained.
    /// </summary>
    public TimeSpan? TimeLimit { get; init; }

    /// <summary>Called after every epoch with its figures (for progress output).</summary>
    public Action<EpochResult>? OnEpochEnd { get; init; }

    internal void Validate()
    {
        if (MaxEpochs < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxEpochs), MaxEpochs, "at least one epoch");
        }

        if (BatchSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "at least one example per batch");
        }

        if (Patience < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(Patience), Patience, "patience must be at least one epoch");
        }

        if (!(WordDropout >= 0 && WordDropout < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(WordDropout), WordDropout, "a probability in [0, 1)");
        }

        if (MaxGradNorm is { } g && !(g > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(MaxGradNorm), g, "the gradient norm bound must be positive");
        }

        // Checked here, under the options' own names, rather than only when Fit builds the optimizer ("lr").
        AdamW.CheckHyperparameters(LearningRate, Beta1, Beta2, Epsilon, WeightDecay,
            nameof(LearningRate), nameof(Beta1), nameof(Beta2), nameof(Epsilon), nameof(WeightDecay));

        if (TimeLimit is { } limit && limit <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(TimeLimit), limit, "the time limit must be positive (leave it null for none)");
        }

        if (MaxLength is < 3)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxLength), MaxLength, "at least 3 tokens (two of them special)");
        }
    }
}

/// <summary>The figures of one training epoch.</summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="TrainLoss">Mean cross-entropy over the epoch's training batches (dropout active).</param>
/// <param name="TrainAccuracy">Fraction of training examples classified correctly during the epoch.</param>
/// <param name="DevLoss">Mean cross-entropy on the development data after the epoch, or null without development data.</param>
/// <param name="DevAccuracy">Development accuracy after the epoch, or null without development data.</param>
/// <param name="Elapsed">Time since training started.</param>
public sealed record EpochResult(int Epoch, double TrainLoss, double TrainAccuracy, double? DevLoss, double? DevAccuracy, TimeSpan Elapsed)
{
    /// <summary>
    /// The progress line the training commands print after this epoch, numbers written with the invariant culture (the
    /// user's culture wrote "0,123" and "85,1 %" among the CLI's dot-decimal output); without development data no dev
    /// accuracy (it read "dev accuracy  (…)").
    /// </summary>
    /// <param name="who">What trains (e.g. "default model"), the line's prefix.</param>
    internal string ProgressLine(string who) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{who}: epoch {Epoch}, train loss {TrainLoss:F3}{(DevAccuracy is { } dev ? ", dev accuracy " + dev.ToString("P1", System.Globalization.CultureInfo.InvariantCulture) : string.Empty)} ({Elapsed.TotalSeconds:F1} s)");
}

/// <summary>What <see cref="Trainer.Fit"/> did.</summary>
/// <param name="Epochs">Every epoch's figures, in order.</param>
/// <param name="BestEpoch">The epoch of the best development score (the last epoch without development data). The model
/// holds its weights at the end when <see cref="TrainingOptions.RestoreBestWeights"/> is set (the default); without it,
/// the model holds the last epoch's weights, which may be another epoch's.</param>
/// <param name="StoppedEarly">True when patience ran out (or the time limit was reached) before the last epoch.</param>
/// <param name="Elapsed">Total training time.</param>
public sealed record TrainingHistory(IReadOnlyList<EpochResult> Epochs, int BestEpoch, bool StoppedEarly, TimeSpan Elapsed)
{
    /// <summary>Development accuracy of <see cref="BestEpoch"/>, or null without development data.</summary>
    public double? BestDevAccuracy => Epochs.FirstOrDefault(e => e.Epoch == BestEpoch)?.DevAccuracy;
}

/// <summary>A model's figures on a data set.</summary>
/// <param name="Loss">Mean cross-entropy.</param>
/// <param name="Accuracy">Fraction classified correctly.</param>
/// <param name="Count">Number of examples.</param>
public sealed record Evaluation(double Loss, double Accuracy, int Count);
