using Attribution.Methods;

namespace Attribution.Tests.Methods.Perturbation;

/// <summary>
/// <see cref="PerturbationNames"/>: the names the settings and the command line (<c>--perturbation</c>) use for an
/// <see cref="AbsentFeature"/>, read back case-insensitively; anything else is refused naming the value and the choices.
/// </summary>
public sealed class PerturbationNamesTests
{
    [Theory]
    [InlineData(AbsentFeature.Mask, "mask")]
    [InlineData(AbsentFeature.Remove, "remove")]
    [InlineData(AbsentFeature.Baseline, "baseline")]
    public void Each_representation_has_a_name_that_parses_back(AbsentFeature value, string name)
    {
        value.Name().Should().Be(name);
        PerturbationNames.ParseAbsentFeature(name).Should().Be(value);
        PerturbationNames.ParseAbsentFeature(name.ToUpperInvariant()).Should().Be(value, "names are read case-insensitively");
    }

    [Theory]
    [InlineData("blank")]
    [InlineData("")]
    [InlineData(null)]
    public void An_unknown_name_is_refused_naming_it_and_the_choices(string? name) =>
        FluentActions.Invoking(() => PerturbationNames.ParseAbsentFeature(name!))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "name")
            .WithMessage($"unknown perturbation '{name}': use mask, remove or baseline*");

    [Fact]
    public void An_undefined_value_has_no_name()
    {
        var undefined = (AbsentFeature)9;
        FluentActions.Invoking(() => undefined.Name())
            .Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "value")
            .WithMessage("unknown perturbation: use mask, remove or baseline*");
    }
}
