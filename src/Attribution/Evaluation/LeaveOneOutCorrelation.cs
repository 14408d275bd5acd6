using Attribution.Pipeline;
using Attribution.Methods;
using Attribution.Models;

namespace Attribution.Evaluation;

/// <summary>
/// ferret's τ-LOO: Kendall's τ-b between an explanation's word scores and the drop of the explained class's
/// probability (a regression model's output) when each word is removed alone (leave-one-out occlusion). Near 1: the explanation ranks words as
/// removing them hurts the prediction. An unsigned explanation (magnitudes, such as Gradient L2) says how much a word
/// matters, not in which direction, so its scores are correlated with the size of the change, |drop|: a word whose
/// removal raises the probability matters as much as one whose removal lowers it by as much (ferret correlates every
/// method's scores with the signed drops).
/// </summary>
/// <remarks>
/// Words are the explanation's (whitespace-delimited, scores aggregated as the explanation says); the drops come from
/// <see cref="Occlusion"/> with words removed and the probability scored, in one batched model call. ferret works on
/// tokens; words are what a reader sees, and a word's tokens are removed together.
/// </remarks>
public static class LeaveOneOutCorrelation
{
    /// <summary>τ-LOO of an explanation of <paramref name="model"/>.</summary>
    /// <exception cref="ArgumentException">The explanation is malformed (per-token arrays of other lengths, spans outside its
    /// text), came from a black-box predictor (no token ids), or its tokens are not the model's for its text; or its text is one
    /// word and the model's tokenizer adds no special tokens (removing the word would leave no token).</exception>
    /// <exception cref="ArgumentOutOfRangeException">The explanation's target is not an output of the model.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellation"/> was cancelled (checked before each of
    /// the occlusion's model calls: the text's own, then each batch of texts without one word).</exception>
    /// <param name="model">The classifier the explanation is of.</param>
    /// <param name="explanation">The explanation whose word order is compared with the model's leave-one-out drops.</param>
    /// <param name="cancellation">Stops the call before its next model call (the scorecard passes its own token).</param>
    public static MetricResult Compute(ITokenClassifier model, Explanation explanation, CancellationToken cancellation = default) =>
        Compute(model, explanation, drops: null, cancellation);

    /// <summary>
    /// τ-LOO of an explanation, with the leave-one-out drops kept in <paramref name="drops"/> for the next explanation of
    /// the same text: they depend on the text, its pair and the explained class only, not on the explanation's scores, so
    /// the scorecard runs them once per text and class for all its methods (each further method ran the same passes
    /// again: the text's own, then the texts without one word) and reads them from here. Null keeps nothing.
    /// </summary>
    /// <param name="model">The classifier the explanation is of (the one every kept run is of).</param>
    /// <param name="explanation">The explanation whose word order is compared with the model's leave-one-out drops.</param>
    /// <param name="drops">The runs so far by text, pair and class (the new one added), or null.</param>
    /// <param name="cancellation">Stops the call before its next model call.</param>
    internal static MetricResult Compute(ITokenClassifier model, Explanation explanation, Dictionary<(string Text, string? Pair, int Target), PerturbationRun>? drops,
        CancellationToken cancellation)
    {
        // The explanation's tokens must be the model's for its text, truncated to the model's limit as the other metrics
        // take them (an explanation made with truncation is of the kept tokens; occluding the whole text was refused).
        // Checked for every explanation, also where its text's drops are kept.
        ExplanationTokens.Of(model, explanation, "loo-correlation");
        var key = (explanation.Text, explanation.TextPair, explanation.Target);
        if (drops is null || !drops.TryGetValue(key, out var run))
        {
            run = Drops(model, explanation, cancellation);
            drops?.Add(key, run);
        }

        return Correlate(model, explanation, run);
    }

    /// <summary>
    /// The leave-one-word-out occlusion of the explanation's text (and pair) for its class: the text's own pass, then the
    /// texts without one word, the token checked before each. Depends on the explanation only through its text, pair and
    /// target. The caller has checked the explanation's tokens.
    /// </summary>
    /// <param name="model">The classifier.</param>
    /// <param name="explanation">The explanation whose text, pair and target are occluded.</param>
    /// <param name="cancellation">Stops the run before its next model call.</param>
    internal static PerturbationRun Drops(ITokenClassifier model, Explanation explanation, CancellationToken cancellation)
    {
        try
        {
            return new Occlusion { Perturbation = AbsentFeature.Remove, Features = LimeFeatures.Words }
                .Run(model, explanation.Text, new ExplainOptions
                {
                    Target = Target.Class(explanation.Target),
                    Score = Methods.Internal.ScoreChecks.ProbabilityOrOutput(model.Head),
                    Truncate = true,

                    // A pair's words are removed from the pair the model was explained on, not from the first text alone.
                    Pairs = explanation.TextPair is { } pair ? [pair] : null,
                    Cancellation = cancellation,
                });
        }
        catch (ArgumentException e) when (e.ParamName == nameof(PerturbationMethod.Perturbation))
        {
            // Occlusion's refusal of removing every word (only a one-word text, on a tokenizer that adds no special
            // tokens) named Perturbation, a setting this metric does not have: it always removes.
            throw new ArgumentException(
                $"loo-correlation removes each word alone, and the explanation's text '{explanation.Text}' has one word: removing it leaves {model.Name} " +
                "no token at all (its tokenizer adds no special tokens, and a model input needs at least one token). τ-LOO of one word has no order to " +
                "correlate in any case: measure texts of at least two words", nameof(explanation), e);
        }
    }

    /// <summary>Kendall's τ-b between the explanation's word scores and <paramref name="run"/>'s drops (no model call).</summary>
    private static MetricResult Correlate(ITokenClassifier model, Explanation explanation, PerturbationRun run)
    {
        var drops = new List<double>();
        var scores = new List<double>();
        var steps = new List<MetricStep>();
        foreach (var word in explanation.Words)
        {
            var feature = run.Features.Select((f, i) => (f, i)).FirstOrDefault(x => x.f.Segment == word.Segment && x.f.Start == word.Start && x.f.End == word.End);
            if (feature.f is null)
            {
                continue;
            }

            var drop = explanation.Signed ? run.FeatureScores[feature.i] : Math.Abs(run.FeatureScores[feature.i]);
            drops.Add(drop);
            scores.Add(explanation.Signed ? word.Score : Math.Abs(word.Score));
            // Invariant, as every number the metrics write: "score 0,5" in a German culture, in the command's JSON too.
            steps.Add(new MetricStep(word.Text, drop, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"score {word.Score:G4}")));
        }

        var tau = RankCorrelation.KendallTauB(scores, drops);
        return new MetricResult("loo-correlation", tau,
            explanation.Signed
                ? "Kendall tau-b between word scores and p(x) - p(x without the word)"
                : "Kendall tau-b between word score magnitudes and |p(x) - p(x without the word)| (unsigned explanation)",
            [
                new("features", "words"), new("removal", "remove"), new("output", ExplanationTokens.DescribeComparedOutput(model.Head)),
                new("drops", explanation.Signed ? "signed" : "magnitude (unsigned explanation)"),
            ],
            steps,
            double.IsNaN(tau) ? "fewer than two words, all scores (or all drops) equal, or a NaN score or drop: no order to correlate" : null);
    }
}
