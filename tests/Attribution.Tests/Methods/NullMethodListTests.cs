using Attribution.Methods;
using Attribution.Pipeline;

namespace Attribution.Tests.Methods;

/// <summary>
/// A null among the methods given to <see cref="MethodRunner"/> (and so to <see cref="Explainer.ExplainAll"/> and
/// <see cref="Explainer.ExplainClasses"/>) is refused naming <c>attributors</c> and the null's index, before any forward
/// pass; it failed as a NullReferenceException once the methods ran.
/// </summary>
public sealed class NullMethodListTests
{
    public static TheoryData<string> Entries() => ["AttributeAll", "AttributeClasses", "ExplainAll", "ExplainClasses"];

    [Theory]
    [MemberData(nameof(Entries))]
    public void A_null_method_is_refused_naming_its_index_before_any_forward_pass(string entry)
    {
        var (model, module) = PowerOfSum.Counted(1);
        using (model)
        {
            IAttributor[] methods = [new Gradient(), null!];
            Action call = entry switch
            {
                "AttributeAll" => () => MethodRunner.AttributeAll(model, ["3 4"], methods),
                "AttributeClasses" => () => MethodRunner.AttributeClasses(model, ["3 4"], methods, [0, 1]),
                "ExplainAll" => () => Explainer.ExplainAll(model, ["3 4"], methods),
                _ => () => Explainer.ExplainClasses(model, ["3 4"], methods),
            };

            var error = call.Should().Throw<ArgumentException>().Which;
            error.Should().NotBeOfType<ArgumentNullException>("the list is given; one of its entries is null");
            error.ParamName.Should().Be("attributors");
            error.Message.Should().StartWith("attributors[1] is null: give each method as an attributor");
            module.ForwardCalls.Should().Be(0, "the list is checked before the model runs");
        }
    }
}
