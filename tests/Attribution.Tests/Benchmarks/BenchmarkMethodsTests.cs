using Attribution.Benchmarks;
using Attribution.Methods;

namespace Attribution.Tests.Benchmarks;

/// <summary>
/// The method names of method-throughput and method-one-text (BenchmarkMethods, linked from
/// benchmarks/Attribution.Benchmarks). A combination "gradient+predict" passed the name check (only its first part was
/// looked up) and then crashed with a NullReferenceException inside MethodRunner.AttributeAll, predict standing for no
/// method; every part of a combination is now checked, before the model loads, with a message naming the part.
/// </summary>
public sealed class BenchmarkMethodsTests
{
    [Theory]
    [InlineData("gradient+predict", "predict runs no method, so it cannot be combined")]
    [InlineData("gradient+nope", "unknown method 'nope' in 'gradient+nope': use gradient, ")]
    [InlineData("gradient+", "unknown method '' in 'gradient+'")]
    [InlineData("gradient+ig/every-class", "'ig/every-class' cannot be combined, a combination explains the predicted class only")]
    [InlineData("predict+gradient", "predict runs no method, so it cannot be combined")]
    public void A_combination_with_a_part_that_is_no_method_is_refused_naming_it(string name, string message)
    {
        var refused = FluentActions.Invoking(() => BenchmarkMethods.Method(name)).Should().Throw<ArgumentException>().Which;
        refused.Message.Should().Contain($"'{name}'").And.Contain(message);
        refused.ParamName.Should().Be("method");
    }

    [Fact]
    public void An_unknown_single_name_is_refused_and_known_names_give_their_methods()
    {
        FluentActions.Invoking(() => BenchmarkMethods.Method("x")).Should().Throw<ArgumentException>()
            .WithMessage("unknown method 'x': use gradient, *");
        BenchmarkMethods.Method("predict").Should().BeNull();
        BenchmarkMethods.Method("ig-50").Should().BeOfType<IntegratedGradients>().Which.Steps.Should().Be(50);
        BenchmarkMethods.Method("gradient/every-class").Should().BeOfType<Gradient>();
        BenchmarkMethods.Combination("gradient+ig+occlusion").Select(m => m.GetType())
            .Should().Equal(typeof(Gradient), typeof(IntegratedGradients), typeof(Occlusion));
    }
}
