namespace Attribution.Methods;

/// <summary>What a method scores: the raw logit of the target class, its softmax probability, or its log-probability.</summary>
public enum ScoreOutput
{
    /// <summary>The target class's logit (Captum's default when the model returns logits).</summary>
    Logit,

    /// <summary>The target class's softmax probability.</summary>
    Probability,

    /// <summary>The target class's log-softmax.</summary>
    LogProbability,
}

/// <summary>One word of an explanation: a whitespace-delimited span of the text and the score of its tokens.</summary>
/// <param name="Text">The word as written in the input.</param>
/// <param name="Start">UTF-16 index of its first character.</param>
/// <param name="End">UTF-16 index just past its last character.</param>
/// <param name="Score">The aggregate of its tokens' scores (see <see cref="Explanation.WordAggregation"/>).</param>
/// <param name="TokenIndices">Indices (into <see cref="Explanation.Tokens"/>) of the tokens it covers.</param>
public sealed record WordScore(string Text, int Start, int End, double Score, int[] TokenIndices);

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

    /// <summary>The model's name.</summary>
    public required string Model { get; init; }

    /// <summary>Method name, e.g. <c>integrated-gradients</c>.</summary>
    public required string Method { get; init; }

    /// <summary>Every setting of the method (steps, rule, baseline, layer, seed, …), as text, in a stable order.</summary>
    public required IReadOnlyList<KeyValuePair<string, string>> Settings { get; init; }

    /// <summary>Tokens as in the vocabulary (special tokens included unless dropped).</summary>
    public required string[] Tokens { get; init; }

    /// <summary>Token ids.</summary>
    public required long[] TokenIds { get; init; }

    /// <summary>Per token, its [start, end) UTF-16 span in <see cref="Text"/>, or null for special tokens.</summary>
    public required (int Start, int End)?[] Offsets { get; init; }

    /// <summary>Per token, whether the tokenizer added it (<c>[CLS]</c>, <c>[SEP]</c>, …).</summary>
    public required bool[] IsSpecial { get; init; }

    /// <summary>One score per token (after <see cref="Normalization"/>).</summary>
    public required double[] Scores { get; init; }

    /// <summary>
    /// Per token, the attribution of each hidden dimension before the reduction to one score, when asked for
    /// (<see cref="ExplainOptions.KeepRawAttributions"/>); otherwise null.
    /// </summary>
    public float[][]? RawAttributions { get; init; }

    /// <summary>Index of the class explained.</summary>
    public required int Target { get; init; }

    /// <summary>Name of the class explained.</summary>
    public required string TargetLabel { get; init; }

    /// <summary>The model's logits for the text.</summary>
    public required double[] Logits { get; init; }

    /// <summary>Softmax of the logits.</summary>
    public required double[] Probabilities { get; init; }

    /// <summary>Which output of the target class was attributed.</summary>
    public required ScoreOutput ScoreOutput { get; init; }

    /// <summary>True when scores carry a sign (evidence for vs against); false for magnitudes such as gradient norms.</summary>
    public required bool Signed { get; init; }

    /// <summary>How per-dimension attributions became one score per token, e.g. <c>sum</c> or <c>l2</c>.</summary>
    public required string Reduction { get; init; }

    /// <summary>The normalization applied to <see cref="Scores"/> and word scores: <c>none</c>, <c>l1</c>, <c>l2</c>, <c>max-abs</c>, <c>min-max</c>.</summary>
    public string Normalization { get; init; } = "none";

    /// <summary>How token scores are aggregated into <see cref="Words"/>: <c>sum</c>, <c>mean</c>, <c>absmax</c>, <c>l2</c>, <c>first</c>.</summary>
    public string WordAggregation { get; init; } = "sum";

    /// <summary>Whether special tokens are still in <see cref="Tokens"/>.</summary>
    public bool SpecialTokensKept { get; init; } = true;

    /// <summary>
    /// Completeness gap where the method defines one (Integrated Gradients, conductance, LRP):
    /// Σ attributions − (F(input) − F(baseline)), signed, in units of the scored output.
    /// </summary>
    public double? ConvergenceDelta { get; init; }

    /// <summary>
    /// Where the relevance of a conservative method (LRP) went, in units of the scored output, by input: the
    /// word-embedding module's path (the sum of the token scores, special tokens included) and the paths of the other
    /// embeddings (positions, token types). Their total minus the target logit is <see cref="ConvergenceDelta"/>.
    /// Null for other methods; normalization does not change it.
    /// </summary>
    public IReadOnlyDictionary<string, double>? RelevanceShares { get; init; }

    /// <summary>
    /// The local linear surrogate behind the scores, for perturbation methods (LIME): features, raw coefficients,
    /// intercept and R²; null for other methods. Normalization does not change it.
    /// </summary>
    public SurrogateModel? Surrogate { get; init; }

    /// <summary>Word scores: tokens grouped by the whitespace-delimited word their offsets fall in.</summary>
    public IReadOnlyList<WordScore> Words { get; init; } = [];

    /// <summary>Anything the reader must know: truncation, dropped tokens, approximations.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>Wall-clock time the method spent on this text (its share of a batch).</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>The value of a setting, or null.</summary>
    public string? Setting(string key) => Settings.FirstOrDefault(kv => kv.Key == key).Value;
}
