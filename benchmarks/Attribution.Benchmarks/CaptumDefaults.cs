using Attribution.Methods;
using Attribution.Pipeline;

namespace Attribution.Benchmarks;

/// <summary>
/// The path methods configured as Captum 0.8 runs them by default, for the benchmarks' "Captum-exact" and "Captum
/// schedule" rows: <c>LayerIntegratedGradients.attribute</c> and <c>LayerConductance.attribute</c> both default to
/// <c>n_steps=50</c>, <c>method="gausslegendre"</c> and <c>internal_batch_size=None</c> (every path point of every
/// example in one forward and backward pass); conductance evaluates n_steps + 1 points. The token budget is lifted so
/// nothing splits that pass.
/// </summary>
internal static class CaptumDefaults
{
    /// <summary>Captum's default <c>n_steps</c>.</summary>
    public const int Steps = 50;

    /// <summary>Integrated Gradients as Captum's defaults run it on <paramref name="textsPerCall"/> texts per call.</summary>
    public static IntegratedGradients IntegratedGradients(int textsPerCall) => new()
    {
        Steps = Steps, Rule = IntegrationRule.GaussLegendre, InternalBatchSize = Rows(Steps, textsPerCall),
        TokenBudget = AttributionOptions.MaxTokenBudget,
    };

    /// <summary>Layer conductance at <paramref name="layer"/> as Captum's defaults run it on <paramref name="textsPerCall"/> texts per call.</summary>
    public static LayerConductance LayerConductance(string layer, int textsPerCall) => new()
    {
        Layer = layer, Steps = Steps, Rule = IntegrationRule.GaussLegendre, InternalBatchSize = Rows(Steps + 1, textsPerCall),
        TokenBudget = AttributionOptions.MaxTokenBudget,
    };

    private static int Rows(int points, int textsPerCall)
    {
        if (textsPerCall < 1 || (long)points * textsPerCall > PathMethod.MaxInternalBatchSize)
        {
            throw new ArgumentOutOfRangeException(nameof(textsPerCall), textsPerCall,
                $"Captum's internal_batch_size=None puts {points} path points of every text in one pass, and this library's passes hold at most {PathMethod.MaxInternalBatchSize} rows: use 1 to {PathMethod.MaxInternalBatchSize / points} texts per call");
        }

        return points * textsPerCall;
    }
}
