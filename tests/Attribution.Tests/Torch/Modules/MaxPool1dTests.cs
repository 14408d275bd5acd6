using Attribution.Torch;
using static Attribution.Torch.torch;

namespace Attribution.Tests.Torch.Modules;

public class MaxPool1dTests
{
    private static readonly float[] Row = [1, 3, 2, 5, 4, 0];

    [Fact]
    public void Stride_defaults_to_the_kernel_size()
    {
        using var scope = NewDisposeScope();
        using var pool = new nn.MaxPool1d(2);
        pool.Stride.Should().Be(2);
        pool.call(tensor(Row, [1, 1, 6])).data<float>().Should().Equal(3, 5, 4);
    }

    [Fact]
    public void Padding_is_negative_infinity()
    {
        using var scope = NewDisposeScope();
        using var pool = new nn.MaxPool1d(3, stride: 2, padding: 1);

        // −∞ 1 3 2 5 4 0 −∞, windows at 0, 2, 4.
        pool.call(tensor(Row, [1, 1, 6])).data<float>().Should().Equal(3, 5, 5);
        pool.call(tensor(new float[] { -1, -2, -3 }, [1, 1, 3])).data<float>().Should().Equal(-1, -2);
    }

    [Fact]
    public void Ceil_mode_keeps_the_last_partial_window()
    {
        using var scope = NewDisposeScope();
        var x = tensor(Row.AsSpan(0, 5), [1, 1, 5]);
        using var floor = new nn.MaxPool1d(2);
        using var ceil = new nn.MaxPool1d(2, ceilMode: true);
        floor.call(x).data<float>().Should().Equal(3, 5);
        ceil.call(x).data<float>().Should().Equal(3, 5, 4);
    }

    [Fact]
    public void Dilation_spaces_the_window_taps()
    {
        using var scope = NewDisposeScope();
        using var pool = new nn.MaxPool1d(2, stride: 1, dilation: 2);

        // max(x[i], x[i+2]).
        pool.call(tensor(Row, [1, 1, 6])).data<float>().Should().Equal(2, 5, 4, 5);
    }

    [Fact]
    public void Pools_each_channel_and_batch_row_independently_and_accepts_unbatched_input()
    {
        using var scope = NewDisposeScope();
        using var pool = new nn.MaxPool1d(3);
        var x = arange(0, 24, 1, float32).reshape(2, 2, 6);
        var y = pool.call(x);
        y.shape.Should().Equal(2, 2, 2);
        y.data<float>().Should().Equal(2, 5, 8, 11, 14, 17, 20, 23);
        pool.call(x[1]).data<float>().Should().Equal(14, 17, 20, 23);
        pool.named_parameters().Should().BeEmpty();
    }

    [Fact]
    public void Gradient_flows_to_the_maximum_only()
    {
        using var scope = NewDisposeScope();
        using var pool = new nn.MaxPool1d(3);
        var x = tensor(Row, [1, 1, 6], requires_grad: true);
        pool.call(x).sum().backward();
        x.grad!.data<float>().Should().Equal(0, 1, 0, 1, 0, 0);
    }

    [Fact]
    public void Forward_hooks_fire()
    {
        using var scope = NewDisposeScope();
        using var pool = new nn.MaxPool1d(2);
        Tensor? seen = null;
        using var handle = pool.register_forward_hook((_, _, output) =>
        {
            seen = ModuleIO.TensorAt(output, 0);
            return ModuleIO.Replace(output, 0, seen.neg());
        });
        var y = pool.call(tensor(Row, [1, 1, 6]));
        seen!.data<float>().Should().Equal(3, 5, 4);
        y.data<float>().Should().Equal(-3, -5, -4);
    }

    [Fact]
    public void Wrong_input_rank_is_reported()
    {
        using var scope = NewDisposeScope();
        using var pool = new nn.MaxPool1d(2);
        var act = () => pool.call(zeros(4));
        act.Should().Throw<ArgumentException>().Which.Message.Should().Contain("[4]");
    }

    [Theory]
    [InlineData(0, null, 0, 1, "kernelSize")]
    [InlineData(2, 0L, 0, 1, "stride")]
    [InlineData(2, null, -1, 1, "padding")]
    [InlineData(3, null, 2, 1, "padding")]
    [InlineData(2, null, 0, 0, "dilation")]
    public void Invalid_arguments_throw_naming_the_argument(long kernel, long? stride, long padding, long dilation, string parameter)
    {
        var act = () => new nn.MaxPool1d(kernel, stride, padding, dilation);
        act.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be(parameter);
    }
}
