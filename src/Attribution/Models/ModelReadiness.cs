using Attribution.Engine;
using static TorchSharp.torch;

namespace Attribution.Models;

/// <summary>
/// What every call that runs a model does before its first forward pass: installs the hook dispatchers and checks that
/// the model is in evaluation mode. In training mode dropout drops random activations (and batch normalization uses
/// the batch's statistics), so every prediction and explanation would change from call to call without a word.
/// Classifiers are put in eval mode when they are built; a user who later calls <c>train()</c> on their own module
/// (which stays theirs) switches it back.
/// </summary>
internal static class ModelReadiness
{
    /// <summary>
    /// Installs every hook dispatcher of <paramref name="module"/> (see <see cref="ModuleHooks"/>: installing one is
    /// the one shared write, so it must never happen while another thread runs the module; a classifier that is not a
    /// <see cref="TextClassifier"/> was not prepared when it was built) and checks eval mode (<see cref="RequireEval"/>).
    /// </summary>
    /// <param name="model">The classifier's name, for the message.</param>
    /// <param name="module">The classifier's module.</param>
    public static void Prepare(string model, nn.Module module)
    {
        ModuleHooks.Prepare(module);
        RequireEval(model, module);
    }

    /// <summary>Throws an <see cref="InvalidOperationException"/> naming the first module of <paramref name="module"/>'s tree in training mode.</summary>
    /// <param name="model">The classifier's name, for the message.</param>
    /// <param name="module">The classifier's module.</param>
    public static void RequireEval(string model, nn.Module module)
    {
        // A wrapped user module is not its adapter's child (the adapter forwards its children): its tree is walked.
        var root = module is TorchSharpAdapter adapter ? adapter.Model : module;
        var training = root.SelfAndDescendants().FirstOrDefault(m => m.Module.training);
        if (training.Module is null)
        {
            return;
        }

        var path = training.Path.Length == 0 ? "(the model)" : $"'{training.Path}'";
        throw new InvalidOperationException(
            $"{model} is in training mode (the first module found in it: {path}, a {training.Module.GetType().Name}): dropout and batch statistics " +
            "would make every prediction and explanation random. Call eval() on the model before explaining it (the library puts a model in eval mode " +
            "when it is wrapped or loaded; a later train() switched it back)");
    }
}
