using Attribution.Methods;
using Attribution.Methods.Internal;

namespace Attribution.Tests.Methods;

/// <summary>The shared argument checks of the methods floor: texts, targets, per-call options and result names.</summary>
public class ArgumentAndTargetTests
{
    private static readonly string[] Labels = ["negative", "positive", "Neutral"];

    [Fact]
    public void Texts_must_be_present_non_empty_and_not_blank()
    {
        ((Action)(() => TextArguments.Check(["a film", "x"]))).Should().NotThrow();
        ((Action)(() => TextArguments.Check(null))).Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("texts");
        ((Action)(() => TextArguments.Check([]))).Should().Throw<ArgumentException>()
            .WithMessage("no texts to explain*").Which.ParamName.Should().Be("texts");
        ((Action)(() => TextArguments.Check(["a film", "fine", null!]))).Should().Throw<ArgumentNullException>()
            .WithMessage("texts[2] is null*").Which.ParamName.Should().Be("texts");
        ((Action)(() => TextArguments.Check(["a film", "good", " \t"]))).Should().Throw<ArgumentException>()
            .WithMessage("texts[2] is empty or whitespace*").Which.ParamName.Should().Be("texts");
        ((Action)(() => TextArguments.Check(["a film", ""]))).Should().Throw<ArgumentException>().WithMessage("texts[1] is empty*");
    }

    [Fact]
    public void Targets_are_made_and_parsed()
    {
        Target.Predicted.IsPredicted.Should().BeTrue();
        Target.Predicted.ToString().Should().Be("predicted");
        Target.Class(2).Should().Be(Target.Parse("2"));
        Target.Class(2).IsPredicted.Should().BeFalse();
        Target.Class(2).Index.Should().Be(2);
        Target.Class(2).Label.Should().BeNull();
        Target.Class(2).ToString().Should().Be("2");
        Target.Named("positive").IsPredicted.Should().BeFalse();
        Target.Named("positive").Label.Should().Be("positive");
        Target.Named("positive").Index.Should().BeNull();
        Target.Named("positive").ToString().Should().Be("positive");
        Target.Parse("Predicted").Should().Be(Target.Predicted);
        Target.Parse("PREDICTED").IsPredicted.Should().BeTrue();
        Target.Parse("positive").Should().Be(Target.Named("positive"));
        Target.Parse("-1").Should().Be(Target.Class(-1));
        ((Action)(() => Target.Parse(null!))).Should().Throw<ArgumentNullException>();
        ((Action)(() => Target.Parse(""))).Should().Throw<ArgumentException>().Which.ParamName.Should().Be("text", "Parse's own parameter, not Named's");
        ((Action)(() => Target.Named(""))).Should().Throw<ArgumentException>();
        ((Action)(() => Target.Named(null!))).Should().Throw<ArgumentNullException>();
    }

    /// <summary>
    /// A regression model of two outputs predicts no class: the predicted target is refused by gradient, LIME and
    /// perturbation methods alike, naming the outputs, instead of explaining output 0 without a word; a named output is
    /// explained.
    /// </summary>
    [Fact]
    public void A_regression_model_of_several_outputs_needs_its_output_named()
    {
        var module = Attribution.Tests.Models.TransformerTestKit.RandomModel(
            Attribution.Tests.Models.TransformerTestKit.TinyBert with { NumLabels = 2 }, 3);
        using var model = new Attribution.Models.TextClassifier("two-scores", new IdsTokenizer(2, 3, 0, module.Config.VocabSize), module, ["valence", "arousal"],
            module.WordEmbeddingPath, module.Config.MaxSequenceLength, usesTokenTypes: true, head: Attribution.Models.OutputHead.Regression);
        foreach (IAttributor method in new IAttributor[] { new GradientXInput(), new Lime { Samples = 8, Perturbation = LimePerturbation.Remove }, new Occlusion { Perturbation = AbsentFeature.Baseline } })
        {
            var act = () => method.Explain(model, "5 9 12");
            act.Should().Throw<ArgumentException>().WithMessage("two-scores is a regression model of 2 outputs (valence, arousal), which predicts no class: name the output*", method.Name);
            method.Explain(model, "5 9 12", new ExplainOptions { Target = Target.Named("arousal") }).Target.Should().Be(1, method.Name);
        }
    }

