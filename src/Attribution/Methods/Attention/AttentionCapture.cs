using Attribution.Engine;
using Attribution.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods.Attention;

/// <summary>
/// Reads the attention probabilities of every layer from the model's <see cref="AttentionSoftmax"/> modules (the
/// library's BERT, DistilBERT and RoBERTa, or a user model built with them), in the order the layers run, for one
/// forward pass of the caller. Per call: the hooks act only inside the calling flow's forward pass.
/// </summary>
internal static class AttentionCapture
{
    /// <summary>The attention modules of a model, in module order; a typed error naming the fix when there are none.</summary>
    public static IReadOnlyList<nn.Module> Modules(ITextClassifier model, string method)
    {
        var modules = model.Module.SelfAndDescendants().Select(m => m.Module).Where(m => m is AttentionSoftmax).ToList();
        if (modules.Count == 0)
        {
            throw new ArgumentException(
                $"{method} reads attention probabilities from AttentionSoftmax modules, and {model.Name} has none: it works on the library's BERT, DistilBERT and RoBERTa " +
                "and on user models whose attention uses Attribution.Models.AttentionSoftmax",
                nameof(model));
        }

        return modules;
    }

    /// <summary>
    /// Runs the model on <paramref name="input"/> and returns its logits and each layer's attention probabilities
    /// [batch, heads, queries, keys], in the order the layers ran, still in the autograd graph when gradients are on.
    /// </summary>
    public static (Tensor Logits, IReadOnlyList<Tensor> Attention) Run(ITextClassifier model, IReadOnlyList<nn.Module> modules, ModelInput input)
    {
        var captured = new List<Tensor>();
        var calls = new int[modules.Count];
        var hooks = modules.Select((m, i) => ModuleHooks.AddForwardHook(m, (_, _, output) =>
        {
            calls[i]++;

            // An own handle: the attention block may dispose the probabilities once it has used them.
            captured.Add(((Tensor)output).alias());
            return null;
        })).ToList();
        try
        {
            var logits = model.Module.call(input);

            // One map per module: a module that did not run, or ran more than once (one instance reused by several
            // layers), would make the maps' count or order differ from the layers', so it is refused by name.
            for (var i = 0; i < modules.Count; i++)
            {
                if (calls[i] != 1)
                {
                    var layer = Internal.LayerTap.Describe(model.Module, modules[i]);
                    throw new InvalidOperationException(calls[i] == 0
                        ? $"the attention module {layer} did not run through .call in a forward pass of {model.Name}: compute attention with attention_probs.call(scores), not .forward(scores), and keep only AttentionSoftmax modules that the forward pass uses"
                        : $"the attention module {layer} ran {calls[i]} times in one forward pass of {model.Name}: one AttentionSoftmax instance is reused by several layers, so its maps cannot be told apart; give each attention layer its own AttentionSoftmax module");
                }
            }

            return (logits, captured);
        }
        finally
        {
            foreach (var hook in hooks)
            {
                hook.Dispose();
            }
        }
    }
}
