namespace Attribution.Models;

/// <summary>
/// A token classifier with a <see cref="ITokenClassifier.PredictLogits"/> of its own that runs several model passes
/// (an ONNX session run per batch) and can check a token before each. <see cref="TokenBatches.PredictLogits"/> passes a
/// library call's token to it, and <see cref="PredictorCalls.Probabilities"/> (LIME, shortcut following) to its
/// <see cref="PredictProbabilities"/>, so a removal metric, a perturbation method, LIME or shortcut following on such a
/// model stops between its batches, not only before its one call.
/// Internal: the ONNX package, which references this library (never the other way), implements it through
/// InternalsVisibleTo.
/// </summary>
internal interface ICancellableTokenClassifier : ITokenClassifier
{
    /// <summary><see cref="ITokenClassifier.PredictLogits"/> with <paramref name="cancellation"/> checked before each model pass.</summary>
    /// <param name="sequences">Non-empty sequences of at most <see cref="ITokenClassifier.MaxLength"/> ids.</param>
    /// <param name="cancellation">Stops the call before its next model pass.</param>
    /// <exception cref="OperationCanceledException"><paramref name="cancellation"/> was cancelled.</exception>
    double[][] PredictLogits(IReadOnlyList<TokenSequence> sequences, CancellationToken cancellation);

    /// <summary>
    /// <see cref="ITextPredictor.PredictProbabilities"/> with <paramref name="cancellation"/> checked before each model pass
    /// (LIME's perturbed texts on such a model).
    /// </summary>
    /// <param name="texts">The texts to classify.</param>
    /// <param name="cancellation">Stops the call before its next model pass.</param>
    /// <exception cref="OperationCanceledException"><paramref name="cancellation"/> was cancelled.</exception>
    double[][] PredictProbabilities(IReadOnlyList<string> texts, CancellationToken cancellation);
}
