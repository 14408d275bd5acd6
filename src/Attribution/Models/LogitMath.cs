namespace Attribution.Models;

/// <summary>
/// Softmax, log-softmax and the predicted class of a row of logits, in float64: written once for every place that
/// turns a model's logits into probabilities outside a tensor (ONNX models, perturbation methods, metrics, the CLI).
/// </summary>
internal static class LogitMath
{
    /// <summary>Softmax, shifted by the maximum so no exponential overflows.</summary>
    public static double[] Softmax(IReadOnlyList<double> logits)
    {
        var max = logits.Max();
        var exp = logits.Select(v => Math.Exp(v - max)).ToArray();
        var sum = exp.Sum();
        return exp.Select(v => v / sum).ToArray();
    }

    /// <summary>log p_t = l_t − max − log Σ exp(l − max): exact for probabilities far below double's smallest normal.</summary>
    public static double LogSoftmax(IReadOnlyList<double> logits, int target)
    {
        var max = logits.Max();
        return logits[target] - max - Math.Log(logits.Sum(v => Math.Exp(v - max)));
    }

    /// <summary>The index of the largest value (the first, on a tie).</summary>
    public static int ArgMax(IReadOnlyList<double> values)
    {
        var best = 0;
        for (var i = 1; i < values.Count; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }

        return best;
    }

    /// <summary>
    /// Whether every row looks like a softmax's output rather than logits: two or more values, each in (0, 1], summing to
    /// 1 within <paramref name="sumTolerance"/> (default 1e-5: a float32 softmax of a hundred classes sums to 1 within about
    /// 6e-6). Logits land there by chance about once in ten million rows, and every row of a batch must; integer logits
    /// of a hand-built model (0 and 1) do not.
    /// </summary>
    /// <param name="rows">The rows, as the model returned them.</param>
    /// <param name="sumTolerance">How far from 1 a row's sum may be: <see cref="HalfSumTolerance"/> or
    /// <see cref="BFloat16SumTolerance"/> for rows the model returned in those types.</param>
    public static bool LookLikeProbabilities(IReadOnlyList<double[]> rows, double sumTolerance = 1e-5) =>
        rows.Count > 0 && rows.All(row => row.Length >= 2 && row.All(v => v is > 0 and <= 1) && Math.Abs(row.Sum() - 1) <= sumTolerance);

    /// <summary>
    /// A float16 softmax's distance from 1: each probability is rounded to within 2^-11 of itself (relative), so their sum,
    /// 1, to within 2^-11 ≈ 4.9e-4 whatever the number of classes; 1e-3 leaves room for the rounding inside the softmax.
    /// </summary>
    public const double HalfSumTolerance = 1e-3;

    /// <summary>The same for bfloat16, whose 8-bit significand rounds to within 2^-8 ≈ 3.9e-3.</summary>
    public const double BFloat16SumTolerance = 8e-3;

    /// <summary>The prediction for a text from its logits.</summary>
    public static Prediction Predict(string text, double[] logits, IReadOnlyList<string> labels, OutputHead head = OutputHead.SingleLabel)
    {
        var label = head == OutputHead.Regression ? 0 : ArgMax(logits);
        return new Prediction(text, logits, head.Probabilities(logits), label, labels[label]) { Head = head, Labels = head.PredictedLabels(logits) };
    }
}
