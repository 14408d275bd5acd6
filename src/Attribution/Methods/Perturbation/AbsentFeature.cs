namespace Attribution.Methods;

/// <summary>How a perturbation method represents a feature that is absent from a coalition.</summary>
public enum AbsentFeature
{
    /// <summary>
    /// Each of its tokens is replaced by the tokenizer's mask token (<c>[MASK]</c>, <c>&lt;mask&gt;</c>); a black-box
    /// predictor gets <see cref="PerturbationMethod.MaskToken"/> in place of the feature's text.
    /// </summary>
    Mask,

    /// <summary>
    /// Its tokens (or, for a black box, its text) are removed; the text gets shorter. A black box is then asked about
    /// the empty text <c>""</c> for the coalition of no words (as the <c>lime</c> package's removal does), which
    /// Shapley values, Shapley sampling and KernelSHAP always score and occlusion scores for a one-word text; the result
    /// notes it, and a predictor that throws on it is reported as an <see cref="ArgumentException"/> naming
    /// <c>Perturbation</c>, its exception inside. A model with a tokenizer gets its special tokens only, which are never
    /// features (<c>[CLS] [SEP]</c> for BERT and for the small classifiers trained by this library, whose word tokenizer is
    /// BERT's; <c>&lt;s&gt; &lt;/s&gt;</c> for RoBERTa): the encoding of the empty text, noted on the result. A tokenizer that
    /// adds no special tokens would leave no token at all, which no model input can be: that is refused with an
    /// <see cref="ArgumentException"/> naming <c>Perturbation</c> (use <see cref="Baseline"/> or <see cref="Mask"/>).
    /// </summary>
    Remove,

    /// <summary>
    /// Each of its tokens is replaced by <see cref="PerturbationMethod.BaselineId"/> (default: the padding id, with
    /// the attention mask left on, as Captum's ablation of input ids does). Needs token ids, so not for a black box.
    /// </summary>
    Baseline,
}

/// <summary>Names of the perturbation options, as used in settings and on the command line.</summary>
public static class PerturbationNames
{
    /// <summary>The name of an absent-feature representation: <c>mask</c>, <c>remove</c> or <c>baseline</c>.</summary>
    public static string Name(this AbsentFeature value) => value switch
    {
        AbsentFeature.Mask => "mask",
        AbsentFeature.Remove => "remove",
        AbsentFeature.Baseline => "baseline",
        _ => throw new ArgumentOutOfRangeException(nameof(value), value, "unknown perturbation: use mask, remove or baseline"),
    };

    /// <summary>Parses <c>mask</c>, <c>remove</c> or <c>baseline</c>.</summary>
    public static AbsentFeature ParseAbsentFeature(string name) => name?.ToLowerInvariant() switch
    {
        "mask" => AbsentFeature.Mask,
        "remove" => AbsentFeature.Remove,
        "baseline" => AbsentFeature.Baseline,
        _ => throw new ArgumentException($"unknown perturbation '{name}': use mask, remove or baseline", nameof(name)),
    };
}
