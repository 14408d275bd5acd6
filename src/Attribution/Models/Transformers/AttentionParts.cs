using Attribution.Engine;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using nn = TorchSharp.torch.nn;

namespace Attribution.Models;

/// <summary>Shape changes and masks shared by the BERT-family attention layers.</summary>
internal static class TransformerOps
{
    /// <summary>[batch, seq, heads·dim] → [batch, heads, seq, dim].</summary>
    public static Tensor SplitHeads(Tensor x, int heads)
    {
        var shape = x.shape;
        using var split = x.view(shape[0], shape[1], heads, shape[2] / heads);
        return split.permute(0, 2, 1, 3);
    }

    /// <summary>
    /// The half of self-attention BERT and DistilBERT share: probabilities from the scaled, masked scores (through the
    /// <paramref name="probabilities"/> module), dropout, the product with the values (through <paramref name="product"/>),
    /// and the heads merged back: [batch, heads, seq, seq] scores, [batch, heads, seq, dim] values → [batch, seq, hidden].
    /// (How the scores are scaled and masked differs between the two, each as Hugging Face does it, so float32 results agree.)
    /// </summary>
    public static Tensor AttendToValues(Tensor scores, Tensor values, AttentionSoftmax probabilities, nn.Module<Tensor, Tensor> dropout, MatMul product)
    {
        var probs = probabilities.call(scores);
        var perHead = product.call((dropout.call(probs), values));
        return MergeHeads(perHead);
    }

    /// <summary>[batch, heads, seq, dim] → [batch, seq, heads·dim].</summary>
    public static Tensor MergeHeads(Tensor x)
    {
        var shape = x.shape;
        using var swapped = x.permute(0, 2, 1, 3);
        return swapped.reshape(shape[0], shape[2], shape[1] * shape[3]);
    }

    /// <summary>
    /// BERT's additive mask [batch, 1, 1, seq]: 0 on tokens, −10000 on padding, the value the reference
    /// figures were computed with (Hugging Face 4.x before the dtype-minimum change). After softmax both
    /// give exactly zero weight in float32, and a finite value keeps relevance rules free of NaN.
    /// Null when there is no mask: adding zeros would change nothing.
    /// </summary>
    public static Tensor? AdditiveMask(Tensor? attentionMask, ScalarType dtype)
    {
        if (attentionMask is null)
        {
            return null;
        }

        using var typed = attentionMask.to(dtype);
        using var inverted = typed.SubtractedFrom(1.0);
        using var scaled = inverted.Times(-10000.0);
        using var expanded = scaled.unsqueeze(1);
        return expanded.unsqueeze(2);
    }

    /// <summary>DistilBERT's boolean mask [batch, 1, 1, seq], true on padding (filled with the dtype's minimum); null without a mask.</summary>
    public static Tensor? PaddingMask(Tensor? attentionMask)
    {
        if (attentionMask is null)
        {
            return null;
        }

        using var padding = attentionMask.EqualTo(0);
        using var expanded = padding.unsqueeze(1);
        return expanded.unsqueeze(2);
    }

    /// <summary>The most negative finite value of a floating-point type (torch.finfo(dtype).min).</summary>
    public static double MinValue(ScalarType dtype) => dtype switch
    {
        ScalarType.Float64 => double.MinValue,
        ScalarType.Float16 => -65504.0,
        ScalarType.BFloat16 => -3.3895313892515355e38,
        _ => float.MinValue,
    };

    /// <summary>The feed-forward activation named by the config (already validated).</summary>
    public static nn.Module<Tensor, Tensor> Activation(string name) => name switch
    {
        "gelu" => nn.GELU(),
        "gelu_new" or "gelu_pytorch_tanh" => nn.GELU(GELU.Approximate.tanh),
        "relu" => nn.ReLU(),
        _ => throw new ArgumentException($"activation '{name}' is not supported", nameof(name)),
    };
}
