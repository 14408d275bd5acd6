using Attribution.Methods;
using Attribution.Methods.Lrp;
using Attribution.Models;

namespace Attribution.Tests.Models.Small;

/// <summary>The library's attributors run on the small classifiers through their word-embedding path.</summary>
public sealed class SmallClassifierAttributionTests : IDisposable
{
    private readonly string root = SmallModelKit.TempRoot("attribution-small-methods-");

    public void Dispose() => Directory.Delete(root, recursive: true);

    private static readonly string[] Texts = ["a sometimes tedious film", "the plot was dull but the cast was superb", "dull"];

    [Theory]
    [InlineData(SmallClassifierConfig.CnnType)]
    [InlineData(SmallClassifierConfig.MlpType)]
    public void Lrp_zero_equals_gradient_times_input_on_the_relu_classifiers(string type)
    {
        // With ε = 0, LRP through Linear/Conv1d, ReLU and winner-take-all maxima is Gradient × Input.
        using var classifier = ClassifierLoader.Load(SmallModelKit.SaveRandom(root, type, seed: 13));
        var lrp = new LrpEpsilon { Epsilon = 0 }.Explain(classifier, Texts);
        var gxi = new GradientXInput().Explain(classifier, Texts);
        for (var i = 0; i < Texts.Length; i++)
        {
            lrp[i].Target.Should().Be(gxi[i].Target);
            var scale = gxi[i].Scores.Max(Math.Abs);
            SmallModelKit.MaxAbsDifference([.. lrp[i].Scores], [.. gxi[i].Scores]).Should().BeLessThan(1e-4 * Math.Max(scale, 1), Texts[i]);
        }
    }

    [Fact]
    public void Lrp_refuses_the_lstm_classifier_by_its_lstm_layer()
    {
        using var classifier = ClassifierLoader.Load(SmallModelKit.SaveRandom(root, SmallClassifierConfig.LstmType));
        var act = () => new LrpEpsilon().Explain(classifier, Texts);
        act.Should().Throw<LrpNotSupportedException>().Which.ModulePath.Should().Be("lstm");
    }

    [Theory]
    [InlineData(SmallClassifierConfig.LstmType)]
    [InlineData(SmallClassifierConfig.CnnType)]
    [InlineData(SmallClassifierConfig.MlpType)]
    public void Integrated_gradients_is_complete_on_every_small_classifier(string type)
    {
        using var classifier = ClassifierLoader.Load(SmallModelKit.SaveRandom(root, type, seed: 21));
        var explanations = new IntegratedGradients { Steps = 64 }.Explain(classifier, Texts,
            new ExplainOptions { Salience = new Attribution.Salience.SalienceOptions { KeepSpecialTokens = true } });
        var checkedTexts = 0;
        foreach (var e in explanations)
        {
            e.Scores.Should().HaveCount(e.Tokens.Length);
            e.ConvergenceDelta.Should().NotBeNull();

            // F(x) − F(x′) computed here, not by the method: the target's logit for the text and for the padding
            // baseline (every token the tokenizer did not add replaced by the padding id). Completeness within 2% of it
            // (64 Gauss–Legendre steps; the CNN's max-pooling has kinks); IG scaled by 0.5 or 0 misses by 50% or 100%.
            // Texts whose baseline barely moves the logit (< 1e-3) cannot test this. (This test found libtorch's wrong
            // float32 LSTM kernel without gradients: see LstmClassifier.RunLstm.)
            var baseline = e.TokenIds.Select((id, t) => e.IsSpecial[t] ? id : classifier.Tokenizer.PadId).ToArray();
            var logits = ((ITokenClassifier)classifier).PredictLogits([new TokenSequence([.. e.TokenIds]), new TokenSequence(baseline)]);
            var change = logits[0][e.Target] - logits[1][e.Target];
            if (Math.Abs(change) < 1e-3)
            {
                continue;
            }

            checkedTexts++;
            e.Scores.Sum().Should().BeApproximately(change, (0.02 * Math.Abs(change)) + 1e-5, $"{e.Text}: convergence delta {e.ConvergenceDelta}");
        }

        checkedTexts.Should().BeGreaterThanOrEqualTo(2, "enough texts move the logit to test completeness");
    }
}
