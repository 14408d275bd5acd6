using Attribution.Evaluation;
using Attribution.Methods;
using Attribution.Salience;
using Attribution.Tests.Models;
using CustomMethod;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Attribution.Tests.Methods;

/// <summary>
/// A method written outside the library (<see cref="EmbeddingTaylor"/>, in samples/CustomMethod, an assembly that sees
/// only the public API) is batched, targeted, scored, shared, wrapped by NoiseTunnel, compared, scored by the
/// scorecard, serialized and rendered exactly as a built-in one. Its expected values are computed here by autograd
/// on the user's model (not through the library).
/// </summary>
public sealed class UserWrittenMethodTests(ITestOutputHelper output) : IDisposable
{
    // Three lengths in one batch, so a row or padding mix-up in the pipeline would show.
    private static readonly string[] Texts = ["a dull film", "superb", "the cast was dull but the film was superb"];

    private static readonly string[] Words = ["a", "dull", "film", "superb", "cast", "was", "the", "but"];

    private readonly string root = Directory.CreateTempSubdirectory("attribution-user-method-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    /// <summary>
    /// Σ_d ∂logit₁/∂e_d · (e_d − e_pad,d) per token, by torch.autograd.grad on the user's MaskedMeanModel. Tolerance
    /// 1e-5 absolute + relative: float32 on both sides, the same operations in another order.
    /// </summary>
    [Fact]
    public void A_user_method_computes_its_definition_for_every_row_of_a_batch()
    {
        var (classifier, model, tokenizer) = MaskedMeanKit.Create(root, Words, dim: 6, hidden: 5, seed: 41, scale: 0.8, maxLength: 32);
        using var _ = classifier;
        var options = new ExplainOptions { Target = Target.Class(1), Salience = new SalienceOptions { KeepSpecialTokens = true } };
        var results = new EmbeddingTaylor().Explain(classifier, Texts, options);
        for (var i = 0; i < Texts.Length; i++)
        {
            using var scope = NewDisposeScope();
            var ids = tensor(results[i].TokenIds.ToArray()).unsqueeze(0);
            var embedded = model.embedding.weight!.index_select(0, ids.squeeze(0)).unsqueeze(0).detach().requires_grad_();
            var logit = model.Head(embedded, ones_like(ids))[0, 1];
            var gradient = autograd.grad([logit], [embedded])[0];
            var pad = model.embedding.weight[tokenizer.PadId].detach();
            var expected = (gradient * (embedded - pad)).sum(-1).squeeze(0).to(ScalarType.Float64).data<double>().ToArray();

            var worst = results[i].Scores.Zip(expected, (a, b) => Math.Abs(a - b)).Max();
            output.WriteLine($"text {i}: max |embedding-taylor − autograd| = {worst:E2}");
            results[i].Scores.Should().Equal(expected, (a, b) => Math.Abs(a - b) <= 1e-5 + (1e-5 * Math.Abs(b)), Texts[i]);
            results[i].Kind.Should().Be(MethodKind.Custom);
            results[i].Method.Should().Be("embedding-taylor");
            results[i].Target.Should().Be(1);
            results[i].Setting("baseline").Should().Be("pad-embedding");
            results[i].Words.Select(w => w.Text).Should().Equal(Texts[i].Split(' '), "the pipeline applied the salience layer");
        }
    }

    /// <summary>
    /// Beside built-in methods in one call it shares the batch's gradient pass: with a zero baseline it is Gradient ×
    /// Input, so the two agree to the last bit (same pass, same product).
    /// </summary>
    [Fact]
    public void It_runs_beside_built_in_methods_and_equals_gradient_x_input_with_a_zero_baseline()
    {
        var (classifier, _, _) = MaskedMeanKit.Create(root, Words, dim: 6, hidden: 5, seed: 43, scale: 0.8, maxLength: 32);
        using var _ = classifier;
        IAttributor[] methods = [new GradientXInput(), new EmbeddingTaylor { PadBaseline = false }, new EmbeddingTaylor(), new Gradient()];
        var results = Explainer.ExplainAll(classifier, Texts, methods);
        for (var t = 0; t < Texts.Length; t++)
        {
            results[1][t].Scores.Should().Equal(results[0][t].Scores);
            results[1][t].Words.Select(w => w.Score).Should().Equal(results[0][t].Words.Select(w => w.Score));
            results[2][t].Scores.Should().NotEqual(results[0][t].Scores, "the padding baseline changes the scores");
        }

        // Deliberately different: the gradient norm is unsigned and reduced by L2.
        results[3][0].Signedness.Should().Be(Signedness.Unsigned);
        results[1][0].Signedness.Should().Be(Signedness.Signed);
        results[1][0].Reduction.Should().Be(ScoreReduction.Sum);
    }

    /// <summary>
    /// NoiseTunnel wraps it as it wraps the built-ins: with a zero baseline and the same seed, SmoothGrad and VarGrad of
    /// the user's method equal those of Gradient × Input (the same draws at the same activation). Tolerance 1e-6
    /// relative: both sum the same float32 samples in the same order.
    /// </summary>
    [Theory]
    [InlineData(NoiseTunnelType.SmoothGrad)]
    [InlineData(NoiseTunnelType.VarGrad)]
    public void Noise_tunnel_wraps_a_user_method(NoiseTunnelType type)
    {
        var (classifier, _, _) = MaskedMeanKit.Create(root, Words, dim: 6, hidden: 5, seed: 47, scale: 0.8, maxLength: 32);
        using var _ = classifier;
        var user = new NoiseTunnel(new EmbeddingTaylor { PadBaseline = false }) { Type = type, Samples = 5, Seed = 9 }.Explain(classifier, Texts);
        var builtIn = new NoiseTunnel(new GradientXInput()) { Type = type, Samples = 5, Seed = 9 }.Explain(classifier, Texts);
        var plain = new EmbeddingTaylor { PadBaseline = false }.Explain(classifier, Texts);
        for (var t = 0; t < Texts.Length; t++)
        {
            user[t].Scores.Should().Equal(builtIn[t].Scores, (a, b) => Math.Abs(a - b) <= 1e-6 * Math.Max(1, Math.Abs(b)));
            user[t].Scores.Should().NotEqual(plain[t].Scores, "noise was added");
            user[t].Setting("inner").Should().Be("embedding-taylor");
        }
    }

    /// <summary>The scorecard, the JSON format and the HTML report take it like any method.</summary>
    [Fact]
    public void Scorecard_json_and_html_take_a_user_method()
    {
        var (classifier, _, _) = MaskedMeanKit.Create(root, Words, dim: 6, hidden: 5, seed: 53, scale: 0.8, maxLength: 32);
        using var _ = classifier;
        var report = Scorecard.Run(classifier, Texts, [new GradientXInput(), new EmbeddingTaylor()]);
        var row = report.Rows.Single(r => r.Method == "embedding-taylor");
        row.Metrics.Should().ContainKey("comprehensiveness");
        row.Metrics.Values.Should().OnlyContain(v => double.IsFinite(v) || double.IsNaN(v));
        row.Metrics["comprehensiveness"].Should().NotBe(double.NaN);

        var results = Explainer.ExplainAll(classifier, Texts, [new GradientXInput(), new EmbeddingTaylor()]);
        var document = ExplanationDocument.Comparison(classifier.Name, results, classifier.Labels);
        var back = ExplanationJson.Read(new StringReader(ExplanationJson.Serialize(document)));
        back.Results.Where(r => r.Method == "embedding-taylor").Select(r => r.Scores.ToArray())
            .Should().BeEquivalentTo(results[1].Select(r => r.Scores.ToArray()), o => o.WithStrictOrdering());
        HtmlReport.Render(document, "user method").Should().Contain("embedding-taylor");
    }
}
