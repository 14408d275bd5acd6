using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Engine;

/// <summary>ModuleHooks: a hook acts only for the flow that added it; the shared module is written to once.</summary>
public sealed class ModuleHooksTests
{
    /// <summary>
    /// A hook added on one thread changes that thread's forward passes only: another thread running the same module
    /// meanwhile gets the stock output, and the hook sees only its own thread's calls. (The other thread is started
    /// before the hook is added: a thread or task started inside a flow belongs to it and inherits its hooks, as it
    /// inherits every <see cref="AsyncLocal{T}"/>.)
    /// </summary>
    [Fact]
    public void A_hook_fires_only_for_the_thread_that_added_it()
    {
        using var linear = nn.Linear(3, 2);
        using var x = ones(1, 3);
        using var stock = linear.call(x);
        using var hooked = new ManualResetEventSlim();
        using var ran = new ManualResetEventSlim();
        float[]? other = null;
        var thread = new Thread(() =>
        {
            hooked.Wait();
            using var y = linear.call(x);
            other = y.data<float>().ToArray();
            ran.Set();
        });
        thread.Start();
        var seen = 0;
        using (ModuleHooks.AddForwardHook(linear, (_, _, output) =>
               {
                   seen++;
                   return zeros_like((Tensor)output);
               }))
        {
            using (var mine = linear.call(x))
            {
                mine.abs().sum().item<float>().Should().Be(0, "the hook replaced this thread's output");
            }

            hooked.Set();
            ran.Wait();
            other.Should().Equal(stock.data<float>().ToArray(), "another thread's pass is untouched");
            seen.Should().Be(1);
            ModuleHooks.Count(linear).Should().Be(1);
        }

        thread.Join();
        ModuleHooks.Count(linear).Should().Be(0, "the dispatcher itself is not counted");
        using var after = linear.call(x);
        after.data<float>().ToArray().Should().Equal(stock.data<float>().ToArray());
    }

    /// <summary>Hooks on one module run in the order they were added, each seeing the previous one's output; pre-hooks replace the input.</summary>
    [Fact]
    public void Hooks_of_one_flow_run_in_order_and_chain()
    {
        using var identity = nn.Identity();
        using var x = ones(2);
        using var pre = ModuleHooks.AddForwardPreHook(identity, (_, input) => ((Tensor)input).TimesInteger(3));
        using var first = ModuleHooks.AddForwardHook(identity, (_, _, output) => ((Tensor)output).Plus(1L));
        using var second = ModuleHooks.AddForwardHook(identity, (_, _, output) => ((Tensor)output).TimesInteger(10));
        using var y = identity.call(x);
        y.data<float>().ToArray().Should().Equal(40f, 40f);
        ModuleHooks.Count(identity).Should().Be(3);
    }

    /// <summary>Disposing a hook twice, or from another thread, removes it once and it stops firing.</summary>
    [Fact]
    public void Disposing_from_another_thread_stops_the_hook()
    {
        using var identity = nn.Identity();
        using var x = ones(2);
        var calls = 0;
        var hook = ModuleHooks.AddForwardHook(identity, (_, _, _) =>
        {
            calls++;
            return null;
        });
        identity.call(x).Dispose();
        var thread = new Thread(hook.Dispose);
        thread.Start();
        thread.Join();
        hook.Dispose();
        identity.call(x).Dispose();
        calls.Should().Be(1);
        ModuleHooks.Count(identity).Should().Be(0);
    }

    /// <summary>
    /// Many threads adding and removing hooks on the same modules while running them: no "Collection was modified",
    /// and each thread's hook sees exactly its own passes.
    /// </summary>
    [Fact]
    public void Threads_hooking_one_module_see_only_their_own_passes()
    {
        var first = nn.Linear(4, 4);
        using var model = nn.Sequential(("a", first), ("b", nn.ReLU()), ("c", nn.Linear(4, 2)));
        ModuleHooks.Prepare(model);
        var errors = 0;
        var threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
        {
            for (var i = 0; i < 200; i++)
            {
                try
                {
                    using var scope = NewDisposeScope();
                    var mine = 0;
                    var rows = t + 1;
                    using (ModuleHooks.AddForwardHook(first, (_, _, output) =>
                           {
                               mine++;
                               return ((Tensor)output).size(0) == rows ? null : throw new InvalidOperationException("another thread's pass");
                           }))
                    {
                        model.call(ones(rows, 4));
                    }

                    if (mine != 1)
                    {
                        Interlocked.Increment(ref errors);
                    }
                }
                catch (Exception)
                {
                    Interlocked.Increment(ref errors);
                }
            }
        })).ToList();
        threads.ForEach(thread => thread.Start());
        threads.ForEach(thread => thread.Join());
        errors.Should().Be(0);
        model.SelfAndDescendants().Should().OnlyContain(m => ModuleHooks.Count(m.Module) == 0);
    }

    /// <summary>
    /// <see cref="ModuleHooks.KeepingHookTensors"/> keeps what hooks make in a dispose scope of the thread that runs the
    /// pass, and dispose scopes belong to one thread. A thread started inside the pass inherits the pass's flow, so its
    /// own forward passes run the flow's hooks too; what those hooks make must stay in that thread's scopes (freed when
    /// its scope ends), not be moved into the pass's scope from another thread (which would race with the pass's own
    /// thread on a scope that is not thread-safe, and keep the tensor alive past the other thread's scope). Without the
    /// guard on the thread id, the tensor the hook made on the other thread is still alive after that thread's scope.
    /// </summary>
    [Fact]
    public void Tensors_hooks_make_on_another_thread_inside_a_kept_pass_stay_in_that_threads_scope()
    {
        using var linear = nn.Linear(2, 2);
        using var x = ones(1, 2);
        var passThread = Environment.CurrentManagedThreadId;
        Tensor? madeHere = null;
        Tensor? madeThere = null;
        using var hook = ModuleHooks.AddForwardHook(linear, (_, _, output) =>
        {
            var made = ((Tensor)output).TimesInteger(2);
            if (Environment.CurrentManagedThreadId == passThread)
            {
                madeHere = made;
            }
            else
            {
                madeThere = made;
            }

            return null;
        });

        var outer = NewDisposeScope();
        try
        {
            var result = ModuleHooks.KeepingHookTensors(() =>
            {
                var thread = new Thread(() =>
                {
                    using var scope = NewDisposeScope();
                    linear.call(x);
                });
                thread.Start();
                thread.Join();

                // A scope inside the pass, as a user's forward may open: the hook's tensor on this thread outlives it.
                using var inner = NewDisposeScope();
                return linear.call(x).MoveToOuterDisposeScope();
            });

            madeThere.Should().NotBeNull("the thread started inside the flow runs the flow's hooks");
            madeThere!.IsInvalid.Should().BeTrue("the other thread's hook tensor was freed with that thread's own scope, not moved into the pass's");
            madeHere.Should().NotBeNull();
            madeHere!.IsInvalid.Should().BeFalse("on the pass's thread the hook's tensor is kept past the inner scope");
            result.IsInvalid.Should().BeFalse();
        }
        finally
        {
            outer.Dispose();
        }

        madeHere!.IsInvalid.Should().BeTrue("the pass hands what it kept to the caller's scope");
    }
}
