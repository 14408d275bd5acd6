namespace Attribution.Models;

/// <summary>
/// Adapts any function from texts to class probabilities into an <see cref="ITextPredictor"/>, checking what it
/// returns (one row per text, one finite probability in [0, 1] per label, each row summing to 1 within 0.02) so a
/// faulty function fails with a clear message. The rows are copied, so the function may reuse its arrays.
/// </summary>
public sealed class BlackBoxClassifier : ITextPredictor
{
    private readonly Func<IReadOnlyList<string>, double[][]> predict;

    /// <summary>Wraps <paramref name="predict"/>, whose rows follow <paramref name="labels"/>.</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">There are fewer than two labels (one label's probability is always 1), or one
    /// is null or empty. Names may repeat.</exception>
    public BlackBoxClassifier(Func<IReadOnlyList<string>, double[][]> predict, IReadOnlyList<string> labels)
    {
        ArgumentNullException.ThrowIfNull(predict);
        ArgumentNullException.ThrowIfNull(labels);

        // As for a model's labels: none, or a null or empty name, is refused; a repeated name is kept (classes are addressed
        // by index; a target named by a shared label is refused when it is resolved).
        TextClassifier.CheckLabels(labels, maxLength: null);
        if (labels.Count == 1)
        {
            // Rows sum to 1, so one label's row is always [1] and every explanation zero: the softmax over one output that
            // TextClassifier refuses for OutputHead.SingleLabel.
            throw new ArgumentException(
                $"a black box has one label ({labels[0]}), so each of its rows, summing to 1, is always [1] and nothing about it can be explained: " +
                "give two labels and return [1 - p, p] for a function of one probability p (or one BlackBoxClassifier per label of a multi-label model)",
                nameof(labels));
        }

        this.predict = predict;
        Labels = [.. labels];
    }

    /// <inheritdoc />
    public IReadOnlyList<string> Labels { get; }

    /// <inheritdoc />
    public double[][] PredictProbabilities(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (texts.Count == 0)
        {
            // Nothing to predict: the user's function (perhaps a web service, billed per call) is not asked about nothing.
            return [];
        }

        // Copied before anything reads them: a function that reuses its arrays from call to call (a pooled buffer) would
        // otherwise change rows already handed out, and a caller changing a row would change the function's buffer.
        var returned = predict(texts);
        var rows = PredictorRows.Check(returned?.Select(row => row?.ToArray()!).ToArray(), texts.Count, Labels.Count, "the prediction function");
        for (var i = 0; i < rows.Length; i++)
        {
            var sum = rows[i].Sum();
            if (!(Math.Abs(sum - 1) <= SumTolerance))
            {
                throw new InvalidOperationException(
                    $"the prediction function returned [{PredictorRows.Format(rows[i])}] for text {i}, which sum to {sum.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}: " +
                    $"class probabilities sum to 1 (within {SumTolerance.ToString(System.Globalization.CultureInfo.InvariantCulture)}). Normalize them (a softmax of the logits); " +
                    "for independent labels (a sigmoid each) wrap one BlackBoxClassifier per label that returns [1 - p, p]");
            }
        }

        return rows;
    }

    /// <summary>
    /// How far a row's sum may be from 1: a softmax in float32 is within about 1e-6, and probabilities rounded to two
    /// decimals within 0.005 per class (up to four classes within 0.02); unnormalized scores or a sigmoid per label are
    /// off by far more. The JSON format accepts the same (a black box's LIME result carries its probabilities).
    /// </summary>
    internal const double SumTolerance = 0.02;
}
