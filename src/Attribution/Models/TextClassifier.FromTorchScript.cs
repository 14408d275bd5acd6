using System.Runtime.InteropServices;
using Attribution.Engine;
using Attribution.Text.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Models;

public sealed partial class TextClassifier
{
    /// <summary>
    /// Loads a TorchScript classifier (a file from PyTorch's <c>torch.jit.trace</c> or <c>torch.jit.script</c> and
    /// <c>torch.jit.save</c>) whose <c>forward(inputs_embeds, attention_mask)</c> takes the word embeddings
    /// [batch, length, width] and the attention mask [batch, length] (float, 1 for real tokens, 0 for padding, same
    /// dtype as the embeddings) and returns logits [batch, labels]. The library looks the token ids up in
    /// <paramref name="embeddings"/> itself, so gradient methods attribute at the embeddings (their word-embedding path
    /// is <c>embeddings</c>); LIME works as on any model. Methods that hook a layer inside the model (a <c>Layer</c>
    /// other than the embeddings, conductance, LRP) refuse: TorchScript runs inside libtorch, where no .NET hook fires.
    /// </summary>
    /// <param name="scriptPath">The TorchScript file.</param>
    /// <param name="tokenizer">The tokenizer whose ids the model was trained on (e.g. <see cref="TokenizerLoader.FromDirectory"/>).</param>
    /// <param name="labels">Label names, one per logit column, in order.</param>
    /// <param name="embeddings">The word-embedding matrix: <see cref="ScriptEmbeddings.Parameter"/> (a parameter of
    /// the file) or <see cref="ScriptEmbeddings.SafeTensors"/>.</param>
    /// <param name="maxLength">Longest accepted input in tokens, special tokens included; null for no limit.</param>
    /// <param name="name">Short name for reports; the file name without extension by default.</param>
    /// <param name="head">What the outputs mean (<see cref="OutputHead"/>): by default Hugging Face's rule without a
    /// <c>problem_type</c>, one output a regression, more softmax labels; <see cref="OutputHead.MultiLabel"/> for a sigmoid per label.</param>
    /// <returns>A classifier that owns the loaded script (dispose it).</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">The labels are empty or repeated; the embedding parameter is not in the
    /// file (the message lists its parameters); the matrix is not 2-D floating point or has fewer rows than the
    /// tokenizer has ids.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> is below 1.</exception>
    /// <exception cref="FileNotFoundException">The TorchScript or safetensors file does not exist.</exception>
    /// <exception cref="ModelLoadException">The file is not TorchScript, its forward does not take two tensors, or
    /// the safetensors file has no such tensor.</exception>
    /// <remarks>An embedding width the script does not expect, or logits of the wrong shape or type, are an
    /// <see cref="InvalidOperationException"/> at the first call.</remarks>
    public static TextClassifier FromTorchScript(string scriptPath, ITokenizer tokenizer, IReadOnlyList<string> labels,
        ScriptEmbeddings embeddings, int? maxLength = null, string? name = null, OutputHead? head = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(scriptPath);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(embeddings);
        CheckLabels(labels, maxLength);
        if (!File.Exists(scriptPath))
        {
            throw new FileNotFoundException(
                $"TorchScript file '{scriptPath}' (scriptPath) does not exist{(Directory.Exists(scriptPath) ? " (it is a folder)" : string.Empty)}; " +
                "pass the .pt file written by torch.jit.save (see docs/own-model.md)", scriptPath);
        }

        if (embeddings.SafeTensorsPath is { } safetensors && !File.Exists(safetensors))
        {
            throw new FileNotFoundException(
                $"safetensors file '{safetensors}' (embeddings) does not exist; pass the file that holds the word-embedding matrix", safetensors);
        }

        var script = LoadScript(scriptPath);
        Tensor? matrix = null;
        try
        {
            matrix = EmbeddingMatrix(script, scriptPath, embeddings);
            if (matrix.dim() != 2 || !matrix.is_floating_point())
            {
                throw new ArgumentException(
                    $"the word-embedding matrix ({embeddings}) must be a 2-D floating-point tensor [vocabulary, width], got {matrix.dtype} [{string.Join(", ", matrix.shape)}]; " +
                    "name the model's word-embedding weight", nameof(embeddings));
            }

            if (matrix.size(0) < tokenizer.VocabularySize)
            {
                throw new ArgumentException(
                    $"the tokenizer has {tokenizer.VocabularySize} ids but the word-embedding matrix ({embeddings}) has {matrix.size(0)} rows; " +
                    "the tokenizer does not belong to this model, or the matrix is not its word embeddings", nameof(tokenizer));
            }

            // The script's own parameters never need gradients: attributions differentiate at the embeddings.
            foreach (var parameter in script.parameters())
            {
                using (parameter)
                {
                    parameter.requires_grad_(false);
                }
            }

            var adapter = new TorchScriptAdapter(name ?? Path.GetFileNameWithoutExtension(scriptPath), script, matrix, labels.Count);
            return new TextClassifier(adapter.GetName(), tokenizer, adapter, labels, TorchScriptAdapter.EmbeddingPath, maxLength, usesTokenTypes: false, head);
        }
        catch
        {
            script.Dispose();
            throw;
        }
        finally
        {
            matrix?.Dispose();
        }
    }

    private static jit.ScriptModule<Tensor, Tensor, Tensor> LoadScript(string path)
    {
        try
        {
            return jit.load<Tensor, Tensor, Tensor>(path);
        }
        catch (ExternalException e)
        {
            throw new ModelLoadException(path, null,
                $"'{path}' (scriptPath) is not a TorchScript file libtorch can load: write it with torch.jit.save of a traced or scripted module " +
                $"(see docs/own-model.md), not torch.save. libtorch said: {e.Message.Split('\n')[0]}", e);
        }
    }

    /// <summary>A copy of the matrix (the caller disposes it), on the CPU.</summary>
    private static Tensor EmbeddingMatrix(jit.ScriptModule script, string scriptPath, ScriptEmbeddings embeddings)
    {
        if (embeddings.SafeTensorsPath is { } file)
        {
            var tensors = SafeTensors.Load(file);
            try
            {
                if (!tensors.TryGetValue(embeddings.Name, out var found))
                {
                    throw new ModelLoadException(file, embeddings.Name,
                        $"'{file}' has no tensor \"{embeddings.Name}\"; its tensors: {List(tensors.Keys)}");
                }

                return found.detach().clone();
            }
            finally
            {
                foreach (var tensor in tensors.Values)
                {
                    tensor.Dispose();
                }
            }
        }

        var parameters = script.named_parameters().ToList();
        try
        {
            foreach (var (parameterName, parameter) in parameters)
            {
                if (parameterName == embeddings.Name)
                {
                    return parameter.detach().clone();
                }
            }

            throw new ArgumentException(
                $"the TorchScript file '{scriptPath}' has no parameter '{embeddings.Name}'; its parameters: {List(parameters.Select(p => p.name))}. " +
                "Name its word-embedding weight, or load the matrix with ScriptEmbeddings.SafeTensors", nameof(embeddings));
        }
        finally
        {
            foreach (var (_, parameter) in parameters)
            {
                parameter.Dispose();
            }
        }
    }

    private static string List(IEnumerable<string> names)
    {
        var all = names.ToList();
        return all.Count == 0 ? "(none)" : string.Join(", ", all.Take(20)) + (all.Count > 20 ? $" and {all.Count - 20} more" : string.Empty);
    }
}
