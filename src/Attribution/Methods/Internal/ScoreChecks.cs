using Attribution.Models;

namespace Attribution.Methods.Internal;

/// <summary>Which scored outputs a head has: a regression output has no probability.</summary>
internal static class ScoreChecks
{
    /// <summary>Refuses <see cref="ScoreOutput.Probability"/> and <see cref="ScoreOutput.LogProbability"/> for a regression head.</summary>
    public static void Check(OutputHead head, ScoreOutput score)
    {
        if (head == OutputHead.Regression && score != ScoreOutput.Logit)
        {
            throw new ArgumentException(
                $"the model is a regression model (one real-valued output), which has no {score.Name()}: explain its output with ScoreOutput.Logit (--score logit)",
                "options");
        }
    }

    /// <summary>
    /// Refuses explaining a probability of a single-label (softmax) model with one output: a softmax over one logit is
    /// 1 for every input, so every explanation of it would be zero without a word. The library's own classifiers refuse
    /// this head when they are built or loaded; a user's <see cref="ITokenClassifier"/> that does not override
    /// <see cref="ITokenClassifier.Head"/>, or a one-label <see cref="ITextPredictor"/> (whose probabilities sum to 1),
    /// reaches the methods with it.
    /// </summary>
    /// <param name="model">The model or predictor.</param>
    /// <param name="score">The explained output; a logit is explained as it is.</param>
    public static void CheckOneOutputSoftmax(ITextPredictor model, ScoreOutput score)
    {
        var head = model is ITokenClassifier classifier ? classifier.Head : OutputHead.SingleLabel;
        if (head == OutputHead.SingleLabel && model.Labels.Count == 1 && score != ScoreOutput.Logit)
        {
            var name = model is ITokenClassifier named ? named.Name : "the predictor";
            var fix = model is ITokenClassifier
                ? $"override {nameof(ITokenClassifier)}.{nameof(ITokenClassifier.Head)} to return {nameof(OutputHead)}.{OutputHead.Regression} for one real-valued output " +
                  $"or {nameof(OutputHead)}.{OutputHead.MultiLabel} for one sigmoid label, explain the logit (ScoreOutput.Logit, --score logit), or give the model two labels"
                : "return two columns, [1 − p, p], for a yes/no probability p";
            throw new ArgumentException(
                $"{name} has one label (\"{model.Labels[0]}\") and a single-label (softmax) head: its {score.Name()} is {(score == ScoreOutput.Probability ? "1" : "0")} " +
                $"for every input, so every explanation of it would be zero. {char.ToUpperInvariant(fix[0])}{fix[1..]}",
                nameof(model));
        }
    }

    /// <summary>
    /// Refuses the predicted class as the target of a regression model of several outputs: it predicts no class, and
    /// explaining output 0 would be a choice made without a word (one output is its own prediction).
    /// </summary>
    public static void CheckTarget(ITokenClassifier model, Target target)
    {
        if (model.Head == OutputHead.Regression && model.Labels.Count > 1 && target.IsPredicted)
        {
            throw new ArgumentException(
                $"{model.Name} is a regression model of {model.Labels.Count} outputs ({string.Join(", ", model.Labels)}), which predicts no class: " +
                "name the output to explain (Target.Class(i) or Target.Named(label); --target)",
                "options");
        }
    }

    /// <summary>
    /// The head's probability, or for a regression head, which has none, the output itself (a softmax over one output
    /// would be 1 for every input): what LIME fits and the removal metrics compare.
    /// </summary>
    public static ScoreOutput ProbabilityOrOutput(OutputHead head) => head == OutputHead.Regression ? ScoreOutput.Logit : ScoreOutput.Probability;

    /// <summary>The scored output of one label from a row of logits (float64), as the head defines it.</summary>
    public static double Value(OutputHead head, ScoreOutput score, IReadOnlyList<double> logits, int target)
    {
        Check(head, score);
        return (score, head) switch
        {
            (ScoreOutput.Logit, _) => logits[target],
            (ScoreOutput.Probability, OutputHead.MultiLabel) => OutputHeads.Sigmoid(logits[target]),
            (ScoreOutput.LogProbability, OutputHead.MultiLabel) => LogSigmoid(logits[target]),
            (ScoreOutput.Probability, _) => LogitMath.Softmax(logits)[target],
            (ScoreOutput.LogProbability, _) => LogitMath.LogSoftmax(logits, target),
            _ => throw new ArgumentOutOfRangeException(nameof(score), score, null),
        };
    }

    /// <summary>log σ(x) = −log(1 + e^−x), stable for either sign.</summary>
    private static double LogSigmoid(double x) => x >= 0 ? -Math.Log(1 + Math.Exp(-x)) : x - Math.Log(1 + Math.Exp(x));
}
