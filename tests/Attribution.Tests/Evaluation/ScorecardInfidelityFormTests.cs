using Attribution.Evaluation;
using Attribution.Methods;
using Attribution.Models;

namespace Attribution.Tests.Evaluation;

/// <summary>
/// The scorecard's infidelity column per method and per <see cref="InfidelitySettings.MultiplyByInputs"/>, against
/// values worked out by hand on a model where infidelity has a closed form.
/// </summary>
/// <remarks>
/// The model: logit₀ = Σ_t x_t over every token ([CLS] and [SEP] included), logit₁ = 0, x_t the one-dimensional word
/// embedding of token t. So f(x) − f(x − I) = Σ_t I_t exactly, ∂f/∂x_t = 1, and the exact maps are: gradient Φ_t = 1;
/// SmoothGrad of the gradient Φ_t = 1 at every noisy copy; Gradient × Input and LRP-ε (no layer with a rule that
/// rewrites the gradient) Φ_t = x_t; integrated gradients and
/// conductance at the word embeddings from the pad baseline Φ_t = x_t − x′_t, where x′ keeps [CLS] and [SEP] (Φ = 0
/// there) and puts the [PAD] embedding c = 0.25 (not 0) at every word. Every table value is a multiple of 1/16, exact
/// in float32, and no word's value equals c, so x − x′ is 0 exactly at [CLS] and [SEP].
/// <para>
/// Infidelity (Captum) is mean_s (a_s − b_s)², b_s = Σ_t I_s,t; a_s = Σ_t I_s,t Φ_t in the raw form and
/// Σ_t (I_s,t / (x_t − x′_t)) Φ_t in the multiply-by-inputs form (dividing by 1 where x_t − x′_t = 0). Hence, with x′ = 0
/// for Gradient × Input and LRP-ε: a = Σ_t I_t, infidelity 0; with the pad baseline for IG and conductance: a = Σ over
/// the words of I_t (the special tokens' Φ is 0), so the residual is −(I_[CLS] + I_[SEP]), nonzero because the given
/// perturbations move the special tokens too. The raw form of a map d_t gives (Σ_t I_t (d_t − 1))², and the gradient
/// taken as multiplied by the input (x′ = 0) gives (Σ_t I_t / x_t − Σ_t I_t)².
/// </para>
/// </remarks>
public sealed class ScorecardInfidelityFormTests : IDisposable
{
    private const double Pad = 0.25;

    private static readonly Dictionary<string, double> Table = new(StringComparer.Ordinal)
    {
        ["[PAD]"] = Pad, ["[CLS]"] = 0.125, ["[SEP]"] = 0.0625,
        ["good"] = 0.5, ["dull"] = -0.125, ["fine"] = 0.375, ["nice"] = 0.75,
    };

