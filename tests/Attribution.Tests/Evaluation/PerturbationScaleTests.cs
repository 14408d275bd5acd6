using Attribution.Evaluation;
using Attribution.Methods;
using Attribution.Pipeline;
using Attribution.Tests.Methods;

namespace Attribution.Tests.Evaluation;

/// <summary>
/// Perturbation sizes the float32 word embeddings cannot hold, refused before any forward pass. Max-sensitivity with
/// Radius 1e300 drew δ = (2u − 1)·r, reaching r in size, whose float32 copy added to the embeddings is infinite: the
/// model ran the reference explanation and the first sample before failing as non-finite. Infidelity's Stdev and given
/// perturbations the same. The bound is float32's largest value, (2 − 2⁻²³)·2¹²⁷ = 3.4028234663852886E+38 by IEEE 754's
/// definition: at it a value is still finite (accepted), the next double above it is refused.
/// </summary>
public sealed class PerturbationScaleTests
{
    private const double Float32Max = 3.4028234663852886E+38;

    [Fact]
    public void The_bound_is_float32s_largest_value()
    {
        ((2 - Math.Pow(2, -23)) * Math.Pow(2, 127)).Should().Be(Float32Max, "IEEE 754 binary32's largest finite value");
        new SensitivitySettings { Radius = Float32Max }.Validate();
        new InfidelitySettings { Stdev = Float32Max }.Validate();
        FluentActions.Invoking(() => new SensitivitySettings { Radius = Math.BitIncrement(Float32Max) }.Validate())
            .Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("Radius");
        FluentActions.Invoking(() => new InfidelitySettings { Stdev = Math.BitIncrement(Float32Max) }.Validate())
            .Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("Stdev");
    }

    [Fact]
    public void Max_sensitivity_with_radius_1e300_is_refused_before_any_forward_pass()
    {
        using var model = PowerOfSum.Classifier(1);
        using var counter = new ForwardCounter(model);
        var error = FluentActions.Invoking(() => MaxSensitivity.Compute(model, new Gradient(), "3 4", null, new SensitivitySettings { Radius = 1e300 }))
            .Should().Throw<ArgumentOutOfRangeException>().Which;

        error.ParamName.Should().Be("Radius");
        error.ActualValue.Should().Be(1e300);
        error.Message.Should().Contain("the radius exceeds 3.4028235E+38 in size, float32's largest value").And.Contain("would be infinite")
            .And.Contain("use a size of the embeddings' own scale (default 0.02, Captum's)");
        counter.Calls.Should().Be(0, "refused before the reference explanation");
    }

    [Fact]
    public void Infidelity_with_stdev_or_a_given_value_beyond_float32_is_refused_before_any_forward_pass()
    {
        using var model = PowerOfSum.Classifier(1);
        var explanation = new GradientXInput().Explain(model, "3 4", new ExplainOptions { KeepRawAttributions = true, Salience = new() { KeepSpecialTokens = true } });
        using var counter = new ForwardCounter(model);

        var spread = FluentActions.Invoking(() => Infidelity.Compute(model, explanation, new InfidelitySettings { Stdev = 1e300 }))
            .Should().Throw<ArgumentOutOfRangeException>().Which;
        spread.ParamName.Should().Be("Stdev");
        spread.Message.Should().Contain("the standard deviation exceeds 3.4028235E+38").And.Contain("(default 0.03, the seed paper's)");

        // Two tokens of three dimensions (PowerOfSum's embedding width); one value beyond float32.
        double[][] given = [[0, 0, 0], [0, -1e39, 0]];
        var value = FluentActions.Invoking(() => Infidelity.Compute(model, explanation, new InfidelitySettings { Perturbations = [given] }))
            .Should().Throw<ArgumentException>().Which;
        value.ParamName.Should().Be("settings");
        value.Message.Should().Contain("InfidelitySettings.Perturbations[0][1][1] is -1E+39: a perturbation value exceeds 3.4028235E+38 in size");

        var sensitivity = FluentActions.Invoking(() => MaxSensitivity.Compute(model, new Gradient(), "3 4", null, new SensitivitySettings { Perturbations = [given] }))
            .Should().Throw<ArgumentException>().Which;
        sensitivity.Message.Should().Contain("SensitivitySettings.Perturbations[0][1][1] is -1E+39");

        // The first value of the first token too (an index search that skipped index 0 let it through).
        double[][] first = [[1e39, 0, 0], [0, 0, 0]];
        FluentActions.Invoking(() => Infidelity.Compute(model, explanation, new InfidelitySettings { Perturbations = [first] }))
            .Should().Throw<ArgumentException>().Which.Message.Should().Contain("InfidelitySettings.Perturbations[0][0][0] is 1E+39");
        counter.Calls.Should().Be(0, "every refusal came before a forward pass");
    }
}
