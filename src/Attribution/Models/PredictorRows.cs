using System.Globalization;

namespace Attribution.Models;

/// <summary>
/// The one check of what a predictor of probabilities returned (<see cref="ITextPredictor.PredictProbabilities"/>, a
/// <see cref="BlackBoxClassifier"/>'s function): a fault of the predictor fails with a message that says so, never as
/// a wrong result or an index error further on.
/// </summary>
internal static class PredictorRows
{
    /// <summary>
    /// <paramref name="rows"/> when they hold one row per text and one finite probability in [0, 1] per label; otherwise an
    /// <see cref="InvalidOperationException"/> (a <see cref="NonFiniteValueException"/> for NaN or ±∞) that names
    /// <paramref name="who"/> and the text.
    /// </summary>
    /// <param name="rows">What the predictor returned.</param>
    /// <param name="texts">How many texts it was given.</param>
    /// <param name="labels">How many labels it has.</param>
    /// <param name="who">The predictor, for the message ("the predictor", "the prediction function").</param>
    public static double[][] Check(double[][]? rows, int texts, int labels, string who)
    {
        if (rows is null)
        {
            throw new InvalidOperationException($"{who} returned null instead of probabilities");
        }

        if (rows.Length != texts)
        {
            throw new InvalidOperationException($"{who} returned {rows.Length} rows for {texts} texts; it must return one row per text");
        }

        for (var i = 0; i < rows.Length; i++)
        {
            if (rows[i] is null || rows[i].Length != labels)
            {
                throw new InvalidOperationException(
                    $"{who} returned {(rows[i] is null ? "null" : $"{rows[i].Length} values")} for text {i}; it must return one probability per label ({labels})");
            }

            if (rows[i].Any(v => !double.IsFinite(v)))
            {
                throw new NonFiniteValueException(NonFiniteSource.ModelOutput,
                    $"{who} returned [{Format(rows[i])}] for text {i}: probabilities must be finite (NaN or infinite weights in the model behind it?)");
            }

            if (rows[i].Any(v => v < 0 || v > 1))
            {
                throw new InvalidOperationException(
                    $"{who} returned [{Format(rows[i])}] for text {i}: probabilities must be finite and in [0, 1] (NaN or a logit?)");
            }
        }

        return rows;
    }

    /// <summary>A row as the message shows it, culture-independent.</summary>
    public static string Format(double[] row) => string.Join(", ", row.Select(v => v.ToString(CultureInfo.InvariantCulture)));
}
