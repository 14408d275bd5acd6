using System.Globalization;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Pipeline;
using Attribution.Salience;
using Attribution.Tests.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Attribution.Tests.Methods;

/// <summary>
/// Adaptive integration (Integrated Gradients and layer conductance without a step count) on a model whose path
/// integrals are polynomials, so the level each text stops at and the value it returns follow from quadrature theory:
/// F = (Σ_t w·e_t)^p with a zero baseline makes the IG integrand p α^(p−1) S^p, which Gauss–Legendre with n points
/// integrates exactly when p − 1 ≤ 2n − 1; conductance at the projection sees 3α² S² (p = 3), whose trapezoid sum on m
/// intervals is exactly 1 + 1/(2m²). Expected scores are written out here from the weights (double precision);
/// tolerances (1e-5 relative) cover the model's float32 arithmetic.
/// </summary>
public sealed class AdaptiveIntegrationTests
{
    private static readonly ExplainOptions AllTokens = new() { Target = Target.Class(0), Salience = new SalienceOptions { KeepSpecialTokens = true } };

    [Theory]
    [InlineData(4, 1e-4, 8, 12)] // integrand of degree 3: Gauss–Legendre 4 is already exact, 8 confirms it
    [InlineData(10, 1e-4, 16, 28)] // degree 9: 4 points are off by ~2e-3, 8 and 16 are exact
    public void Integrated_gradients_stops_at_the_first_level_that_agrees_with_the_previous_one(int power, double tolerance, int stepsUsed, int evaluations)
    {
        using var model = PowerOfSum.Classifier(power);
        var method = new IntegratedGradients { Baseline = Baseline.Zero, Adaptive = AdaptiveIntegration.Default with { Tolerance = tolerance } };
        var texts = new[] { "1 2 3", "4 5", "2 6 7 8" };
        var explanations = method.Explain(model, texts, AllTokens);
        for (var i = 0; i < texts.Length; i++)
        {
            var e = explanations[i];
            e.Setting("steps").Should().Be("adaptive");
            e.Setting("steps-used").Should().Be(stepsUsed.ToString(CultureInfo.InvariantCulture));
            e.Setting("gradient-evaluations").Should().Be(evaluations.ToString(CultureInfo.InvariantCulture));
            e.Notes.Should().BeEmpty();
            var expected = PowerOfSum.IntegratedGradients(texts[i], power);
            e.Scores.Should().Equal(expected, (a, b) => Math.Abs(a - b) <= 1e-5 * Math.Abs(b) + 1e-7);
            var total = expected.Sum();
            e.ConvergenceDelta!.Value.Should().BeApproximately(0, 1e-5 * Math.Abs(total));
        }
    }

    [Fact]
    public void Integrated_gradients_that_miss_the_target_at_the_cap_say_so()
    {
        using var model = PowerOfSum.Classifier(10);
        var method = new IntegratedGradients { Baseline = Baseline.Zero, Adaptive = new AdaptiveIntegration { Tolerance = 1e-4, InitialSteps = 2, MaxSteps = 4 } };
        var e = method.Explain(model, ["1 2 3"], AllTokens)[0];
        e.Setting("steps-used").Should().Be("4");
        e.Setting("gradient-evaluations").Should().Be("6");
        e.Notes.Should().ContainSingle().Which.Should().Contain("step cap (4 steps)").And.Contain("--max-steps");

        // The target the note quotes: 1e-4 · |F(x) − F(0)| + 1e-5, with F(x) = S^10 by hand and F(0) = 0.
        var target = (1e-4 * Math.Abs(Math.Pow(PowerOfSum.IntegratedGradients("1 2 3", 1).Sum(), 10))) + 1e-5;
        e.Notes[0].Should().Contain($"(target {target.ToString("G3", CultureInfo.InvariantCulture)})");

        // Gauss–Legendre with 4 points on α⁹ integrates to 10 Σ w_k α_k⁹, not 1: the scores carry that factor.
        var alphas = IntegrationRules.Alphas(IntegrationRule.GaussLegendre, 4);
        var weights = IntegrationRules.StepSizes(IntegrationRule.GaussLegendre, 4);
        var factor = 10 * alphas.Zip(weights, (a, w) => w * Math.Pow(a, 9)).Sum();
        factor.Should().NotBeApproximately(1, 1e-4, "the case must be one the cap stops");
        e.Scores.Should().Equal(PowerOfSum.IntegratedGradients("1 2 3", 10).Select(s => s * factor), (a, b) => Math.Abs(a - b) <= 1e-5 * Math.Abs(b));
    }

