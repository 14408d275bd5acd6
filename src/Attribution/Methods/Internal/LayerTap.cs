using Attribution.Engine;
using Attribution.Methods.Lrp;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods.Internal;

/// <summary>
/// Taps one tensor of a module's output (or input) while attached: observes it and may substitute another tensor
/// of the same shape, which the rest of the forward pass then uses. Dispose to detach. This is the only way the
/// attributors touch a model, so they work on any module.
/// </summary>
internal sealed class LayerTap : IDisposable
{
    private readonly IDisposable hook;
    private readonly Func<Tensor, Tensor?> onValue;

    /// <param name="module">The module to tap.</param>
    /// <param name="side">Output or input.</param>
    /// <param name="index">Which tensor of a tuple output/input (0 for a plain tensor).</param>
    /// <param name="onValue">Sees the module's tensor; returns a replacement or null to keep it.</param>
    public LayerTap(nn.Module module, LayerSide side, int index, Func<Tensor, Tensor?> onValue)
    {
        Module = module;
        this.onValue = onValue;
        hook = side == LayerSide.Output
            ? ModuleHooks.AddForwardHook(module, (_, _, output) => Apply(output, index, side))
            : ModuleHooks.AddForwardPreHook(module, (_, input) => Apply(input, index, side));
    }

    /// <summary>The tapped module.</summary>
    public nn.Module Module { get; }

    /// <summary>How many times the tapped module ran while attached.</summary>
    public int Calls { get; private set; }

    /// <summary>
    /// Why a tapped layer may not have run, and what to do: it is off the input → output path, or the code using it
    /// calls <c>forward(x)</c>, which bypasses hooks. One message for every check that a tap fired.
    /// </summary>
    /// <param name="model">The model's name.</param>
    /// <param name="root">The model's module (to find the layer's dotted path).</param>
    /// <param name="layer">The layer whose hook never fired.</param>
    public static string DidNotRun(string model, nn.Module root, nn.Module layer)
    {
        var path = root.PathOf(layer);
        var field = path is { Length: > 0 } ? path[(path.LastIndexOf('.') + 1)..] : "layer";
        return $"the layer {Describe(root, layer)} did not run through .call during {model}'s forward pass, so no hook on it fired. " +
               "Either it is not on the path from the input to the output (choose another layer), or the code that uses it " +
               $"calls {field}.forward(x): TorchSharp runs hooks only when a module is invoked with .call(x), so a parent whose " +
               $"forward calls child.forward(x) bypasses them. Fix the parent: write {field}.call(x) instead of {field}.forward(x)";
    }

    /// <summary>The layer as messages name it: <c>'dotted.path' (Type)</c>.</summary>
    public static string Describe(nn.Module root, nn.Module layer)
    {
        var path = root.PathOf(layer);
        var where = path is null ? layer.GetName() : path.Length == 0 ? "(the model)" : path;
        return $"'{where}' ({LrpNotSupportedException.TypeName(layer.GetType())})";
    }

    private object? Apply(object value, int index, LayerSide side)
    {
        Calls++;
        // The index is a layer method's TensorIndex (0 for an InputLayer's tap, or a user method's own site): refused naming
        // it, where ModuleIO's own refusal named "index", no setting of any method. A negative one (a user's own
        // AttributionContext.Site) is refused too, not read as an IndexOutOfRangeException.
        var tensors = ModuleIO.Tensors(value);
        if (index < 0 || index >= tensors.Count || tensors[index] is null)
        {
            var at = Enumerable.Range(0, tensors.Count).Where(i => tensors[i] is not null).ToList();
            throw new ArgumentOutOfRangeException("TensorIndex", index,
                $"the layer's {(side == LayerSide.Output ? "output" : "input")} has {tensors.Count} item(s), with tensors at [{string.Join(", ", at)}], and none at {index}: " +
                $"give a tensor index (a layer method's TensorIndex) that is one of those positions{(at.Count > 0 ? $" (e.g. {at[0]})" : string.Empty)}");
        }

        var original = tensors[index]!;
        var replacement = onValue(original);
        if (replacement is null)
        {
            return null;
        }

        if (!replacement.shape.SequenceEqual(original.shape))
        {
            throw new InvalidOperationException(
                $"the substitute for the layer's tensor has shape [{string.Join(", ", replacement.shape)}] but the layer produced [{string.Join(", ", original.shape)}]");
        }

        // The model gets its own handle: code that disposes what a layer returned once it is used (TorchSharp's
        // Sequential does) must not dispose the tensor the attributor keeps and differentiates against.
        return ModuleIO.Replace(value, index, replacement.alias());
    }

    /// <summary>Detaches the hook.</summary>
    public void Dispose() => hook.Dispose();
}