    /// <summary>
    /// The refusals the pipeline's and MethodRunner's exception docs list, each naming the argument at fault: a class given
    /// twice or none, a class the model does not have (it was refused naming "Target", no argument of these methods),
    /// and a gradient method given a model known only by its outputs.
    /// </summary>
    [Fact]
    public void Every_class_and_black_box_refusals_name_the_argument_at_fault()
    {
        var module = Attribution.Tests.Models.TransformerTestKit.RandomModel(Attribution.Tests.Models.TransformerTestKit.TinyBert with { NumLabels = 2 }, 3);
        using var model = new Attribution.Models.TextClassifier("tiny", new IdsTokenizer(2, 3, 0, module.Config.VocabSize), module, ["negative", "positive"],
            module.WordEmbeddingPath, module.Config.MaxSequenceLength, usesTokenTypes: true);
        FluentActions.Invoking(() => Attribution.Pipeline.Explainer.ExplainClasses(model, ["5 9"], [new Gradient()], [0, 0])).Should().Throw<ArgumentException>()
            .WithMessage("give each class once and at least one (got [0, 0])*").Which.ParamName.Should().Be("classes");
        FluentActions.Invoking(() => MethodRunner.AttributeClasses(model, ["5 9"], [new Gradient()], [])).Should().Throw<ArgumentException>()
            .Which.ParamName.Should().Be("classes");
        FluentActions.Invoking(() => Attribution.Pipeline.Explainer.ExplainClasses(model, ["5 9"], [new Gradient()], [1, 2])).Should().Throw<ArgumentOutOfRangeException>()
            .WithMessage("classes holds 2, which is not a class of the model: it has 2 (0..1: negative, positive)*").Which.ParamName.Should().Be("classes");

        var blackBox = new ConstantPredictor();
        FluentActions.Invoking(() => new Gradient().Explain(blackBox, "a film")).Should().Throw<ArgumentException>()
            .WithMessage("gradient needs gradients, but the model is known only by its outputs (an ConstantPredictor); use a perturbation method*")
            .Which.ParamName.Should().Be("model");
    }

    private sealed class ConstantPredictor : Attribution.Models.ITextPredictor
    {
        public IReadOnlyList<string> Labels { get; } = ["negative", "positive"];

        public double[][] PredictProbabilities(IReadOnlyList<string> texts) => [.. texts.Select(_ => new[] { 0.5, 0.5 })];
    }

    [Fact]
    public void Resolving_a_target_checks_the_index_and_matches_labels_exactly_then_ignoring_case()
    {
        Target.Predicted.Resolve(Labels, 1).Should().Be(1);
        Target.Class(0).Resolve(Labels, 1).Should().Be(0);
        Target.Class(2).Resolve(Labels, 1).Should().Be(2);
        foreach (var bad in new[] { -1, 3 })
        {
            ((Action)(() => Target.Class(bad).Resolve(Labels, 0))).Should().Throw<ArgumentOutOfRangeException>()
                .WithMessage($"target class {bad} is out of range: the model has 3 classes (0..2: negative, positive, Neutral)*")
                .Which.ParamName.Should().Be("Target");
        }

        Target.Named("positive").Resolve(Labels, 0).Should().Be(1);
        Target.Named("neutral").Resolve(Labels, 0).Should().Be(2, "one label matches ignoring case");
        Target.Named("POSITIVE").Resolve(Labels, 0).Should().Be(1);

        // An exact match wins over case-insensitive ones; two case-insensitive matches and none are errors. Two matches
        // said "unknown target label", though the label is there twice over: the message now names both and the fix.
        string[] cased = ["pos", "POS", "neg"];
        Target.Named("POS").Resolve(cased, 0).Should().Be(1);
        Target.Named("pos").Resolve(cased, 2).Should().Be(0);
        ((Action)(() => Target.Named("Pos").Resolve(cased, 0))).Should().Throw<ArgumentException>()
            .WithMessage("target label 'Pos' matches 2 labels only ignoring case (0: pos, 1: POS): give the exact name or the class index (Target.Class(0), --target 0)*")
            .Which.ParamName.Should().Be("Target");
        // A name that is no number gets no word on indices: the message ends with the labels.
        ((Action)(() => Target.Named("mixed").Resolve(Labels, 0))).Should().Throw<ArgumentException>()
            .WithMessage("unknown target label 'mixed': the model's labels are negative, positive, Neutral (Parameter 'Target')");

        // A number that is no int parses as a name (a label may be "1.5"); when no label has it, the message says what an
        // index is. 99999999999999 is past int.MaxValue (2147483647).
        foreach (var number in new[] { "1.5", "99999999999999", "1e3" })
        {
            ((Action)(() => Target.Parse(number).Resolve(Labels, 0))).Should().Throw<ArgumentException>()
                .WithMessage($"unknown target label '{number}': the model's labels are negative, positive, Neutral; a class index is a whole number, 0..2*");
        }

        Target.Parse("1.5").Resolve(["0.5", "1.5"], 0).Should().Be(1, "a label that looks like a number still matches by name");
        ((Action)(() => Target.Predicted.Resolve(null!, 0))).Should().Throw<ArgumentNullException>();
    }

