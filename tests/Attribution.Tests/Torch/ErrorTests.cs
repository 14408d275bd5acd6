using Attribution.Torch;
using F = Attribution.Torch.torch.nn.functional;

namespace Attribution.Tests.Torch;

/// <summary>Misuse surfaces as typed exceptions whose messages name the problem; the process keeps running.</summary>
public class ErrorTests
{
    [Fact]
    public void A_shape_mismatched_matmul_names_both_shapes()
    {
        using var scope = torch.NewDisposeScope();
        var act = () => torch.ones(2, 3).matmul(torch.ones(4, 5));
        var e = act.Should().Throw<TorchException>().Which;
        e.Operation.Should().Be("matmul");
        e.Message.Should().Contain("2x3").And.Contain("4x5");
        e.Detail.Should().NotStartWith("matmul");

        var mm = () => torch.ones(2, 3).mm(torch.ones(2, 3));
        mm.Should().Throw<TorchException>().Which.Message.Should().Contain("2x3");
        var bmm = () => torch.ones(2, 2, 3).bmm(torch.ones(3, 3, 2));
        bmm.Should().Throw<TorchException>().Which.Operation.Should().Be("bmm");
        var linear = () => F.linear(torch.ones(4, 3), torch.ones(2, 5));
        linear.Should().Throw<TorchException>().Which.Message.Should().Contain("4x3").And.Contain("5x2");
    }

    [Fact]
    public void Broadcasting_and_reshaping_errors_name_the_sizes()
    {
        using var scope = torch.NewDisposeScope();
        var add = () => torch.ones(2, 3) + torch.ones(2, 4);
        add.Should().Throw<TorchException>().Which.Message.Should().Contain("(3)").And.Contain("(4)");
        var reshape = () => torch.ones(2, 3).reshape(4, 4);
        reshape.Should().Throw<TorchException>().Which.Message.Should().Contain("[4, 4]").And.Contain("6");
        var view = () => torch.ones(2, 3).t().view(6);
        view.Should().Throw<TorchException>().Which.Message.Should().Contain("reshape");
        var cat = () => torch.cat([torch.ones(2, 3), torch.ones(2, 4)]);
        cat.Should().Throw<TorchException>().Which.Message.Should().Contain("3").And.Contain("4");
        var dim = () => torch.ones(2, 3).sum(5);
        dim.Should().Throw<TorchException>().Which.Message.Should().Contain("Dimension out of range");
        var size = () => torch.ones(2, 3).size(2);
        size.Should().Throw<ArgumentOutOfRangeException>().Which.Message.Should().Contain("[2, 3]");
        var data = () => torch.tensor(new float[] { 1, 2, 3 }, [2, 2]);
        data.Should().Throw<ArgumentException>().Which.Message.Should().Contain("[2, 2]");
    }

    [Fact]
    public void An_out_of_range_embedding_index_names_the_id_and_the_table_size()
    {
        using var scope = torch.NewDisposeScope();
        var table = torch.ones(5, 2);
        var high = () => F.embedding(torch.tensor(new long[] { 1, 7 }), table);
        var e = high.Should().Throw<TorchException>().Which;
        e.Operation.Should().Be("embedding");
        e.Message.Should().Contain("7").And.Contain("5 rows");
        var negative = () => F.embedding(torch.tensor(new long[] { -1 }), table);
        negative.Should().Throw<TorchException>().Which.Message.Should().Contain("-1");
        using var module = new torch.nn.Embedding(3, 2);
        var viaModule = () => module.call(torch.tensor(new long[] { 3 }));
        viaModule.Should().Throw<TorchException>().Which.Message.Should().Contain("3 rows");

        var select = () => torch.ones(2, 3).select(0, 5);
        select.Should().Throw<TorchException>().Which.Message.Should().Contain("5");
        var indexSelect = () => torch.ones(2, 3).index_select(1, torch.tensor(new long[] { 3 }));
        indexSelect.Should().Throw<TorchException>().Which.Message.Should().Contain("id=3");
        var ce = () => F.cross_entropy(torch.zeros(2, 3), torch.tensor(new long[] { 0, 7 }));
        ce.Should().Throw<TorchException>().Which.Message.Should().Contain("7");
    }

