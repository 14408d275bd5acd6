using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Engine;

/// <summary>Submodules by dotted path (<c>bert.encoder.layer.0</c>), as PyTorch's <c>get_submodule</c>.</summary>
public static class ModulePaths
{
    /// <summary>
    /// The submodule of <paramref name="root"/> at <paramref name="path"/> ("" is the root itself). An unknown path
    /// throws an <see cref="ArgumentException"/> naming the closest existing paths.
    /// </summary>
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
    /// Thrown while enumerating, on reaching that child.</exception>
    public static IEnumerable<(string Path, nn.Module Module)> SelfAndDescendants(this nn.Module root)
    {
        ArgumentNullException.ThrowIfNull(root);
        return Walk(root, root, string.Empty);
    }

    private static IEnumerable<(string Path, nn.Module Module)> Walk(nn.Module root, nn.Module module, string path)
    {
        yield return (path, module);
        foreach (var (name, child) in module.named_children())
        {
            if (name.Length == 0 || name.Contains('.', StringComparison.Ordinal))
            {
                throw UnaddressableChild(root, module, path, name);
            }

            foreach (var descendant in Walk(root, child, path.Length == 0 ? name : path + "." + name))
            {
                yield return descendant;
            }
        }
    }

    private static ArgumentException UnaddressableChild(nn.Module root, nn.Module parent, string path, string name)
    {
        // Type names: GetName() of TorchSharp's own modules is the C++ class (torch::nn::SequentialImpl).
        var where = path.Length == 0 ? $"the {root.GetType().Name} module" : $"the submodule '{path}' ({parent.GetType().Name}) of the {root.GetType().Name} module";
        var full = path.Length == 0 ? name : path + "." + name;
        var why = name.Length == 0
            ? $"an empty name gives it the path '{path}' of its parent"
            : $"a name with '.' makes its path '{full}' also that of a child '{name[(name.IndexOf('.', StringComparison.Ordinal) + 1)..]}' " +
              $"of a child '{name[..name.IndexOf('.', StringComparison.Ordinal)]}', so a layer could be looked up as another one";
        var fix = name.Length == 0 ? "a non-empty name" : $"a name without '.' (such as '{name.Replace('.', '_')}')";
        return new ArgumentException(
            $"{where} has a child named '{name}': {why}. Register that child under {fix}, " +
            "as PyTorch's add_module and TorchSharp's register_module require", nameof(root));
    }

    /// <summary>The dotted path of <paramref name="module"/> inside <paramref name="root"/> ("" for the root), or null when it is not part of it.</summary>
    public static string? PathOf(this nn.Module root, nn.Module module)
    {
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
