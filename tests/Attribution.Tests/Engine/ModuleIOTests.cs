using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Engine;

/// <summary><see cref="ModuleIO.Replace"/> on each shape of module input or output, at positions that exist and that do not.</summary>
public sealed class ModuleIOTests
{
    [Fact]
    public void Replace_swaps_the_tensor_at_a_position_and_refuses_one_that_does_not_exist()
    {
        using var a = zeros(1);
        using var b = ones(1);
        using var two = 2.0f.ToScalar();
        using var c = full(1, two);
        ModuleIO.Replace(a, 0, c).Should().BeSameAs(c);
        ((Tensor[])ModuleIO.Replace(new[] { a, b }, 1, c)).Should().Equal(a, c);
        ((List<Tensor>)ModuleIO.Replace(new List<Tensor> { a, b }, 0, c)).Should().Equal(c, b);
        var tuple = ((Tensor, Tensor?))ModuleIO.Replace((a, (Tensor?)null), 1, c);
        tuple.Item1.Should().BeSameAs(a);
        tuple.Item2.Should().BeSameAs(c);

        // Before: the list came back unchanged (the replacement silently dropped) and the array threw IndexOutOfRange.
        foreach (var (value, index) in new (object, int)[] { (new List<Tensor> { a, b }, 2), (new List<Tensor> { a }, -1), (new[] { a, b }, 2), (a, 1), ((a, b), 2) })
        {
            ((Action)(() => ModuleIO.Replace(value, index, c))).Should().Throw<ArgumentOutOfRangeException>()
                .WithMessage($"*has no position {index}; use a position in [0, *")
                .Which.ParamName.Should().Be("index");
        }

        ((Action)(() => ModuleIO.Replace("text", 0, c))).Should().Throw<ArgumentException>().WithMessage("cannot replace item 0 of a String*");
    }

    [Fact]
    public void Reading_a_value_that_holds_no_tensor_or_a_position_without_one_is_refused()
    {
        using var a = zeros(1);
        ModuleIO.Tensors(null).Should().BeEmpty();
        ModuleIO.Tensors((a, 5L)).Should().Equal(a, null);
        ((Action)(() => ModuleIO.Tensors("text"))).Should().Throw<ArgumentException>().WithMessage("a String holds no tensors*")
            .Which.ParamName.Should().Be("value");
        ModuleIO.TensorAt((a, 5L), 0).Should().BeSameAs(a);
        foreach (var index in new[] { 1, 2, -1 })
        {
            ((Action)(() => ModuleIO.TensorAt((a, 5L), index))).Should().Throw<ArgumentOutOfRangeException>()
                .WithMessage($"no tensor at position {index}; the value has 2 item(s) and tensors at [0]*").Which.ParamName.Should().Be("index");
        }
    }

    [Fact]
    public void Replacing_a_tuple_item_that_is_not_a_tensor_is_refused_naming_the_position()
    {
        // Before: reflection's "Object of type 'TorchSharp.torch+Tensor' cannot be converted to type 'System.Int64'",
        // with no argument name and no position.
        using var a = zeros(1);
        using var c = ones(1);
        var act = () => ModuleIO.Replace((a, 5L), 1, c);
        act.Should().Throw<ArgumentException>()
            .WithMessage("item 1 of a ValueTuple`2 is a Int64, not a tensor; use the position of a tensor (tensors at [0])*")
            .Which.ParamName.Should().Be("index");
        var replaced = ((Tensor, long))ModuleIO.Replace((a, 5L), 0, c);
        replaced.Item1.Should().BeSameAs(c);
        replaced.Item2.Should().Be(5);
    }
}
