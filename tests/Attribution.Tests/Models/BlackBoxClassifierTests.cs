using System.Globalization;
using Attribution.Models;

namespace Attribution.Tests.Models;

/// <summary>A faulty prediction function fails in <see cref="BlackBoxClassifier"/> with an error that names the function's fault.</summary>
public sealed class BlackBoxClassifierTests
{
    private static readonly string[] Labels = ["negative", "positive"];

    private static BlackBoxClassifier Returning(params double[] row) => new(texts => texts.Select(_ => row).ToArray(), Labels);

    /// <summary>
    /// NaN or ±∞ is a <see cref="NonFiniteValueException"/> from the model's output, as for a plain
    /// <see cref="ITextPredictor"/> and for a classifier's logits, so one catch handles all three; the numbers in the
    /// message do not depend on the culture (a German one would print 0,5 inside a comma-separated row).
    /// </summary>
    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void A_non_finite_probability_is_a_non_finite_value_from_the_model(double value)
    {
        var culture = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = TestCultures.DecimalComma;
        try
        {
            var act = () => Returning(value, 0.5).PredictProbabilities(["a film"]);
            var error = act.Should().Throw<NonFiniteValueException>().Which;
            error.Source.Should().Be(NonFiniteSource.ModelOutput);
            error.Message.Should().Contain($"[{value.ToString(CultureInfo.InvariantCulture)}, 0.5] for text 0").And.Contain("prediction function");
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
        }
    }

    /// <summary>
    /// Class probabilities sum to 1. Rows that do not (unnormalized scores, a sigmoid per label) would be explained as
    /// if they were probabilities, their logs reported as logits: refused, with the sum. Within 0.02 of 1 (two-decimal
    /// rounding, 0.005 per class: 0.33 × 3 = 0.99) they are accepted as given.
    /// </summary>
    [Theory]
    [InlineData(0.2, 0.3, 0.5)]
    [InlineData(0.9, 0.8, 1.7)]
    [InlineData(0.0, 0.0, 0.0)]
    public void Rows_that_do_not_sum_to_one_are_refused_with_their_sum(double negative, double positive, double sum)
    {
        var act = () => Returning(negative, positive).PredictProbabilities(["a film", "a dull film"]);
        act.Should().Throw<InvalidOperationException>()
            .WithMessage($"*prediction function*for text 0, which sum to {sum.ToString("R", CultureInfo.InvariantCulture)}*sum to 1*");
    }

    [Fact]
    public void Rows_within_rounding_of_one_are_returned_as_given()
    {
        var box = new BlackBoxClassifier(texts => texts.Select(_ => new[] { 0.33, 0.33, 0.33 }).ToArray(), ["a", "b", "c"]);
        box.PredictProbabilities(["a film"]).Should().BeEquivalentTo(new[] { new[] { 0.33, 0.33, 0.33 } });
        Returning(0.25, 0.75).PredictProbabilities(["a film"])[0].Should().Equal(0.25, 0.75);

        // A certain prediction is a probability too: 1 and 0 are inside [0, 1].
        Returning(1.0, 0.0).PredictProbabilities(["a film"])[0].Should().Equal(1.0, 0.0);
    }

    /// <summary>
    /// Zero texts give zero rows without calling the function: a function that may be a paid remote service, or that
    /// fails on an empty batch (as many model servers do), is not asked about nothing.
    /// </summary>
    [Fact]
    public void Zero_texts_give_zero_rows_without_calling_the_function()
    {
        var calls = 0;
        var box = new BlackBoxClassifier(texts =>
        {
            calls++;
            throw new InvalidOperationException("the function was called for " + texts.Count + " texts");
        }, Labels);

        box.PredictProbabilities([]).Should().BeEmpty();
        calls.Should().Be(0);
    }

    /// <summary>One value outside [0, 1] is enough to refuse a row, even when the row sums to 1.</summary>
    [Fact]
    public void One_value_outside_zero_to_one_refuses_its_row()
    {
        var box = new BlackBoxClassifier(texts => texts.Select(_ => new[] { 0.6, 0.6, -0.2 }).ToArray(), ["a", "b", "c"]);
        var act = () => box.PredictProbabilities(["a film"]);
        act.Should().Throw<InvalidOperationException>().WithMessage("*[0.6, 0.6, -0.2] for text 0*in [0, 1]*");
    }

    /// <summary>
    /// Label names are checked as a model's are: a repeated name is kept, as a Hugging Face id2label's is (classes are
    /// addressed by index; a target named by a shared label is refused when it is resolved), an empty one is refused by
    /// index. The list is copied, so changing the caller's list later changes nothing.
    /// </summary>
    [Fact]
    public void Labels_may_repeat_but_must_be_non_empty_and_are_copied()
    {
        double[][] Even(IReadOnlyList<string> texts) => texts.Select(_ => new[] { 0.5, 0.5 }).ToArray();
        var repeated = new BlackBoxClassifier(Even, ["positive", "positive"]);
        repeated.Labels.Should().Equal("positive", "positive");
        repeated.PredictProbabilities(["a film"])[0].Should().Equal(0.5, 0.5);
        FluentActions.Invoking(() => new BlackBoxClassifier(Even, ["negative", ""])).Should().Throw<ArgumentException>()
            .Where(e => e.ParamName == "labels").WithMessage("labels[1] is empty*");
        FluentActions.Invoking(() => new BlackBoxClassifier(Even, [])).Should().Throw<ArgumentException>().Where(e => e.ParamName == "labels");

        var labels = new List<string> { "negative", "positive" };
        var box = new BlackBoxClassifier(Even, labels);
        labels.Add("neutral");
        box.Labels.Should().Equal("negative", "positive");
        box.PredictProbabilities(["a film"])[0].Should().Equal(0.5, 0.5);
    }

    /// <summary>
    /// One label: its probabilities sum to 1, so every row is [1] and every explanation zero (the softmax over one output
    /// that TextClassifier refuses for a single-label head); a function giving p(positive) alone belongs in two labels,
    /// [1 - p, p]. Refused when wrapped, naming labels and that fix.
    /// </summary>
    [Fact]
    public void One_label_is_refused_since_its_probability_is_always_one()
    {
        FluentActions.Invoking(() => new BlackBoxClassifier(texts => texts.Select(_ => new[] { 1.0 }).ToArray(), ["positive"]))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "labels")
            .WithMessage("a black box has one label (positive)*always [1]*two labels*[1 - p, p]*");
    }

    /// <summary>
    /// A function that reuses one buffer from call to call (a pooled array, common in service wrappers) overwrote the
    /// rows of earlier calls, which LIME and the perturbation methods keep across batches; the rows are copied, so each
    /// result keeps its values and a caller's change to a row does not reach the function's buffer.
    /// </summary>
    [Fact]
    public void Rows_are_copied_so_a_function_reusing_its_buffer_changes_no_earlier_result()
    {
        var buffer = new[] { new double[2] };
        var calls = 0;
        var box = new BlackBoxClassifier(texts =>
        {
            calls++;
            buffer[0][0] = calls == 1 ? 0.25 : 0.75;
            buffer[0][1] = 1 - buffer[0][0];
            return buffer;
        }, Labels);

        var first = box.PredictProbabilities(["a film"]);
        var second = box.PredictProbabilities(["a dull film"]);

        first[0].Should().Equal(0.25, 0.75);
        second[0].Should().Equal(0.75, 0.25);
        second[0][0] = 0.5;
        buffer[0][0].Should().Be(0.75);
    }
}
