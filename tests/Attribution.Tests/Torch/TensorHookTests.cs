using Attribution.Torch;

namespace Attribution.Tests.Torch;

/// <summary>Tensor gradient hooks: observing and rescaling gradients, removal, and failures inside hooks.</summary>
public class TensorHookTests
{
    private static Tensor Leaf(params double[] values) => torch.tensor(values, requires_grad: true);

    [Fact]
    public void A_hook_sees_the_gradient_and_can_rescale_it()
    {
        using var scope = torch.NewDisposeScope();
        var x = Leaf(1, 2, 3);
        double[]? seen = null;
        using (x.register_hook(g =>
               {
                   seen = g.data<double>();
                   return g * 2;
               }))
        {
            (x * x).sum().backward();
        }

        seen.Should().Equal(2, 4, 6);
        x.grad!.data<double>().Should().Equal(4, 8, 12);
    }

    [Fact]
    public void A_hook_returning_null_keeps_the_gradient()
    {
        using var scope = torch.NewDisposeScope();
        var x = Leaf(1, 2);
        var calls = 0;
        using var handle = x.register_hook(_ =>
        {
            calls++;
            return null;
        });
        (x * 3).sum().backward();
        calls.Should().Be(1);
        x.grad!.data<double>().Should().Equal(3, 3);
    }

    [Fact]
    public void Disposing_the_handle_removes_the_hook()
    {
        using var scope = torch.NewDisposeScope();
        var x = Leaf(1, 2);
        var calls = 0;
        var handle = x.register_hook(g =>
        {
            calls++;
            return g * 10;
        });
        (x * 1).sum().backward();
        x.grad!.data<double>().Should().Equal(10, 10);
        handle.Dispose();
        handle.Dispose();
        x.grad = null;
        (x * 1).sum().backward();
        calls.Should().Be(1);
        x.grad!.data<double>().Should().Equal(1, 1);
    }

    [Fact]
    public void A_handle_still_removes_its_hook_after_the_tensor_handle_was_disposed()
    {
        using var scope = torch.NewDisposeScope();
        var x = Leaf(1, 2);
        var alias = x.alias();
        var calls = 0;
        var handle = alias.register_hook(g =>
        {
            calls++;
            return g;
        });
        alias.Dispose();
        (x * 1).sum().backward();
        calls.Should().Be(1, "the hook lives on the libtorch tensor, not on one managed handle");
        handle.Dispose();
        (x * 1).sum().backward();
        calls.Should().Be(1);
    }

    [Fact]
    public void A_hook_on_an_intermediate_rescales_everything_upstream()
    {
        using var scope = torch.NewDisposeScope();
        var x = Leaf(1, 2);
        var hidden = x * 3;
        using var handle = hidden.register_hook(g => g.neg());
        (hidden * hidden).sum().backward();
        x.grad!.data<double>().Should().Equal(-18, -36);
    }

    [Fact]
    public void Hooks_run_in_registration_order_each_seeing_the_previous_result()
    {
        using var scope = torch.NewDisposeScope();
        var x = Leaf(1);
        var order = new List<string>();
        using var first = x.register_hook(g =>
        {
            order.Add("first " + g.item<double>());
            return g * 2;
        });
        using var second = x.register_hook(g =>
        {
            order.Add("second " + g.item<double>());
            return g + 1;
        });
        (x * 5).sum().backward();
        order.Should().Equal("first 5", "second 10");
        x.grad!.item<double>().Should().Be(11);
    }

    [Fact]
    public void Hooks_on_intermediates_fire_for_autograd_grad_on_the_calling_thread()
    {
        // libtorch 1.13 runs a leaf's hooks only when its gradient is accumulated (backward), so autograd.grad
        // with respect to a leaf skips them; hooks on intermediate tensors fire for both.
        using var scope = torch.NewDisposeScope();
        var x = Leaf(1, 2);
        var hidden = x * 4;
        var thread = -1;
        using var handle = hidden.register_hook(g =>
        {
            thread = Environment.CurrentManagedThreadId;
            return g * 0.5;
        });
        var g = torch.autograd.grad([hidden.sum()], [x]);
        g[0]!.data<double>().Should().Equal(2, 2);
        thread.Should().Be(Environment.CurrentManagedThreadId);
    }

    [Fact]
    public void A_throwing_hook_makes_backward_throw_with_the_hook_exception_inside_and_later_calls_work()
    {
        using var scope = torch.NewDisposeScope();
        var x = Leaf(1, 2);
        var failure = new InvalidOperationException("hook exploded");
        var handle = x.register_hook(_ => throw failure);

        var act = () => (x * x).sum().backward();
        var thrown = act.Should().Throw<TorchException>().Which;
        thrown.InnerException.Should().BeSameAs(failure);
        thrown.Message.Should().Contain("hook exploded");
        x.grad.Should().BeNull("the hook failed before the gradient was accumulated");

        // Through autograd.grad as well (from a hook on an intermediate).
        var hidden = x * 2;
        using (hidden.register_hook(_ => throw failure))
        {
            var viaGrad = () => torch.autograd.grad([hidden.sum()], [x]);
            viaGrad.Should().Throw<TorchException>().Which.InnerException.Should().BeSameAs(failure);
        }

        // The process and the autograd engine survive: remove the hook and differentiate again.
        handle.Dispose();
        (x * x).sum().backward();
        x.grad!.data<double>().Should().Equal(2, 4);
        torch.autograd.grad([(x * 3).sum()], [x])[0]!.data<double>().Should().Equal(3, 3);

        // A later, unrelated failure is reported as itself, not as the old hook failure.
        var later = () => torch.ones(2, 3).matmul(torch.ones(2, 3));
        later.Should().Throw<TorchException>().Which.InnerException.Should().BeNull();
    }

    [Fact]
    public void A_hook_that_fails_once_does_not_poison_the_next_backward()
    {
        using var scope = torch.NewDisposeScope();
        var x = Leaf(1, 2);
        var fail = true;
        using var handle = x.register_hook(g => fail ? throw new ArithmeticException("first call fails") : g * 3);
        var act = () => (x * 1).sum().backward();
        act.Should().Throw<TorchException>().WithInnerException<ArithmeticException>();
        fail = false;
        (x * 1).sum().backward();
        x.grad!.data<double>().Should().Equal(3, 3);
    }

    [Fact]
    public void A_hook_returning_a_wrong_shape_is_an_error_not_a_crash()
    {
        using var scope = torch.NewDisposeScope();
        var x = Leaf(1, 2);
        using var handle = x.register_hook(_ => torch.ones([3], ScalarType.Float64));
        var act = () => (x * 1).sum().backward();
        act.Should().Throw<TorchException>().Which.Message.Should().Contain("size");
    }

    [Fact]
    public void Registering_on_a_tensor_without_grad_is_an_error()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(new[] { 1.0 });
        var act = () => x.register_hook(g => g);
        act.Should().Throw<TorchException>().Which.Message.Should().Contain("doesn't require grad");
    }
}
