using System.Collections.Immutable;
using Attribution.Models;

namespace Attribution.Methods;

/// <summary>One word of an explanation: a whitespace-delimited span of the text and the score of its tokens.</summary>
/// <param name="Text">The word as written in the input.</param>
/// <param name="Start">UTF-16 index of its first character.</param>
/// <param name="End">UTF-16 index just past its last character.</param>
/// <param name="Score">The aggregate of its tokens' scores (see <see cref="Explanation.WordAggregation"/>).</param>
/// <param name="TokenIndices">Indices (into <see cref="Explanation.Tokens"/>) of the tokens it covers.</param>
public sealed record WordScore(string Text, int Start, int End, double Score, ImmutableArray<int> TokenIndices)
{
    /// <summary>Which text of a pair the word is in (0 the text, 1 the pair's second text); its offsets index into that text.</summary>
    public int Segment { get; init; }
}

/// <summary>
/// The result of explaining one text with one method: tokens with their character offsets and scores, the
/// prediction and the class explained, and every setting that produced the numbers (method parameters, the output
/// scored, how per-dimension attributions were reduced per token, how tokens were aggregated into words, which
/// normalization was applied). Explanations are immutable; the salience operations return new ones.
/// </summary>
public sealed record Explanation
{
    /// <summary>The explained text.</summary>
    public required string Text { get; init; }

    /// <summary>The second text of a pair (sentence-pair models), or null. Offsets of its tokens index into it.</summary>
    public string? TextPair { get; init; }

    /// <summary>What renderers show: the text, or for a pair the two texts joined by <see cref="PairSeparator"/>.</summary>
    public string DisplayText => TextPair is null ? Text : Text + PairSeparator + TextPair;

    /// <summary>Between the two texts of a pair in <see cref="DisplayText"/>.</summary>
    public const string PairSeparator = " ‖ ";

    /// <summary>The model's name.</summary>
    public required string Model { get; init; }

    /// <summary>Method name, e.g. <c>integrated-gradients</c> (a user-written method's own name).</summary>
    public required string Method { get; init; }

    /// <summary>Which method made it (<see cref="MethodKind.Custom"/> for a method written outside the library).</summary>
    public MethodKind Kind { get; init; }

    /// <summary>Every setting of the method (steps, rule, baseline, layer, seed, …), as text, in a stable order.</summary>
    public required IReadOnlyList<KeyValuePair<string, string>> Settings { get; init => field = [.. value]; }

    /// <summary>Tokens as in the vocabulary (special tokens included unless dropped).</summary>
    public required ImmutableArray<string> Tokens { get; init; }

    /// <summary>Token ids.</summary>
    public required ImmutableArray<long> TokenIds { get; init; }

    /// <summary>Per token, its [start, end) UTF-16 span in <see cref="Text"/>, or null for special tokens.</summary>
    public required ImmutableArray<(int Start, int End)?> Offsets { get; init; }

    /// <summary>Per token, its token type id (0 for the first text, 1 for a BERT pair's second); empty when not recorded.</summary>
    public ImmutableArray<long> TokenTypeIds { get; init; } = [];

    /// <summary>
    /// Per token, which text it came from: 0 the text, 1 the pair's second text, null for added tokens; empty for a
    /// single text (every token with an offset is then from the text).
    /// </summary>
    public ImmutableArray<int?> Segments { get; init; } = [];

    /// <summary>The text token <paramref name="index"/> came from (0 or 1), or null for an added token.</summary>
    public int? SegmentOf(int index) => Offsets[index] is null ? null : Segments.IsDefaultOrEmpty ? 0 : Segments[index] ?? 0;

    /// <summary>A position in text <paramref name="segment"/> as a position in <see cref="DisplayText"/>.</summary>
    public int DisplayPosition(int segment, int position) => segment == 1 ? Text.Length + PairSeparator.Length + position : position;

    /// <summary>Per token, whether the tokenizer added it (<c>[CLS]</c>, <c>[SEP]</c>, …).</summary>
    public required ImmutableArray<bool> IsSpecial { get; init; }

    /// <summary>One score per token (after <see cref="Normalization"/>).</summary>
    public required ImmutableArray<double> Scores { get; init; }

