namespace Attribution.Models;

/// <summary>A predictor's probabilities with a library call's token passed on where the predictor takes one.</summary>
internal static class PredictorCalls
{
    /// <summary>
    /// <see cref="ITextPredictor.PredictProbabilities"/> of <paramref name="predictor"/>, with <paramref name="cancellation"/>
    /// checked before the call and, for a model that runs several passes per call and takes a token
    /// (<see cref="ICancellableTokenClassifier"/>: ONNX, one session run per batch), before each of its passes. Any other
    /// predictor is called as it is: its answer is the same either way.
    /// </summary>
    public static double[][] Probabilities(ITextPredictor predictor, IReadOnlyList<string> texts, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(predictor);
        cancellation.ThrowIfCancellationRequested();
        return predictor is ICancellableTokenClassifier cancellable
            ? cancellable.PredictProbabilities(texts, cancellation)
            : predictor.PredictProbabilities(texts);
    }
}
