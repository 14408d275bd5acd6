using Attribution.Evaluation;
using Attribution.Methods;
using Attribution.Pipeline;
using Attribution.Salience;
using Attribution.Tests.Methods;

namespace Attribution.Tests.Evaluation;

/// <summary>
/// Infidelity's two forms against values worked out by hand on PowerOfSum (no special tokens; pad id 0):
/// logit₀ = S^p, S = Σ_t w·e_t, w = (1, 0.5, −0.3), e_v = (0.1 (v + 1), 0.05 (v mod 3), −0.02 v), so the pad token's
/// embedding is e₀ = (0.1, 0, 0), not 0. The raw form is a = I·Φ; Captum's multiply-by-inputs form
/// (<c>infidelity_perturb_func_decorator(multiply_by_inputs=True)</c>) is a = (I / (x − x′))·Φ, dividing by 1 where
/// x − x′ is 0; both compare a with b = f(x) − f(x − I), INFD = mean_s (a − b)².
/// </summary>
/// <remarks>
/// With p = 1 (linear), b = Σ_t w·I_t exactly, and the exact maps are: gradient Φ_t = w; Gradient × Input Φ_t = x_t ⊙ w;
/// IG from the pad baseline Φ_t = (x_t − e₀) ⊙ w. So the gradient in the raw form and IG and Gradient × Input in the
/// multiply-by-inputs form have a = b (where no component of x − x′ is 0): infidelity 0, while the raw form gives
/// IG and Gradient × Input mean_s (Σ_t I_t·(d_t ⊙ w) − Σ_t w·I_t)², d the map's multiplier, computed below.
/// With p = 2, ∂f/∂e_t = 2S w; with J = Σ_t w·I_t, b = S² − (S − J)² = 2SJ − J². Gradient × Input: a = 2S J, residual −J².
/// IG from the pad baseline: the path's S(α) = S′ + α(S − S′) (S′ = Σ_t w·e₀ = 0.1 n), ∫₀¹ 2 S(α) dα = S + S′, so
/// a = (S + S′) J and the residual is (S′ − S) J + J².
/// </remarks>
public sealed class InfidelityMultiplyByInputsTests
{
    private static readonly double[] W = [(float)1.0, (float)0.5, (float)-0.3];

    private static readonly ExplainOptions Options = new()
    {
        Target = Target.Class(0), KeepRawAttributions = true, Salience = new SalienceOptions { KeepSpecialTokens = true },
    };

    /// <summary>PowerOfSum's embedding of id v, rounded to float32 as the model holds it.</summary>
    private static double[] E(int v) => [(float)(0.1 * (v + 1)), (float)(0.05 * (v % 3)), (float)(-0.02 * v)];

    private static double Dot(double[] u, double[] v) => u.Zip(v, (p, q) => p * q).Sum();

    /// <summary>Two explicit perturbations of a text of <paramref name="n"/> tokens (3 values each), times <paramref name="scale"/>.</summary>
    private static List<double[][]> Perturbations(int n, double scale = 1) =>
    [
        [.. Enumerable.Range(0, n).Select(t => new[] { 0.01 * (t + 1) * scale, -0.02 * scale, 0.015 * scale })],
        [.. Enumerable.Range(0, n).Select(t => new[] { -0.03 * scale, 0.01 * (t % 2 == 0 ? 1 : -1) * scale, 0.02 * (t + 1) * scale })],
    ];

    /// <summary>mean_s (Σ_t I_t·(d_t ⊙ w) − Σ_t w·I_t)²: the raw form of a linear model's map d_t ⊙ w.</summary>
    private static double RawOfMultiplied(int[] ids, Func<int, double[]> multiplier, List<double[][]> perturbations) => perturbations.Average(p =>
    {
        var a = ids.Select((v, t) => Dot(p[t], multiplier(v).Zip(W, (d, w) => d * w).ToArray())).Sum();
        var b = ids.Select((_, t) => Dot(p[t], W)).Sum();
        return (a - b) * (a - b);
    });

