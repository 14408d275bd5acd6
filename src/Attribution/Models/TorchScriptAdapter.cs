using System.Runtime.InteropServices;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Attribution.Models;

/// <summary>
/// Adapts a TorchScript module (inputs_embeds [batch, length, width], attention mask [batch, length] float) → logits
/// to the <see cref="ModelInput"/> → logits module every attributor takes (see <see cref="TextClassifier.FromTorchScript"/>).
/// The word embeddings are looked up here, in .NET, by a frozen <see cref="Embedding"/> at path <see cref="EmbeddingPath"/>:
/// its output is what gradient methods hook. The script is not a child module: its layers run inside libtorch's
/// TorchScript interpreter, where no .NET hook fires, so no other path exists to name.
/// </summary>
internal sealed class TorchScriptAdapter : nn.Module<ModelInput, Tensor>
{
    /// <summary>The path of the word embeddings in this adapter.</summary>
    public const string EmbeddingPath = "embeddings";

    private readonly Embedding embeddings;
    private readonly int labels;

    public TorchScriptAdapter(string name, jit.ScriptModule<Tensor, Tensor, Tensor> script, Tensor matrix, int labels)
        : base(name)
    {
        Script = script;
        embeddings = nn.Embedding_from_pretrained(matrix, freeze: true);
        this.labels = labels;
        register_module(EmbeddingPath, embeddings);
    }

    /// <summary>The TorchScript module.</summary>
    public jit.ScriptModule<Tensor, Tensor, Tensor> Script { get; }

    /// <summary>The embedding matrix's width.</summary>
    public long Width => embeddings.weight!.size(1);

    /// <inheritdoc />
    public override void train(bool train = true)
    {
        base.train(train);
        Script.train(train);
    }

    /// <inheritdoc />
    public override Tensor forward(ModelInput input)
    {
        var ids = WrappedModelChecks.Ids(GetName(), input);

        // No dispose scope here: tensors that hooks create during the pass (attributors' leaves) must outlive it.
        var embedded = embeddings.call(ids);
        var mask = (input.AttentionMask ?? ones_like(ids)).to(embedded.dtype);
        Tensor logits;
        try
        {
            logits = Script.call(embedded, mask);
        }
        catch (ExternalException e) when (IndicesError(e.Message))
        {
            // The usual export, torch.jit.trace(model, (input_ids, attention_mask)), takes token ids where this passes
            // embeddings: libtorch's embedding then refuses float indices, an error that names neither argument.
            throw new InvalidOperationException(
                $"the TorchScript model {GetName()} takes token ids, not embeddings: it was given inputs_embeds {embedded.dtype} " +
                $"[{string.Join(", ", embedded.shape)}] and attention_mask {mask.dtype} [{string.Join(", ", mask.shape)}], and its own embedding lookup " +
                "refused the floats as indices. Its forward must be forward(inputs_embeds, attention_mask): trace a wrapper that calls the model with " +
                $"inputs_embeds=... (docs/own-model.md, \"Export in PyTorch\") and save that. TorchScript said: {LastLine(e.Message)}", e);
        }
        catch (ExternalException e)
        {
            throw new InvalidOperationException(
                $"the TorchScript model {GetName()} failed on inputs_embeds {embedded.dtype} [{string.Join(", ", embedded.shape)}] and attention_mask " +
                $"{mask.dtype} [{string.Join(", ", mask.shape)}]: its forward must take exactly these two tensors, and if the error below is about a size " +
                $"or type, the embedding matrix is probably not this model's own (its width is {Width}): pass the model's word-embedding matrix. " +
                $"TorchScript said: {LastLine(e.Message)}", e);
        }
        catch (InvalidCastException e)
        {
            // The script ran but returned something else than one tensor (a tuple, a dict): TorchSharp's cast to the
            // declared result type fails with a message that names the type it got and nothing else.
            throw new InvalidOperationException(
                $"the TorchScript model {GetName()} returned something other than one tensor ({e.Message}); its forward must return floating-point " +
                $"logits [batch, labels = {labels}]. For a Hugging Face model exported with torchscript=True, return model(...)[0]; otherwise .logits, not the output object", e);
        }

        return WrappedModelChecks.Logits(logits, ids.size(0), labels, $"the TorchScript model {GetName()}", "its forward must return",
            " (for a Hugging Face model, return model(inputs_embeds=..., attention_mask=...).logits, not the output object)");
    }

    /// <summary>Disposes the script too: the classifier loaded it and owns it.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Script.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>Only the embeddings are a child (registered in the constructor); the script never is.</summary>
    protected override void RegisterComponents()
    {
    }

    /// <summary>
    /// Whether libtorch's error is its embedding's index check ("Expected tensor for argument #1 'indices' to have one of
    /// the following scalar types: Long, Int; but got torch.FloatTensor instead (while checking arguments for embedding)").
    /// </summary>
    private static bool IndicesError(string message) =>
        message.Contains("'indices'", StringComparison.Ordinal) && message.Contains("embedding", StringComparison.Ordinal);

    /// <summary>
    /// The error itself: the last line after the TorchScript traceback, before the C++ stack libtorch appends to errors
    /// raised outside the interpreter ("Exception raised from …", then "frame #0: …").
    /// </summary>
    private static string LastLine(string message)
    {
        var stack = message.IndexOf("Exception raised from ", StringComparison.Ordinal);
        var error = stack > 0 ? message[..stack] : message;
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? message : lines[^1];
    }
}
