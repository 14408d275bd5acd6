using Attribution.Models;
using Attribution.Text.Tokenizers;

namespace Attribution.Tests.Methods;

/// <summary>
/// The pair model the LIME tests write their expected figures by hand from: p(class 1) = 0.5 + Σ weight(token, token
/// type) over the input's tokens (every other token, special tokens and [MASK] included, weighs 0), logits
/// [log(1 − p), log p] so that softmax gives p back.
/// </summary>
internal static class AdditiveTokenModel
{
    /// <summary>Per (token, token type): its share of p(class 1). Σ |weights| = 0.365 &lt; 0.5, so p stays in (0, 1).</summary>
    public static readonly IReadOnlyDictionary<(string Token, long Type), double> Weights = new Dictionary<(string Token, long Type), double>
    {
        [("the", 0)] = 0.01,
        [("film", 0)] = 0.03,
        [("was", 0)] = -0.02,
        [("good", 0)] = 0.15,
        [("the", 1)] = -0.01,
        [("cast", 1)] = 0.02,
        [("was", 1)] = 0.005,
        [("dull", 1)] = -0.12,
    };

    /// <summary>The logits [log(1 − p), log p] of one input read through <paramref name="tokenizer"/>, with <see cref="Weights"/> or <paramref name="weights"/>.</summary>
    public static double[] Logits(ITokenizer tokenizer, TokenSequence sequence, IReadOnlyDictionary<(string Token, long Type), double>? weights = null)
    {
        weights ??= Weights;
        var types = sequence.TypeIds ?? new long[sequence.Ids.Length];
        var p = 0.5 + sequence.Ids.Select((id, t) => weights.GetValueOrDefault((tokenizer.IdToToken(id) ?? string.Empty, types[t]))).Sum();
        return [Math.Log(1 - p), Math.Log(p)];
    }
}
