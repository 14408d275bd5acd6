using Attribution.Methods;
using Attribution.Pipeline;
using Attribution.Salience;

namespace Attribution.Tests.Methods;

/// <summary>
/// Which rule a path method uses when <see cref="PathMethod.Rule"/> is left unset: Captum 0.8's default for a given
/// step count (<c>LayerConductance.attribute(n_steps=50)</c> has <c>method="gausslegendre"</c>,
/// <c>NeuronConductance.attribute</c> has <c>method="riemann_trapezoid"</c>), the nested trapezoid grid for adaptive
/// conductance, and the rule used recorded in the settings and in JSON.
/// </summary>
/// <remarks>
/// Values by hand on <see cref="PowerOfSum"/> with p = 2 and a zero baseline: at the projection y_t(α) = α W e_t and
/// ∂F/∂y_{t,0} = 2 α S (S = Σ_t w_0·e_t), ∂F/∂y_{t,1} = 0, so conductance per token is c_t S Σ_k 2 α_k (α_{k+1} − α_k),
/// c_t = w_0·e_t. With 2 steps (3 points): Gauss–Legendre's 3 nodes on [0, 1] are ½ ∓ d and ½, d = ½√(3/5) (the
/// roots of P_3, 0 and ±√(3/5)), giving Σ = 2d(1 − d) ≈ 0.4746; the trapezoid's 0, ½, 1 give Σ = ½. Tolerance 1e-5
/// relative, as in <see cref="AdaptiveIntegrationTests"/>: the model computes in float32.
/// </remarks>
public sealed class ConductanceDefaultRuleTests
{
    private const string Text = "1 2";
    private static readonly ExplainOptions AllTokens = new() { Target = Target.Class(0), Salience = new SalienceOptions { KeepSpecialTokens = true } };

    private static readonly double HalfGap = 0.5 * Math.Sqrt(0.6);

    private static double[] Expected(double pathSum) => PowerOfSum.IntegratedGradients(Text, 2).Select(s => s * pathSum).ToArray();

    private static void ShouldMatch(IReadOnlyList<double> actual, double[] expected)
    {
        actual.Should().HaveSameCount(expected);
        for (var t = 0; t < expected.Length; t++)
        {
            actual[t].Should().BeApproximately(expected[t], 1e-5 * Math.Abs(expected[t]), $"token {t}");
        }
    }

    [Fact]
    public void Layer_conductance_with_steps_and_no_rule_uses_gauss_legendre_as_captum_does()
    {
        using var model = PowerOfSum.Classifier(2);
        var e = new LayerConductance { Layer = "projection", Baseline = Baseline.Zero, Steps = 2 }.Explain(model, [Text], AllTokens)[0];

        ShouldMatch(e.Scores, Expected(2 * HalfGap * (1 - HalfGap)));
        e.Setting("steps").Should().Be("2");
        e.Setting("integration").Should().Be("gausslegendre");
    }

    [Fact]
    public void Layer_conductance_with_steps_and_the_trapezoid_rule_uses_the_trapezoid()
    {
        using var model = PowerOfSum.Classifier(2);
        var e = new LayerConductance { Layer = "projection", Baseline = Baseline.Zero, Steps = 2, Rule = IntegrationRule.RiemannTrapezoid }.Explain(model, [Text], AllTokens)[0];

        ShouldMatch(e.Scores, Expected(0.5));
        e.Setting("integration").Should().Be("riemann_trapezoid");
    }

    [Fact]
    public void Adaptive_layer_conductance_without_a_rule_or_with_the_trapezoid_refines_the_nested_grid()
    {
        using var model = PowerOfSum.Classifier(2);
        foreach (var method in new[]
        {
            new LayerConductance { Layer = "projection", Baseline = Baseline.Zero },
            new LayerConductance { Layer = "projection", Baseline = Baseline.Zero, Rule = IntegrationRule.RiemannTrapezoid },
        })
        {
            var e = method.Explain(model, [Text], AllTokens)[0];
            e.Setting("steps").Should().Be("adaptive");
            e.Setting("integration").Should().Be("trapezoid-nested");

            // The integrand 2α is linear: the trapezoid in α (each interval's gradient the mean of its ends) is exact.
            ShouldMatch(e.Scores, Expected(1.0));
        }
    }

