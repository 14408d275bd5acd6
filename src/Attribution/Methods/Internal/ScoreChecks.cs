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
