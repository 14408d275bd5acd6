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
        var rows = predict(texts) ?? throw new InvalidOperationException("the prediction function returned null");
        if (rows.Length != texts.Count)
        {
            throw new InvalidOperationException($"the prediction function returned {rows.Length} rows for {texts.Count} texts; it must return one row per text");
        }

        for (var i = 0; i < rows.Length; i++)
        {
            if (rows[i] is null || rows[i].Length != Labels.Count)
            {
                throw new InvalidOperationException($"the prediction function returned {rows[i]?.Length ?? 0} values for text {i}; it must return one probability per label ({Labels.Count})");
            }

            if (rows[i].Any(v => !double.IsFinite(v) || v < 0 || v > 1))
            {
                throw new InvalidOperationException($"the prediction function returned [{string.Join(", ", rows[i])}] for text {i}: probabilities must be finite and in [0, 1] (NaN or a logit?)");
            }
        }

        return rows;
    }
}
