using System.Collections.Concurrent;
using System.Reflection;
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
/// Forward hooks on a TorchSharp module found by path, whatever its input and output types. TorchSharp's hooks are
/// typed by the module's <c>Module&lt;T, TResult&gt;</c> base; these adapt an untyped hook to it. As in TorchSharp,
/// the hooks fire only when the module runs through <c>call(x)</c>, never through <c>forward(x)</c>.
/// </summary>
public static class ModuleHooks
{
    private static readonly ConcurrentDictionary<(Type, bool), MethodInfo> Adders = new();

    /// <summary>Runs <paramref name="hook"/> after every <c>call</c> of <paramref name="module"/>; dispose the result to remove it.</summary>
    /// <exception cref="NotSupportedException">The module does not derive from <c>nn.Module&lt;T, TResult&gt;</c> (one input).</exception>
    public static IDisposable AddForwardHook(nn.Module module, ForwardHook hook) => Add(module, hook, post: true);

    /// <summary>Runs <paramref name="hook"/> before every <c>call</c> of <paramref name="module"/>; dispose the result to remove it.</summary>
    /// <exception cref="NotSupportedException">The module does not derive from <c>nn.Module&lt;T, TResult&gt;</c> (one input).</exception>
    public static IDisposable AddForwardPreHook(nn.Module module, ForwardPreHook hook) => Add(module, hook, post: false);

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
    /// have any). Every attributor removes its hooks before it returns: this is how tests and callers check it.
    /// </summary>
    public static int Count(nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        var count = 0;
        for (var type = module.GetType(); type is not null; type = type.BaseType)
        {
            if (!type.IsGenericType || type.GetGenericTypeDefinition() != typeof(nn.HookableModule<,>))
            {
                continue;
            }

            foreach (var name in new[] { "pre_hooks", "post_hooks", "module_pre_hooks", "module_post_hooks" })
            {
                if (type.GetField(name, BindingFlags.Instance | BindingFlags.NonPublic)?.GetValue(module) is System.Collections.ICollection hooks)
                {
                    count += hooks.Count;
                }
            }
        }

        return count;
    }

    private static IDisposable Add(nn.Module module, Delegate hook, bool post)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(hook);
        var (input, output) = Signature(module) ?? throw new NotSupportedException(
            $"{module.GetName()} ({module.GetType().Name}) cannot be hooked: only modules deriving from nn.Module<T, TResult> " +
            "(one forward argument, which may be a tuple) can be; TorchScript submodules run inside native code and never can");
        var adder = Adders.GetOrAdd((module.GetType(), post), key =>
            typeof(ModuleHooks).GetMethod(key.Item2 ? nameof(AddPost) : nameof(AddPre), BindingFlags.NonPublic | BindingFlags.Static)!
                .MakeGenericMethod(input, output));
        return (IDisposable)adder.Invoke(null, [module, hook])!;
    }

    private static IDisposable AddPost<T, TResult>(nn.Module<T, TResult> module, ForwardHook hook)
    {
        var remover = module.register_forward_hook((m, input, output) =>
            hook(m, input!, output!) is { } replaced ? Cast<TResult>(m, replaced, "forward hook", "output") : output);
        return new Removal(remover.remove);
    }

    private static IDisposable AddPre<T, TResult>(nn.Module<T, TResult> module, ForwardPreHook hook)
    {
        var remover = module.register_forward_pre_hook((m, input) =>
            hook(m, input!) is { } replaced ? Cast<T>(m, replaced, "forward pre-hook", "input") : input);
        return new Removal(remover.remove);
    }

    private static TValue Cast<TValue>(nn.Module module, object value, string kind, string what) =>
        value is TValue typed
            ? typed
            : throw new InvalidOperationException(
                $"a {kind} on {module.GetName()} returned a {value.GetType().Name} but the module's {what} is a {typeof(TValue).Name}");

    private sealed class Removal(Action remove) : IDisposable
    {
        private Action? remove = remove;

        public void Dispose() => Interlocked.Exchange(ref remove, null)?.Invoke();
    }
}
