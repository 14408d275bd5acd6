using Attribution.Torch;

namespace Attribution.Tests.Torch;

public class TensorBasicsTests
{
    [Fact]
    public void Round_trips_data_and_shape()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(new float[] { 1, 2, 3, 4, 5, 6 }, [2, 3]);
        x.shape.Should().Equal(2, 3);
        x.dtype.Should().Be(ScalarType.Float32);
        x.data<float>().Should().Equal(1, 2, 3, 4, 5, 6);
        x.sum().item<float>().Should().Be(21);
        x.matmul(x.t()).data<float>().Should().Equal(14, 32, 32, 77);
    }

    [Fact]
    public void Shape_mismatch_throws_typed_exception_naming_shapes()
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.ones(2, 3);
        var b = torch.ones(4, 5);
        var act = () => a.matmul(b);
        act.Should().Throw<TorchException>().Which.Message.Should().Contain("2x3").And.Contain("4x5");
    }

    [Fact]
    public void Copies_into_spans_without_allocating_and_checks_length_and_type()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(new double[] { 1, 2, 3, 4 }, [2, 2]).t();
        Span<double> values = stackalloc double[4];
        x.CopyTo(values);
        values.ToArray().Should().Equal(1, 3, 2, 4);
        var tooSmall = () => x.CopyTo(new double[3].AsSpan());
        tooSmall.Should().Throw<ArgumentException>().WithMessage("*holds 3 values*has 4*");
        var wrongType = () => x.CopyTo(new float[4].AsSpan());
        wrongType.Should().Throw<InvalidOperationException>().WithMessage("*Float64 tensor*");
    }

    [Fact]
    public void Version_is_reported() => torch.__version__.Should().StartWith("1.13");
}

public class ThreadCountTests
{
    [Fact]
    public void Is_positive_and_settable()
    {
        torch.get_num_threads().Should().BeInRange(1, Math.Max(1, Environment.ProcessorCount));

        var before = torch.get_num_threads();
        try
        {
            torch.set_num_threads(1);
            torch.get_num_threads().Should().Be(1);
            var act = () => torch.set_num_threads(0);
            act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*at least 1*");
        }
        finally
        {
            torch.set_num_threads(before);
        }
    }
}
