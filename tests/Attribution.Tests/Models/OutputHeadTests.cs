using Attribution.Models;

namespace Attribution.Tests.Models;

/// <summary>
/// <see cref="OutputHeads"/>' names and arithmetic on hand-picked logits whose softmax and sigmoid are exact fractions
/// (logits 0 and ln 3: softmax 1/4, 3/4; σ(ln 3) = 3/4, σ(−ln 3) = 1/4), and Hugging Face's problem_type rules.
/// </summary>
public sealed class OutputHeadTests
{
    private static readonly double Ln3 = Math.Log(3);

    [Theory]
    [InlineData(OutputHead.SingleLabel, "single_label_classification")]
    [InlineData(OutputHead.MultiLabel, "multi_label_classification")]
    [InlineData(OutputHead.Regression, "regression")]
    public void Names_are_hugging_face_problem_types_and_read_back(OutputHead head, string name)
    {
        head.Name().Should().Be(name);
        OutputHeads.FromProblemType(name, 1).Should().Be(head, "an explicit problem_type wins over the output count");
        OutputHeads.FromProblemType(name, 3).Should().Be(head);
    }

    [Fact]
    public void Without_a_problem_type_one_output_is_regression_and_more_are_single_label()
    {
        OutputHeads.FromProblemType(null, 1).Should().Be(OutputHead.Regression);
        OutputHeads.FromProblemType(null, 2).Should().Be(OutputHead.SingleLabel);
        OutputHeads.FromProblemType(null, 5).Should().Be(OutputHead.SingleLabel);
    }

    [Fact]
    public void An_unknown_problem_type_or_head_is_refused_naming_it()
    {
        FluentActions.Invoking(() => OutputHeads.FromProblemType("ordinal_regression", 2))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "problemType")
            .WithMessage("problem_type \"ordinal_regression\" is unknown: use single_label_classification, multi_label_classification or regression*");
        var unknown = (OutputHead)7;
        FluentActions.Invoking(() => unknown.Name()).Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "head");
        FluentActions.Invoking(() => unknown.Probabilities([0.0])).Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "head");
        // The parameter is named: without Probabilities' own check, LINQ's Max inside the softmax threw an
        // ArgumentNullException too, but for its "source", a name the caller never wrote.
        FluentActions.Invoking(() => OutputHead.SingleLabel.Probabilities(null!)).Should().Throw<ArgumentNullException>().Where(e => e.ParamName == "logits");
        FluentActions.Invoking(() => OutputHead.SingleLabel.PredictedLabels(null!)).Should().Throw<ArgumentNullException>().Where(e => e.ParamName == "logits");
    }

    [Fact]
    public void Only_single_label_with_one_output_is_a_count_problem()
    {
        // The refusal names the field and value, why they cannot go together, and both fixes (each of the text's
        // four parts is pinned here: a part dropped from the message fails this).
        OutputHeads.OutputCountProblem("single_label_classification", 1).Should().Match(
            "\"problem_type\" is \"single_label_classification\" but \"num_labels\" is 1 (one output)" +
            "*a softmax over one logit is 1 for every text*so every explanation of its probability would be zero*" +
            "set \"problem_type\": \"regression\"*(or \"multi_label_classification\" to read the output as one sigmoid label*" +
            "a single-label classifier needs at least two labels (\"num_labels\": 2, or two id2label entries, with a head of two outputs).");
        OutputHeads.OutputCountProblem("single_label_classification", 2).Should().BeNull();
        OutputHeads.OutputCountProblem("regression", 1).Should().BeNull();
        OutputHeads.OutputCountProblem("multi_label_classification", 1).Should().BeNull();
        OutputHeads.OutputCountProblem(null, 1).Should().BeNull();
    }

    [Fact]
    public void Probabilities_are_softmax_sigmoids_or_nothing()
    {
        var single = OutputHead.SingleLabel.Probabilities([0.0, Ln3]);
        single.Should().HaveCount(2);
        single[0].Should().BeApproximately(0.25, 1e-15);
        single[1].Should().BeApproximately(0.75, 1e-15);

        var multi = OutputHead.MultiLabel.Probabilities([0.0, Ln3, -Ln3]);
        multi.Should().HaveCount(3);
        multi[0].Should().Be(0.5);
        multi[1].Should().BeApproximately(0.75, 1e-15);
        multi[2].Should().BeApproximately(0.25, 1e-15);

        OutputHead.Regression.Probabilities([2.5]).Should().BeEmpty("a score has no probability");
    }

    [Fact]
    public void Predicted_labels_follow_each_head()
    {
        // σ(0) = 0.5 is not above 0.5: only logits above 0 count.
        OutputHead.MultiLabel.PredictedLabels([-1.0, 2.0, 0.0, 3.0]).Should().Equal(1, 3);
        OutputHead.MultiLabel.PredictedLabels([-3.0, -1.0, -2.0]).Should().Equal([1], "none is above 0.5: the top one");
        OutputHead.SingleLabel.PredictedLabels([1.0, 3.0, 2.0]).Should().Equal(1);
        OutputHead.SingleLabel.PredictedLabels([-1.0, -3.0]).Should().Equal(0);
        OutputHead.Regression.PredictedLabels([-4.0]).Should().Equal(0);
    }

    [Fact]
    public void Sigmoid_is_exact_at_hand_values_and_finite_at_either_extreme()
    {
        OutputHeads.Sigmoid(0).Should().Be(0.5);
        OutputHeads.Sigmoid(Ln3).Should().BeApproximately(0.75, 1e-15);
        OutputHeads.Sigmoid(-Ln3).Should().BeApproximately(0.25, 1e-15);

        // e^800 overflows to ∞: ∞/(1 + ∞) would be NaN, 1/(1 + ∞) is 0.
        OutputHeads.Sigmoid(800).Should().Be(1);
        OutputHeads.Sigmoid(-800).Should().Be(0);
        OutputHeads.Sigmoid(double.PositiveInfinity).Should().Be(1);
        OutputHeads.Sigmoid(double.NegativeInfinity).Should().Be(0);
    }
}
