using Attribution.Pipeline;
using Attribution.Methods;
using Attribution.Models;

namespace Attribution.Cli;

/// <summary>A method that hooks a TorchSharp model's modules was asked for on a model that has none (an ONNX model).</summary>
/// <param name="method">The method's name.</param>
internal sealed class NeedsGradientsException(string method)
    : Exception($"{method} needs a TorchSharp model's modules and gradients")
{
    /// <summary>The method's name.</summary>
    public string Method { get; } = method;
}

/// <summary>
/// Methods for any loaded model: a TorchSharp model takes every method; a model known only by its tokenizer and
/// logits (ONNX) takes the perturbation methods (<see cref="IPerturbationAttributor"/>) and refuses the others with the
/// list of those that work.
/// </summary>
internal static class ModelMethods
{
    /// <summary>The attributor for <paramref name="method"/>, or a <see cref="UsageException"/> when the model cannot run it.</summary>
    /// <param name="method">A name from <see cref="CliOptions.MethodNames"/>.</param>
    /// <param name="settings">The method options given.</param>
    /// <param name="model">The loaded model.</param>
    /// <param name="option">The option that named the method (<c>--method</c> or <c>--methods</c>).</param>
    public static IAttributor Create(string method, MethodSettings settings, ITokenClassifier model, string option)
    {
        if (model is ITextClassifier torchModel)
        {
            if (method is "attention-rollout" or "grad-attention-rollout")
            {
                // The method's own refusal names no option (it is the library's, about its model argument).
                try
                {
                    Attribution.Methods.Attention.AttentionCapture.Modules(torchModel, method);
                }
                catch (ArgumentException e)
                {
                    throw new UsageException(option,
                        $"{CliApp.UsageMessage(e)}; explain {model.Name} with another method (gradient, integrated-gradients, occlusion, ...)", e);
                }
            }

            return MethodFactory.Create(method, settings, model);
        }

        // Which methods are perturbation methods is the attributor's type, not a list kept here.
        if (!PerturbationMethods(model).Contains(method))
        {
            throw new UsageException(option,
                $"{method} needs gradients, which {model.Name} (an ONNX model) does not give; methods that explain it: {Names.List(PerturbationMethods(model))}");
        }

        return MethodFactory.Create(method, settings, model);
    }

    /// <summary>The method names whose attributor explains any <see cref="ITokenClassifier"/>, in <see cref="CliOptions.MethodNames"/> order.</summary>
    public static IReadOnlyList<string> PerturbationMethods(ITokenClassifier model) =>
        CliOptions.MethodNames.Where(name => IsPerturbation(name, model)).ToList();

    /// <summary>Runs the methods on a chunk of texts: result [m][t].</summary>
    public static IReadOnlyList<IReadOnlyList<Explanation>> ExplainAll(
        ITokenClassifier model, IReadOnlyList<string> texts, IReadOnlyList<IAttributor> methods, ExplainOptions options)
    {
        if (model is ITextClassifier torchModel)
        {
            return Explainer.ExplainAll(torchModel, texts, methods, options);
        }

        // Every method checked before any runs: a gradient method last was refused after the others' work.
        if (Attribution.Methods.Internal.TextArguments.FirstNeedingGradients(model, methods) is { } gradient)
        {
            throw new UsageException("--method", $"{gradient.Name} needs gradients, which {model.Name} does not give");
        }

        return methods.Select(method => ((IPerturbationAttributor)method).Explain(model, texts, options)).ToList();
    }

    private static bool IsPerturbation(string name, ITokenClassifier model)
    {
        try
        {
            return MethodFactory.Create(name, new MethodSettings(), model) is IPerturbationAttributor;
        }
        catch (Exception e) when (e is NeedsGradientsException or UsageException)
        {
            // Methods that need the model's modules, or options (neuron-conductance's --neuron), are not perturbation methods.
            return false;
        }
    }
}