    private static readonly string[] Vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "dull", "fine", "good", "nice"];

    private const string Text = "good dull fine nice";

    /// <summary>x_t of [CLS] good dull fine nice [SEP] (sum 1.6875 &gt; 0: class 0 is predicted and explained).</summary>
    private static readonly double[] X = [0.125, 0.5, -0.125, 0.375, 0.75, 0.0625];

    /// <summary>x′_t of the pad baseline: [CLS] and [SEP] kept, [PAD] elsewhere.</summary>
    private static readonly double[] PadBaseline = [0.125, Pad, Pad, Pad, Pad, 0.0625];

    /// <summary>Two given perturbations, one value per token (the embedding is one-dimensional), the special tokens moved too.</summary>
    private static readonly double[][] I = [[0.04, 0.02, -0.01, 0.03, 0.015, 0.02], [-0.02, 0.01, 0.025, -0.015, 0.01, 0.03]];

    private readonly string root = Directory.CreateTempSubdirectory("attribution-scorecard-infidelity-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private TextClassifier Model() => SummedEmbeddingModel.Classifier(root, "sum", Vocabulary, Table, ["yes", "no"], maxLength: 16);

    /// <summary>mean_s (a_s − b_s)², a_s = Σ_t I_s,t · weight_t, b_s = Σ_t I_s,t.</summary>
    private static double Infidelity(Func<int, double> weight) => I.Average(p =>
    {
        var a = p.Select((v, t) => v * weight(t)).Sum();
        var b = p.Sum();
        return (a - b) * (a - b);
    });

    private static ScorecardReport Run(TextClassifier model, bool? multiplyByInputs) =>
        Scorecard.Run(model, [Text],
            [new Gradient(), new GradientXInput(), new LrpEpsilon(), new LayerConductance { Layer = "embeddings" }, new IntegratedGradients(), new NoiseTunnel(new Gradient()) { Samples = 3 }],
            settings: new ScorecardSettings
            {
                Infidelity = new InfidelitySettings { Perturbations = [.. I.Select(p => p.Select(v => new[] { v }).ToArray())], MultiplyByInputs = multiplyByInputs },
                Sensitivity = new SensitivitySettings { Samples = 2 },
            });

    private static double Value(ScorecardReport report, string method)
    {
        var row = report.Rows.Single(r => r.Method == method);
        row.Metrics.Should().ContainKey("infidelity", $"{method} attributes to the word embeddings (notes: {string.Join("; ", row.Notes)})");
        return row.Metrics["infidelity"];
    }

    [Fact]
    public void The_scorecard_takes_each_methods_form_or_the_one_it_is_told_with_the_hand_computed_values()
    {
        // Tolerances: b is a difference of float32 logits of order 2 (error a few 1e-7), and IG's quadrature weights and
        // conductance's path sum to 1 within float32 rounding, so a residual is within about 1e-6 of its value; residuals
        // here are at most about 0.75, so their squares are within about 2e-6: tolerance 1e-5 (absolute). The hand values
        // the forms are told apart by (1.8e-3 to 0.28) differ from each other and from 0 by more than 1e-3.
        using var model = Model();
        var specials = I.Average(p => Math.Pow(p[0] + p[5], 2));
        var multipliedRaw = Infidelity(t => X[t]);
        var pathRaw = Infidelity(t => X[t] - PadBaseline[t]);
        var gradientAsMultiplied = Infidelity(t => 1 / X[t]);
        var pathFromZero = Infidelity(t => (X[t] - PadBaseline[t]) / X[t]);
        double[] distinct = [specials, multipliedRaw, pathRaw, gradientAsMultiplied, pathFromZero];
        distinct.Should().OnlyContain(v => v > 1e-3, "each form's hand value is far from the exact 0");
        distinct.SelectMany((v, i) => distinct.Skip(i + 1).Select(w => Math.Abs(v - w))).Should().OnlyContain(d => d > 1e-3, "the forms are told apart");

        // Decided per method (MultiplyByInputs null): the gradient and SmoothGrad of it raw (0); Gradient × Input and
        // LRP-ε divided by x (0); conductance and IG divided by x − pad (the special tokens' residual). LRP-ε and
        // SmoothGrad are no LayerMethod, and conductance names its layer (it has no default), here the word embeddings:
        // all three attribute to the word embeddings and get the column.
        var decided = Run(model, null);
        Value(decided, "gradient").Should().BeApproximately(0, 1e-5);
        Value(decided, "smoothgrad").Should().BeApproximately(0, 1e-5);
        Value(decided, "gradient-x-input").Should().BeApproximately(0, 1e-5);
        Value(decided, "lrp-epsilon").Should().BeApproximately(0, 1e-5, "LRP-epsilon is multiplied by the input, x' = 0");
        Value(decided, "conductance").Should().BeApproximately(specials, 1e-5, "conductance divides by x - x', x' its pad baseline");
        Value(decided, "integrated-gradients").Should().BeApproximately(specials, 1e-5);

        // Told false: every map with the raw perturbation.
        var raw = Run(model, false);
        Value(raw, "gradient").Should().BeApproximately(0, 1e-5);
        Value(raw, "smoothgrad").Should().BeApproximately(0, 1e-5);
        Value(raw, "gradient-x-input").Should().BeApproximately(multipliedRaw, 1e-5);
        Value(raw, "lrp-epsilon").Should().BeApproximately(multipliedRaw, 1e-5);
        Value(raw, "conductance").Should().BeApproximately(pathRaw, 1e-5);
        Value(raw, "integrated-gradients").Should().BeApproximately(pathRaw, 1e-5);

        // Told true: every map divided by x − x′, x′ the method's recorded baseline (pad for conductance and IG), else 0
        // (the gradient, a map not multiplied by the input, then misses by Σ I/x − Σ I).
        var multiplied = Run(model, true);
        Value(multiplied, "gradient").Should().BeApproximately(gradientAsMultiplied, 1e-5);
        Value(multiplied, "smoothgrad").Should().BeApproximately(gradientAsMultiplied, 1e-5);
        Value(multiplied, "gradient-x-input").Should().BeApproximately(0, 1e-5);
        Value(multiplied, "lrp-epsilon").Should().BeApproximately(0, 1e-5);
        Value(multiplied, "conductance").Should().BeApproximately(specials, 1e-5, "x' is conductance's pad baseline, not 0 (that would give the pathFromZero value)");
        Value(multiplied, "integrated-gradients").Should().BeApproximately(specials, 1e-5);

        foreach (var report in new[] { decided, raw, multiplied })
        {
            report.Rows.Should().OnlyContain(r => !r.Notes.Any(n => n.StartsWith("infidelity", StringComparison.Ordinal)));
        }
    }
}