    /// <summary>
    /// Label names may repeat (a Hugging Face id2label may name two classes alike, and every loader keeps such a model):
    /// a target named by a shared label picked the first of them silently; it is refused, naming the indices to choose
    /// from. A label that only one class has still resolves.
    /// </summary>
    [Fact]
    public void A_target_label_that_several_classes_share_is_refused_naming_their_indices()
    {
        string[] labels = ["same", "other", "same"];
        Target.Named("other").Resolve(labels, 0).Should().Be(1);
        Target.Class(2).Resolve(labels, 0).Should().Be(2);
        ((Action)(() => Target.Named("same").Resolve(labels, 1))).Should().Throw<ArgumentException>()
            .WithMessage("target label 'same' names 2 classes (0, 2) of the model's labels same, other, same: name the class by index instead (Target.Class(0), --target 0)*")
            .Which.ParamName.Should().Be("Target");
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(16, true)]
    [InlineData(AttributionOptions.MaxBatchSize, true)]
    [InlineData(0, false)]
    [InlineData(-3, false)]
    [InlineData(AttributionOptions.MaxBatchSize + 1, false)]
    public void The_batch_size_must_be_between_1_and_1024(int batchSize, bool valid)
    {
        var validate = () => new AttributionOptions { BatchSize = batchSize }.Validate();
        if (valid)
        {
            validate.Should().NotThrow();
        }
        else
        {
            validate.Should().Throw<ArgumentOutOfRangeException>().WithMessage("the batch size must be between 1 and 1024*")
                .Which.ParamName.Should().Be("BatchSize");
        }
    }

    [Fact]
    public void Attribution_options_default_to_the_predicted_logit_in_batches_of_64_within_2048_tokens()
    {
        var options = new AttributionOptions();
        options.Target.IsPredicted.Should().BeTrue();
        options.Score.Should().Be(ScoreOutput.Logit);
        options.BatchSize.Should().Be(64);
        options.TokenBudget.Should().Be(2048);
        options.KeepRawAttributions.Should().BeFalse();
        options.Truncate.Should().BeFalse();
        AttributionOptions.MaxBatchSize.Should().Be(1024);
    }

    [Fact]
    public void Result_names_round_trip_and_unknown_names_are_refused()
    {
        Enum.GetValues<Normalization>().Select(v => v.Name()).Should().Equal("none", "l1", "l2", "max-abs", "min-max");
        Enum.GetValues<WordAggregation>().Select(v => v.Name()).Should().Equal("sum", "mean", "absmax", "l2", "first");
        Enum.GetValues<ScoreReduction>().Select(v => v.Name()).Should().Equal("sum", "l2", "l1", "feature-coefficient", "feature-score", "per-token");
        foreach (var v in Enum.GetValues<Normalization>())
        {
            ResultNames.ParseNormalization(v.Name()).Should().Be(v);
        }

        foreach (var v in Enum.GetValues<WordAggregation>())
        {
            ResultNames.ParseWordAggregation(v.Name()).Should().Be(v);
        }

        foreach (var v in Enum.GetValues<ScoreReduction>())
        {
            ResultNames.ParseScoreReduction(v.Name()).Should().Be(v);
        }

        Enum.GetValues<HiddenReduction>().Select(v => v.ToScoreReduction()).Should().Equal(ScoreReduction.Sum, ScoreReduction.L2, ScoreReduction.L1);

        ((Action)(() => ResultNames.ParseNormalization("zscore"))).Should().Throw<ArgumentException>()
            .WithMessage("unknown normalization 'zscore'*").Which.ParamName.Should().Be("name");
        ((Action)(() => ResultNames.ParseWordAggregation("max"))).Should().Throw<ArgumentException>()
            .WithMessage("unknown word aggregation 'max'*").Which.ParamName.Should().Be("name");
        ((Action)(() => ResultNames.ParseScoreReduction("relevance"))).Should().Throw<ArgumentException>()
            .WithMessage("unknown reduction 'relevance'*").Which.ParamName.Should().Be("name");
        ((Action)(() => ((Normalization)99).Name())).Should().Throw<ArgumentOutOfRangeException>();
        ((Action)(() => ((WordAggregation)99).Name())).Should().Throw<ArgumentOutOfRangeException>();
        ((Action)(() => ((ScoreReduction)99).Name())).Should().Throw<ArgumentOutOfRangeException>();
        ((Action)(() => ((HiddenReduction)99).ToScoreReduction())).Should().Throw<ArgumentOutOfRangeException>();
    }
}