    [Theory]
    [InlineData(IntegrationRule.GaussLegendre, "gausslegendre")]
    [InlineData(IntegrationRule.RiemannMiddle, "riemann_middle")]
    public void Adaptive_layer_conductance_refuses_an_explicit_rule_it_does_not_refine(IntegrationRule rule, string name)
    {
        using var model = PowerOfSum.Classifier(2);
        var act = () => new LayerConductance { Layer = "projection", Rule = rule }.Explain(model, [Text], AllTokens);

        var error = act.Should().Throw<ArgumentException>().Which;
        error.ParamName.Should().Be("Rule");
        error.Message.Should().Contain(name).And.Contain("give a step count");
    }

    [Fact]
    public void Neuron_conductance_without_a_rule_uses_the_trapezoid_as_captum_does()
    {
        using var model = PowerOfSum.Classifier(2);
        foreach (var steps in new int?[] { 4, null })
        {
            var e = new NeuronConductance { Layer = "projection", Position = 0, Unit = 0, Baseline = Baseline.Zero, Steps = steps }.Explain(model, [Text], AllTokens)[0];
            e.Setting("steps").Should().Be(steps is null ? "50" : "4");
            e.Setting("integration").Should().Be("riemann_trapezoid");
        }
    }

    [Fact]
    public void Neuron_conductance_checks_its_step_count_against_the_rule_in_use_naming_steps()
    {
        // The trapezoid rule (its default) needs 2 points, Gauss-Legendre 1 (IntegrationRules.MinimumSteps); the limit is
        // 10000. Checked up front naming Steps: left to the integration points, the refusal named their internal "n".
        using var model = PowerOfSum.Classifier(2);
        NeuronConductance Neuron(int steps, IntegrationRule? rule = null) =>
            new() { Layer = "projection", Position = 0, Unit = 0, Baseline = Baseline.Zero, Steps = steps, Rule = rule };

        foreach (var steps in new[] { 1, 10_001 })
        {
            var refusal = FluentActions.Invoking(() => Neuron(steps).Explain(model, [Text], AllTokens))
                .Should().Throw<ArgumentOutOfRangeException>().Which;
            refusal.ParamName.Should().Be("Steps");
            refusal.ActualValue.Should().Be(steps);
        }

        Neuron(1, IntegrationRule.GaussLegendre).Explain(model, [Text], AllTokens)[0].Setting("steps").Should().Be("1");
    }

    [Fact]
    public void Integrated_gradients_without_a_rule_use_gauss_legendre_with_or_without_steps()
    {
        using var model = PowerOfSum.Classifier(2);
        new IntegratedGradients { Baseline = Baseline.Zero, Steps = 3 }.Explain(model, [Text], AllTokens)[0].Setting("integration").Should().Be("gausslegendre");
        new IntegratedGradients { Baseline = Baseline.Zero }.Explain(model, [Text], AllTokens)[0].Setting("integration").Should().Be("gausslegendre");
    }

    [Fact]
    public void Json_records_the_rule_used_and_reads_it_back()
    {
        using var model = PowerOfSum.Classifier(2);
        var results = new LayerConductance { Layer = "projection", Baseline = Baseline.Zero, Steps = 2 }.Explain(model, [Text], AllTokens);
        var json = ExplanationJson.Serialize(ExplanationDocument.For(results, model.Labels));

        json.Should().Contain("\"integration\": \"gausslegendre\"");
        var back = ExplanationJson.Parse(json);
        back.Results[0].Setting("integration").Should().Be("gausslegendre");
        back.Settings.Should().Contain(new KeyValuePair<string, string>("integration", "gausslegendre"));
    }

    [Fact]
    public void Rule_is_null_until_set()
    {
        new LayerConductance().Rule.Should().BeNull();
        new NeuronConductance { Position = 0, Unit = 0 }.Rule.Should().BeNull();
        new IntegratedGradients().Rule.Should().BeNull();
        new LayerConductance { Rule = IntegrationRule.RiemannLeft }.Rule.Should().Be(IntegrationRule.RiemannLeft);
    }
}
