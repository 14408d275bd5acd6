using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Models;

/// <summary>
/// Adapts the user's own TorchSharp module — ids → logits, or (ids, mask) → logits — to the
/// <see cref="ModelInput"/> → logits module every attributor takes (see <see cref="TextClassifier.FromTorchSharp(nn.Module{Tensor, Tensor}, Text.Tokenizers.ITokenizer, string, IReadOnlyList{string}, int?, string?, bool, OutputHead?)"/>).
/// </summary>
/// <remarks>
/// Its children are the user's module's children (<see cref="named_children"/> is forwarded), so every dotted path
/// the library resolves (word embeddings, <c>Layer</c>, LRP's module paths) is the user's own path, with no prefix.
/// The user's module is not registered as a submodule: disposing the adapter leaves it alone unless the adapter owns
/// it. Use the user's module itself for parameters, <c>state_dict</c> and devices.
/// </remarks>
internal sealed class TorchSharpAdapter : nn.Module<ModelInput, Tensor>
{
    private readonly nn.Module<Tensor, Tensor>? idsOnly;
    private readonly nn.Module<Tensor, Tensor, Tensor>? idsAndMask;
    private readonly int labels;
    private readonly bool ownsModel;

    public TorchSharpAdapter(nn.Module<Tensor, Tensor> model, int labels, bool ownsModel)
        : base(model.GetName())
    {
        idsOnly = model;
        Model = model;
        this.labels = labels;
        this.ownsModel = ownsModel;
    }

    public TorchSharpAdapter(nn.Module<Tensor, Tensor, Tensor> model, int labels, bool ownsModel)
        : base(model.GetName())
    {
        idsAndMask = model;
        Model = model;
        this.labels = labels;
        this.ownsModel = ownsModel;
    }

    /// <summary>The user's module.</summary>
    public nn.Module Model { get; }

    /// <summary>Whether the user's module takes the attention mask; one that does not must never see padding.</summary>
    public bool TakesMask => idsAndMask is not null;

    /// <inheritdoc />
    public override IEnumerable<(string name, nn.Module module)> named_children() => Model.named_children();

    /// <inheritdoc />
    public override void train(bool train = true)
    {
        base.train(train);
        Model.train(train);
    }

    /// <inheritdoc />
    public override Tensor forward(ModelInput input)
    {
        var ids = WrappedModelChecks.Ids(GetName(), input);

        if (idsAndMask is null && input.AttentionMask is { } mask && HasPadding(mask))
        {
            throw new InvalidOperationException(
                $"{GetName()} takes token ids only, so padding would change its logits, but this batch is padded (its attention mask has zeros). " +
                "The library never pads for such a model; when building inputs yourself, give texts of equal token length, " +
                "or wrap a model that takes (ids, mask)");
        }

        // The user's forward may open a dispose scope of its own; the tensors the attributors' hooks make inside it
        // (the leaf a gradient is taken against, kept handles of layer outputs) must outlive it. No other scope here:
        // what the pass makes belongs to the caller's scope, as for the library's own models.
        var logits = ModuleHooks.KeepingHookTensors(() => idsAndMask is not null
            ? idsAndMask.call(ids, input.AttentionMask ?? ones_like(ids))
            : idsOnly!.call(ids));

        return WrappedModelChecks.Logits(logits, ids.size(0), labels, GetName(), "a wrapped model must return");
    }

    /// <summary>Disposes the user's module too when the adapter owns it.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing && ownsModel)
        {
            Model.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>Never registers the user's module as a submodule (disposal and paths stay the user's).</summary>
    protected override void RegisterComponents()
    {
    }

    private static bool HasPadding(Tensor mask)
    {
        using var zero = mask.EqualTo(0);
        using var any = zero.any();
        return any.ItemAsBoolean();
    }
}