    [Fact]
    public void A_text_complete_at_the_cap_but_not_yet_stable_gets_the_note_too()
    {
        // Gauss–Legendre 4 on α⁹ is off by ~2e-3 (complete at 5e-3), but it moved far from Gauss–Legendre 2.
        using var model = PowerOfSum.Classifier(10);
        var method = new IntegratedGradients { Baseline = Baseline.Zero, Adaptive = new AdaptiveIntegration { Tolerance = 5e-3, InitialSteps = 2, MaxSteps = 4 } };
        var e = method.Explain(model, ["1 2 3"], AllTokens)[0];
        Math.Abs(e.ConvergenceDelta!.Value).Should().BeLessThan(5e-3 * e.Scores.Sum());
        e.Notes.Should().ContainSingle().Which.Should().Contain("step cap");
    }

    [Fact]
    public void The_absolute_tolerance_accepts_changes_below_it_whatever_the_relative_tolerance()
    {
        // |F| ≈ 1.1 here and Gauss–Legendre 4 → 8 moves the scores by ~2e-3: an absolute slack of 0.5 accepts level 8.
        using var model = PowerOfSum.Classifier(10);
        var method = new IntegratedGradients { Baseline = Baseline.Zero, Adaptive = new AdaptiveIntegration { Tolerance = 1e-6, AbsoluteTolerance = 0.5 } };
        var e = method.Explain(model, ["1 2 3"], AllTokens)[0];
        e.Setting("steps-used").Should().Be("8");
        e.Notes.Should().BeEmpty();
    }

    [Fact]
    public void Local_integrated_gradients_stop_on_stability_alone()
    {
        // Without the multiplication by (x − x′) there is no completeness to check; Gauss–Legendre 4 is exact for α³.
        using var model = PowerOfSum.Classifier(4);
        var e = new IntegratedGradients { Baseline = Baseline.Zero, MultiplyByInputs = false }.Explain(model, ["1 2 3"], AllTokens)[0];
        e.Setting("steps-used").Should().Be("8");
        e.ConvergenceDelta.Should().BeNull();
        e.Notes.Should().BeEmpty();
    }

    [Fact]
    public void Stability_is_measured_against_the_l2_norm_of_the_scores()
    {
        // Conductance on 3α²: the change 8 → 16 intervals is 0.585% of every score, so 0.65% accepts 16 intervals when
        // measured against ‖scores‖₂ (not against the largest score, which would need 32).
        using var model = PowerOfSum.Classifier(3);
        var e = new LayerConductance { Layer = "projection", Baseline = Baseline.Zero, Adaptive = AdaptiveIntegration.Default with { Tolerance = 0.0065 } }
            .Explain(model, ["1 2 3"], AllTokens)[0];
        var scores = e.Scores.ToArray();
        (Math.Sqrt(scores.Sum(x => x * x)) / scores.Max(Math.Abs)).Should().BeGreaterThan(0.0065 / 0.00585, "the case must tell the two norms apart");
        e.Setting("steps-used").Should().Be("16");
    }

    [Theory]
    [InlineData(2, 0.01, 8, 9)] // integrand linear in α: the trapezoid is exact, 8 intervals confirm 4
    [InlineData(3, 0.01, 16, 17)] // 3α²: trapezoid error 1/(2m²) = 3.1%, 0.78%, 0.20%: the change 8 → 16 is the first under 1%
    public void Conductance_refines_the_nested_trapezoid_grid_reusing_every_point(int power, double tolerance, int stepsUsed, int evaluations)
    {
        using var model = PowerOfSum.Classifier(power);
        var method = new LayerConductance { Layer = "projection", Baseline = Baseline.Zero, Adaptive = AdaptiveIntegration.Default with { Tolerance = tolerance } };
        var texts = new[] { "1 2 3", "4 5" };
        var explanations = method.Explain(model, texts, AllTokens);
        for (var i = 0; i < texts.Length; i++)
        {
            var e = explanations[i];
            e.Setting("integration").Should().Be("trapezoid-nested");
            e.Setting("steps-used").Should().Be(stepsUsed.ToString(CultureInfo.InvariantCulture));
            e.Setting("gradient-evaluations").Should().Be(evaluations.ToString(CultureInfo.InvariantCulture));

            // Σ_k Δy_t · mean(g) = (w·e_t) S^(p−1) × the trapezoid sum of p α^(p−1), which is 1 + (p − 2)/(2m²) for p ≤ 3 (m = steps).
            var trapezoid = 1 + ((power - 2) / (2.0 * stepsUsed * stepsUsed));
            var expected = PowerOfSum.IntegratedGradients(texts[i], power).Select(s => s * trapezoid);
            e.Scores.Should().Equal(expected, (a, b) => Math.Abs(a - b) <= 1e-5 * Math.Abs(b) + 1e-7);
        }
    }

