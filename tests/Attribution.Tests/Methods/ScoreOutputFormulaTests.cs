using Attribution.Methods;
using Attribution.Models;
using Attribution.Tests.Models;

namespace Attribution.Tests.Methods;

/// <summary>
/// The scored outputs (probability, log-probability) of single-label and multi-label heads, through the gradient of
/// Gradient × Input on the closed-form model z = W₂·tanh(W₁·mean(e) + c₁) + c₂ (<see cref="MaskedMeanModel"/>):
/// ∂s/∂e_t = Σ_c (∂s/∂z_c) ∂z_c/∂e_t, with ∂s/∂z from the head's definition worked out here in float64 —
/// softmax: p_t(δ_tc − p_c), log-softmax: δ_tc − p_c; sigmoid per label: σ(z_t)(1 − σ(z_t)) δ_tc, log-sigmoid:
/// (1 − σ(z_t)) δ_tc. Tolerance 1e-5 relative (float32 model).
/// </summary>
public sealed class ScoreOutputFormulaTests : IDisposable
{
    private const int Dim = 4, Hidden = 3, Target = 0;
    private const string Text = "a dull film";
    private readonly string root = Directory.CreateTempSubdirectory("attribution-score-output-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Theory]
    [InlineData(OutputHead.SingleLabel, ScoreOutput.Logit)]
    [InlineData(OutputHead.SingleLabel, ScoreOutput.Probability)]
    [InlineData(OutputHead.SingleLabel, ScoreOutput.LogProbability)]
    [InlineData(OutputHead.MultiLabel, ScoreOutput.Probability)]
    [InlineData(OutputHead.MultiLabel, ScoreOutput.LogProbability)]
    public void Gradient_x_input_of_each_scored_output_is_its_formula(OutputHead head, ScoreOutput score)
    {
        var (plain, module, tokenizer) = MaskedMeanKit.Create(root, ["a", "dull", "film"], Dim, Hidden, seed: 5, scale: 0.9, maxLength: 16);
        using var owner = plain;
        using var model = TextClassifier.FromTorchSharp(module, tokenizer, "embedding", ["negative", "positive"], maxLength: 16, head: head);
        var form = new MaskedMeanClosedForm(module);
        var x = form.Embeddings(tokenizer.Encode(Text).Ids);
        var z = form.Logits(x);
        var softmax = z.Select(v => Math.Exp(v) / z.Sum(Math.Exp)).ToArray();
        var sigmoid = 1 / (1 + Math.Exp(-z[Target]));
        var dScore = Enumerable.Range(0, 2).Select(c => (head, score) switch
        {
            (_, ScoreOutput.Logit) => c == Target ? 1.0 : 0.0,
            (OutputHead.SingleLabel, ScoreOutput.Probability) => softmax[Target] * ((c == Target ? 1 : 0) - softmax[c]),
            (OutputHead.SingleLabel, _) => (c == Target ? 1 : 0) - softmax[c],
            (_, ScoreOutput.Probability) => c == Target ? sigmoid * (1 - sigmoid) : 0,
            _ => c == Target ? 1 - sigmoid : 0,
        }).ToArray();
        var gradient = form.LogitGradient(x, dScore);
        var expected = x.Select(row => Enumerable.Range(0, Dim).Sum(d => row[d] * gradient[d])).ToArray();

        var result = new GradientXInput().Attribute(model, [Text], new AttributionOptions { Target = Attribution.Methods.Target.Class(Target), Score = score })[0];
        var scale = expected.Max(Math.Abs);
        result.Scores.Should().Equal(expected, (a, b) => Math.Abs(a - b) <= 1e-5 * scale,
            $"{head} {score}: [{string.Join(", ", result.Scores)}] vs [{string.Join(", ", expected)}]");
    }
}
