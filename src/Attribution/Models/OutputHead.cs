namespace Attribution.Models;

/// <summary>
/// What a classifier's outputs mean (Hugging Face's <c>problem_type</c>): which output is scored, what "probability"
/// means and what "the predicted class" is.
/// </summary>
public enum OutputHead
{
    /// <summary>One label per text: softmax over the logits; the prediction is the argmax (<c>single_label_classification</c>).</summary>
    SingleLabel,

    /// <summary>Independent labels: a sigmoid per logit; every label above 0.5 is predicted (<c>multi_label_classification</c>).</summary>
    MultiLabel,

    /// <summary>One real-valued output (a score, a rating): no probability and no predicted class (<c>regression</c>).</summary>
    Regression,
}

/// <summary>Names and the arithmetic of <see cref="OutputHead"/>.</summary>
public static class OutputHeads
{
    /// <summary>Hugging Face's name: single_label_classification, multi_label_classification, regression.</summary>
    public static string Name(this OutputHead head) => head switch
    {
        OutputHead.SingleLabel => "single_label_classification",
        OutputHead.MultiLabel => "multi_label_classification",
        OutputHead.Regression => "regression",
        _ => throw new ArgumentOutOfRangeException(nameof(head), head, null),
    };

    /// <summary>
    /// The head of a config: its <c>problem_type</c>, or when that is absent Hugging Face's rule for
    /// <c>BertForSequenceClassification</c> (one output: regression; otherwise single-label).
    /// </summary>
    /// <param name="problemType">config.json's <c>problem_type</c>, or null.</param>
    /// <param name="outputs">The number of outputs (<c>num_labels</c>).</param>
    public static OutputHead FromProblemType(string? problemType, int outputs) => problemType switch
    {
        "single_label_classification" => OutputHead.SingleLabel,
        "multi_label_classification" => OutputHead.MultiLabel,
        "regression" => OutputHead.Regression,
        null => outputs == 1 ? OutputHead.Regression : OutputHead.SingleLabel,
        _ => throw new ArgumentException(
            $"problem_type \"{problemType}\" is unknown: use single_label_classification, multi_label_classification or regression", nameof(problemType)),
    };

    /// <summary>
    /// Why a config's <c>problem_type</c> cannot go with its number of outputs, or null when it can: single-label
    /// classification with one output is a softmax over one logit, 1 for every text, so every explanation of its
    /// probability would be zero. Both config readers (safetensors and ONNX) refuse it with this text.
    /// </summary>
    internal static string? OutputCountProblem(string? problemType, int outputs) =>
        problemType == "single_label_classification" && outputs == 1
            ? "\"problem_type\" is \"single_label_classification\" but \"num_labels\" is 1 (one output): a softmax over one logit is 1 for every text, " +
              "so every explanation of its probability would be zero. For a model with one real-valued output set \"problem_type\": \"regression\" " +
              "(or \"multi_label_classification\" to read the output as one sigmoid label, as Hugging Face's text-classification pipeline does); " +
              "a single-label classifier needs at least two labels (\"num_labels\": 2, or two id2label entries, with a head of two outputs)."
            : null;

    /// <summary>The probability of each label: softmax (single-label), a sigmoid per logit (multi-label); empty for regression.</summary>
    public static double[] Probabilities(this OutputHead head, IReadOnlyList<double> logits)
    {
        ArgumentNullException.ThrowIfNull(logits);
        return head switch
        {
            OutputHead.SingleLabel => LogitMath.Softmax(logits),
            OutputHead.MultiLabel => logits.Select(Sigmoid).ToArray(),
            OutputHead.Regression => [],
            _ => throw new ArgumentOutOfRangeException(nameof(head), head, null),
        };
    }

    /// <summary>
    /// The labels a model predicts: the argmax (single-label); every label whose sigmoid exceeds 0.5, or the top one if
    /// none does (multi-label); output 0 (regression, whose "label" is the score itself).
    /// </summary>
    public static int[] PredictedLabels(this OutputHead head, IReadOnlyList<double> logits)
    {
        ArgumentNullException.ThrowIfNull(logits);
        if (head == OutputHead.MultiLabel)
        {
            var above = Enumerable.Range(0, logits.Count).Where(i => logits[i] > 0).ToArray();
            return above.Length > 0 ? above : [LogitMath.ArgMax(logits)];
        }

        return head == OutputHead.Regression ? [0] : [LogitMath.ArgMax(logits)];
    }

    /// <summary>σ(x) = 1 / (1 + e^−x), computed without overflow for either sign.</summary>
    public static double Sigmoid(double x) => x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x));
}
