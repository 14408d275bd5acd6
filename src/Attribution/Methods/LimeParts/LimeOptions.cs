namespace Attribution.Methods;

/// <summary>
/// The sampling scheme, kernel and surrogate regression of <see cref="Lime"/>, each reproducing one reference
/// implementation exactly.
/// </summary>
public enum LimePreset
{
    /// <summary>
    /// LIT (<c>lit_nlp/components/citrus/lime.py</c>): the first sample is the unperturbed text; every other sample
    /// disables k features, k uniform in [1, n], chosen uniformly without replacement; distance = 100 × the cosine
    /// distance between the sample's mask and the all-on mask (an all-off mask has distance 100); kernel
    /// √exp(−d²/w²) with w = 256; weighted ridge regression (scikit-learn <c>Ridge</c>, α = 1, with sample weights)
    /// whose intercept is fitted and not penalised.
    /// </summary>
    Lit,

    /// <summary>
    /// Captum (<c>captum.attr.Lime</c> defaults): every sample keeps each feature independently with probability 0.5
    /// (no unperturbed sample); distance = cosine distance between the sample's mask and the all-on mask; kernel
    /// exp(−d²/(2w²)) with w = 1; weighted Lasso (scikit-learn <c>Lasso</c>, α = 0.01, with sample weights, i.e.
    /// ½·Σwᵢrᵢ²/Σwᵢ + α‖c‖₁) with a fitted, unpenalised intercept, solved by coordinate descent to convergence.
    /// Captum measures the cosine distance on the model's input tensor; a text function has none, so it is
    /// measured on the mask (which is what it amounts to for inputs of ones and a zero baseline).
    /// </summary>
    Captum,
}

/// <summary>What <see cref="Lime"/> switches on and off.</summary>
public enum LimeFeatures
{
    /// <summary>
    /// Whitespace-delimited words, as LIT (<c>str.split</c>). Perturbed texts are the words joined by single spaces,
    /// as in LIT, so runs of whitespace and leading or trailing whitespace are not kept.
    /// </summary>
    Words,

    /// <summary>
    /// Whitespace-delimited words further split at punctuation and symbols: every punctuation or symbol character is
    /// a feature of its own, and each run of other non-whitespace characters is one. Perturbed texts keep the original
    /// text between features.
    /// </summary>
    WordsAndPunctuation,

    /// <summary>
    /// The model's own tokens (special tokens excluded); tokens that share a character span (the bytes of one
    /// character in byte-level BPE) form one feature. Needs a tokenizer, so not for a black-box function. Perturbed
    /// texts keep the original text between features.
    /// </summary>
    Tokens,
}

/// <summary>How <see cref="Lime"/> switches a feature off.</summary>
public enum LimePerturbation
{
    /// <summary>Replace it by <see cref="Lime.MaskToken"/> (default: the model's mask token; <c>[MASK]</c>, as LIT, for BERT and black boxes).</summary>
    Mask,

    /// <summary>Remove it. Samples whose text becomes empty are not sent to the model and are left out of the fit.</summary>
    Remove,
}

/// <summary>Names of the LIME options, as used in settings and on the command line.</summary>
public static class LimeNames
{
    /// <summary>The name of a preset: <c>lit</c> or <c>captum</c>.</summary>
    public static string Name(this LimePreset value) => value switch
    {
        LimePreset.Lit => "lit",
        LimePreset.Captum => "captum",
        _ => throw new ArgumentOutOfRangeException(nameof(value), value, "unknown LIME preset: use lit or captum"),
    };

    /// <summary>The name of a feature mode: <c>words</c>, <c>words-punctuation</c> or <c>tokens</c>.</summary>
    public static string Name(this LimeFeatures value) => value switch
    {
        LimeFeatures.Words => "words",
        LimeFeatures.WordsAndPunctuation => "words-punctuation",
        LimeFeatures.Tokens => "tokens",
        _ => throw new ArgumentOutOfRangeException(nameof(value), value, "unknown LIME feature mode: use words, words-punctuation or tokens"),
    };

    /// <summary>The name of a perturbation: <c>mask</c> or <c>remove</c>.</summary>
    public static string Name(this LimePerturbation value) => value switch
    {
        LimePerturbation.Mask => "mask",
        LimePerturbation.Remove => "remove",
        _ => throw new ArgumentOutOfRangeException(nameof(value), value, "unknown LIME perturbation: use mask or remove"),
    };

    /// <summary>Parses a preset name (<c>lit</c>, <c>captum</c>).</summary>
    public static LimePreset ParsePreset(string name) => name?.ToLowerInvariant() switch
    {
        "lit" => LimePreset.Lit,
        "captum" => LimePreset.Captum,
        _ => throw new ArgumentException($"unknown LIME preset '{name}': use lit or captum", nameof(name)),
    };

    /// <summary>Parses a feature mode name (<c>words</c>, <c>words-punctuation</c>, <c>tokens</c>).</summary>
    public static LimeFeatures ParseFeatures(string name) => name?.ToLowerInvariant() switch
    {
        "words" => LimeFeatures.Words,
        "words-punctuation" => LimeFeatures.WordsAndPunctuation,
        "tokens" => LimeFeatures.Tokens,
        _ => throw new ArgumentException($"unknown LIME feature mode '{name}': use words, words-punctuation or tokens", nameof(name)),
    };

    /// <summary>Parses a perturbation name (<c>mask</c>, <c>remove</c>).</summary>
    public static LimePerturbation ParsePerturbation(string name) => name?.ToLowerInvariant() switch
    {
        "mask" => LimePerturbation.Mask,
        "remove" => LimePerturbation.Remove,
        _ => throw new ArgumentException($"unknown LIME perturbation '{name}': use mask or remove", nameof(name)),
    };
}
