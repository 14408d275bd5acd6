using Attribution.Torch;

namespace Attribution.Tests.Torch;

/// <summary>The autograd API: backward, .grad accumulation, retain_grad, torch.autograd.grad options and grad mode.</summary>
public class AutogradTests
{
    private static Tensor Leaf(params double[] values) => torch.tensor(values, requires_grad: true);

    [Fact]
    public void Backward_on_a_scalar_fills_leaf_gradients()
    {
        using var scope = torch.NewDisposeScope();
        var x = Leaf(1, 2, 3);
        x.is_leaf.Should().BeTrue();
        x.grad.Should().BeNull("no backward has run yet");
        (x * x).sum().backward();
        x.grad!.data<double>().Should().Equal(2, 4, 6);
    }

    [Fact]
    public void Backward_with_a_gradient_is_a_vector_jacobian_product()
    {
        using var scope = torch.NewDisposeScope();
        var x = Leaf(1, 2, 3);
        var y = x * x;
        y.backward(torch.tensor(new[] { 1.0, 0.5, -1 }));
        x.grad!.data<double>().Should().Equal(2, 2, -6);
    }

    [Fact]
    public void Gradients_accumulate_until_cleared()
    {
        using var scope = torch.NewDisposeScope();
        var x = Leaf(1, 2);
        (x * 3).sum().backward();
        (x * 3).sum().backward();
        x.grad!.data<double>().Should().Equal(6, 6);
        x.grad = null;
        x.grad.Should().BeNull();
        (x * 5).sum().backward();
        x.grad!.data<double>().Should().Equal(5, 5);
        x.grad = torch.tensor(new[] { 1.0, 1.0 });
        (x * 2).sum().backward();
        x.grad!.data<double>().Should().Equal(3, 3);
    }

    [Fact]
    public void An_assigned_grad_must_match_shape_and_dtype()
    {
        using var scope = torch.NewDisposeScope();
        var x = Leaf(1, 2);
        var shape = () => x.grad = torch.ones([3], ScalarType.Float64);
        shape.Should().Throw<TorchException>().Which.Message.Should().Contain("[3]").And.Contain("[2]");
        var broadcastable = () => x.grad = torch.ones([1], ScalarType.Float64);
        broadcastable.Should().Throw<TorchException>().Which.Message.Should().Contain("[1]");
        var dtype = () => x.grad = torch.ones([2], ScalarType.Float32);
        dtype.Should().Throw<TorchException>().Which.Message.Should().Contain("Float").And.Contain("Double");
        x.grad.Should().BeNull("a rejected assignment leaves .grad alone");
        (x * 1).sum().backward();
        x.grad!.dtype.Should().Be(ScalarType.Float64);
    }

    [Fact]
    public void Module_zero_grad_clears_every_parameter_gradient()
    {
        using var scope = torch.NewDisposeScope();
        using var linear = new torch.nn.Linear(3, 2);
        linear.call(torch.ones(4, 3)).sum().backward();
        linear.parameters().Should().OnlyContain(p => p.grad != null);
        linear.zero_grad();
        linear.parameters().Should().OnlyContain(p => p.grad == null);
    }

    [Fact]
    public void Non_leaf_gradients_need_retain_grad()
    {
        using var scope = torch.NewDisposeScope();
        var x = Leaf(1, 2);
        var hidden = x * 2;
        var kept = (x * 3).retain_grad();
        hidden.is_leaf.Should().BeFalse();
        (hidden.square().sum() + kept.square().sum()).backward();
        hidden.grad.Should().BeNull("a non-leaf keeps no gradient unless retain_grad was called");
        kept.grad!.data<double>().Should().Equal(6, 12);
        x.grad!.data<double>().Should().Equal((2 * 2 * 2) + (2 * 3 * 3), (2 * 4 * 2) + (2 * 6 * 3));
    }

