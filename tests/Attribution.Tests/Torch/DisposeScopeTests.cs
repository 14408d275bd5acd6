using Attribution.Torch;

namespace Attribution.Tests.Torch;

/// <summary>DisposeScope semantics: ownership, nesting, moving out, detaching and out-of-order disposal.</summary>
public class DisposeScopeTests
{
    [Fact]
    public void Tensors_created_in_a_scope_are_disposed_with_it()
    {
        Tensor a, b, c;
        using (var scope = torch.NewDisposeScope())
        {
            a = torch.ones(2);
            b = a + 1;
            c = b.sum();
            scope.Count.Should().Be(3);
            DisposeScope.Current.Should().BeSameAs(scope);
            a.IsDisposed.Should().BeFalse();
        }

        a.IsDisposed.Should().BeTrue();
        b.IsDisposed.Should().BeTrue();
        c.IsDisposed.Should().BeTrue();
    }

    [Fact]
    public void Results_of_every_kind_join_the_current_scope()
    {
        Tensor[] made;
        using (var scope = torch.NewDisposeScope())
        {
            var x = torch.tensor(new[] { 3.0, 1, 2 }, requires_grad: true);
            var (values, indices) = x.sort();
            var (o, h, c) = torch.nn.functional.lstm(
                torch.zeros([1, 1, 1], ScalarType.Float64), torch.zeros([1, 1, 1], ScalarType.Float64), torch.zeros([1, 1, 1], ScalarType.Float64),
                [torch.zeros([4, 1], ScalarType.Float64), torch.zeros([4, 1], ScalarType.Float64)], false, 1, 0, false, false, false);
            (x * x).sum().backward();
            var grad = x.grad!;
            var autogradResult = torch.autograd.grad([(x * 2).sum()], [x])[0]!;
            made = [x, values, indices, o, h, c, grad, autogradResult];
            made.Should().OnlyContain(t => !t.IsDisposed);
        }

        made.Should().OnlyContain(t => t.IsDisposed);
    }

    [Fact]
    public void Nested_scopes_dispose_only_their_own_tensors()
    {
        using var outer = torch.NewDisposeScope();
        var kept = torch.ones(1);
        Tensor inner1;
        using (var inner = torch.NewDisposeScope())
        {
            DisposeScope.Current.Should().BeSameAs(inner);
            inner.Outer.Should().BeSameAs(outer);
            inner1 = kept + 1;
            inner.Count.Should().Be(1);
        }

        DisposeScope.Current.Should().BeSameAs(outer);
        inner1.IsDisposed.Should().BeTrue();
        kept.IsDisposed.Should().BeFalse();
        (kept + 1).item<float>().Should().Be(2);
    }

    [Fact]
    public void MoveToOuterDisposeScope_hands_a_tensor_to_the_enclosing_scope()
    {
        Tensor moved;
        Tensor alsoMoved;
        using (var outer = torch.NewDisposeScope())
        {
            using (var inner = torch.NewDisposeScope())
            {
                moved = torch.ones(2).MoveToOuterDisposeScope();
                alsoMoved = torch.zeros(2);
                inner.MoveToOuter(alsoMoved);
                inner.Count.Should().Be(0);
                outer.Count.Should().Be(2);
            }

            moved.IsDisposed.Should().BeFalse();
            alsoMoved.IsDisposed.Should().BeFalse();
            moved.sum().item<float>().Should().Be(2);
        }

        moved.IsDisposed.Should().BeTrue("the outer scope owned it");
        alsoMoved.IsDisposed.Should().BeTrue();
    }

    [Fact]
    public void Moving_out_of_the_outermost_scope_leaves_the_tensor_to_the_caller()
    {
        Tensor free;
        using (torch.NewDisposeScope())
        {
            free = torch.ones(2).MoveToOuterDisposeScope();
        }

        free.IsDisposed.Should().BeFalse();
        free.Dispose();
        free.IsDisposed.Should().BeTrue();
    }

    [Fact]
    public void DetachFromDisposeScope_survives_every_scope()
    {
        Tensor detached;
        using (torch.NewDisposeScope())
        {
            using (var inner = torch.NewDisposeScope())
            {
                detached = torch.ones(2).DetachFromDisposeScope();
                inner.Count.Should().Be(0);
            }
        }

        detached.IsDisposed.Should().BeFalse();
        detached.sum().item<float>().Should().Be(2);
        detached.Dispose();
    }

    [Fact]
    public void Disposing_a_tensor_early_removes_it_from_its_scope()
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.ones(2);
        var b = torch.ones(2);
        scope.Count.Should().Be(2);
        a.Dispose();
        a.Dispose();
        scope.Count.Should().Be(1);
        b.IsDisposed.Should().BeFalse();
    }

    [Fact]
    public void A_scope_can_be_disposed_twice_and_out_of_order()
    {
        var outer = torch.NewDisposeScope();
        var inner = torch.NewDisposeScope();
        var a = torch.ones(1);
        inner.MoveToOuter(a);
        outer.Dispose();
        a.IsDisposed.Should().BeTrue();
        DisposeScope.Current.Should().BeSameAs(inner, "the inner scope is still open");
        var b = torch.ones(1);
        inner.Dispose();
        inner.Dispose();
        b.IsDisposed.Should().BeTrue();
        DisposeScope.Current.Should().BeNull();
        using var c = torch.ones(1);
        c.IsDisposed.Should().BeFalse();
    }

    [Fact]
    public void Scopes_belong_to_their_thread()
    {
        using var scope = torch.NewDisposeScope();
        Tensor? fromOtherThread = null;
        DisposeScope? seen = scope;
        var thread = new Thread(() =>
        {
            seen = DisposeScope.Current;
            fromOtherThread = torch.ones(1);
        });
        thread.Start();
        thread.Join();
        seen.Should().BeNull();
        scope.Count.Should().Be(0);
        scope.Dispose();
        fromOtherThread!.IsDisposed.Should().BeFalse();
        fromOtherThread.Dispose();
    }

    [Fact]
    public void Module_parameters_outlive_the_scope_they_were_created_in()
    {
        torch.nn.Linear linear;
        using (torch.NewDisposeScope())
        {
            linear = new torch.nn.Linear(2, 2);
            linear.to(ScalarType.Float64);
        }

        linear.parameters().Should().OnlyContain(p => !p.IsDisposed);
        using (torch.NewDisposeScope())
        {
            linear.call(torch.ones([1, 2], ScalarType.Float64)).shape.Should().Equal(1, 2);
        }

        var weight = linear.weight;
        linear.Dispose();
        weight.IsDisposed.Should().BeTrue();
    }

    [Fact]
    public void An_alias_is_an_independent_handle_to_the_same_tensor()
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.ones(2);
        var b = a.alias();
        b.is_same(a).Should().BeTrue();
        a.Dispose();
        b.IsDisposed.Should().BeFalse();
        b.sum().item<float>().Should().Be(2);
        b.clone().is_same(b).Should().BeFalse();
    }
}
