using Attribution.Engine;
using Attribution.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods.Attention;

/// <summary>
/// Attention rollout (Abnar and Zuidema 2020): each layer's attention, averaged over heads, with the residual identity
/// added and rows renormalized, Â = (A + I) / 2, multiplied through the layers, R = Â_L ⋯ Â_1; a token's score is how
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
    protected override MethodOutput Attribute(AttributionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var modules = AttentionCapture.Modules(context.Model, Name);
        var n = context.Length;
        var identity = eye(n, dtype: ScalarType.Float64).unsqueeze(0).expand(context.Size, n, n);
        Tensor rollout = identity;
        if (!GradientWeighted)
        {
            using var noGrad = no_grad();
            var (_, attention) = AttentionCapture.Run(context.Model, modules, context.Batch.Input);
            foreach (var a in attention)
            {
                var layer = a.to(ScalarType.Float64).mean([1]).Plus(identity).DividedBy(2.0);
                rollout = layer.matmul(rollout);
            }
        }
        else
        {
            using var grad = enable_grad();
            var (logits, attention) = AttentionCapture.Run(context.Model, modules, context.Batch.Input);
            var score = context.Score(logits).sum();
            var gradients = Engine.Gradients.Of([score], attention.ToList());
            using var noGrad = no_grad();
            for (var l = 0; l < attention.Count; l++)
            {
                var weighted = (gradients[l] ?? zeros_like(attention[l])) * attention[l].detach();
                var layer = weighted.clamp_min(Zero).to(ScalarType.Float64).mean([1]);
                rollout = rollout.Plus(layer.matmul(rollout));
            }
        }

        Tensor scores;
        using (no_grad())
        {
            scores = rollout.select(1, 0).to(ScalarType.Float32);
        }

        return new MethodOutput(scores, PerDimension: false)
        {
            Notes = Enumerable.Range(0, context.Size).Select(_ => (IReadOnlyList<string>)[NotFaithful]).ToArray(),
        };
    }
}
