using Attribution.Methods;
using Attribution.Models;

namespace Attribution.Tests.Methods;

/// <summary>Bad input to LIME fails early with typed errors and leaks nothing.</summary>
public sealed class LimeErrorTests
{
    private static readonly BlackBoxClassifier Additive = LimeAdditiveTests.Additive();

    private sealed class Predictor(Func<IReadOnlyList<string>, double[][]> predict) : ITextPredictor
    {
        public IReadOnlyList<string> Labels { get; } = ["negative", "positive"];

        public double[][] PredictProbabilities(IReadOnlyList<string> texts) => predict(texts);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \t\n")]
    public void Empty_text_is_an_argument_error(string text)
    {
        var act = () => new Lime().Explain(Additive, text);
        act.Should().Throw<ArgumentException>().WithMessage("*empty*");
        var run = () => new Lime().Run(Additive, text, 1);
        run.Should().Throw<ArgumentException>().WithMessage("*empty*");
    }

    [Fact]
    public void Null_or_no_texts_are_argument_errors()
    {
        ((Action)(() => new Lime().Explain(Additive, Array.Empty<string>()))).Should().Throw<ArgumentException>().WithMessage("*no texts*");
        ((Action)(() => new Lime().Explain(Additive, new string[] { "fine", null! }))).Should().Throw<ArgumentNullException>();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void Fewer_than_one_sample_is_out_of_range(int samples)
    {
        var act = () => new Lime { Samples = samples }.Explain(Additive, "a good film");
        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("Samples");
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Kernel_width_must_be_positive_and_finite(double width)
    {
        var act = () => new Lime { KernelWidth = width }.Explain(Additive, "a good film");
        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("KernelWidth");
    }

    [Fact]
    public void Other_bad_settings_are_out_of_range()
    {
        ((Action)(() => new Lime { Alpha = -1 }.Explain(Additive, "a good film"))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("Alpha");
        ((Action)(() => new Lime { BatchSize = 0 }.Explain(Additive, "a good film"))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("BatchSize");
        ((Action)(() => new Lime { Preset = (LimePreset)9 }.Explain(Additive, "a good film"))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("Preset");
        ((Action)(() => new Lime { Perturbation = (LimePerturbation)9 }.Explain(Additive, "a good film"))).Should().Throw<ArgumentOutOfRangeException>();
        ((Action)(() => new Lime().Run(Additive, "a good film", 2))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("target");
        ((Action)(() => new Lime().Explain(Additive, "a good film", new ExplainOptions { Target = Target.Named("neutral") }))).Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Unknown_feature_mode_is_an_error()
    {
        var act = () => new Lime { Features = (LimeFeatures)42 }.Explain(Additive, "a good film");
        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("Features").WithMessage("*feature mode*");
        var parse = () => LimeNames.ParseFeatures("sentences");
        parse.Should().Throw<ArgumentException>().WithMessage("*unknown LIME feature mode 'sentences'*");
        LimeNames.ParseFeatures("words-punctuation").Should().Be(LimeFeatures.WordsAndPunctuation);
        LimeNames.ParsePreset("captum").Should().Be(LimePreset.Captum);
        ((Action)(() => LimeNames.ParsePreset("shap"))).Should().Throw<ArgumentException>();
        ((Action)(() => LimeNames.ParsePerturbation("blank"))).Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Token_features_need_a_tokenizer()
    {
        var act = () => new Lime { Features = LimeFeatures.Tokens }.Explain(Additive, "a good film");
        act.Should().Throw<ArgumentException>().WithMessage("*tokenizer*");
    }

    [Fact]
    public void A_black_box_returning_the_wrong_shape_or_nan_is_an_invalid_operation()
    {
        var tooFewRows = new Predictor(texts => texts.Skip(1).Select(_ => new[] { 0.5, 0.5 }).ToArray());
        ((Action)(() => new Lime().Explain(tooFewRows, "a good film"))).Should().Throw<InvalidOperationException>().WithMessage("*one row per text*");

        var oneColumn = new Predictor(texts => texts.Select(_ => new[] { 1.0 }).ToArray());
        ((Action)(() => new Lime().Explain(oneColumn, "a good film"))).Should().Throw<InvalidOperationException>().WithMessage("*one probability per label*");

        // NaN only for perturbed texts, so the failure is in the sampling loop rather than the first call.
        var nan = new Predictor(texts => texts.Select(t => t.Contains("[MASK]", StringComparison.Ordinal) ? new[] { double.NaN, double.NaN } : new[] { 0.3, 0.7 }).ToArray());
        ((Action)(() => new Lime().Explain(nan, "a good film"))).Should().Throw<InvalidOperationException>().WithMessage("*NaN*");

        var logits = new Predictor(texts => texts.Select(_ => new[] { -2.0, 3.5 }).ToArray());
        ((Action)(() => new Lime().Explain(logits, "a good film"))).Should().Throw<InvalidOperationException>().WithMessage("*[0, 1]*");

        var nullRows = new Predictor(_ => null!);
        ((Action)(() => new Lime().Explain(nullRows, "a good film"))).Should().Throw<InvalidOperationException>().WithMessage("*null*");

        var wrapped = new BlackBoxClassifier(texts => texts.Select(_ => new[] { double.NaN, 1.0 }).ToArray(), ["negative", "positive"]);
        ((Action)(() => new Lime().Explain(wrapped, "a good film"))).Should().Throw<InvalidOperationException>().WithMessage("*NaN*");
    }

    [Fact]
    public void Given_masks_must_fit_the_features()
    {
        var lime = new Lime();
        ((Action)(() => lime.Run(Additive, "a good film", 1, [new[] { true, false }]))).Should().Throw<ArgumentException>().WithMessage("*3 features*");
        ((Action)(() => lime.Fit([new[] { true }, new[] { true, false }], [0.5, 0.6]))).Should().Throw<ArgumentException>();
        ((Action)(() => lime.Fit([new[] { true }], [0.5, 0.6]))).Should().Throw<ArgumentException>().WithMessage("*one per mask*");
        ((Action)(() => lime.Fit([new[] { true }], [double.NaN]))).Should().Throw<ArgumentException>().WithMessage("*finite*");
    }

    [Fact]
    public void A_kernel_too_narrow_for_every_sample_is_reported()
    {
        // Captum's scheme has no unperturbed sample; with a tiny width every weight underflows to zero.
        var act = () => new Lime { Preset = LimePreset.Captum, KernelWidth = 1e-200, Samples = 20, Seed = 1 }.Fit(
            [new[] { false, true }, new[] { true, false }], [0.2, 0.8]);
        act.Should().Throw<InvalidOperationException>().WithMessage("*kernel width*");
    }

    [Fact]
    public void Perturb_refuses_features_that_are_not_ordered_disjoint_spans_of_the_text()
    {
        // Before, out-of-order or out-of-range spans failed inside StringBuilder with its own parameter name ("count"),
        // or a null feature with a NullReferenceException.
        const string text = "a smart , witty film";
        var lime = new Lime { Features = LimeFeatures.WordsAndPunctuation };
        var features = lime.SplitFeatures(text);
        var mask = Enumerable.Repeat(false, features.Count).ToArray();
        lime.Perturb(text, features, mask).Should().Be("[MASK] [MASK] [MASK] [MASK] [MASK]", "the precondition: the features as split are accepted");

        IReadOnlyList<TextFeature>[] bad =
        [
            features.Reverse().ToArray(),
            [.. features.Take(4), features[4] with { End = text.Length + 3 }],
            [features[0], features[1], features[1], features[3], features[4]],
            [features[0], null!, features[2], features[3], features[4]],
        ];
        foreach (var given in bad)
        {
            FluentActions.Invoking(() => lime.Perturb(text, given, mask))
                .Should().Throw<ArgumentException>().Where(e => e.ParamName == "features").WithMessage("feature * is not a span of the 20-character text*");
        }

        // The message names the feature, its span and the end it overlaps ("film" is [16, 20), "witty" [10, 15)), or null.
        FluentActions.Invoking(() => lime.Perturb(text, bad[0], mask)).Should().Throw<ArgumentException>()
            .WithMessage("feature 1 ([10, 15)) is not a span of the 20-character text after feature 0's end (20): pass features in text order*");
        FluentActions.Invoking(() => lime.Perturb(text, bad[3], mask)).Should().Throw<ArgumentException>()
            .WithMessage("feature 1 (null) is not a span of the 20-character text after feature 0's end (1)*");
    }
}