    [Fact]
    public void A_dtype_mismatch_names_both_types()
    {
        using var scope = torch.NewDisposeScope();
        var act = () => torch.ones(2, 2).mm(torch.ones([2, 2], ScalarType.Float64));
        var message = act.Should().Throw<TorchException>().Which.Message.ToLowerInvariant();
        message.Should().Contain("float").And.Contain("double");

        var linear = () => F.linear(torch.ones(2, 2), torch.ones([2, 2], ScalarType.Float64));
        linear.Should().Throw<TorchException>().Which.Message.ToLowerInvariant().Should().Contain("double");
        var indices = () => F.embedding(torch.ones(2), torch.ones(3, 2));
        indices.Should().Throw<TorchException>().Which.Message.Should().Contain("indices");
        var data = () => torch.ones(2).data<double>();
        data.Should().Throw<InvalidOperationException>().Which.Message.Should().Contain("Double").And.Contain("Float32");
        // A float mask used to be misread silently by libtorch (1.0f has a zero low byte): now it is an error.
        var floatMask = () => torch.ones(2).masked_fill(torch.ones(2), 0);
        floatMask.Should().Throw<TorchException>().Which.Message.Should().Contain("Bool").And.Contain("Float");
        var longMask = () => torch.ones(2).masked_fill(torch.tensor(new long[] { 1, 0 }), 0);
        longMask.Should().Throw<TorchException>().Which.Message.Should().Contain("Long");
        var where = () => torch.where(torch.ones(2), torch.ones(2), torch.zeros(2));
        where.Should().Throw<TorchException>().Which.Message.Should().Contain("Float");
        var select = () => torch.ones(2).masked_select(torch.ones(2));
        select.Should().Throw<TorchException>().Which.Message.Should().Contain("BoolTensor");
    }

    [Fact]
    public void Using_a_disposed_tensor_throws_object_disposed()
    {
        var x = torch.ones(2, 2);
        var y = torch.ones(2, 2);
        x.Dispose();
        x.Dispose();
        x.IsDisposed.Should().BeTrue();
        x.ToString().Should().Be("[disposed tensor]");
        var use = () => x.sum();
        use.Should().Throw<ObjectDisposedException>().Which.Message.Should().Contain("disposed");
        var asArgument = () => y.add(x);
        asArgument.Should().Throw<ObjectDisposedException>();
        var inList = () => torch.cat([y, x]);
        inList.Should().Throw<ObjectDisposedException>();
        var shape = () => x.shape;
        shape.Should().Throw<ObjectDisposedException>();
        y.sum().item<float>().Should().Be(4);
        y.Dispose();

        Tensor escaped;
        using (torch.NewDisposeScope())
        {
            escaped = torch.ones(3);
        }

        var afterScope = () => escaped.data<float>();
        afterScope.Should().Throw<ObjectDisposedException>().Which.Message.Should().Contain("MoveToOuterDisposeScope");
    }

    [Fact]
    public void Backward_on_a_non_scalar_without_a_gradient_names_the_shape()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.ones([2, 3], ScalarType.Float64, requires_grad: true);
        var act = () => (x * 2).backward();
        var e = act.Should().Throw<TorchException>().Which;
        e.Operation.Should().Be("backward");
        e.Message.Should().Contain("[2, 3]").And.Contain("scalar");

