using System.Globalization;
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
    /// <exception cref="ArgumentException">There are no labels, or one is null or empty (names may repeat), or there is one with <paramref name="head"/> <see cref="OutputHead.SingleLabel"/>; the embedding parameter is not in the
    /// file (the message lists its parameters); the matrix is not 2-D floating point or has fewer rows than the
    /// tokenizer has ids.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> is below 1.</exception>
    /// <exception cref="FileNotFoundException">The TorchScript or safetensors file does not exist.</exception>
    /// <exception cref="ModelLoadException">The file is not TorchScript, the safetensors file has no such tensor, the script gives different logits for the same input in eval mode
    /// (dropout traced in training mode), or a softmax head returns probabilities.</exception>
    /// <exception cref="InvalidOperationException">Running the script on four short texts fails: its forward does not
    /// take exactly (inputs_embeds, attention_mask), expects another embedding width, or returns something other than
    /// logits of the right shape and type (the message names what was passed, what came back and libtorch's error).</exception>
    /// <remarks>The script is put in eval mode, like a wrapped TorchSharp model: a module scripted and saved in training
    /// mode runs without dropout, as after <c>model.eval()</c> in PyTorch. A traced module cannot be switched (tracing
    /// fixes dropout's flag), so the load runs the script twice on four one-token texts and refuses it if the logits
    /// differ, or if, for a softmax head, every row is already a probability distribution.</remarks>
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
        TorchScriptAdapter? adapter = null;
        TextClassifier? classifier = null;
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

            // The file's name without its extension, or with it where nothing else is left (".pt" would give "", which
            // the classifier refuses as a blank name the caller never gave).
            var defaultName = Path.GetFileNameWithoutExtension(scriptPath) is { Length: > 0 } stem && !string.IsNullOrWhiteSpace(stem) ? stem : Path.GetFileName(scriptPath);
            adapter = new TorchScriptAdapter(name ?? defaultName, script, matrix, labels.Count);

            // The classifier puts the script in eval mode, which turns off the dropout of a scripted module saved in
            // training mode; what still varies from call to call cannot be switched off from here.
            classifier = new TextClassifier(adapter.GetName(), tokenizer, adapter, labels, TorchScriptAdapter.EmbeddingPath, maxLength, usesTokenTypes: false, head);
            CheckProbe(classifier, adapter, scriptPath);
            return classifier;
        }
        catch
        {
            // Each owns the one before it: the classifier its adapter, the adapter the script and its embedding copy. A
            // classifier constructor that refuses (an undefined head) leaves the adapter to dispose here.
            if (classifier is not null)
            {
                classifier.Dispose();
            }
            else if (adapter is not null)
            {
                adapter.Dispose();
            }
            else
            {
                script.Dispose();
            }

            throw;
        }
        finally
        {
            matrix?.Dispose();
        }
    }

    /// <summary>
    /// Runs the script, in eval mode, on four one-token texts ([CLS] id [SEP], ids spread over the vocabulary) in one
    /// batch, twice. A deterministic model gives each row the same logits both times; one that does not was most likely
    /// traced in training mode (<c>torch.jit.trace</c> records dropout's training flag as a constant, so eval() cannot
    /// switch it off), and would make every prediction and explanation random. A softmax head whose every row is a
    /// probability distribution returns probabilities, which the library would put through a softmax again.
    /// </summary>
    private static void CheckProbe(TextClassifier classifier, TorchScriptAdapter adapter, string scriptPath)
    {
        const int Rows = 4;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var ends = classifier.Tokenizer.Encode(string.Empty).Ids;
        var vocabulary = classifier.Tokenizer.VocabularySize;
        // The id between the tokenizer's opening and closing tokens (a tokenizer of the user's may add none).
        var ids = Enumerable.Range(1, Rows).SelectMany(k => ends.Take(1).Append((long)k * vocabulary / (Rows + 1)).Concat(ends.Skip(1))).ToArray();
        var input = new ModelInput(tensor(ids, [Rows, ends.Length + 1]));
        var first = adapter.call(input);
        var second = adapter.call(input);

        // Dropout changes logits by the size of an activation; the tolerance only absorbs rounding. NaN is left to the
        // checks of each call.
        if (!first.allclose(second, rtol: 1e-4, atol: 1e-5, equal_nan: true))
        {
            var spread = (first - second).abs().max().ItemAsDouble();
            throw new ModelLoadException(scriptPath, null,
                string.Create(CultureInfo.InvariantCulture, $"'{scriptPath}' (scriptPath) gives different logits for the same input on every call, in eval mode (up to {spread:G3} apart over ") +
                $"two runs of {Rows} texts): dropout or another random operation runs whatever the mode. torch.jit.trace of a model in training mode " +
                "records dropout as always on. Call model.eval() before torch.jit.trace (or torch.jit.script) and save the file again");
        }

        // A half-precision script's softmax rows sum to 1 only within that precision's rounding (up to 4.9e-4 for
        // float16): judged with float32's 1e-5, such a script was accepted and every probability softmaxed twice.
        var sumTolerance = first.dtype switch
        {
            ScalarType.Float16 => LogitMath.HalfSumTolerance,
            ScalarType.BFloat16 => LogitMath.BFloat16SumTolerance,
            _ => 1e-5,
        };
        var rows = first.to(ScalarType.Float64).data<double>().ToArray().Chunk(classifier.Labels.Count).ToArray();
        if (classifier.Head == OutputHead.SingleLabel && LogitMath.LookLikeProbabilities(rows, sumTolerance))
        {
            throw new ModelLoadException(scriptPath, null,
                $"'{scriptPath}' (scriptPath) returns probabilities, not logits: for {Rows} different texts every row lies in (0, 1] and sums to 1 " +
                $"(first: [{string.Join(", ", rows[0].Select(v => v.ToString("G4", System.Globalization.CultureInfo.InvariantCulture)))}]), and the library " +
                "applies the softmax itself, so it would apply it twice. Return the logits, before the softmax (for a Hugging Face model, .logits or [0]), " +
                "and save the file again");
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

                using var detached = found.detach();
                return detached.clone();
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
                    // detach() makes a tensor of its own: undisposed, it stayed counted until a finalizer ran.
                    using var detached = parameter.detach();
                    return detached.clone();
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
