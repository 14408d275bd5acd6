using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods;

/// <summary>
/// The reference input a path method integrates from. Token baselines replace every token the tokenizer did not
/// add by one id (so <c>[CLS]</c>/<c>[SEP]</c> and padding stay as they are: <c>[CLS] [PAD] … [SEP]</c> by default);
/// <see cref="Zero"/> uses an all-zero activation at the layer; custom ids or a custom activation are allowed.
/// </summary>
public sealed record Baseline
{
    private Baseline(string name, BaselineToken? token, long[]? ids, Tensor? activation)
    {
        Name = name;
        Token = token;
        Ids = ids;
        Activation = activation;
    }

    /// <summary>The name recorded in results: pad, zero, unk, mask, custom-ids or custom-activation.</summary>
    public string Name { get; }

    internal BaselineToken? Token { get; }

    internal long[]? Ids { get; }

    internal Tensor? Activation { get; }

    /// <summary><c>[CLS] [PAD] … [SEP]</c>: the padding id in place of every text token (the default).</summary>
    public static Baseline Pad { get; } = new("pad", BaselineToken.Pad, null, null);

    /// <summary><c>[CLS] [UNK] … [SEP]</c>.</summary>
    public static Baseline Unk { get; } = new("unk", BaselineToken.Unk, null, null);

    /// <summary><c>[CLS] [MASK] … [SEP]</c>.</summary>
    public static Baseline Mask { get; } = new("mask", BaselineToken.Mask, null, null);

    /// <summary>An all-zero activation at the attributed layer.</summary>
    public static Baseline Zero { get; } = new("zero", null, null, null);

    /// <summary>
    /// Explicit token ids, one per token of the text (special tokens included). Only for explaining texts of exactly
    /// that many tokens.
    /// </summary>
    public static Baseline FromIds(long[] ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Length == 0)
        {
            throw new ArgumentException("a baseline needs at least one id", nameof(ids));
        }

        // A negative id is no token of any vocabulary: refused here, not by the model's embedding midway through a call
        // (whose error named the model's input, not the baseline).
        var negative = Array.FindIndex(ids, id => id < 0);
        if (negative >= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ids), ids[negative], $"baseline id {negative} is {ids[negative]}; token ids are 0 or more (give the tokenizer's ids, e.g. its pad id)");
        }

        return new Baseline("custom-ids", null, (long[])ids.Clone(), null);
    }

    /// <summary>
    /// An explicit activation at the attributed layer, shaped like the layer's output for one text ([tokens, …]);
    /// the baseline keeps a reference (dispose it after use).
    /// </summary>
    public static Baseline FromActivation(Tensor activation)
    {
        ArgumentNullException.ThrowIfNull(activation);
        return new Baseline("custom-activation", null, null, activation);
    }

    /// <summary>Parses pad, zero, unk or mask.</summary>
    public static Baseline Parse(string name) => name switch
    {
        "pad" => Pad,
        "zero" => Zero,
        "unk" => Unk,
        "mask" => Mask,
        _ => throw new ArgumentException($"unknown baseline '{name}': use pad, zero, unk or mask", nameof(name)),
    };
}

/// <summary>The token a token baseline substitutes.</summary>
internal enum BaselineToken
{
    Pad,
    Unk,
    Mask,
}
