using Attribution.Engine;
using Attribution.Methods.Internal;
using Attribution.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods.Attention;

/// <summary>
/// Attention rollout (Abnar and Zuidema 2020): each layer's attention, averaged over heads, with the residual identity
/// added and rows renormalized, Â = (A + I) / 2 divided by its row sums (a no-op where the attention rows sum to 1; it
/// removes the rounding of half-precision softmaxes), multiplied through the layers, R = Â_L ⋯ Â_1; a token's score is how
/// much the first position ([CLS], which the classifier reads) draws from it, R[0, token]. With
/// <see cref="GradientWeighted"/>, Chefer et al. 2021 instead: R starts at I and each layer adds Ā·R with
/// Ā = mean over heads of max(0, ∇A ⊙ A), the gradient of the scored target output weighting the attention.
/// </summary>
/// <remarks>
/// Attention shows where the model looked, not why it decided: it is not a faithful attribution (Bastings and
/// Filippova 2020); every result carries that note, and the scorecard measures how faithful these scores are. Reads
/// the <see cref="AttentionSoftmax"/> modules of the library's transformers or of a user model built with them.
/// </remarks>
public sealed class AttentionRollout : TextAttributor
{
    /// <summary>The note every result carries.</summary>
    public const string NotFaithful =
        "attention is not a faithful attribution (Bastings and Filippova 2020): these scores show where the model attended, not why it decided; check them with the scorecard";

    // Numbers held until libtorch has used them (see KeptScalars): this one for the process.
    private static readonly Scalar Zero = 0.ToScalar();

    /// <summary>Weight each layer's attention by its gradient (Chefer et al. 2021) instead of plain rollout.</summary>
    public bool GradientWeighted { get; init; }

    /// <inheritdoc />
    public override string Name => GradientWeighted ? "grad-attention-rollout" : "attention-rollout";

    /// <inheritdoc />
    public override MethodKind Kind => GradientWeighted ? MethodKind.GradientWeightedAttentionRollout : MethodKind.AttentionRollout;

    /// <inheritdoc />
    public override Signedness Signedness => Signedness.Unsigned;

    /// <inheritdoc />
    public override HiddenReduction Reduction => HiddenReduction.Sum;

    /// <inheritdoc />
    protected override IEnumerable<KeyValuePair<string, string>> DescribeSettings()
    {
        yield return new("rollout", GradientWeighted ? "gradient-weighted (chefer 2021)" : "residual-averaged (abnar-zuidema 2020)");
        yield return new("from", "first position");
    }

    /// <inheritdoc />
    protected override void Validate(ITextClassifier model) => AttentionCapture.Modules(model, Name);

    /// <inheritdoc />
    /// <remarks>
    /// Explaining every class, each text runs forward once: plain rollout does not depend on the class at all, and the
    /// gradient-weighted one takes a backward per class from that pass.
    /// </remarks>
    internal override bool SharesPathsAcrossClasses => true;

    /// <inheritdoc />
    /// <remarks>Rollout's pass makes the prediction: a text runs forward once, not once more to be predicted.</remarks>
    internal override FirstPass? SharedFirstPass(ITextClassifier model) =>
        new FirstPass.AttentionProbabilities(AttentionCapture.Modules(model, Name), GradientWeighted);

    /// <inheritdoc />
    protected override MethodOutput Attribute(AttributionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var modules = AttentionCapture.Modules(context.Model, Name);

        // Rows that repeat a text for other classes (SharedTexts): the pass runs each text once.
        var sharing = context.SharedTexts;
        var input = sharing is null ? context.Batch.Input : context.Subset(sharing.Representatives).Batch.Input;
        Tensor scores;
        if (!GradientWeighted)
        {
            using var noGrad = no_grad();
            var (_, attention) = context.TakeFirstPassAttention(withGradients: false) ?? AttentionCapture.Run(context.Model, modules, input);
            scores = FromFirstPosition(attention, null);
            if (sharing is not null)
            {
                using var textOfRow = tensor(sharing.TextOfRow.Select(t => (long)t).ToArray());
                scores = scores.index_select(0, textOfRow);
            }
        }
        else
        {
            using var grad = enable_grad();
            var (logits, attention) = context.TakeFirstPassAttention(withGradients: true) ?? AttentionCapture.Run(context.Model, modules, input);
            if (sharing is null)
            {
                scores = FromFirstPosition(attention, Engine.Gradients.Of([context.Score(logits).sum()], attention.ToList()));
            }
            else
            {
                // One backward per class from the one pass; each row takes its text's rollout for its own class.
                var classes = context.Targets.Distinct().ToArray();
                scores = empty(context.Size, context.Length);
                for (var c = 0; c < classes.Length; c++)
                {
                    var gradients = Engine.Gradients.Of([context.ScoreOfClass(logits, classes[c]).sum()], attention.ToList(), retainGraph: c < classes.Length - 1);
                    using var perText = FromFirstPosition(attention, gradients);
                    var rows = Enumerable.Range(0, context.Size).Where(r => context.Targets[r] == classes[c]).ToArray();
                    using var noGrad = no_grad();
                    using var to = tensor(rows.Select(r => (long)r).ToArray());
                    using var from = tensor(rows.Select(r => (long)sharing.TextOfRow[r]).ToArray());
                    using var taken = perText.index_select(0, from);
                    scores.index_copy_(0, to, taken);
                }
            }
        }

        return new MethodOutput(scores, PerDimension: false)
        {
            Notes = Enumerable.Range(0, context.Size).Select(_ => (IReadOnlyList<string>)[NotFaithful]).ToArray(),
        };
    }

    /// <summary>
    /// Row 0 of the rollout of each text ([texts, length], float32): how much the first position draws from each token.
    /// Plain (Abnar and Zuidema) without <paramref name="gradients"/>; with them, Chefer et al.'s gradient-weighted rule.
    /// </summary>
    internal static Tensor FromFirstPosition(IReadOnlyList<Tensor> attention, Tensor?[]? gradients)
    {
        using var noGrad = no_grad();
        var texts = attention[0].size(0);
        var n = attention[0].size(-1);
        var identity = eye(n, dtype: ScalarType.Float64).unsqueeze(0).expand(texts, n, n);
        Tensor rollout = identity;
        for (var l = 0; l < attention.Count; l++)
        {
            if (gradients is null)
            {
                // Rows renormalised, as the paper does: a softmax's rows sum to 1 only within its precision's rounding
                // (about 5e-4 in float16, 4e-3 in bfloat16), and that error would compound through the layers' product.
                // For rows that do sum to 1, dividing by the sum changes nothing. The diagonal is at least 1/2, so no
                // row sums to 0.
                var layer = attention[l].to(ScalarType.Float64).mean([1]).Plus(identity).DividedBy(2.0);
                layer = layer / layer.sum(-1, keepdim: true);
                rollout = layer.matmul(rollout);
            }
            else
            {
                var weighted = (gradients[l] ?? zeros_like(attention[l])) * attention[l].detach();
                var layer = weighted.clamp_min(Zero).to(ScalarType.Float64).mean([1]);
                rollout = rollout.Plus(layer.matmul(rollout));
            }
        }

        return rollout.select(1, 0).to(ScalarType.Float32);
    }
}
