using Attribution.Engine;
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
        this.onValue = onValue;
        hook = side == LayerSide.Output
            ? ModuleHooks.AddForwardHook(module, (_, _, output) => Apply(output, index))
            : ModuleHooks.AddForwardPreHook(module, (_, input) => Apply(input, index));
    }

    /// <summary>How many times the tapped module ran while attached.</summary>
    public int Calls { get; private set; }

    private object? Apply(object value, int index)
    {
        Calls++;
        var original = ModuleIO.TensorAt(value, index);
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

        return ModuleIO.Replace(value, index, replacement);
    }

    /// <summary>Detaches the hook.</summary>
    public void Dispose() => hook.Dispose();
}