    [Fact]
    public void Autograd_grad_does_not_touch_dot_grad_and_honours_grad_outputs()
    {
        using var scope = torch.NewDisposeScope();
        var x = Leaf(1, 2, 3);
        var y = x * x;
        var g = torch.autograd.grad([y], [x], grad_outputs: [torch.tensor(new[] { 1.0, 10, 100 })]);
        g[0]!.data<double>().Should().Equal(2, 40, 600);
        x.grad.Should().BeNull();
    }

    [Fact]
    public void Autograd_grad_takes_several_outputs_and_inputs()
    {
        using var scope = torch.NewDisposeScope();
        var a = Leaf(1, 2);
        var b = Leaf(3, 4);
        var s1 = (a * b).sum();
        var s2 = (a * 2).sum();
        var g = torch.autograd.grad([s1, s2], [a, b]);
        g[0]!.data<double>().Should().Equal(3 + 2, 4 + 2);
        g[1]!.data<double>().Should().Equal(1, 2);

        var v = a * b;
        var partial = torch.autograd.grad([v, s2 = (a * 2).sum()], [a], grad_outputs: [torch.ones([2], ScalarType.Float64), null]);
        partial[0]!.data<double>().Should().Equal([3.0 + 2, 4 + 2], "a null grad_output of a scalar output means 1");
    }

    [Fact]
    public void A_graph_is_freed_after_use_unless_retained()
    {
        using var scope = torch.NewDisposeScope();
        var x = Leaf(1, 2);
        var y = (x.exp() * x).sum();
        torch.autograd.grad([y], [x], retain_graph: true)[0]!.data<double>().Should().HaveCount(2);
        var again = torch.autograd.grad([y], [x]);
        again[0]!.data<double>()[0].Should().BeApproximately(2 * Math.E, 1e-12);
        var act = () => torch.autograd.grad([y], [x]);
        act.Should().Throw<TorchException>().WithMessage("*second time*");

        var z = (x * x).sum();
        z.backward(retain_graph: true);
        z.backward();
        x.grad!.data<double>().Should().Equal(4, 8);
        var twice = () => z.backward();
        twice.Should().Throw<TorchException>().WithMessage("*second time*");
    }

    [Fact]
    public void Create_graph_gives_second_derivative_of_x_cubed()
    {
        using var scope = torch.NewDisposeScope();
        var x = Leaf(-1, 0.5, 2);
        var y = x.pow(3).sum();
        var first = torch.autograd.grad([y], [x], create_graph: true)[0]!;
        first.requires_grad.Should().BeTrue();
        first.data<double>().Should().Equal(3, 0.75, 12);
        var second = torch.autograd.grad([first.sum()], [x])[0]!;
        second.data<double>().Should().Equal(-6, 3, 12);

        // The same through backward(create_graph): x.grad is itself differentiable.
        var w = Leaf(3);
        w.pow(3).sum().backward(create_graph: true);
        var gw = w.grad!;
        gw.requires_grad.Should().BeTrue();
        torch.autograd.grad([gw.sum()], [w])[0]!.item<double>().Should().Be(18);
    }

    [Fact]
    public void Unused_inputs_are_null_with_allow_unused_and_an_error_without()
    {
        using var scope = torch.NewDisposeScope();
        var used = Leaf(1, 2);
        var unused = Leaf(3);
        var y = (used * 2).sum();
        var g = torch.autograd.grad([y], [used, unused], retain_graph: true, allow_unused: true);
        g[0]!.data<double>().Should().Equal(2, 2);
        g[1].Should().BeNull();
        var act = () => torch.autograd.grad([y], [used, unused]);
        act.Should().Throw<TorchException>().Which.Message.Should().Contain("not have been used");
    }