    [Fact]
    public void A_batch_refines_only_its_unconverged_texts_and_gives_each_text_its_own_result()
    {
        // A random tiny BERT: texts need different levels, so later levels run on a subset of the batch.
        using var model = RandomBert();
        var texts = new[] { "2 7 9 11 3", "2 40 3", "2 5 6 7 8 9 10 3", "2 31 17 3" };
        var method = new IntegratedGradients { Adaptive = AdaptiveIntegration.Default with { Tolerance = 1e-3 } };
        var predicted = AllTokens with { Target = Target.Predicted, BatchSize = texts.Length };
        var batch = method.Explain(model, texts, predicted);
        batch.Select(e => e.Setting("steps-used")).Distinct().Should().HaveCountGreaterThan(1, "the test needs texts that stop at different levels");
        batch.Select(e => e.Target).Distinct().Should().HaveCountGreaterThan(1, "the test needs texts explaining different classes");
        for (var i = 0; i < texts.Length; i++)
        {
            var alone = method.Explain(model, [texts[i]], predicted)[0];
            batch[i].Target.Should().Be(alone.Target);
            batch[i].Setting("steps-used").Should().Be(alone.Setting("steps-used"));
            batch[i].Scores.Should().Equal(alone.Scores, (a, b) => Math.Abs(a - b) <= 1e-5 * (1 + Math.Abs(b)));
        }
    }

    [Fact]
    public void Conductance_split_into_groups_by_its_memory_budget_gives_each_text_the_same_result()
    {
        using var model = RandomBert();
        var texts = new[] { "2 7 9 11 3", "2 40 3", "2 5 6 7 8 9 10 3", "2 31 17 3", "2 12 13 3" };
        var options = AllTokens with { Target = Target.Predicted, BatchSize = texts.Length };
        var whole = new LayerConductance { Layer = "bert.encoder.layer.0" }.Explain(model, texts, options);

        // Room for two texts' grid points at the cap: groups of 2, 2 and 1.
        var perText = 8L * 16 * sizeof(float) * 2 * (AdaptiveIntegration.Default.MaxSteps + 1);
        var grouped = new LayerConductance { Layer = "bert.encoder.layer.0", MemoryBudget = 2 * perText }.Explain(model, texts, options);
        whole.Select(e => e.Setting("steps-used")).Distinct().Should().HaveCountGreaterThan(1, "the texts should stop at different levels");
        for (var i = 0; i < texts.Length; i++)
        {
            grouped[i].Setting("steps-used").Should().Be(whole[i].Setting("steps-used"));
            grouped[i].Target.Should().Be(whole[i].Target);
            grouped[i].Scores.Should().Equal(whole[i].Scores, (a, b) => Math.Abs(a - b) <= 1e-5 * (1 + Math.Abs(b)));
            grouped[i].ConvergenceDelta!.Value.Should().BeApproximately(whole[i].ConvergenceDelta!.Value, 1e-5);
        }
    }

    [Fact]
    public void Adaptive_integrated_gradients_on_a_random_bert_is_within_the_tolerance_of_300_steps()
    {
        using var model = RandomBert();
        var texts = new[] { "2 7 9 11 3", "2 40 3", "2 5 6 7 8 9 10 3", "2 31 17 3" };
        var adaptive = new IntegratedGradients().Explain(model, texts, AllTokens);
        var reference = new IntegratedGradients { Steps = 300 }.Explain(model, texts, AllTokens);
        for (var i = 0; i < texts.Length; i++)
        {
            var difference = Math.Sqrt(adaptive[i].Scores.Zip(reference[i].Scores, (a, b) => (a - b) * (a - b)).Sum());
            var norm = Math.Sqrt(reference[i].Scores.Sum(s => s * s));
            (difference / norm).Should().BeLessThan(1e-2);
            int.Parse(adaptive[i].Setting("gradient-evaluations")!, CultureInfo.InvariantCulture).Should().BeLessThan(300);
        }
    }

