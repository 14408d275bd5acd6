using Attribution.Evaluation;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Salience;

namespace Attribution.Tests.Evaluation;

/// <summary>
/// The metrics on explanations of sentence pairs (bert-pair-random): they re-run the model on the pair the explanation
/// is of, both texts with their token types, never on the first text alone. Expected values are computed here from the
/// model's logits on hand-built inputs (softmax of the explained class), not by the metrics.
/// </summary>
public sealed class PairEvaluationTests
{
    // Both texts' words have the same spans (0–4 and 5–9), so a word of the second text is only told apart by its segment.
    private const string First = "good film", Second = "dull plot";

    private static double Softmax(double[] logits, int target)
    {
        var max = logits.Max();
        return Math.Exp(logits[target] - max) / logits.Sum(l => Math.Exp(l - max));
    }

    private static double P(TextClassifier model, Attribution.Text.Tokenizers.Encoding encoding, Func<int, bool> keep, int target)
    {
        var kept = Enumerable.Range(0, encoding.Length).Where(keep).ToArray();
        var sequence = new TokenSequence([.. kept.Select(t => encoding.Ids[t])], [.. kept.Select(t => encoding.TypeIds[t])]);
        return Softmax(((ITokenClassifier)model).PredictLogits([sequence])[0], target);
    }

    [SkippableFact]
    public void Comprehensiveness_and_leave_one_out_remove_tokens_from_the_pair()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/bert-pair-random"));
        var e = new GradientXInput().Explain(model, First, new ExplainOptions { Pairs = [Second], Score = ScoreOutput.Probability });
        var encoding = model.Tokenizer.Encode(First, Second);
        var content = Enumerable.Range(0, encoding.Length).Where(t => !encoding.SpecialTokensMask[t]).ToArray();
        var full = P(model, encoding, _ => true, e.Target);

        // Comprehensiveness: its first step removes the top-scored content token (of either text) alone.
        var scores = e.Scores.Where((_, t) => !e.IsSpecial[t]).ToArray();
        scores.Should().HaveCount(content.Length);
        var top = content[Array.IndexOf(scores, scores.Max())];
        scores.Max().Should().BePositive("the test needs a positive top token");
        var comprehensiveness = RationaleRemoval.Comprehensiveness(model, e);
        comprehensiveness.Steps[0].Value.Should().BeApproximately(full - P(model, encoding, t => t != top, e.Target), 1e-6);

        // τ-LOO: one step per word of both texts, each the drop when that word's tokens leave the pair.
        var loo = LeaveOneOutCorrelation.Compute(model, e);
        loo.Steps.Should().HaveCount(4);
        var words = new[] { (0, 0, 4), (0, 5, 9), (1, 0, 4), (1, 5, 9) };
        for (var w = 0; w < words.Length; w++)
        {
            var (segment, start, end) = words[w];
            bool InWord(int t) => encoding.SequenceOf(t) == segment && encoding.Offsets[t] is { } o && o.Start >= start && o.End <= end;
            loo.Steps[w].Value.Should().BeApproximately(full - P(model, encoding, t => !InWord(t), e.Target), 1e-6, $"word {w} ({segment}, {start}..{end})");
        }
    }

    [SkippableFact]
    public void Counterfactuals_predict_the_pairs_they_explain()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/bert-pair-random"));
        const string Edit = "dull film";
        var report = Counterfactuals.Compare(model, First, [Edit], [new Gradient()], new ExplainOptions { Pairs = [Second, Second] });

        // The original's label and probability are the pair's, and the explanations are for that label. 1e-12: the same
        // logits through two softmax implementations. (The first text alone gave 0.4986 here against the pair's 0.4751.)
        var original = ((ITokenClassifier)model).PredictLogits([TokenSequence(model.Tokenizer.Encode(First, Second))])[0];
        var label = Array.IndexOf(original, original.Max());
        report.Prediction.Should().Be(model.Labels[label]);
        report.Probability.Should().BeApproximately(Softmax(original, label), 1e-12);
        report.Explanations[0].Target.Should().Be(label);
        report.Explanations[0].TextPair.Should().Be(Second);

        // The edit's probability of the original's label, from the edited pair.
        var edited = ((ITokenClassifier)model).PredictLogits([TokenSequence(model.Tokenizer.Encode(Edit, Second))])[0];
        report.Edits[0].OriginalLabelProbability.Should().BeApproximately(Softmax(edited, label), 1e-12);

        // One second text per text: the original's and each edit's.
        FluentActions.Invoking(() => Counterfactuals.Compare(model, First, [Edit], [new Gradient()], new ExplainOptions { Pairs = [Second] }))
            .Should().Throw<ArgumentException>().WithParameterName("Pairs");
    }

    private static TokenSequence TokenSequence(Attribution.Text.Tokenizers.Encoding encoding) => new([.. encoding.Ids], [.. encoding.TypeIds]);

    [SkippableFact]
    public void Infidelity_and_max_sensitivity_perturb_the_pair()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/bert-pair-random"));
        var options = new ExplainOptions { Pairs = [Second], KeepRawAttributions = true, Salience = new SalienceOptions { KeepSpecialTokens = true } };
        var e = new GradientXInput().Explain(model, First, options);
        var tokens = model.Tokenizer.Encode(First, Second).Length;
        e.RawAttributions.Should().HaveCount(tokens);
        var hidden = e.RawAttributions![0].Length;
        double[][] Zeros() => Enumerable.Range(0, tokens).Select(_ => new double[hidden]).ToArray();

        // A zero perturbation of the pair's shape: I·Φ = 0 and f(x) − f(x − 0) = 0, so infidelity 0; likewise Φ(x + 0) = Φ(x).
        // Zero up to float32 rounding, not exactly: the perturbed pass is another batch than the explanation's, and
        // MKL does not promise the same bits for it (MKL_CBWR=COMPATIBLE MKL_ENABLE_INSTRUCTIONS=SSE4_2, the code path of
        // another CPU, gave infidelities of 8.9e-16 and 3.6e-15: logit differences of 3e-8 and 6e-8). Bounds: a logit
        // difference of 1e-6 (float32's 1.2e-7 times a few units of logit), squared, for infidelity; 1e-5 of ‖Φ‖ for
        // max-sensitivity (a relative difference). A real fault (a perturbation not applied, the wrong text's pass) is of
        // the order of the logits themselves.
        Infidelity.Compute(model, e, new InfidelitySettings { Perturbations = [Zeros()] }).Value.Should().BeInRange(0, 1e-12);
        MaxSensitivity.Compute(model, new GradientXInput(), First, options, new SensitivitySettings { Perturbations = [Zeros()] }).Value.Should().BeInRange(0, 1e-5);

        // The pair's attributions against the first text alone are refused, naming both shapes.
        FluentActions.Invoking(() => Infidelity.Compute(model, e with { TextPair = null })).Should().Throw<ArgumentException>()
            .WithParameterName("explanation").WithMessage($"*[{tokens}][{hidden}]*explain the same text*");
    }

    [SkippableFact]
    public void Max_sensitivity_refuses_an_empty_list_of_perturbations()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/sst2-bert-tiny"));
        FluentActions.Invoking(() => MaxSensitivity.Compute(model, new GradientXInput(), "a fine film", null, new SensitivitySettings { Perturbations = [] }))
            .Should().Throw<ArgumentException>().WithParameterName("settings").WithMessage("*Perturbations is empty*");
    }
}