    /// <summary>
    /// Per token, the attribution of each hidden dimension before the reduction to one score, when asked for
    /// (<see cref="AttributionOptions.KeepRawAttributions"/>); otherwise null.
    /// </summary>
    public IReadOnlyList<ImmutableArray<float>>? RawAttributions { get; init => field = value is null ? null : [.. value]; }

    /// <summary>Index of the class explained.</summary>
    public required int Target { get; init; }

    /// <summary>Name of the class explained.</summary>
    public required string TargetLabel { get; init; }

    /// <summary>The model's logits for the text.</summary>
    public required ImmutableArray<double> Logits { get; init; }

    /// <summary>Each label's probability as <see cref="Head"/> defines it (softmax, sigmoid per label; empty for regression).</summary>
    public required ImmutableArray<double> Probabilities { get; init; }

    /// <summary>
    /// What the model's outputs mean: for <see cref="OutputHead.MultiLabel"/> <see cref="Probabilities"/> are sigmoids and
    /// "probability" is the target's sigmoid; for <see cref="OutputHead.Regression"/> there are no probabilities and the
    /// explained score is the output itself.
    /// </summary>
    public OutputHead Head { get; init; }

    /// <summary>Which output of the target class was attributed.</summary>
    public required ScoreOutput ScoreOutput { get; init; }

    /// <summary>Whether scores carry a sign (evidence for vs against) or are magnitudes such as gradient norms.</summary>
    public required Signedness Signedness { get; init; }

    /// <summary>True when <see cref="Signedness"/> is <see cref="Methods.Signedness.Signed"/>.</summary>
    public bool Signed => Signedness == Signedness.Signed;

    /// <summary>How what the method computed became one score per token (e.g. the sum or L2 norm over hidden dimensions).</summary>
    public required ScoreReduction Reduction { get; init; }

    /// <summary>The normalization applied to <see cref="Scores"/> and word scores.</summary>
    public Normalization Normalization { get; init; } = Normalization.None;

    /// <summary>How token scores are aggregated into <see cref="Words"/> (meaningful once words are computed).</summary>
    public WordAggregation WordAggregation { get; init; } = WordAggregation.Sum;

    /// <summary>Whether special tokens are still in <see cref="Tokens"/>.</summary>
    public bool SpecialTokensKept { get; init; } = true;

    /// <summary>
    /// Completeness gap where the method defines one (Integrated Gradients, conductance, LRP):
    /// Σ attributions − (F(input) − F(baseline)), signed, in units of the scored output. For Gradient SHAP, whose
    /// baselines are drawn, F(baseline) is the mean over its draws: one number per text, where Captum gives one per draw
    /// (see <see cref="GradientShap"/>).
    /// </summary>
    public double? ConvergenceDelta { get; init; }

    /// <summary>
    /// Where the relevance of a conservative method (LRP) went, in units of the scored output, by input: the
    /// word-embedding module's path (the sum of the token scores, special tokens included) and the paths of the other
    /// embeddings (positions, token types). Their total minus the target logit is <see cref="ConvergenceDelta"/>.
    /// Null for other methods; normalization does not change it.
    /// </summary>
    public IReadOnlyDictionary<string, double>? RelevanceShares { get; init => field = value is null ? null : new Dictionary<string, double>(value, StringComparer.Ordinal).AsReadOnly(); }

    /// <summary>
    /// The local linear surrogate behind the scores, for perturbation methods (LIME): features, raw coefficients,
    /// intercept and R²; null for other methods. Normalization does not change it.
    /// </summary>
    public SurrogateModel? Surrogate { get; init; }

    /// <summary>Word scores: tokens grouped by the whitespace-delimited word their offsets fall in.</summary>
    public IReadOnlyList<WordScore> Words { get; init => field = [.. value]; } = ImmutableArray<WordScore>.Empty;

    /// <summary>Anything the reader must know: truncation, dropped tokens, approximations.</summary>
    public IReadOnlyList<string> Notes { get; init => field = [.. value]; } = ImmutableArray<string>.Empty;

    /// <summary>Wall-clock time the method spent on this text (its share of a batch).</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>The value of a setting, or null.</summary>
    public string? Setting(string key) => Settings.FirstOrDefault(kv => kv.Key == key).Value;
}
