using System.Collections.Immutable;
using System.Reflection;
using System.Runtime.CompilerServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Engine;

/// <summary>A forward pre-hook on any module: sees the module and its input; returns a replacement input or null to keep it.</summary>
/// <param name="module">The module about to run.</param>
/// <param name="input">Its input (a tensor, a tuple, or the module's own input type).</param>
public delegate object? ForwardPreHook(nn.Module module, object input);

/// <summary>A forward hook on any module: sees the module, its input and output; returns a replacement output or null to keep it.</summary>
/// <param name="module">The module that ran.</param>
/// <param name="input">Its input.</param>
/// <param name="output">Its output (a tensor, a tuple, or the module's own output type).</param>
public delegate object? ForwardHook(nn.Module module, object input, object output);

/// <summary>
/// Forward hooks on a TorchSharp module (find one by path with <see cref="ModulePaths.Submodule"/>), whatever its input and output types, that act only for the
/// caller that added them. TorchSharp's hooks are typed by the module's <c>Module&lt;T, TResult&gt;</c> base; these
/// adapt an untyped hook to it. As in TorchSharp, the hooks fire only when the module runs through <c>call(x)</c>,
/// never through <c>forward(x)</c>.
/// </summary>
/// <remarks>
/// <para>
/// <b>Scope.</b> A hook added here fires only for forward passes run in the same execution flow as the call that added
/// it: on the same thread (or in async code, the same logical flow, which is where TorchSharp's dispose scopes and
/// libtorch's grad mode live too) until it is disposed. A forward pass of the same module on another thread does not
/// see it. This is what makes attributors safe to call from several threads on one loaded model: each call's hooks
/// act only inside its own forward passes. A thread or task started inside the flow while a hook is attached belongs
/// to the flow and sees the hook too (it inherits the flow's <see cref="AsyncLocal{T}"/> values), until the hook is
/// disposed: a disposed hook stops firing everywhere.
/// </para>
/// <para>
/// <b>How.</b> TorchSharp keeps a module's hooks in plain dictionaries that its <c>call</c> enumerates, so adding or
/// removing a TorchSharp hook while another thread runs the module fails ("Collection was modified") or corrupts
/// the dictionary, and every hook there fires for every caller. So each module gets at most one pair of TorchSharp
/// hooks of ours, a dispatcher, installed once under a lock and kept for the module's lifetime; it forwards to the
/// hooks that the current flow added (held in an <see cref="AsyncLocal{T}"/>, nothing of them on the shared module).
/// Adding or removing a hook here touches only the calling flow's own list. A dispatcher that finds no hooks of
/// the flow returns the module's input and output objects unchanged, so forward values are untouched.
/// </para>
/// <para>
/// <b>What is serialized.</b> Only installing a dispatcher (once per module, under one process-wide lock). That is
/// the one write to the shared module, and it must not overlap a forward pass of the same module on another thread:
/// <see cref="Prepare"/> installs them on a whole model at once, and the library calls it when a classifier is built
/// and before every explanation, so it happens before any concurrent forward pass. A module added to a model after
/// that gets its dispatcher at the next explanation (or when first hooked); adding modules to a model while other
/// threads run it is unsafe anyway.
/// </para>
/// <para>
/// Hooks registered directly with TorchSharp (<c>register_forward_hook</c>) bypass all of this: they fire for every
/// caller, and registering one while another thread runs the module is unsafe.
/// </para>
/// </remarks>
public static class ModuleHooks
{
    /// <summary>Each module's dispatcher; weak keys, so a disposed and dropped model takes its dispatchers with it.</summary>
    private static readonly ConditionalWeakTable<nn.Module, Dispatcher> Dispatchers = new();

    /// <summary>
    /// Serializes the installation of dispatchers: TorchSharp's hook dictionaries are not safe for concurrent writers,
    /// and one module must get exactly one dispatcher.
    /// </summary>
    private static readonly Lock InstallGate = new();

    /// <summary>Each module type's TorchSharp hook dictionaries, found once by reflection.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Type, FieldInfo[]> HookFields = new();

    /// <summary>The calling flow's hooks by dispatcher, in the order they were added; null when it has none.</summary>
    private static readonly AsyncLocal<ImmutableDictionary<Dispatcher, ImmutableArray<Registration>>?> Current = new();

