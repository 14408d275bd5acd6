using Attribution.Models;
using Attribution.Tests.Models.Small;

namespace Attribution.Tests.Models;

/// <summary>
/// <see cref="CallGate"/> on its own, with a counting close action: the resource is closed exactly once, at Dispose when
/// no call runs, else by the last running call on its way out; a call from another flow after Dispose is refused with
/// the gate's own exception; a nested call of a running one is granted. Every case is ordered by events (leases taken
/// and returned in a fixed order, a thread joined), never by timing.
/// </summary>
public sealed class CallGateTests
{
    private int closes;

    private CallGate NewGate() => new(() => closes++, () => new ObjectDisposedException("gated-model", "gated-model has been disposed"));

    /// <summary>Runs <paramref name="action"/> on a thread that does not inherit this flow's leases (its execution context does not flow).</summary>
    private static Exception? OnAnotherFlow(Action action)
    {
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                action();
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        thread.UnsafeStart();
        thread.Join(TimeSpan.FromMinutes(1)).Should().BeTrue("the other flow's call returns at once");
        return error;
    }

    [Fact]
    public void Dispose_with_no_call_running_closes_at_once_and_only_once()
    {
        var gate = NewGate();
        gate.IsClosed.Should().BeFalse();
        closes.Should().Be(0);

        gate.Dispose();
        closes.Should().Be(1, "no call runs: Dispose closes the resource itself");
        gate.IsClosed.Should().BeTrue();

        gate.Dispose();
        closes.Should().Be(1, "a second Dispose does nothing (closing twice would free a native handle twice)");
        FluentActions.Invoking(gate.Enter).Should().Throw<ObjectDisposedException>().Where(e => e.ObjectName == "gated-model");
        closes.Should().Be(1);
    }

    [Fact]
    public void Calls_without_dispose_never_close_and_dispose_after_them_closes_at_once()
    {
        var gate = NewGate();
        for (var round = 0; round < 3; round++)
        {
            using var outer = gate.Enter();
            using var inner = gate.Enter();
        }

        closes.Should().Be(0, "calls ending with no Dispose leave the resource open");
        gate.IsClosed.Should().BeFalse();

        // The ended calls hold no lease any more: this flow is refused after Dispose like any other.
        gate.Dispose();
        closes.Should().Be(1);
        FluentActions.Invoking(gate.Enter).Should().Throw<ObjectDisposedException>("this flow's calls have all ended");
        OnAnotherFlow(() => gate.Enter().Dispose()).Should().BeOfType<ObjectDisposedException>();
    }

    [Fact]
    public void The_last_running_call_closes_on_its_way_out_and_nested_calls_are_granted_meanwhile()
    {
        var gate = NewGate();
        var first = gate.Enter();
        var second = gate.Enter();

        gate.Dispose();
        closes.Should().Be(0, "two calls are running");
        gate.IsClosed.Should().BeFalse();

        // A call nested in a running one (this flow holds leases) is granted; another flow's call is refused.
        using (gate.Enter())
        {
            closes.Should().Be(0);
        }

        closes.Should().Be(0, "the nested call's exit leaves two calls running");
        OnAnotherFlow(() => gate.Enter().Dispose()).Should().BeOfType<ObjectDisposedException>()
            .Which.ObjectName.Should().Be("gated-model");
        closes.Should().Be(0, "the refused call entered nothing, so it exits nothing");

        second.Dispose();
        closes.Should().Be(0, "one call is still running");
        gate.IsClosed.Should().BeFalse();

        first.Dispose();
        closes.Should().Be(1, "the last call out closes the resource");
        gate.IsClosed.Should().BeTrue();

        FluentActions.Invoking(gate.Enter).Should().Throw<ObjectDisposedException>("this flow holds no lease any more");
        gate.Dispose();
        closes.Should().Be(1);
    }

    [Fact]
    public void A_call_of_another_flow_running_at_dispose_closes_when_it_ends()
    {
        var gate = NewGate();
        using var entered = new ManualResetEventSlim(false);
        using var release = new ManualResetEventSlim(false);
        Exception? error = null;
        var closesSeenInside = -1;
        var thread = new Thread(() =>
        {
            try
            {
                using (gate.Enter())
                {
                    entered.Set();
                    release.Wait();

                    // Nested inside the running call, after Dispose: granted.
                    using (gate.Enter())
                    {
                        closesSeenInside = closes;
                    }
                }
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        thread.UnsafeStart();
        entered.Wait(TimeSpan.FromMinutes(1)).Should().BeTrue();

        gate.Dispose();
        closes.Should().Be(0, "the other flow's call is running");
        FluentActions.Invoking(gate.Enter).Should().Throw<ObjectDisposedException>("this flow holds no lease");

        release.Set();
        thread.Join(TimeSpan.FromMinutes(1)).Should().BeTrue();
        error.Should().BeNull();
        closesSeenInside.Should().Be(0);
        closes.Should().Be(1, "the running call closed the resource on its way out");
        gate.IsClosed.Should().BeTrue();
    }

    /// <summary>
    /// <see cref="ModelLease"/> enters a <see cref="TextClassifier"/>'s own gate for a whole library call: the model,
    /// disposed meanwhile, stays open (its module is there) until the lease ends, while another flow's call is refused.
    /// Any other model (or none) gets the empty lease, which enters and exits nothing: taken and disposed inside that call,
    /// it leaves the call running. Before, this fact only disposed empty leases, which no wrong lease could fail.
    /// </summary>
    [Fact]
    public void A_model_lease_holds_a_text_classifiers_gate_and_other_models_get_an_empty_lease_that_exits_nothing()
    {
        var root = SmallModelKit.TempRoot("attribution-call-gate-");
        try
        {
            using var model = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
            var lease = ModelLease.Enter(model);
            model.Dispose();
            FluentActions.Invoking(() => model.Module).Should().NotThrow("the lease's call is running: the module stays open");
            OnAnotherFlow(() => model.Predict(["a good film"])).Should().BeOfType<ObjectDisposedException>("another flow's call after Dispose is refused");

            // Empty leases (a black box, no model, the default) taken and returned inside the call exit nothing of it.
            ModelLease.Enter(new BlackBoxClassifier(texts => texts.Select(_ => new[] { 0.5, 0.5 }).ToArray(), ["a", "b"])).Dispose();
            ModelLease.Enter(null).Dispose();
            default(CallGate.Lease).Dispose();
            FluentActions.Invoking(() => model.Module).Should().NotThrow("the empty leases left the running call's lease in place");

            lease.Dispose();
            FluentActions.Invoking(() => model.Module).Should().Throw<ObjectDisposedException>("the lease was the last call: its exit closed the model");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
