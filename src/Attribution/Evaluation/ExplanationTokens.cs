using Attribution.Salience;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Text.Tokenizers;

namespace Attribution.Evaluation;

/// <summary>
/// An explanation laid over the model's full encoding of its text: every token with its id, whether it is special,
/// and the explanation's score for it. Explanations usually drop special tokens; the metrics need them back (they are
/// never removed, but they are part of every model input).
/// </summary>
internal sealed record ExplanationTokens(Encoding Encoding, double[] Scores, int[] Content)
{
    /// <summary>Re-encodes the text and checks that the explanation's tokens are the model's.</summary>
    public static ExplanationTokens Of(ITokenClassifier model, Explanation explanation, string metric)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(explanation);
        // One entry per token in every per-token array, spans inside the text: a shorter array failed as an index out
        // of range naming 'index'.
        ExplanationShape.Check(explanation, nameof(explanation), nameof(explanation));
        if (explanation.TokenIds.Any(id => id < 0))
        {
            throw MetricErrors.BlackBox(metric);
        }

        // The explained output indexes the model's logits: out of range it threw an IndexOutOfRangeException naming nothing.
        if (explanation.Target < 0 || explanation.Target >= model.Labels.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(explanation), explanation.Target,
                $"the explanation's target {explanation.Target} is not an output of {model.Name}, which has {model.Labels.Count} ({string.Join(", ", model.Labels.Select((l, i) => $"{i}: {l}"))}): measure an explanation of this model, made for one of its classes");
        }

        // A sentence pair is encoded as the pair it was explained as: both texts' tokens are content, and the inputs keep
        // their token types (the first text alone is another input, whose tokens would not match the explanation's).
        var encoding = model.Tokenizer.Encode(explanation.Text, explanation.TextPair, maxLength: model.MaxLength);
        var content = Enumerable.Range(0, encoding.Length).Where(t => !encoding.SpecialTokensMask[t]).ToArray();
        var scores = new double[encoding.Length];
        var explained = Enumerable.Range(0, explanation.Tokens.Length).Where(t => !explanation.IsSpecial[t]).ToArray();
        if (explained.Length != content.Length || explained.Where((t, i) => explanation.TokenIds[t] != encoding.Ids[content[i]]).Any())
        {
            throw new ArgumentException(
                $"the explanation's tokens are not {model.Name}'s tokens for its text ({explained.Length} content tokens against {content.Length}): explain the text with this model (its tokenizer and length limit) before measuring",
                nameof(explanation));
        }

        for (var i = 0; i < content.Length; i++)
        {
            scores[content[i]] = explanation.Scores[explained[i]];
        }

        return new ExplanationTokens(encoding, scores, content);
    }

    /// <summary>The input with the tokens at <paramref name="absent"/> removed, or replaced by <paramref name="replacement"/>.</summary>
    public TokenSequence Without(IReadOnlySet<int> absent, long? replacement) =>
        Methods.Perturbation.PerturbedInputs.Build(Encoding, absent.Contains, replacement);

    /// <summary>
    /// The output the removal metrics compare (<see cref="Methods.Internal.ScoreChecks.ProbabilityOrOutput"/>) in words, for
    /// the metrics' settings: the explained class's softmax probability, a multi-label label's sigmoid, or a regression
    /// model's output itself.
    /// </summary>
    public static string DescribeComparedOutput(OutputHead head) => head switch
    {
        OutputHead.MultiLabel => "sigmoid probability of the explained label",
        OutputHead.Regression => "the regression output",
        _ => "softmax probability of the explained class",
    };

    /// <summary>
    /// The target's compared output (<see cref="DescribeComparedOutput"/>) for each input (one batched call, whose forward
    /// passes check <paramref name="cancellation"/>: a model that takes no mask runs one per length).
    /// </summary>
    public static double[] ComparedOutputs(ITokenClassifier model, IReadOnlyList<TokenSequence> inputs, int target, CancellationToken cancellation = default)
    {
        var rows = TokenBatches.PredictLogits(model, inputs, cancellation);
        NonFiniteValueException.CheckLogits(model.Name, rows);
        var score = Methods.Internal.ScoreChecks.ProbabilityOrOutput(model.Head);
        Methods.Internal.ScoreChecks.CheckOneOutputSoftmax(model, score);
        return rows.Select(row => Methods.Internal.ScoreChecks.Value(model.Head, score, row, target)).ToArray();
    }
}
