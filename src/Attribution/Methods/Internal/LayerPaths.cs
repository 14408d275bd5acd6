using Attribution.Engine;
using Attribution.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods.Internal;

/// <summary>
/// Resolves a method's layer setting (<c>Layer</c>, <c>InputLayer</c>) to the module it names: the one place every
/// layer path goes through, so a model kind whose layers cannot be reached is refused here, with the reason.
/// </summary>
internal static class LayerPaths
{
    /// <summary>The module at <paramref name="path"/> (the word embeddings when null).</summary>
    /// <param name="model">The classifier.</param>
    /// <param name="path">The dotted path, or null for the word embeddings.</param>
    /// <param name="setting">The setting that gave the path, for messages (e.g. <c>Layer</c>).</param>
    /// <exception cref="ArgumentException">No such path (the closest are listed), the model is TorchScript and the
    /// path is not its word embeddings, or the module cannot be hooked (a container such as a ModuleList).</exception>
    public static nn.Module Resolve(ITextClassifier model, string? path, string setting)
    {
        var resolved = path ?? model.WordEmbeddingPath;
        if (model.Module is TorchScriptAdapter && resolved != model.WordEmbeddingPath)
        {
            throw new ArgumentException(
                $"{model.Name} is a TorchScript model: its layers run inside libtorch's TorchScript interpreter, where no .NET hook fires, " +
                $"so the layer '{resolved}' ({setting}) can be neither observed nor changed. Only its word embeddings ('{model.WordEmbeddingPath}'), " +
                $"which the library computes in .NET before calling the script, can: leave {setting} unset, or use Gradient, GradientXInput, " +
                "IntegratedGradients (at the embeddings) or LIME. To attribute to an inner layer, rebuild the model in TorchSharp " +
                "and wrap it with TextClassifier.FromTorchSharp",
                setting);
        }

        // An unknown path is the user's setting (Layer, InputLayer) that is wrong: the exception names it.
        var module = model.Module.FindSubmodule(resolved, setting);
        if (ModuleHooks.Signature(module) is null)
        {
            // A container (ModuleList, ModuleDict) never runs as one module, and a native one runs no .NET hook.
            var child = module.named_children().Select(c => c.name).FirstOrDefault();
            throw new ArgumentException(
                $"the layer '{resolved}' ({Lrp.LrpNotSupportedException.TypeName(module.GetType())}) cannot be attributed to: only a module that runs on one input (nn.Module<T, TResult>) " +
                "can be observed, and this one " + (child is null ? "is not one" : $"only holds layers; choose one of them, e.g. '{resolved}.{child}'"),
                setting);
        }

        return module;
    }

    /// <summary>
    /// The layer to suggest for conductance when none is set (what the CLI attributes to without <c>--layer</c>): the first
    /// transformer layer (the first module, in <c>named_modules</c> order, whose path ends in <c>layer.0</c>, as in BERT,
    /// DistilBERT and RoBERTa), else the word embeddings.
    /// </summary>
    public static string DefaultConductanceLayer(ITextClassifier model)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (var (name, _) in model.Module.SelfAndDescendants())
        {
            if (name == "layer.0" || name.EndsWith(".layer.0", StringComparison.Ordinal))
            {
                return name;
            }
        }

        return model.WordEmbeddingPath;
    }
}