    [Fact]
    public void On_a_linear_model_maps_multiplied_by_the_input_have_infidelity_zero_in_captums_form_and_a_hand_computed_value_in_the_raw_form()
    {
        // Tolerances: f(x) − f(x − I) is a difference of float32 logits of order 1 (error about 1e-7), and IG's
        // quadrature weights sum to 1 within float32 rounding, so an exact form leaves a residual below about 1e-6:
        // squared, below 1e-11. The raw values (about 1e-4 to 1e-3) are within 1e-4 relative (float32 maps and logits).
        const string Text = "1 2 4 5";
        int[] ids = [1, 2, 4, 5];
        var perturbations = Perturbations(4);
        using var model = PowerOfSum.Classifier(1);
        var gradient = new Gradient().Explain(model, Text, Options);
        var gxi = new GradientXInput().Explain(model, Text, Options);
        var ig = new IntegratedGradients().Explain(model, Text, Options);
        InfidelitySettings Form(bool? multiply) => new() { Perturbations = perturbations, MultiplyByInputs = multiply };

        // Decided from the explanation (MultiplyByInputs null).
        var gradientValue = Infidelity.Compute(model, gradient, Form(null));
        gradientValue.Value.Should().BeApproximately(0, 1e-11);
        gradientValue.Parameters.Should().Contain(new KeyValuePair<string, string>("multiply-by-inputs", "false"));
        var gxiValue = Infidelity.Compute(model, gxi, Form(null));
        gxiValue.Value.Should().BeApproximately(0, 1e-11);
        gxiValue.Parameters.Should().Contain(new KeyValuePair<string, string>("baseline", "zero"));
        var igValue = Infidelity.Compute(model, ig, Form(null));
        igValue.Value.Should().BeApproximately(0, 1e-11, "x' is the pad token's embedding (0.1, 0, 0) per position; taking x' = 0 would leave a residual");
        igValue.Parameters.Should().Contain(new KeyValuePair<string, string>("multiply-by-inputs", "true")).And.Contain(new KeyValuePair<string, string>("baseline", "pad"));
        igValue.Definition.Should().Contain("(I_s / (x - x')).phi");

        // The raw form, by hand.
        var rawGxi = RawOfMultiplied(ids, E, perturbations);
        var rawIg = RawOfMultiplied(ids, v => E(v).Zip(E(0), (x, b) => x - b).ToArray(), perturbations);
        rawIg.Should().BeGreaterThan(1e-5, "the exact map scores worse than the gradient in the raw form");
        Infidelity.Compute(model, gxi, Form(false)).Value.Should().BeApproximately(rawGxi, 1e-4 * rawGxi);
        Infidelity.Compute(model, ig, Form(false)).Value.Should().BeApproximately(rawIg, 1e-4 * rawIg);

        // IG made with multiply-by-inputs false is local (Φ_t ≈ w): the raw form, 0 here.
        var localIg = new IntegratedGradients { MultiplyByInputs = false }.Explain(model, Text, Options);
        var local = Infidelity.Compute(model, localIg, Form(null));
        local.Value.Should().BeApproximately(0, 1e-11);
        local.Parameters.Should().Contain(new KeyValuePair<string, string>("multiply-by-inputs", "false"));
    }

    [Fact]
    public void Where_x_minus_the_baseline_is_zero_the_perturbation_is_divided_by_one_as_captums_safe_div()
    {
        // Token 3's second value is 0.05 (3 mod 3) = 0, as is the pad embedding's: x − x′ = 0 there, IG's Φ is 0 there,
        // and Captum divides I by 1. So a misses I·w at that component only: residual −0.5 I_{0,1}, by hand.
        // Tolerance as above: the residual's float32 error is about 1e-7, its square's below 1e-9 relative to 2.5e-5.
        using var model = PowerOfSum.Classifier(1);
        var ig = new IntegratedGradients().Explain(model, "3 1", Options);
        double[][] perturbation = [[0.004, 0.01, -0.02], [0.03, 0.02, 0.01]];
        var value = Infidelity.Compute(model, ig, new InfidelitySettings { Perturbations = [perturbation] }).Value;
        value.Should().BeApproximately(Math.Pow(0.5 * 0.01, 2), 1e-9);
    }

