using System.Reflection;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Attribution.Engine;

/// <summary>Submodules by dotted path (<c>bert.encoder.layer.0</c>), as PyTorch's <c>get_submodule</c>.</summary>
public static class ModulePaths
{
    /// <summary>
    /// The submodule of <paramref name="root"/> at <paramref name="path"/> ("" is the root itself). An unknown path
    /// throws an <see cref="ArgumentException"/> naming the closest existing paths.
    /// </summary>
    /// <exception cref="ArgumentException">No submodule has that path (parameter <c>path</c>; the message names the closest
    /// paths), or the tree has a child no path can name (parameter <c>root</c>, see <see cref="SelfAndDescendants"/>).</exception>
    public static nn.Module Submodule(this nn.Module root, string path) => FindSubmodule(root, path, nameof(path));

    /// <summary>As <see cref="Submodule(nn.Module, string)"/>, with the caller's argument name on the exception.</summary>
    internal static nn.Module FindSubmodule(this nn.Module root, string path, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0)
        {
            return root;
        }

        foreach (var (name, module) in root.SelfAndDescendants())
        {
            if (name == path)
            {
                return module;
            }
        }

        var close = root.SelfAndDescendants().Select(m => m.Path).Where(n => n.Length > 0)
            .OrderBy(n => EditDistance(n, path)).ThenBy(n => n, StringComparer.Ordinal).Take(5).ToList();
        throw new ArgumentException(
            $"no submodule '{path}' in {root.GetName()}; closest paths: {(close.Count == 0 ? "(it has no submodules)" : string.Join(", ", close))}",
            parameterName);
    }

    /// <summary>
    /// <paramref name="root"/> (path "") and every descendant with its dotted path, parents before children, as
    /// PyTorch's <c>named_modules</c>. TorchSharp's <c>named_modules</c> leaves the root out.
    /// </summary>
    /// <exception cref="ArgumentException">A child is named "" or with a '.' (TorchSharp's <c>Sequential</c> and an
    /// overridden <c>named_children</c> allow both, <c>register_module</c> neither): its path would also be another
    /// module's (<c>a.b</c>, the child <c>b</c> of <c>a</c>; "", the parent), so a lookup could return the wrong layer.
    /// Thrown while enumerating, on reaching that child. Or a <c>ModuleList</c> or <c>ModuleDict</c> holds modules that are not
    /// its registered children (added after its owner registered it): nothing that walks the tree sees them, TorchSharp's
    /// <c>parameters()</c> and <c>eval()</c> included, so they could be neither addressed nor hooked. Thrown on reaching the container.</exception>
    public static IEnumerable<(string Path, nn.Module Module)> SelfAndDescendants(this nn.Module root)
    {
        ArgumentNullException.ThrowIfNull(root);
        return Walk(root, root, string.Empty, nameof(root));
    }

    /// <summary>
    /// Walks the whole tree of <paramref name="root"/> once, so a child no path can name (see
    /// <see cref="SelfAndDescendants"/>) is refused now, on the caller's argument, rather than at a later lookup.
    /// </summary>
    /// <exception cref="ArgumentException">As <see cref="SelfAndDescendants"/>, naming <paramref name="parameterName"/>.</exception>
    internal static void CheckAddressable(this nn.Module root, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(root);
        foreach (var _ in Walk(root, root, string.Empty, parameterName))
        {
        }
    }

    private static IEnumerable<(string Path, nn.Module Module)> Walk(nn.Module root, nn.Module module, string path, string parameterName)
    {
        yield return (path, module);
        if (UnregisteredItems(module) is { } unregistered)
        {
            throw UnregisteredContainerItems(root, path, unregistered.Kind, unregistered.Items, parameterName);
        }

        foreach (var (name, child) in module.named_children())
        {
            if (name.Length == 0 || name.Contains('.', StringComparison.Ordinal))
            {
                throw UnaddressableChild(root, module, path, name, parameterName);
            }

            foreach (var descendant in Walk(root, child, path.Length == 0 ? name : path + "." + name, parameterName))
            {
                yield return descendant;
            }
        }
    }

    /// <summary>
    /// The root as messages name it: its type, or for a type of the library's own that users never see (the adapter
    /// that wraps a user's module, whose paths are the user's), its module name, which is the user's module's.
    /// </summary>
    private static string RootName(nn.Module root) => root.GetType().IsVisible ? root.GetType().Name : root.GetName();

    private static ArgumentException UnaddressableChild(nn.Module root, nn.Module parent, string path, string name, string parameterName)
    {
        // Type names: GetName() of TorchSharp's own modules is the C++ class (torch::nn::SequentialImpl).
        var where = path.Length == 0 ? $"the {RootName(root)} module" : $"the submodule '{path}' ({parent.GetType().Name}) of the {RootName(root)} module";
        var full = path.Length == 0 ? name : path + "." + name;
        var why = name.Length == 0
            ? $"an empty name gives it the path '{path}' of its parent"
            : $"a name with '.' makes its path '{full}' also that of a child '{name[(name.IndexOf('.', StringComparison.Ordinal) + 1)..]}' " +
              $"of a child '{name[..name.IndexOf('.', StringComparison.Ordinal)]}', so a layer could be looked up as another one";
        var fix = name.Length == 0 ? "a non-empty name" : $"a name without '.' (such as '{name.Replace('.', '_')}')";
        return new ArgumentException(
            $"{where} has a child named '{name}': {why}. Register that child under {fix}, " +
            "as PyTorch's add_module and TorchSharp's register_module require", parameterName);
    }

    /// <summary>
    /// The modules a <c>ModuleList</c> or <c>ModuleDict</c> (or a subclass) holds that are not among its children, with
    /// the container's kind; null for any other module. TorchSharp registers a container's items once, when its owner's
    /// <c>RegisterComponents</c> registers the container (or never, for a container no module registers): items added
    /// after that (<c>Add</c>, <c>append</c>, <c>Insert</c>, an index setter) run in the owner's forward but are in no
    /// module's children.
    /// </summary>
    private static (string Kind, List<nn.Module> Items)? UnregisteredItems(nn.Module module)
    {
        for (var type = module.GetType(); type is not null; type = type.BaseType)
        {
            if (!type.IsGenericType)
            {
                continue;
            }

            var definition = type.GetGenericTypeDefinition();
            var (kind, items) =
                definition == typeof(ModuleList<>) ? ("ModuleList", (System.Collections.IEnumerable?)module)
                // A ModuleDict's non-generic enumerator throws NotImplementedException; its Values list its modules.
                : definition == typeof(ModuleDict<>) ? ("ModuleDict", (System.Collections.IEnumerable?)type
                    .GetProperty("Values", BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)?.GetValue(module))
                : (string.Empty, null);
            if (items is null)
            {
                continue;
            }

            var children = module.named_children().Select(c => c.module).ToList();
            var unregistered = items.OfType<nn.Module>().Where(item => !children.Contains(item, ReferenceEqualityComparer.Instance)).ToList();
            return unregistered.Count == 0 ? null : (kind, unregistered);
        }

        return null;
    }

    private static ArgumentException UnregisteredContainerItems(nn.Module root, string path, string kind, List<nn.Module> unregistered, string parameterName)
    {
        var where = path.Length == 0 ? $"the {kind} given" : $"the {kind} '{path}' of the {RootName(root)} module";
        var types = string.Join(", ", unregistered.Select(m => m.GetType().Name));
        return new ArgumentException(
            $"{where} holds {unregistered.Count} module(s) that are not registered as its children ({types}): TorchSharp registers a {kind}'s " +
            "modules once, when the module that owns it calls RegisterComponents(), so modules added to it afterwards (Add, append, Insert) " +
            "still run in the forward pass but nothing that walks the model sees them: not TorchSharp's parameters(), state_dict() or eval() " +
            "(a new module stays in training mode), and not the library, which could neither address nor hook them (a method's Layer, LRP's rules). " +
            $"Fill the {kind} before the owner's RegisterComponents() (e.g. nn.{kind}(a, b, c) in its constructor), or register each added module " +
            "with register_module(name, module) on the container", parameterName);
    }

    /// <summary>The dotted path of <paramref name="module"/> inside <paramref name="root"/> ("" for the root), or null when it is not part of it.</summary>
    public static string? PathOf(this nn.Module root, nn.Module module)
    {
        // A null module is no module of any tree: it answered "not part of it" rather than naming the mistake.
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(module);
        foreach (var (path, candidate) in root.SelfAndDescendants())
        {
            if (ReferenceEquals(candidate, module))
            {
                return path;
            }
        }

        return null;
    }

    private static int EditDistance(string a, string b)
    {
        var d = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            d[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            var previous = d[0];
            d[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var temp = d[j];
                d[j] = Math.Min(Math.Min(d[j] + 1, d[j - 1] + 1), previous + (a[i - 1] == b[j - 1] ? 0 : 1));
                previous = temp;
            }
        }

        return d[b.Length];
    }
}