        var wrongGradient = () => (x * 2).backward(torch.ones([3], ScalarType.Float64));
        wrongGradient.Should().Throw<TorchException>().Which.Message.Should().Contain("shape");
        var noGrad = () => torch.ones(1).sum().backward();
        noGrad.Should().Throw<TorchException>().Which.Message.Should().Contain("does not require grad");
    }

    [Fact]
    public void Autograd_misuse_of_in_place_ops_is_reported()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(new[] { 1.0, 2 }, requires_grad: true);
        var leaf = () => x.add_(1);
        leaf.Should().Throw<TorchException>().Which.Message.Should().Contain("leaf Variable");
        var hidden = x * 1;
        var saved = hidden.sin();
        hidden.add_(1);
        var stale = () => saved.sum().backward();
        stale.Should().Throw<TorchException>().Which.Message.Should().Contain("modified by an inplace operation");
        using (torch.no_grad())
        {
            x.add_(1);
        }

        x.data<double>().Should().Equal(2, 3);
    }

    [Fact]
    public void Numerical_and_argument_errors_are_reported()
    {
        using var scope = torch.NewDisposeScope();
        var notPd = () => torch.linalg.cholesky(torch.tensor(new[] { 1.0, 2, 2, 1 }, [2, 2]));
        notPd.Should().Throw<TorchException>().Which.Message.Should().Contain("positive-definite");
        var singular = () => torch.linalg.solve(torch.zeros([2, 2], ScalarType.Float64), torch.ones([2, 1], ScalarType.Float64));
        singular.Should().Throw<TorchException>().Which.Message.Should().Contain("singular");
        var item = () => torch.ones(2, 2).item<float>();
        item.Should().Throw<TorchException>().Which.Message.Should().Contain("[2, 2]");
        var dropout = () => F.dropout(torch.ones(2), 1.5);
        dropout.Should().Throw<TorchException>().Which.Message.Should().Contain("1.5");
        var dropoutModule = () => new torch.nn.Dropout(2);
        dropoutModule.Should().Throw<ArgumentOutOfRangeException>();
        var gelu = () => torch.ones(2).gelu("erf");
        gelu.Should().Throw<ArgumentException>().Which.Message.Should().Contain("erf");
        var clamp = () => torch.ones(2).clamp();
        clamp.Should().Throw<ArgumentException>();
        var reduction = () => F.cross_entropy(torch.zeros(2, 3), torch.tensor(new long[] { 0, 1 }), reduction: "avg");
        reduction.Should().Throw<ArgumentException>().Which.Message.Should().Contain("avg");
        var threads = () => torch.set_num_threads(0);
        threads.Should().Throw<ArgumentOutOfRangeException>();
        var einsum = () => torch.einsum("ij,jk->ik", torch.ones(2, 3));
        einsum.Should().Throw<TorchException>().Which.Operation.Should().Be("einsum");
        var emptyCat = () => torch.cat([]);
        emptyCat.Should().Throw<ArgumentException>();
        var itemType = () => torch.ones(1).item<decimal>();
        itemType.Should().Throw<NotSupportedException>();
        var generator = new Generator(1);
        generator.Dispose();
        var disposedGenerator = () => torch.rand([2], generator: generator);
        disposedGenerator.Should().Throw<ObjectDisposedException>();
    }

    [Fact]
    public void Errors_on_parallel_threads_keep_their_own_messages()
    {
        // The shim's last-error text is thread-local: concurrent failures must not swap messages.
        var messages = new string[8];
        Parallel.For(0, messages.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            for (var k = 0; k < 10; k++)
            {
                using var scope = torch.NewDisposeScope();
                try
                {
                    torch.ones(2, i + 3).matmul(torch.ones(i + 10, 2));
                }
                catch (TorchException e)
                {
                    messages[i] = e.Message;
                }
            }
        });
        for (var i = 0; i < messages.Length; i++)
        {
            messages[i].Should().Contain($"2x{i + 3}").And.Contain($"{i + 10}x2");
        }
    }

    [Fact]
    public void The_process_survives_many_failures()
    {
        for (var i = 0; i < 50; i++)
        {
            using var scope = torch.NewDisposeScope();
            var act = () => torch.ones(2, 3).matmul(torch.ones(4, 5));
            act.Should().Throw<TorchException>();
        }

        using var after = torch.NewDisposeScope();
        torch.ones(2, 3).matmul(torch.ones(3, 2)).sum().item<float>().Should().Be(12);
    }
}
