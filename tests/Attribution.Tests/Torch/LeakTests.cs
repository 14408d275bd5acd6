using System.Runtime.CompilerServices;
using Attribution.Torch;
using static Attribution.Torch.torch;
using F = Attribution.Torch.torch.nn.functional;

namespace Attribution.Tests.Torch;

/// <summary>Native and managed tensor counts return to their start after work inside scopes; memory stays flat.</summary>
[Collection(LiveTensorCollection.Name)]
public class LeakTests
{
    private const long MaxResidentGrowth = 50L * 1024 * 1024;

    private static void Settle()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }

    /// <summary>Resident set size from /proc/self/status (VmRSS), or the working set elsewhere.</summary>
    private static long ResidentBytes()
    {
        const string path = "/proc/self/status";
        if (File.Exists(path))
        {
            foreach (var line in File.ReadLines(path))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    var kb = line["VmRSS:".Length..].Trim().Split(' ')[0];
                    return long.Parse(kb, System.Globalization.CultureInfo.InvariantCulture) * 1024;
                }
            }
        }

        return Environment.WorkingSet;
    }

    private static (long native, long managed, long resident) Measure()
    {
        Settle();
        return (LiveTensorCount, Tensor.LiveCount, ResidentBytes());
    }

    [Fact]
    public void Ten_thousand_forward_backward_iterations_end_where_they_started()
    {
        using var g = new Generator(2024);
        using var model = new nn.Sequential(new nn.Linear(16, 32, generator: g), new nn.Tanh(), new nn.Linear(32, 2, generator: g));
        using var target = tensor(new long[] { 0, 1, 1, 0, 1, 0, 0, 1 });

        void Step()
        {
            using var scope = NewDisposeScope();
            var x = randn([8, 16], generator: g);
            var loss = F.cross_entropy(model.call(x), target);
            loss.backward();
            using (no_grad())
            {
                foreach (var p in model.parameters())
                {
                    p.sub_(p.grad!, alpha: 1e-3);
                }
            }

            model.zero_grad();
        }

        for (var i = 0; i < 500; i++)
        {
            Step();
        }

        var start = Measure();
        for (var i = 0; i < 10_000; i++)
        {
            Step();
        }

        var end = Measure();
        end.native.Should().Be(start.native, "every native tensor made inside the scopes was freed");
        end.managed.Should().Be(start.managed, "every managed tensor made inside the scopes was disposed");
        (end.resident - start.resident).Should().BeLessThan(MaxResidentGrowth, $"resident memory grew from {start.resident >> 20} MB to {end.resident >> 20} MB");
        model.parameters().Should().OnlyContain(p => !p.IsDisposed && p.grad == null);
    }

    [Fact]
    public void Hooks_captures_and_failures_inside_scopes_leave_nothing_behind()
    {
        using var g = new Generator(7);
        using var model = new nn.Sequential(new nn.Linear(4, 8, generator: g), new nn.Tanh(), new nn.Linear(8, 1, generator: g));

        void Step(int i)
        {
            using var scope = NewDisposeScope();
            Tensor? captured = null;
            using var forward = model[1].register_forward_hook((_, _, output) =>
            {
                captured = (Tensor)output;
                return null;
            });
            var x = randn([3, 4], generator: g).requires_grad_();
            var y = model.call(x).sum();
            using var gradientHook = captured!.register_hook(grad => grad * 2);
            var grads = autograd.grad([y], [captured, x], retain_graph: true);
            grads.Should().OnlyContain(t => t != null);
            y.backward();
            if (i % 10 == 0)
            {
                // Failures (native and in hooks) must not leak either.
                try
                {
                    x.matmul(x);
                }
                catch (TorchException)
                {
                }

                using var failing = x.register_hook(_ => throw new InvalidOperationException("boom"));
                try
                {
                    (x * 2).sum().backward();
                }
                catch (TorchException)
                {
                }
            }

            model.zero_grad();
        }

        for (var i = 0; i < 100; i++)
        {
            Step(i);
        }

        var start = Measure();
        for (var i = 0; i < 1_000; i++)
        {
            Step(i);
        }

        var end = Measure();
        end.native.Should().Be(start.native);
        end.managed.Should().Be(start.managed);
        (end.resident - start.resident).Should().BeLessThan(MaxResidentGrowth);
    }

    [Fact]
    public void A_scope_releases_exactly_what_it_created()
    {
        var start = Measure();
        using (var scope = NewDisposeScope())
        {
            var a = ones(3);
            var b = a * 2;
            _ = b.sum();
            var (values, indices) = b.max(0);
            _ = (values, indices);
            (LiveTensorCount - start.native).Should().Be(5);
            (Tensor.LiveCount - start.managed).Should().Be(5);
            scope.Count.Should().Be(5);
        }

        LiveTensorCount.Should().Be(start.native);
        Tensor.LiveCount.Should().Be(start.managed);
    }

    [Fact]
    public void Tensors_left_to_the_garbage_collector_are_freed_and_uncounted()
    {
        var start = Measure();
        MakeGarbage(100);
        (LiveTensorCount - start.native).Should().Be(100);
        (Tensor.LiveCount - start.managed).Should().Be(100);
        Settle();
        LiveTensorCount.Should().Be(start.native, "the finalizer frees the native tensor");
        Tensor.LiveCount.Should().Be(start.managed, "LiveCount counts tensors not yet disposed or finalized");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void MakeGarbage(int count)
    {
        DisposeScope.Current.Should().BeNull();
        for (var i = 0; i < count; i++)
        {
            _ = ones(2);
        }
    }

    [Fact]
    public void A_module_frees_its_parameters_when_disposed()
    {
        var start = Measure();
        var model = new nn.Sequential(new nn.Linear(3, 4), new nn.LayerNorm(4), new nn.Embedding(5, 4));
        (LiveTensorCount - start.native).Should().Be(5);
        model.to(ScalarType.Float64);
        (LiveTensorCount - start.native).Should().Be(5, "to() replaces parameters without leaking the old ones");
        model.Dispose();
        Measure().native.Should().Be(start.native);
        Tensor.LiveCount.Should().Be(start.managed);
    }
}
