using System.Globalization;
using Attribution.Methods.Internal;
using Attribution.Methods.Lrp;
using Attribution.Models;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods;

/// <summary>
/// LRP-ε for text classifiers: relevance propagated from the target logit, computed as gradient × input with
/// rewritten gradients inside the ordinary forward/backward (see <see cref="LrpPropagation"/> and the rules of
/// <see cref="LrpRules"/>): ε-rule on Linear/Conv1d, LayerNorm with constant σ, identity rules on GELU/tanh/ReLU,
/// AttnLRP or CP-LRP in attention, dropout off. A token's score is Σ over hidden of word embedding ⊙ rewritten
/// gradient. Works on any model whose modules all have rules (BERT, DistilBERT, RoBERTa, models built from
/// Linear/Conv1d/ReLU/… containers); a model with an LSTM or an unknown layer is refused with
/// <see cref="LrpNotSupportedException"/> naming the module.
/// </summary>
/// <remarks>
/// The relevance that reaches the position and token-type embeddings is reported separately
/// (<see cref="Explanation.RelevanceShares"/>), and <see cref="Explanation.ConvergenceDelta"/> is the conservation
/// gap Σ relevance (word + position + token type, all tokens) − target logit: what biases, the ε stabilizers and,
/// under AttnLRP, the softmax absorbed. With ε = 0, CP-LRP and bias-free layers it is zero up to rounding.
/// LRP is defined from the logit: <see cref="AttributionOptions.Score"/> must be <see cref="ScoreOutput.Logit"/>.
/// </remarks>
public sealed class LrpEpsilon : TextAttributor
{
    private readonly double epsilon = 1e-6;
    private readonly LrpRuleSet rules = LrpRuleSet.Default;

    /// <summary>ε of the ε-rule (default 1e-6; 0 gives LRP-0). Negative, NaN or infinite values throw.</summary>
    /// <exception cref="ArgumentOutOfRangeException">ε is negative, NaN or infinite.</exception>
    public double Epsilon
    {
        get => epsilon;
        init => epsilon = LrpSettings.CheckEpsilon(value);
    }

    /// <summary>How relevance crosses attention (default AttnLRP).</summary>
    public AttentionRule Attention { get; init; } = AttentionRule.AttnLrp;

    /// <summary>The rule of each module type (default <see cref="LrpRuleSet.Default"/>); add rules for custom layers here.</summary>
    /// <exception cref="ArgumentNullException">Set to null (the parameter named is <c>Rules</c>).</exception>
    public LrpRuleSet Rules
    {
        get => rules;
        init => rules = LrpSettings.CheckRules(value);
    }

    /// <inheritdoc />
    public override string Name => "lrp-epsilon";

    /// <inheritdoc />
    public override MethodKind Kind => MethodKind.LrpEpsilon;

    /// <inheritdoc />
    public override Signedness Signedness => Signedness.Signed;

    /// <inheritdoc />
    public override HiddenReduction Reduction => HiddenReduction.Sum;

    private LrpSettings Propagation => new() { Epsilon = Epsilon, Attention = Attention, Rules = Rules };

    /// <inheritdoc />
    protected override IEnumerable<KeyValuePair<string, string>> DescribeSettings()
    {
        yield return new("epsilon", Format(Epsilon));
        yield return new("attention", Attention == AttentionRule.AttnLrp ? "attnlrp" : "cp-lrp");
        yield return new("layer", "word-embeddings");
    }

    /// <inheritdoc />
    internal override FirstPass? SharedFirstPass(ITextClassifier model) => new FirstPass.Lrp(Propagation);

    /// <inheritdoc />
    protected override void Validate(ITextClassifier model)
    {
        EnumSettings.Check(Attention, nameof(Attention));
        model.Module.Submodule(model.WordEmbeddingPath);
        LrpPropagation.Check(model.Module, Rules);
    }

    /// <inheritdoc />
    internal override void CheckOptions(AttributionOptions options)
    {
        if (options.Score != ScoreOutput.Logit)
        {
            throw new ArgumentException(
                $"LRP-ε propagates relevance from the target logit; it cannot explain the {options.Score.ToString().ToLowerInvariant()} (set ExplainOptions.Score to Logit)",
                nameof(options));
        }
    }

    /// <inheritdoc />
    protected override MethodOutput Attribute(AttributionContext context)
    {
        // A batch reaches here only through the runner, which has made CheckOptions before any pass.
        var result = context.TakeLrpForward(Propagation) is { } primed
            ? primed.Pass.Relevance(context.Targets, "targets", primed.RetainGraph)
            : LrpPropagation.TokenRelevance(context.Model.Module, context.Batch.Input, context.Targets, context.Model.WordEmbeddingPath, Propagation);
        double[] word;
        double[] logits;
        var others = new List<(string Path, double[] Totals)>();
        using (no_grad())
        {
            using var mask = context.TokenMask.to(ScalarType.Float64);
            word = RowTotals(result.Word.to(ScalarType.Float64).sum(-1), mask);
            foreach (var (path, perToken) in result.Embeddings.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                others.Add((path, RowTotals(perToken.to(ScalarType.Float64), mask)));
            }

            logits = result.TargetLogits.to(ScalarType.Float64).data<double>().ToArray();
        }

        var deltas = new double[context.Size];
        var allShares = new IReadOnlyDictionary<string, double>[context.Size];
        var notes = new IReadOnlyList<string>[context.Size];
        var hasAttention = context.Model.Module.SelfAndDescendants().Any(m => m.Module is AttentionSoftmax);
        for (var row = 0; row < context.Size; row++)
        {
            var shares = new Dictionary<string, double>(StringComparer.Ordinal) { [context.Model.WordEmbeddingPath] = word[row] };
            foreach (var (path, totals) in others)
            {
                shares[path] = totals[row];
            }

            deltas[row] = shares.Values.Sum() - logits[row];
            allShares[row] = shares;
            notes[row] = [Describe(shares, logits[row], deltas[row], hasAttention)];
        }

        return new MethodOutput(result.Word, PerDimension: true, deltas) { RelevanceShares = allShares, Notes = notes };
    }

    /// <summary>
    /// The note on a result: where the relevance went and what the gap is. The attention softmax is named among what
    /// absorbs relevance only when the model has one (AttnLRP leaves it unrewritten), and "the first" only when
    /// relevance reached several embeddings.
    /// </summary>
    private string Describe(IReadOnlyDictionary<string, double> shares, double logit, double delta, bool hasAttention)
    {
        static string F(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
        var parts = string.Join(", ", shares.Select(kv => $"{kv.Key} {F(kv.Value)}"));
        var absorbed = Attention == AttentionRule.AttnLrp && hasAttention
            ? "biases, the ε stabilizers and the attention softmax (AttnLRP leaves it unrewritten)"
            : "biases and the ε stabilizers";
        var which = shares.Count > 1 ? "the first is the sum of the token scores" : "the sum of the token scores";
        return $"LRP-ε (ε = {F(Epsilon)}, {(Attention == AttentionRule.AttnLrp ? "AttnLRP" : "CP-LRP")}) from the target logit {F(logit)}: " +
               $"relevance reached {parts} ({which}, special tokens included); " +
               $"the conservation gap (convergence delta = total − logit) is {F(delta)}, the relevance absorbed by {absorbed}";
    }

    private static double[] RowTotals(Tensor perToken, Tensor mask)
    {
        using var masked = perToken * mask;
        using var totals = masked.sum(-1);
        return totals.contiguous().data<double>().ToArray();
    }
}
