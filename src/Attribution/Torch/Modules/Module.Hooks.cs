namespace Attribution.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>A forward pre-hook: sees the module and its input; returns a replacement input or null to keep it.</summary>
        public delegate object? ForwardPreHook(Module module, object input);

        /// <summary>A forward hook: sees the module, its input and output; returns a replacement output or null to keep it.</summary>
        public delegate object? ForwardHook(Module module, object input, object output);

        public abstract partial class Module
        {
            private readonly List<(long id, ForwardPreHook hook)> preHooks = [];
            private readonly List<(long id, ForwardHook hook)> forwardHooks = [];
            private static long nextHookId;

            /// <summary>True when at least one forward or pre-hook is attached to this module.</summary>
            public bool HasHooks => preHooks.Count > 0 || forwardHooks.Count > 0;

            /// <summary>
            /// Runs <paramref name="hook"/> before every forward of this module. It may observe the input or return a
            /// replacement of the same type. Dispose the returned handle to remove it.
            /// </summary>
            public IDisposable register_forward_pre_hook(ForwardPreHook hook)
            {
                ArgumentNullException.ThrowIfNull(hook);
                var id = Interlocked.Increment(ref nextHookId);
                preHooks.Add((id, hook));
                return new HookHandle(() => preHooks.RemoveAll(h => h.id == id));
            }

            /// <summary>
            /// Runs <paramref name="hook"/> after every forward of this module. It may observe the output or return a
            /// replacement of the same type. Dispose the returned handle to remove it.
            /// </summary>
            public IDisposable register_forward_hook(ForwardHook hook)
            {
                ArgumentNullException.ThrowIfNull(hook);
                var id = Interlocked.Increment(ref nextHookId);
                forwardHooks.Add((id, hook));
                return new HookHandle(() => forwardHooks.RemoveAll(h => h.id == id));
            }

            /// <summary>The one call path: pre-hooks, forward, hooks. Every module invocation goes through here.</summary>
            private protected TOut Invoke<TIn, TOut>(TIn input, Func<TIn, TOut> forward)
            {
                if (preHooks.Count == 0 && forwardHooks.Count == 0)
                {
                    return forward(input);
                }

                foreach (var (_, hook) in preHooks.ToArray())
                {
                    if (hook(this, input!) is { } replaced)
                    {
                        input = Cast<TIn>(replaced, "forward pre-hook", "input");
                    }
                }

                var output = forward(input);
                foreach (var (_, hook) in forwardHooks.ToArray())
                {
                    if (hook(this, input!, output!) is { } replaced)
                    {
                        output = Cast<TOut>(replaced, "forward hook", "output");
                    }
                }

                return output;
            }

            private T Cast<T>(object value, string hookKind, string what) =>
                value is T typed
                    ? typed
                    : throw new InvalidOperationException(
                        $"a {hookKind} on {name} returned a {value.GetType().Name} but the module's {what} is a {typeof(T).Name}");

            private sealed class HookHandle(Action remove) : IDisposable
            {
                private Action? remove = remove;

                public void Dispose() => Interlocked.Exchange(ref remove, null)?.Invoke();
            }
        }

        /// <summary>A module with one input and one output; <see cref="call"/> runs it (with hooks).</summary>
        /// <typeparam name="TIn">Input type: a tensor or a tuple of tensors.</typeparam>
        /// <typeparam name="TOut">Output type: a tensor or a tuple of tensors.</typeparam>
        public abstract class Module<TIn, TOut> : Module
        {
            /// <summary>Creates a module; <paramref name="name"/> is its type name.</summary>
            protected Module(string name)
                : base(name)
            {
            }

            /// <summary>Runs the module: forward pre-hooks, <see cref="forward"/>, forward hooks.</summary>
            public TOut call(TIn input) => Invoke(input, forward);

            /// <summary>The computation. Not public: callers use <see cref="call"/> so hooks always fire.</summary>
            protected abstract TOut forward(TIn input);
        }
    }
}