    /// <summary>
    /// Where the tensors this flow's hooks make are kept while <see cref="KeepingHookTensors"/> runs a forward pass, and
    /// the thread that opened it (dispose scopes are per thread); null outside such a pass.
    /// </summary>
    private static readonly AsyncLocal<(DisposeScope Scope, int Thread)?> HookTensorHome = new();

    /// <summary>Runs <paramref name="hook"/> after every <c>call</c> of <paramref name="module"/> in the calling flow; dispose the result to remove it.</summary>
    /// <exception cref="NotSupportedException">The module does not derive from <c>nn.Module&lt;T, TResult&gt;</c> (one input).</exception>
    public static IDisposable AddForwardHook(nn.Module module, ForwardHook hook) => Add(module, hook, post: true);

    /// <summary>Runs <paramref name="hook"/> before every <c>call</c> of <paramref name="module"/> in the calling flow; dispose the result to remove it.</summary>
    /// <exception cref="NotSupportedException">The module does not derive from <c>nn.Module&lt;T, TResult&gt;</c> (one input).</exception>
    public static IDisposable AddForwardPreHook(nn.Module module, ForwardPreHook hook) => Add(module, hook, post: false);

    /// <summary>
    /// Makes every hookable module of <paramref name="root"/>'s tree ready for hooks from any thread (see the remarks
    /// on <see cref="ModuleHooks"/>). Call it before other threads may run the model; the library does when a
    /// classifier is built and before each explanation. Cheap once every module has its dispatcher.
    /// </summary>
    /// <exception cref="ArgumentException">The tree has a child no path can name (see <see cref="ModulePaths.SelfAndDescendants"/>).</exception>
    public static void Prepare(nn.Module root)
    {
        ArgumentNullException.ThrowIfNull(root);

        // Walked every time (lock-free lookups; tens of microseconds for a transformer), so a module added since the
        // last call is covered too; the lock is taken only when one lacks its dispatcher.
        List<(nn.Module Module, (Type, Type) Signature)>? missing = null;
        foreach (var (_, module) in root.SelfAndDescendants())
        {
            if (!Dispatchers.TryGetValue(module, out _) && Signature(module) is { } signature)
            {
                (missing ??= []).Add((module, signature));
            }
        }

        if (missing is null)
        {
            return;
        }

        lock (InstallGate)
        {
            foreach (var (module, signature) in missing)
            {
                Install(module, signature);
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="forward"/> (a module's forward pass) so that the tensors this flow's hooks make during it
    /// outlive any dispose scope that code inside the pass opens, and returns its result.
    /// </summary>
    /// <remarks>
    /// A user's <c>forward</c> may open its own scope (<c>using var _ = NewDisposeScope(); … return
    /// x.MoveToOuterDisposeScope();</c>). Tensors made inside it land in it and are freed when <c>forward</c> returns,
    /// and so would the tensors a hook makes there: the leaf an attributor differentiates against, the handles it keeps
    /// of a layer's output, a relevance rule's output. So the pass runs inside a scope of its own, every hook that fires
    /// in it runs inside a fresh scope whose tensors then move to the pass's, and when the pass returns everything left
    /// in the pass's scope (those tensors, the output the code moved out to it, whatever was made outside any inner
    /// scope) moves to the caller's scope, where it would have landed without the inner scope. A pass that throws frees
    /// what it made.
    /// </remarks>
    internal static TResult KeepingHookTensors<TResult>(Func<TResult> forward)
    {
        using var pass = torch.NewDisposeScope();
        var previous = HookTensorHome.Value;
        HookTensorHome.Value = (pass, Environment.CurrentManagedThreadId);
        TResult result;
        try
        {
            result = forward();
        }
        finally
        {
            HookTensorHome.Value = previous;
        }

        pass.MoveToOuter(pass.DisposablesView);
        return result;
    }

    /// <summary>
    /// Runs one module's hooks (<paramref name="run"/>) so that the tensors they make are kept where the current
    /// <see cref="KeepingHookTensors"/> pass keeps them; outside such a pass (or on another thread than the one that
    /// opened it), where they are made.
    /// </summary>
    private static TValue RunHooks<TValue>(Func<TValue> run)
    {
        if (HookTensorHome.Value is not { } home || home.Thread != Environment.CurrentManagedThreadId)
        {
            return run();
        }

        using var made = torch.NewDisposeScope();
        var value = run();
        made.MoveToOther(home.Scope, made.DisposablesView);
        return value;
    }

    /// <summary>The input and output types of a one-input module, or null when it is not one.</summary>
    public static (Type Input, Type Output)? Signature(nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        for (var type = module.GetType(); type is not null; type = type.BaseType)
        {
            if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(nn.Module<,>))
            {
                var arguments = type.GetGenericArguments();
                return (arguments[0], arguments[1]);
            }
        }

        return null;
    }

    /// <summary>
    /// How many forward hooks and pre-hooks are attached to <paramref name="module"/> (0 for a module that cannot
    /// have any): those added here and not yet removed, in any flow, plus any registered directly with TorchSharp.
    /// The dispatcher itself is not counted. Every attributor removes its hooks before it returns: this is how tests
    /// and callers check it.
    /// </summary>
    public static int Count(nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        return DirectHooks(module) + (Dispatchers.TryGetValue(module, out var dispatcher) ? Volatile.Read(ref dispatcher.Live) : 0);
    }

    /// <summary>
    /// Whether a forward pass of <paramref name="root"/> run now in the calling flow would run no hook except the flow's
    /// own on the <paramref name="allowed"/> modules: none of the flow's hooks on any other module, and no hook registered
    /// directly with TorchSharp anywhere in the tree (those fire for every flow). Hooks other flows added do not fire
    /// here, so they do not count. A pass that holds can skip work whose values nobody reads (<see cref="Models.ModelInput.LogitsOnly"/>).
    /// </summary>
    internal static bool OnlyFlowHooksOn(nn.Module root, params nn.Module[] allowed)
    {
        if (Current.Value is { } hooks)
        {
            foreach (var (dispatcher, registrations) in hooks)
            {
                if (!allowed.Contains(dispatcher.Module, ReferenceEqualityComparer.Instance) && registrations.Any(r => !r.Removed))
                {
                    return false;
                }
            }
        }

        foreach (var (_, module) in root.SelfAndDescendants())
        {
            if (DirectHooks(module) > 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>TorchSharp hooks on <paramref name="module"/> other than its dispatcher's own pair.</summary>
    private static int DirectHooks(nn.Module module)
    {
        var count = 0;
        foreach (var field in HookFields.GetOrAdd(module.GetType(), FindHookFields))
        {
            if (field.GetValue(module) is System.Collections.ICollection hooks)
            {
                count += hooks.Count;
            }
        }

        return Dispatchers.TryGetValue(module, out _) ? count - Dispatcher.OwnHooks : count;
    }

    /// <summary>TorchSharp's hook dictionaries of a module type (none for a module that cannot have hooks).</summary>
    private static FieldInfo[] FindHookFields(Type moduleType)
    {
        var fields = new List<FieldInfo>();
        for (var type = moduleType; type is not null; type = type.BaseType)
        {
            if (!type.IsGenericType || type.GetGenericTypeDefinition() != typeof(nn.HookableModule<,>))
            {
                continue;
            }

            foreach (var name in new[] { "pre_hooks", "post_hooks", "module_pre_hooks", "module_post_hooks" })
            {
                if (type.GetField(name, BindingFlags.Instance | BindingFlags.NonPublic) is { } field)
                {
                    fields.Add(field);
                }
            }
        }

        return [.. fields];
    }

    private static IDisposable Add(nn.Module module, Delegate hook, bool post)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(hook);
        var signature = Signature(module) ?? throw new NotSupportedException(
            $"{module.GetName()} ({module.GetType().Name}) cannot be hooked: only modules deriving from nn.Module<T, TResult> " +
            "(one forward argument, which may be a tuple) can be; TorchScript submodules run inside native code and never can");
        Dispatcher dispatcher;
        if (!Dispatchers.TryGetValue(module, out dispatcher!))
        {
            lock (InstallGate)
            {
                dispatcher = Install(module, signature);
            }
        }

        var registration = new Registration(dispatcher, hook, post);
        Interlocked.Increment(ref dispatcher.Live);
        var hooks = Current.Value ?? ImmutableDictionary<Dispatcher, ImmutableArray<Registration>>.Empty;
        Current.Value = hooks.SetItem(dispatcher, hooks.TryGetValue(dispatcher, out var list) ? list.Add(registration) : [registration]);
        return registration;
    }

    /// <summary>The module's dispatcher, installed now if it has none. Only under <see cref="InstallGate"/>.</summary>
    private static Dispatcher Install(nn.Module module, (Type Input, Type Output) signature)
    {
        if (Dispatchers.TryGetValue(module, out var existing))
        {
            return existing;
        }

        var type = typeof(Dispatcher<,>).MakeGenericType(signature.Input, signature.Output);
        var dispatcher = (Dispatcher)Activator.CreateInstance(type, BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public, null, [module], null)!;
        Dispatchers.Add(module, dispatcher);
        return dispatcher;
    }

    /// <summary>The calling flow's hooks on a dispatcher's module, or an empty array.</summary>
    private static ImmutableArray<Registration> HooksOf(Dispatcher dispatcher) =>
        Current.Value is { } hooks && hooks.TryGetValue(dispatcher, out var list) ? list : [];

    private static TValue Cast<TValue>(nn.Module module, object value, string kind, string what) =>
        value is TValue typed
            ? typed
            : throw new InvalidOperationException(
                $"a {kind} on {module.GetName()} returned a {value.GetType().Name} but the module's {what} is a {typeof(TValue).Name}");

    /// <summary>The permanent pair of TorchSharp hooks on one module that runs the current flow's hooks.</summary>
    private abstract class Dispatcher
    {
        /// <summary>TorchSharp hooks a dispatcher registers (a pre-hook and a hook), left out of <see cref="Count"/>.</summary>
        public const int OwnHooks = 2;

        /// <summary>Hooks added to this module and not yet removed, in every flow (for <see cref="Count"/>).</summary>
        public int Live;

        protected Dispatcher(nn.Module module) => Module = module;

        /// <summary>The module this dispatcher serves (the weak table's value may refer to its key).</summary>
        public nn.Module Module { get; }
    }

    private sealed class Dispatcher<T, TResult> : Dispatcher
    {
        public Dispatcher(nn.Module<T, TResult> module)
            : base(module)
        {
            module.register_forward_pre_hook(Before);
            module.register_forward_hook(After);
        }

        private T Before(nn.Module<T, TResult> module, T input)
        {
            var hooks = HooksOf(this);
            return hooks.Any(r => !r.Post && !r.Removed) ? RunHooks(() => RunBefore(hooks, module, input)) : input;
        }

        private TResult After(nn.Module<T, TResult> module, T input, TResult output)
        {
            var hooks = HooksOf(this);
            return hooks.Any(r => r.Post && !r.Removed) ? RunHooks(() => RunAfter(hooks, module, input, output)) : output;
        }

        private static T RunBefore(ImmutableArray<Registration> hooks, nn.Module<T, TResult> module, T input)
        {
            foreach (var registration in hooks)
            {
                if (!registration.Post && !registration.Removed
                    && ((ForwardPreHook)registration.Hook)(module, input!) is { } replaced)
                {
                    input = Cast<T>(module, replaced, "forward pre-hook", "input");
                }
            }

            return input;
        }

        private static TResult RunAfter(ImmutableArray<Registration> hooks, nn.Module<T, TResult> module, T input, TResult output)
        {
            foreach (var registration in hooks)
            {
                if (registration.Post && !registration.Removed
                    && ((ForwardHook)registration.Hook)(module, input!, output!) is { } replaced)
                {
                    output = Cast<TResult>(module, replaced, "forward hook", "output");
                }
            }

            return output;
        }
    }

    /// <summary>One added hook; disposing it removes it from the flow that added it.</summary>
    private sealed class Registration(Dispatcher dispatcher, Delegate hook, bool post) : IDisposable
    {
        private int removed;

        public Dispatcher Dispatcher { get; } = dispatcher;

        public Delegate Hook { get; } = hook;

        public bool Post { get; } = post;

        /// <summary>
        /// Set on disposal, and checked by the dispatcher, so the hook stops even when it is disposed from another
        /// flow than the one that added it (whose list then still holds it until that flow ends).
        /// </summary>
        public bool Removed => Volatile.Read(ref removed) != 0;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref removed, 1) != 0)
            {
                return;
            }

            Interlocked.Decrement(ref Dispatcher.Live);
            if (Current.Value is { } hooks && hooks.TryGetValue(Dispatcher, out var list) && list.IndexOf(this) is var at and >= 0)
            {
                var rest = list.RemoveAt(at);
                var left = rest.IsEmpty ? hooks.Remove(Dispatcher) : hooks.SetItem(Dispatcher, rest);
                Current.Value = left.IsEmpty ? null : left;
            }
        }
    }
}