    [Fact]
    public void Smoothgrad_over_adaptive_integrated_gradients_reports_each_noisy_copy_s_steps()
    {
        // Noise on the embeddings changes S but not the integrand's degree: every copy of F = S⁴ stops at 8 points
        // after 4 + 8 evaluations, as the noiseless text does (Integrated_gradients_stops_at_the_first_level…).
        using var model = PowerOfSum.Classifier(4);
        var inner = new IntegratedGradients { Baseline = Baseline.Zero, Adaptive = AdaptiveIntegration.Default with { Tolerance = 1e-4 } };
        var explanations = new NoiseTunnel(inner) { Samples = 3 }.Explain(model, ["1 2", "4 5 6"], AllTokens);
        foreach (var e in explanations)
        {
            e.Setting("inner.steps").Should().Be("adaptive");
            e.Setting("inner.steps-used").Should().Be("8");
            e.Setting("inner.steps-used-per-copy").Should().Be("8 8 8");
            e.Setting("inner.gradient-evaluations").Should().Be("36", "3 copies × (4 + 8) gradient evaluations");
            e.Notes.Should().BeEmpty();
        }

        var fixedSteps = new NoiseTunnel(new IntegratedGradients { Baseline = Baseline.Zero, Steps = 8 }) { Samples = 2 }.Explain(model, ["1 2"], AllTokens)[0];
        fixedSteps.Notes.Should().BeEmpty();
        fixedSteps.Setting("inner.steps").Should().Be("8");
        fixedSteps.Setting("inner.steps-used-per-copy").Should().BeNull("a fixed step count is the same for every copy and already recorded");
    }

    [Fact]
    public void Smoothgrad_reports_the_most_steps_any_copy_used_and_every_copy_s_evaluations()
    {
        // A random tiny BERT, where noisy copies of one text stop at different levels. Gauss–Legendre levels 4, 8, 16, …
        // are not nested: stopping at level L costs 4 + 8 + … + L = 2L − 4 gradient evaluations.
        using var model = RandomBert();
        var method = new NoiseTunnel(new IntegratedGradients { Adaptive = AdaptiveIntegration.Default with { Tolerance = 1e-3 } }) { Samples = 6 };
        var explanations = method.Explain(model, ["2 7 9 11 3", "2 5 6 7 8 9 10 3"], AllTokens with { Target = Target.Predicted });
        var perCopy = explanations.Select(e => e.Setting("inner.steps-used-per-copy")!.Split(' ').Select(int.Parse).ToArray()).ToArray();
        perCopy.Should().Contain(steps => steps.Distinct().Count() > 1, "the test needs copies that stop at different levels");
        for (var i = 0; i < explanations.Count; i++)
        {
            perCopy[i].Should().HaveCount(6).And.OnlyContain(s => s == 4 || s == 8 || s == 16 || s == 32 || s == 64 || s == 128 || s == 256);
            explanations[i].Setting("inner.steps-used").Should().Be(perCopy[i].Max().ToString(CultureInfo.InvariantCulture));
            explanations[i].Setting("inner.gradient-evaluations").Should().Be(perCopy[i].Sum(s => (2 * s) - 4).ToString(CultureInfo.InvariantCulture));
        }
    }

    [Fact]
    public void Smoothgrad_over_adaptive_integrated_gradients_says_how_many_copies_reached_the_cap()
    {
        // α⁹ needs 5 Gauss–Legendre points: with a cap of 4 every copy stops there (2 + 4 evaluations) short of 1e-4.
        using var model = PowerOfSum.Classifier(10);
        var inner = new IntegratedGradients { Baseline = Baseline.Zero, Adaptive = new AdaptiveIntegration { Tolerance = 1e-4, InitialSteps = 2, MaxSteps = 4 } };
        var e = new NoiseTunnel(inner) { Samples = 3 }.Explain(model, ["1 2 3"], AllTokens)[0];
        e.Setting("inner.steps-used").Should().Be("4");
        e.Setting("inner.steps-used-per-copy").Should().Be("4 4 4");
        e.Setting("inner.gradient-evaluations").Should().Be("18");
        e.Notes.Should().ContainSingle().Which.Should().StartWith("3 of 3 noisy copies reached the step cap (4) before the tolerance; the first: ")
            .And.Contain("step cap (4 steps)");
    }

    [Fact]
    public void Explicit_steps_keep_the_captum_settings_and_add_nothing_per_text()
    {
        using var model = PowerOfSum.Classifier(2);
        var e = new IntegratedGradients { Baseline = Baseline.Zero, Steps = 50 }.Explain(model, ["1 2"], AllTokens)[0];
        e.Setting("steps").Should().Be("50");
        e.Setting("integration").Should().Be("gausslegendre");
        e.Setting("steps-used").Should().BeNull();
        e.Setting("tolerance").Should().BeNull();
    }

