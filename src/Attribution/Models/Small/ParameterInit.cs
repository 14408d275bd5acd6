using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Attribution.Models;

/// <summary>
/// Re-initializes a module's layers as PyTorch's constructors do, drawing from a given generator instead of the
/// global one, so a model built from a seed is the same whatever other threads draw. TorchSharp's layer factories
/// take no generator.
/// </summary>
internal static class ParameterInit
{
    /// <summary>
    /// Linear and Conv1d: weight and bias ~ U(±1/√fan_in) (kaiming_uniform with a = √5, as PyTorch); Embedding:
    /// N(0, 1) with the padding row zero; LSTM: every weight and bias ~ U(±1/√hidden). Other modules keep theirs.
    /// </summary>
    /// <param name="root">The module whose layers are re-initialized.</param>
    /// <param name="generator">The random stream.</param>
    /// <param name="paddingIndex">The embedding row kept at zero (the padding id), if any.</param>
    public static void Reset(nn.Module root, Generator generator, long? paddingIndex)
    {
        using var noGrad = no_grad();
        foreach (var (_, module) in root.named_modules().Prepend((string.Empty, root)))
        {
            switch (module)
            {
                case Linear linear:
                    Uniform(linear.weight!, linear.bias, 1.0 / Math.Sqrt(linear.weight!.size(1)), generator);
                    break;
                case Conv1d conv:
                    Uniform(conv.weight!, conv.bias, 1.0 / Math.Sqrt(conv.weight!.size(1) * conv.weight.size(2)), generator);
                    break;
                case WindowConv1d window:
                    Uniform(window.Weight, window.Bias, 1.0 / Math.Sqrt(window.Weight.size(1) * window.Weight.size(2)), generator);
                    break;
                case Embedding embedding:
                    embedding.weight!.normal_(0, 1, generator);
                    if (paddingIndex is { } pad)
                    {
                        embedding.weight[pad].zero_();
                    }

                    break;
                case LSTM lstm:
                    // weight_hh_l* is [4·hidden, hidden]: its second dimension is the hidden size.
                    var parameters = lstm.named_parameters().ToList();
                    var hidden = parameters.First(p => p.name.StartsWith("weight_hh", StringComparison.Ordinal)).parameter.size(1);
                    foreach (var (_, parameter) in parameters)
                    {
                        parameter.uniform_(-1.0 / Math.Sqrt(hidden), 1.0 / Math.Sqrt(hidden), generator);
                    }

                    break;
            }
        }
    }

    private static void Uniform(Tensor weight, Tensor? bias, double bound, Generator generator)
    {
        weight.uniform_(-bound, bound, generator);
        bias?.uniform_(-bound, bound, generator);
    }
}