    [Fact]
    public void Autograd_grad_rejects_non_scalar_outputs_without_grad_outputs()
    {
        using var scope = torch.NewDisposeScope();
        var x = Leaf(1, 2);
        var act = () => torch.autograd.grad([x * 2], [x]);
        act.Should().Throw<TorchException>().Which.Message.Should().Contain("[2]").And.Contain("grad_outputs");
        var mismatched = () => torch.autograd.grad([x * 2], [x], grad_outputs: []);
        mismatched.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void No_grad_and_enable_grad_nest_and_restore_the_previous_mode()
    {
        torch.is_grad_enabled().Should().BeTrue();
        using (torch.no_grad())
        {
            torch.is_grad_enabled().Should().BeFalse();
            using (torch.enable_grad())
            {
                torch.is_grad_enabled().Should().BeTrue();
                using (torch.no_grad())
                {
                    torch.is_grad_enabled().Should().BeFalse();
                }

                torch.is_grad_enabled().Should().BeTrue();
            }

            torch.is_grad_enabled().Should().BeFalse();
            using (torch.set_grad_enabled(true))
            {
                torch.is_grad_enabled().Should().BeTrue();
            }

            torch.is_grad_enabled().Should().BeFalse();
        }

        torch.is_grad_enabled().Should().BeTrue();

        var guard = torch.no_grad();
        guard.Dispose();
        using (torch.no_grad())
        {
            guard.Dispose();
            torch.is_grad_enabled().Should().BeFalse("disposing a guard twice must not change the mode again");
        }

        torch.is_grad_enabled().Should().BeTrue();
    }

    [Fact]
    public void Results_under_no_grad_do_not_require_grad()
    {
        using var scope = torch.NewDisposeScope();
        var x = Leaf(1, 2);
        Tensor y, z;
        using (torch.no_grad())
        {
            y = (x * 2).exp().sum();
            using (torch.enable_grad())
            {
                z = x * 2;
            }
        }

        y.requires_grad.Should().BeFalse();
        z.requires_grad.Should().BeTrue();
        x.requires_grad.Should().BeTrue("no_grad does not change leaves");
        var act = () => y.backward();
        act.Should().Throw<TorchException>().Which.Message.Should().Contain("does not require grad");
    }

    [Fact]
    public void Detach_cuts_the_graph_and_requires_grad_can_be_toggled()
    {
        using var scope = torch.NewDisposeScope();
        var x = Leaf(1, 2);
        var d = (x * 2).detach();
        d.requires_grad.Should().BeFalse();
        d.is_leaf.Should().BeTrue();
        var y = ((x * 2) + (d * x)).sum();
        y.backward();
        x.grad!.data<double>().Should().Equal([2.0 + 2, 2 + 4], "the detached factor is a constant");

        var c = torch.tensor(new[] { 1.0 });
        c.requires_grad.Should().BeFalse();
        c.requires_grad = true;
        c.requires_grad.Should().BeTrue();
        c.requires_grad_(false).requires_grad.Should().BeFalse();

        var nonLeaf = x * 2;
        var act = () => nonLeaf.requires_grad_(false);
        act.Should().Throw<TorchException>().Which.Message.Should().Contain("leaf variables");
        var ints = torch.tensor(new long[] { 1 });
        var intGrad = () => ints.requires_grad_();
        intGrad.Should().Throw<TorchException>().Which.Message.Should().Contain("floating point");
    }

    [Fact]
    public void Gradients_flow_through_module_parameters()
    {
        using var scope = torch.NewDisposeScope();
        using var linear = new torch.nn.Linear(2, 1);
        linear.to(ScalarType.Float64);
        linear.weight.dtype.Should().Be(ScalarType.Float64);
        linear.weight.requires_grad.Should().BeTrue();
        linear.weight.is_leaf.Should().BeTrue();
        var x = torch.tensor(new[] { 1.0, 2, 3, 4 }, [2, 2]);
        linear.call(x).sum().backward();
        linear.weight.grad!.data<double>().Should().Equal(4, 6);
        linear.bias!.grad!.data<double>().Should().Equal(2);
    }
}
