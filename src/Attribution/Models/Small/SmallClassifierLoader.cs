using Attribution.Torch;

namespace Attribution.Models;

/// <summary>
/// Loads a small classifier (<c>attribution-lstm</c>, <c>attribution-cnn</c>, <c>attribution-mlp</c>) from a model
/// folder in Hugging Face layout: <c>config.json</c> and <c>model.safetensors</c> (the tokenizer files beside them are
/// read by <see cref="ClassifierLoader"/>).
/// </summary>
public static class SmallClassifierLoader
{
    private const int MaxListed = 20;

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
            throw new ModelLoadException(weights, null, $"{directory} has no model.safetensors; save the trained model with Trainer.SaveFolder.");
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
        var own = model.state_dict();
        var missing = own.Keys.Where(k => !checkpoint.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var unexpected = checkpoint.Keys.Where(k => !own.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var mismatched = own.Where(kv => checkpoint.TryGetValue(kv.Key, out var t) && (!t.shape.SequenceEqual(kv.Value.shape) || !t.dtype.IsFloatingPoint()))
            .Select(kv => $"{kv.Key}: the model expects [{string.Join(", ", kv.Value.shape)}] floating point, the checkpoint has [{string.Join(", ", checkpoint[kv.Key].shape)}] {checkpoint[kv.Key].dtype}")
            .ToList();
        if (missing.Count + unexpected.Count + mismatched.Count > 0)
        {
            var parts = new List<string>();
            if (missing.Count > 0)
            {
                parts.Add($"missing {missing.Count} parameter(s): {List(missing)}");
            }

            if (unexpected.Count > 0)
            {
                parts.Add($"unexpected {unexpected.Count} tensor(s): {List(unexpected)}");
            }

            if (mismatched.Count > 0)
            {
                parts.Add($"{mismatched.Count} shape mismatch(es): {string.Join("; ", mismatched.Take(MaxListed))}");
            }

            var hint = mismatched.Count > 0
                ? "config.json does not describe these weights (check vocab_size, embedding_dim, hidden_size, kernel_sizes, num_filters and id2label against the checkpoint)."
                : $"the checkpoint was not saved from a {model.GetName()} (a different model_type?); save the model again with Trainer.SaveFolder.";
            var all = missing.Concat(unexpected).Concat(mismatched.Select(m => m.Split(':')[0])).ToList();
            throw new ModelLoadException(file, all.Count == 1 ? all[0] : null,
                $"{file} does not fit the {model.GetName()} built from config.json: {string.Join("; ", parts)}. Fix: {hint}");
        }

        model.load_state_dict(checkpoint, strict: true);
    }

    private static string List(List<string> items) =>
        string.Join(", ", items.Take(MaxListed)) + (items.Count > MaxListed ? $", … ({items.Count - MaxListed} more)" : string.Empty);
}
