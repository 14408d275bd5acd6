using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Models;

/// <summary>The input and output checks the adapters for wrapped models (TorchSharp, TorchScript) share.</summary>
internal static class WrappedModelChecks
{
    /// <summary>The token ids of <paramref name="input"/>: int64 [batch, length], or an <see cref="ArgumentException"/>.</summary>
    public static Tensor Ids(string model, ModelInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var ids = input.InputIds ?? throw new ArgumentException($"{model}: the input has no token ids", nameof(input));
        if (ids.dim() != 2 || ids.dtype != ScalarType.Int64)
        {
            throw new ArgumentException($"{model} expects int64 token ids [batch, length], got {ids.dtype} [{string.Join(", ", ids.shape)}]", nameof(input));
        }

        return ids;
    }

    /// <summary>
    /// <paramref name="logits"/> when they are floating point [<paramref name="batch"/>, <paramref name="labels"/>];
    /// otherwise an <see cref="InvalidOperationException"/>: "<paramref name="who"/> returned …; <paramref name="rule"/>
    /// floating-point logits […]" and the <paramref name="hint"/>.
    /// </summary>
    public static Tensor Logits(Tensor? logits, long batch, int labels, string who, string rule, string hint = "")
    {
        if (logits is null || !logits.is_floating_point() || logits.dim() != 2 || logits.size(0) != batch || logits.size(1) != labels)
        {
            throw new InvalidOperationException(
                $"{who} returned {(logits is null ? "null" : $"{logits.dtype} [{string.Join(", ", logits.shape)}]")} for a batch of {batch} text(s); " +
                $"{rule} floating-point logits [batch = {batch}, labels = {labels}], one column per label in the order given{hint}");
        }

        return logits;
    }
}
