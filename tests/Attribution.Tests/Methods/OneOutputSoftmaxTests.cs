using Attribution.Evaluation;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Pipeline;
using Attribution.Tests.Models;
using Attribution.Tests.Text.Tokenizers;
using Attribution.Text.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Methods;

/// <summary>
/// A user's classifier with one output that does not override <see cref="ITokenClassifier.Head"/> gets the default,
/// a single-label softmax: a softmax over one logit is 1 for every input, so every explanation of its probability is
/// zero. The library's own classifiers refuse that head when built; here the methods and metrics refuse it when asked
/// to explain that probability (and explain the logit, which varies, as they are asked).
/// </summary>
public sealed class OneOutputSoftmaxTests : IDisposable
{
    private readonly TempDirectory root = new();
    private readonly TextClassifier encoder;
    private readonly OwnClassifier classifier;

    public OneOutputSoftmaxTests()
    {
        // One output: the library's classifier reads it as a regression (Hugging Face's rule); the user's wrapper
        // below forgets to say so and inherits the interface's default head.
        (encoder, _, _) = MaskedMeanKit.Create(root.Path, ["a", "dull", "film", "superb", "cast"], dim: 4, hidden: 3, seed: 7, scale: 1, maxLength: 16, labels: ["score"]);
        classifier = new OwnClassifier(encoder);
    }

    public void Dispose()
    {
        encoder.Dispose();
        root.Dispose();
    }

    [Fact]
    public void The_wrapper_really_has_the_default_single_label_head() =>
        ((ITokenClassifier)classifier).Head.Should().Be(OutputHead.SingleLabel);

    public static TheoryData<string> Methods => ["gradient", "occlusion", "lime"];

    [Theory]
    [MemberData(nameof(Methods))]
    public void Explaining_the_probability_of_one_softmax_output_is_refused_naming_the_head_and_the_fixes(string method)
    {
        var act = () => Attributor(method).Attribute(classifier, ["a dull film"], new AttributionOptions { Score = ScoreOutput.Probability });
        act.Should().Throw<ArgumentException>().WithParameterName("model")
            .WithMessage("*own has one label (\"score\")*single-label (softmax) head*probability is 1 for every input*Override ITokenClassifier.Head*Regression*Logit*");
    }

    [Fact]
    public void The_log_probability_is_refused_too() =>
        ((Action)(() => new Gradient().Attribute(classifier, ["a dull film"], new AttributionOptions { Score = ScoreOutput.LogProbability })))
            .Should().Throw<ArgumentException>().WithMessage("*log-probability is 0 for every input*");

    [Fact]
    public void The_logit_of_the_one_output_is_explained_as_asked()
    {
        var explanation = new Gradient().Attribute(classifier, ["a dull film"], new AttributionOptions { Score = ScoreOutput.Logit })[0];
        // The logit depends on the embeddings (random weights, tanh hidden layer): its gradient norm is not zero.
        explanation.Scores.Should().Contain(s => s > 1e-6);
    }

    [Fact]
    public void Removal_metrics_refuse_it_too()
    {
        var explanation = new Gradient().Attribute(classifier, ["a dull film"], new AttributionOptions { Score = ScoreOutput.Logit })[0];
        var act = () => RationaleRemoval.Comprehensiveness(classifier, explanation);
        act.Should().Throw<ArgumentException>().WithMessage("*softmax*1 for every input*");
    }

    [Fact]
    public void A_one_label_black_box_is_refused_with_the_two_column_fix()
    {
        // A predictor of the user's own (BlackBoxClassifier refuses one label when it is built).
        var predictor = new OneLabelPredictor();
        var act = () => new Lime().Explain(predictor, "a dull film");
        act.Should().Throw<ArgumentException>().WithMessage("*the predictor has one label (\"yes\")*Return two columns, [1 − p, p]*");
        var run = () => new Lime().Run(predictor, "a dull film", 0);
        run.Should().Throw<ArgumentException>().WithMessage("*[1 − p, p]*");
    }

    private static IAttributor Attributor(string method) => method switch
    {
        "gradient" => new Gradient(),
        "occlusion" => new Occlusion(),
        _ => new Lime { Samples = 16 },
    };

    /// <summary>A user's predictor of one label, whose probability (a softmax over one class) is 1 for every text.</summary>
    private sealed class OneLabelPredictor : ITextPredictor
    {
        public IReadOnlyList<string> Labels { get; } = ["yes"];

        public double[][] PredictProbabilities(IReadOnlyList<string> texts) => [.. texts.Select(_ => new[] { 1.0 })];
    }

    /// <summary>A user's <see cref="ITextClassifier"/> that leaves <see cref="ITokenClassifier.Head"/> at its default.</summary>
    private sealed class OwnClassifier(TextClassifier inner) : ITextClassifier
    {
        public string Name => "own";

        public ITokenizer Tokenizer => inner.Tokenizer;

        public int? MaxLength => inner.MaxLength;

        public bool UsesTokenTypes => false;

        public IReadOnlyList<string> Labels => inner.Labels;

        public nn.Module<ModelInput, Tensor> Module => inner.Module;

        public string WordEmbeddingPath => inner.WordEmbeddingPath;

        public EncodedBatch Encode(IReadOnlyList<string> texts, bool truncate, IReadOnlyList<string>? pairs, TruncationStrategy strategy = TruncationStrategy.LongestFirst) =>
            inner.Encode(texts, truncate, pairs, strategy);

        public double[][] PredictProbabilities(IReadOnlyList<string> texts) => throw new NotSupportedException("not needed here");
    }
}
