using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Models;

/// <summary>
/// Loads a small classifier (<c>attribution-lstm</c>, <c>attribution-cnn</c>, <c>attribution-mlp</c>) from a model
/// folder in Hugging Face layout: <c>config.json</c> and <c>model.safetensors</c> (the tokenizer files beside them are
/// read by <see cref="ClassifierLoader"/>).
/// </summary>
public static class SmallClassifierLoader
{
    /// <summary>
    /// Builds the classifier <c>config.json</c> describes and fills it with <c>model.safetensors</c>, strictly: every
    /// parameter must be there with its shape, and no other tensor may be. Returned in evaluation mode; dispose it.
    /// </summary>
    /// <exception cref="ModelLoadException">The folder, its config or its weights cannot be used; the message says why.</exception>
    public static SmallClassifier Load(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory))
        {
            throw new ModelLoadException(directory, null, File.Exists(directory)
                ? $"{directory} is a file; pass the model folder that holds config.json and model.safetensors."
                : $"model folder {directory} does not exist; pass a folder holding config.json and model.safetensors (as Trainer.SaveFolder writes).");
        }

        var config = SmallClassifierConfig.FromFile(Path.Combine(directory, "config.json"));
        var weights = Path.Combine(directory, "model.safetensors");
        if (!File.Exists(weights))
        {
            throw new ModelLoadException(weights, null, Engine.FileChecks.Problem(weights) is { } problem
                ? $"{problem}: the model's weights must be a safetensors file there."
                : $"{directory} has no model.safetensors; save the trained model with Trainer.SaveFolder.");
        }

        Dictionary<string, Tensor> tensors;
        try
        {
            tensors = SafeTensors.Load(weights);
        }
        catch (Exception e) when (e is SafeTensorsException or IOException or UnauthorizedAccessException)
        {
            throw new ModelLoadException(weights, (e as SafeTensorsException)?.TensorName, $"{weights} cannot be read: {e.Message}. Save the model again.", e);
        }

        SmallClassifier? model = null;
        try
        {
            model = SmallClassifier.Create(config);
            CopyWeights(model, tensors, weights);
            model.eval();
            return model;
        }
        catch
        {
            model?.Dispose();
            throw;
        }
        finally
        {
            foreach (var t in tensors.Values)
            {
                t.Dispose();
            }
        }
    }

    private static void CopyWeights(SmallClassifier model, Dictionary<string, Tensor> checkpoint, string file)
    {
        CheckpointFit.Compare(model.state_dict(), checkpoint).ThrowUnlessFits(file, model.GetName(), fit => fit.Mismatched.Count > 0
            ? "config.json does not describe these weights (check vocab_size, embedding_dim, hidden_size, kernel_sizes, num_filters and id2label against the checkpoint)."
            : $"the checkpoint was not saved from a {model.GetName()} (a different model_type?); save the model again with Trainer.SaveFolder.");
        model.load_state_dict(checkpoint, strict: true);
    }
}
