using Attribution.Engine;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Attribution.Models;

/// <summary>
/// A 1-d convolution (stride 1, zero padding on both sides, no dilation) computed as sliding windows times the kernel
/// (<c>unfold</c> + <c>einsum</c>), with PyTorch's Conv1d parameter names and shapes (<c>weight</c> [out, in, k],
/// <c>bias</c> [out]), so checkpoints are the same. Why not <c>nn.Conv1d</c>: measured here, libtorch 2.10's CPU
/// convolution backward (as shipped in TorchSharp-cpu 0.107) returned NaN input gradients in about 1–2% of calls
/// (6 of 200 on [2, 12, 6] inputs, with or without padding, conv2d too), which made attributions and training of the
/// CNN fail at random; the window form had none in 300.
/// </summary>
public sealed class WindowConv1d : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly Parameter bias;

    /// <summary>
    /// A convolution from <paramref name="inChannels"/> to <paramref name="outChannels"/> with kernel width
    /// <paramref name="kernelSize"/> and <paramref name="padding"/> zeros on both sides (as <c>nn.Conv1d</c>'s padding).
    /// </summary>
    public WindowConv1d(long inChannels, long outChannels, long kernelSize, long padding = 0)
        : base(nameof(WindowConv1d))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(kernelSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        KernelSize = kernelSize;
        Padding = padding;
        weight = new Parameter(empty(outChannels, inChannels, kernelSize));
        bias = new Parameter(empty(outChannels));
        var bound = 1.0 / Math.Sqrt(inChannels * kernelSize);
        using (no_grad())
        {
            weight.uniform_(-bound, bound);
            bias.uniform_(-bound, bound);
        }

        RegisterComponents();
    }

    /// <summary>The kernel width.</summary>
    public long KernelSize { get; }

    /// <summary>Zeros added on both sides of the length dimension.</summary>
    public long Padding { get; }

    /// <summary>The kernel [out, in, k].</summary>
    public Parameter Weight => weight;

    /// <summary>The bias [out].</summary>
    public Parameter Bias => bias;

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        // [batch, in, length + 2·padding] → windows [batch, in, length + 2·padding − k + 1, k]; Σ over in and k.
        using var padded = Padding > 0 ? nn.functional.pad(input, [Padding, Padding]) : input.alias();
        using var windows = padded.unfold(2, KernelSize, 1);
        using var product = einsum("bclk,ock->bol", windows, weight);
        using var shift = bias.unsqueeze(-1);
        return product.Plus(shift);
    }
}
