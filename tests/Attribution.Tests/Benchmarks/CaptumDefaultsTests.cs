using Attribution.Benchmarks;
using Attribution.Methods;
using Attribution.Pipeline;

namespace Attribution.Tests.Benchmarks;

/// <summary>
/// The benchmarks' "Captum-exact" path-method settings (CaptumDefaults, linked from benchmarks/Attribution.Benchmarks)
/// against Captum's published signatures: <c>LayerIntegratedGradients.attribute</c> and
/// <c>LayerConductance.attribute(..., n_steps=50, method="gausslegendre", internal_batch_size=None, ...)</c>, where
/// None means all n_steps (IG) or n_steps + 1 (conductance: <c>_batch_attribution(..., n_steps + 1, include_endpoint=True)</c>)
/// points of every example in one pass. Exact comparisons (settings, not numbers).
/// </summary>
public sealed class CaptumDefaultsTests
{
    [Fact]
    public void Integrated_gradients_runs_50_gauss_legendre_points_of_every_text_in_one_pass()
    {
        var ig = CaptumDefaults.IntegratedGradients(16);

        ig.Steps.Should().Be(50);
        ig.Rule.Should().Be(IntegrationRule.GaussLegendre);
        ig.InternalBatchSize.Should().Be(50 * 16);
        ig.TokenBudget.Should().Be(AttributionOptions.MaxTokenBudget);
    }

    [Fact]
    public void Conductance_runs_51_gauss_legendre_points_of_every_text_in_one_pass_as_captums_default_method()
    {
        // Captum's LayerConductance defaults to method="gausslegendre"; CaptumDefaults names it rather than rely on
        // the library's default for a given step count (also Gauss–Legendre).
        var conductance = CaptumDefaults.LayerConductance("bert.encoder.layer.0", 1);

        conductance.Layer.Should().Be("bert.encoder.layer.0");
        conductance.Steps.Should().Be(50);
        conductance.Rule.Should().Be(IntegrationRule.GaussLegendre);
        conductance.InternalBatchSize.Should().Be(51);
        conductance.TokenBudget.Should().Be(AttributionOptions.MaxTokenBudget);
        CaptumDefaults.LayerConductance("bert.encoder.layer.0", 16).InternalBatchSize.Should().Be(51 * 16);
    }

    [Fact]
    public void More_texts_per_call_than_one_pass_can_hold_are_refused_naming_the_limit()
    {
        // 4096 rows / 51 points = 80 texts at most.
        FluentActions.Invoking(() => CaptumDefaults.LayerConductance("bert.encoder.layer.0", 81)).Should().Throw<ArgumentOutOfRangeException>()
            .Which.Message.Should().Contain("use 1 to 80 texts per call");
        FluentActions.Invoking(() => CaptumDefaults.IntegratedGradients(0)).Should().Throw<ArgumentOutOfRangeException>()
            .Which.ParamName.Should().Be("textsPerCall");
    }
}
