namespace Attribution.Models;

/// <summary>
/// Adapts any function from texts to class probabilities into an <see cref="ITextPredictor"/>, checking what it
/// returns (one row per text, one finite probability per label) so a faulty function fails with a clear message.
/// </summary>
public sealed class BlackBoxClassifier : ITextPredictor
{
    private readonly Func<IReadOnlyList<string>, double[][]> predict;

    /// <summary>Wraps <paramref name="predict"/>, whose rows follow <paramref name="labels"/>.</summary>
    public BlackBoxClassifier(Func<IReadOnlyList<string>, double[][]> predict, IReadOnlyList<string> labels)
    {
        ArgumentNullException.ThrowIfNull(predict);
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.Count < 1)
        {
            throw new ArgumentException("a classifier needs at least one label", nameof(labels));
        }

        this.predict = predict;
        Labels = labels;
    }

    /// <inheritdoc />
    public IReadOnlyList<string> Labels { get; }

    /// <inheritdoc />
    public double[][] PredictProbabilities(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        return PredictorRows.Check(predict(texts), texts.Count, Labels.Count, "the prediction function");
    }
}
