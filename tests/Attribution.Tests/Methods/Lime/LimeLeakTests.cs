using Attribution.Engine;
using Attribution.Methods;
using Attribution.Models;

using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Methods;

/// <summary>
/// Every LIME call leaves the process-wide live-tensor count where it found it (model and black box, both presets,
/// every feature mode, and calls that fail). Serial: the count is process-wide.
/// </summary>
[Collection(LiveTensorCollection.Name)]
public sealed class LimeLeakTests(LimeGoldenFixture fixture) : IClassFixture<LimeGoldenFixture>
{
    public static TheoryData<LimePreset, LimeFeatures, LimePerturbation> Settings() => new()
    {
        { LimePreset.Lit, LimeFeatures.Words, LimePerturbation.Mask },
        { LimePreset.Captum, LimeFeatures.Words, LimePerturbation.Mask },
        { LimePreset.Lit, LimeFeatures.WordsAndPunctuation, LimePerturbation.Remove },
        { LimePreset.Captum, LimeFeatures.Tokens, LimePerturbation.Mask },
    };

    [SkippableTheory]
    [MemberData(nameof(Settings))]
    public void Explaining_with_the_model_leaves_no_tensor_behind(LimePreset preset, LimeFeatures features, LimePerturbation perturbation)
    {
        var model = fixture.Model;
        model.PredictProbabilities(["warm up"]);
        var lime = new Lime { Preset = preset, Features = features, Perturbation = perturbation, Samples = 40, Seed = 4 };
        var start = LiveTensors.Settled();
        var results = lime.Explain(model, ["a smart , witty follow-up . ", "it 's too long and too convoluted"]);
        LiveTensors.Settled().Should().Be(start);
        results.Should().OnlyContain(e => e.Surrogate != null && e.Method == "lime");
        if (features == LimeFeatures.Tokens)
        {
            // One feature per non-special token: the scores are the coefficients themselves.
            results[0].Scores.Should().Equal(results[0].Surrogate!.Coefficients);
            results[0].Tokens.Should().Equal(results[0].Surrogate!.Features.Select(f => f.Text));
        }

        var run = () => lime.Run(model, "a fine film", 5);
        run.Should().Throw<ArgumentOutOfRangeException>();
        var empty = () => lime.Explain(model, " ");
        empty.Should().Throw<ArgumentException>();
        LiveTensors.Settled().Should().Be(start);
    }

    [Fact]
    public void Black_box_runs_fits_and_failures_leave_no_tensor_behind()
    {
        var box = LimeAdditiveTests.Additive();
        new Lime().Explain(box, "warm up");
        var start = LiveTensors.Settled();
        new Lime { Samples = 100 }.Explain(box, "a good but long film");
        new Lime { Preset = LimePreset.Captum, Samples = 100 }.Explain(box, "a good but long film");
        var lime = new Lime();
        lime.Fit(lime.SampleMasks(4), new[] { 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8 }.Concat(Enumerable.Repeat(0.5, 249)).ToArray());
        new Lime { Alpha = 0 }.Fit([new[] { true, true }, new[] { true, false }, new[] { false, true }], [0.9, 0.5, 0.4]);
        var nan = new BlackBoxClassifier(texts => texts.Select(_ => new[] { double.NaN, 1.0 }).ToArray(), ["negative", "positive"]);
        ((Action)(() => new Lime().Explain(nan, "a good film"))).Should().Throw<InvalidOperationException>();
        LiveTensors.Settled().Should().Be(start);
    }
}
