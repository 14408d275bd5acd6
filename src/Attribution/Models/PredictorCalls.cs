namespace Attribution.Models;

/// <summary>A predictor's probabilities with a library call's token passed on where the predictor takes one.</summary>
internal static class PredictorCalls
{
    /// <summary>
    /// <see cref="ITextPredictor.PredictProbabilities"/> of <paramref name="predictor"/>, with <paramref name="cancellation"/>
    /// checked before the call and, for a model that runs several passes per call and takes a token
    /// (<see cref="ICancellableTokenClassifier"/>: ONNX, one session run per batch; a <see cref="TextClassifier"/>, one
    /// forward pass per <see cref="TextClassifier.BatchSize"/> texts), before each of its passes. Any other predictor is
    /// called as it is: its answer is the same either way.
    /// </summary>
    public static double[][] Probabilities(ITextPredictor predictor, IReadOnlyList<string> texts, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(predictor);
        cancellation.ThrowIfCancellationRequested();
        return predictor switch
        {
            ICancellableTokenClassifier cancellable => cancellable.PredictProbabilities(texts, cancellation),

            // What its PredictProbabilities runs (Predict, texts not truncated), with the token checked before each batch.
            TextClassifier classifier => classifier.Predict(texts, truncate: false, cancellation).Select(p => p.Probabilities).ToArray(),
            _ => predictor.PredictProbabilities(texts),
        };
    }
}