    [Theory]
    [InlineData(0.0, 4, 256, "Tolerance")]
    [InlineData(0.6, 4, 256, "Tolerance")]
    [InlineData(double.NaN, 4, 256, "Tolerance")]
    [InlineData(0.01, 1, 256, "InitialSteps")]
    [InlineData(0.01, 4, 6, "MaxSteps")]
    [InlineData(0.01, 4, 20_000, "MaxSteps")]
    public void Settings_out_of_range_are_refused_naming_the_setting(double tolerance, int initial, int max, string name)
    {
        using var model = PowerOfSum.Classifier(2);
        var method = new IntegratedGradients { Adaptive = new AdaptiveIntegration { Tolerance = tolerance, InitialSteps = initial, MaxSteps = max } };
        var act = () => method.Explain(model, ["1 2"], AllTokens);
        act.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be(name);
    }

    [Theory]
    [InlineData(1e-6, 0.0, 4, 10_000)]
    [InlineData(0.5, 1.0, 2, 4)]
    public void Settings_at_their_limits_are_accepted(double tolerance, double absolute, int initial, int max)
    {
        var settings = new AdaptiveIntegration { Tolerance = tolerance, AbsoluteTolerance = absolute, InitialSteps = initial, MaxSteps = max };
        FluentActions.Invoking(settings.Validate).Should().NotThrow();
    }

    [Theory]
    [InlineData(-0.1, "AbsoluteTolerance", "between 0 and 1")]
    [InlineData(1.5, "AbsoluteTolerance", "between 0 and 1")]
    public void An_absolute_tolerance_out_of_range_is_refused(double absolute, string name, string message)
    {
        var act = () => new AdaptiveIntegration { AbsoluteTolerance = absolute }.Validate();
        act.Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == name && e.Message.Contains(message));
    }

    [Fact]
    public void Refusals_say_the_range_and_the_fix()
    {
        FluentActions.Invoking(() => new AdaptiveIntegration { Tolerance = 0.7 }.Validate()).Should().Throw<ArgumentOutOfRangeException>()
            .Which.Message.Should().Contain("between 1e-6 and 0.5");
        FluentActions.Invoking(() => new AdaptiveIntegration { InitialSteps = 1 }.Validate()).Should().Throw<ArgumentOutOfRangeException>()
            .Which.Message.Should().Contain("at least 2 steps");
        FluentActions.Invoking(() => new AdaptiveIntegration { MaxSteps = 10_001 }.Validate()).Should().Throw<ArgumentOutOfRangeException>()
            .Which.Message.Should().Contain("at most 10000");
        FluentActions.Invoking(() => new AdaptiveIntegration { InitialSteps = 5, MaxSteps = 9 }.Validate()).Should().Throw<ArgumentOutOfRangeException>()
            .Which.Message.Should().Contain("(9)").And.Contain("initial 5 steps (at least 10)");
    }

    [Fact]
    public void Explanations_record_the_adaptive_settings()
    {
        using var model = PowerOfSum.Classifier(2);
        var e = new IntegratedGradients { Baseline = Baseline.Zero, Adaptive = new AdaptiveIntegration { Tolerance = 0.05, AbsoluteTolerance = 0.25, InitialSteps = 3, MaxSteps = 48 } }
            .Explain(model, ["1 2"], AllTokens)[0];
        e.Setting("steps").Should().Be("adaptive");
        e.Setting("integration").Should().Be("gausslegendre");
        e.Setting("tolerance").Should().Be("0.05");
        e.Setting("absolute-tolerance").Should().Be("0.25");
        e.Setting("initial-steps").Should().Be("3");
        e.Setting("max-steps").Should().Be("48");
    }

    [Fact]
    public void Adaptive_conductance_refuses_a_rule_it_does_not_refine()
    {
        using var model = PowerOfSum.Classifier(2);
        var method = new LayerConductance { Layer = "projection", Rule = IntegrationRule.RiemannLeft };
        var act = () => method.Explain(model, ["1 2"], AllTokens);
        act.Should().Throw<ArgumentException>().Which.Message.Should().Contain("give a step count");
    }

    [Fact]
    public void Levels_double_from_the_first_up_to_the_cap()
    {
        new AdaptiveIntegration { InitialSteps = 3, MaxSteps = 40 }.Levels().Should().Equal(3, 6, 12, 24);
        AdaptiveIntegration.Default.Levels().Should().Equal(4, 8, 16, 32, 64, 128, 256);
    }

    private static TextClassifier RandomBert() => TransformerTestKit.RandomTinyBertClassifier(2);
}
