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
        CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("de-DE");
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
}
