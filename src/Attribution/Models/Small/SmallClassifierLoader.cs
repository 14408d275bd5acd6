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
            // Before the model is built: config sizes that do not match the weights (a typo, or a hostile
            // embedding_dim of 10^9) would otherwise reach libtorch as a request for terabytes.
            CheckConfigAgainstWeights(config, tensors, Path.Combine(directory, "config.json"));
            CheckNames(config, tensors, weights);
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

    /// <summary>
    /// The sizes config.json gives against the shapes of the checkpoint's tensors: vocabulary and embedding width,
    /// each convolution's filters and kernel, the LSTM's or MLP's hidden width, and the labels. A mismatch names the
    /// config field, both values and the file.
    /// </summary>
    private static void CheckConfigAgainstWeights(SmallClassifierConfig config, Dictionary<string, Tensor> tensors, string configPath)
    {
        void Expect(string field, long configured, string tensor, int axis)
        {
            if (tensors.TryGetValue(tensor, out var t) && t.dim() > axis && t.size(axis) != configured)
            {
                throw new ModelLoadException(configPath, field,
                    $"{configPath} says {field} = {configured}, but the weights' {tensor} has {t.size(axis)} there (shape [{string.Join(", ", t.shape)}]): the config does not belong to these weights; fix {field}");
            }
        }

        Expect("vocab_size", config.VocabSize, "embeddings.weight", 0);
        Expect("embedding_dim", config.EmbeddingDim, "embeddings.weight", 1);
        Expect("id2label", config.NumLabels, "classifier.weight", 0);
        switch (config.ModelType)
        {
            case SmallClassifierConfig.CnnType:
                var convolutions = tensors.Keys.Count(k => k.StartsWith("convs.", StringComparison.Ordinal) && k.EndsWith(".weight", StringComparison.Ordinal));
                if (convolutions > 0 && convolutions != config.KernelSizes.Count)
                {
                    throw new ModelLoadException(configPath, "kernel_sizes",
                        $"{configPath} gives {config.KernelSizes.Count} kernel size(s), but the weights hold {convolutions} convolution(s): the config does not belong to these weights; fix kernel_sizes");
                }

                for (var i = 0; i < config.KernelSizes.Count; i++)
                {
                    Expect("num_filters", config.NumFilters, $"convs.{i}.weight", 0);
                    Expect("kernel_sizes", config.KernelSizes[i], $"convs.{i}.weight", 2);
                }

                break;
            case SmallClassifierConfig.LstmType:
                Expect("hidden_size", 4L * config.HiddenSize, "lstm.weight_ih_l0", 0);
                break;
            case SmallClassifierConfig.MlpType:
                Expect("hidden_size", config.HiddenSize, "hidden.weight", 0);
                break;
        }
    }

    /// <summary>
    /// The checkpoint's tensor names against the model's, before the model is built: the size checks above only see
    /// the tensors that are there, so without this a checkpoint lacking <c>embeddings.weight</c> (say) left
    /// <c>vocab_size</c> and <c>embedding_dim</c> unchecked, and a config giving them as 10⁹ reached libtorch as a request
    /// for exabytes (an untyped allocation failure, or the process's memory) instead of naming the missing tensor. The
    /// names come from <see cref="SmallClassifier.ParameterNames"/>: building a model to ask it would leave TorchSharp's
    /// construction residue behind on every load.
    /// </summary>
    private static void CheckNames(SmallClassifierConfig config, Dictionary<string, Tensor> checkpoint, string file)
    {
        var names = SmallClassifier.ParameterNames(config);
        var fit = new CheckpointFit(
            names.Where(n => !checkpoint.ContainsKey(n)).Order(StringComparer.Ordinal).ToList(),
            checkpoint.Keys.Where(k => !names.Contains(k, StringComparer.Ordinal)).Order(StringComparer.Ordinal).ToList(),
            []);
        var modelName = config.ArchitectureName;
        fit.ThrowUnlessFits(file, modelName, _ =>
            $"the checkpoint was not saved from a {modelName} with these kernel_sizes (a different model_type?); save the model again with Trainer.SaveFolder.");
    }

    private static void CopyWeights(SmallClassifier model, Dictionary<string, Tensor> checkpoint, string file)
    {
        CheckpointFit.Compare(model.state_dict(), checkpoint).ThrowUnlessFits(file, model.GetName(), fit => fit.Mismatched.Count > 0
            ? "config.json does not describe these weights (check vocab_size, embedding_dim, hidden_size, kernel_sizes, num_filters and id2label against the checkpoint)."
            : $"the checkpoint was not saved from a {model.GetName()} (a different model_type?); save the model again with Trainer.SaveFolder.");
        model.load_state_dict(checkpoint, strict: true);
    }
}