    [Fact]
    public void On_a_square_of_a_sum_the_multiply_by_inputs_form_leaves_the_closed_form_residuals()
    {
        // p = 2 (see the class remarks): Gradient × Input residual −J², IG from pad (S′ − S) J + J². Perturbations ten
        // times the linear test's, so J is about 0.4 and the residuals about 0.1 to 0.6, far above the float32 error of
        // the logits (S² is about 3.3, error about 3e-7): tolerance 1e-4 relative.
        const string Text = "1 2 4 5";
        int[] ids = [1, 2, 4, 5];
        var perturbations = Perturbations(4, scale: 10);
        using var model = PowerOfSum.Classifier(2);
        var s = ids.Sum(v => Dot(E(v), W));
        var sPad = ids.Length * Dot(E(0), W);
        var js = perturbations.Select(p => ids.Select((_, t) => Dot(p[t], W)).Sum()).ToArray();

        var gxiExpected = js.Average(j => Math.Pow(j * j, 2));
        var gxi = Infidelity.Compute(model, new GradientXInput().Explain(model, Text, Options), new InfidelitySettings { Perturbations = perturbations });
        gxi.Value.Should().BeApproximately(gxiExpected, 1e-4 * gxiExpected);

        var igExpected = js.Average(j => Math.Pow(((sPad - s) * j) + (j * j), 2));
        var ig = Infidelity.Compute(model, new IntegratedGradients().Explain(model, Text, Options), new InfidelitySettings { Perturbations = perturbations });
        ig.Value.Should().BeApproximately(igExpected, 1e-4 * igExpected);
    }

    [Fact]
    public void Smoothgrad_takes_the_form_of_the_method_it_wraps()
    {
        // Captum's NoiseTunnel multiplies by inputs exactly when its inner method does. SmoothGrad of the gradient on the
        // linear model is w at every noisy copy: the raw form, 0 (tolerance as in the linear test above).
        using var model = PowerOfSum.Classifier(1);
        var settings = new InfidelitySettings { Perturbations = Perturbations(2) };
        var smoothGradient = Infidelity.Compute(model, new NoiseTunnel(new Gradient()) { Samples = 3 }.Explain(model, "1 2", Options), settings);
        smoothGradient.Value.Should().BeApproximately(0, 1e-11);
        smoothGradient.Parameters.Should().Contain(new KeyValuePair<string, string>("multiply-by-inputs", "false"));
        var smoothGxi = Infidelity.Compute(model, new NoiseTunnel(new GradientXInput()) { Samples = 3 }.Explain(model, "1 2", Options), settings);
        smoothGxi.Parameters.Should().Contain(new KeyValuePair<string, string>("multiply-by-inputs", "true")).And.Contain(new KeyValuePair<string, string>("baseline", "zero"));
    }

    [Fact]
    public void A_form_that_cannot_be_decided_or_a_baseline_not_recorded_is_refused_naming_the_fix()
    {
        using var model = PowerOfSum.Classifier(1);
        var perturbations = Perturbations(2);
        var gxi = new GradientXInput().Explain(model, "1 2", Options);
        var custom = gxi with { Kind = MethodKind.Custom, Method = "mine" };
        FluentActions.Invoking(() => Infidelity.Compute(model, custom, new InfidelitySettings { Perturbations = perturbations }))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "settings")
            .WithMessage("infidelity cannot tell whether the map of 'mine'*MultiplyByInputs is null*set MultiplyByInputs = true*");

        // Told, the user method's map is divided by x (x' = 0, as Captum without baselines): it is G×I's map, so 0.
        Infidelity.Compute(model, custom, new InfidelitySettings { Perturbations = perturbations, MultiplyByInputs = true }).Value
            .Should().BeApproximately(0, 1e-11);

        var shap = new GradientShap().Explain(model, "1 2", Options);
        FluentActions.Invoking(() => Infidelity.Compute(model, shap, new InfidelitySettings { Perturbations = perturbations }))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "settings")
            .WithMessage("*gradient-shap multiplies by x - x' for 2 baselines (pad,zero)*");

        var customIds = new IntegratedGradients { Baseline = Baseline.FromIds([0, 0]) }.Explain(model, "1 2", Options);
        FluentActions.Invoking(() => Infidelity.Compute(model, customIds, new InfidelitySettings { Perturbations = perturbations }))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "explanation")
            .WithMessage("*the explanation's baseline is 'custom-ids', which it does not record*MultiplyByInputs = false*");
        Infidelity.Compute(model, customIds, new InfidelitySettings { Perturbations = perturbations, MultiplyByInputs = false }).Value
            .Should().BeGreaterThan(0);
    }
}
