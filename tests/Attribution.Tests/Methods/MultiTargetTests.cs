using Attribution.Methods;
using Attribution.Methods.Lrp;
using Attribution.Models;
using Attribution.Salience;
using TorchSharp;
using static TorchSharp.torch;
using Xunit.Abstractions;

namespace Attribution.Tests.Methods;

/// <summary>
/// Every class, not only the predicted one. On the golden MLP (Linear 48→32, ReLU, Linear 32→16, ReLU, Linear 16→3)
/// the test computes Gradient, Gradient × Input and Integrated Gradients (zero baseline) for each of the 3 classes
/// itself in float64 — explicit forward, analytic gradient Wᵀ(mask ⊙ …), and IG in closed form on the piecewise-linear
/// path — and compares the library's attributors run with <see cref="Target.Class"/>. On sst2-bert-tiny a batch whose
/// texts get different targets in one call must give, row by row, what each text gives alone (catches targets mixed
/// up across rows, or lost when the batch is reordered by length).
/// </summary>
public sealed class MultiTargetTests(ITestOutputHelper output)
{
    private static readonly ExplainOptions Raw = new() { KeepRawAttributions = true, Salience = new SalienceOptions { KeepSpecialTokens = true } };

    /// <summary>The golden MLP in float64: weights [out, in] and biases, read from the stored float32 tensors.</summary>
    private sealed class Mlp
    {
        public Mlp(IReadOnlyDictionary<string, Tensor> state)
        {
            Layers = new[] { "0", "2", "4" }.Select(k => (Matrix(state[k + ".weight"]), state[k + ".bias"].to(ScalarType.Float64).data<double>().ToArray())).ToArray();
        }

        public (double[,] W, double[] B)[] Layers { get; }

        private static double[,] Matrix(Tensor t)
        {
            var v = t.to(ScalarType.Float64).data<double>().ToArray();
            var m = new double[t.size(0), t.size(1)];
            for (var i = 0; i < m.GetLength(0); i++)
            {
                for (var j = 0; j < m.GetLength(1); j++)
                {
                    m[i, j] = v[(i * m.GetLength(1)) + j];
                }
            }

            return m;
        }

        private static double[] Affine((double[,] W, double[] B) layer, double[] x) =>
            Enumerable.Range(0, layer.B.Length).Select(i =>
            {
                var s = layer.B[i];
                for (var j = 0; j < x.Length; j++)
                {
                    s += layer.W[i, j] * x[j];
                }

                return s;
            }).ToArray();

        /// <summary>Pre-activations of every layer (the last one is the logits).</summary>
        public double[][] Forward(double[] x)
        {
            var z = new double[Layers.Length][];
            var a = x;
            for (var l = 0; l < Layers.Length; l++)
            {
                z[l] = Affine(Layers[l], a);
                a = z[l].Select(v => Math.Max(0, v)).ToArray();
            }

            return z;
        }

        /// <summary>∂ logit_k / ∂ x with the ReLU masks of the point <paramref name="x"/> (derivative 0 at 0, as torch).</summary>
        public double[] Gradient(double[] x, int k)
        {
            var z = Forward(x);
            var g = new double[Layers[^1].B.Length];
            g[k] = 1;
            for (var l = Layers.Length - 1; l >= 0; l--)
            {
                if (l < Layers.Length - 1)
                {
                    g = g.Select((v, i) => z[l][i] > 0 ? v : 0).ToArray();
                }

                var w = Layers[l].W;
                var below = new double[w.GetLength(1)];
                for (var j = 0; j < below.Length; j++)
                {
                    for (var i = 0; i < g.Length; i++)
                    {
                        below[j] += w[i, j] * g[i];
                    }
                }

                g = below;
            }

            return g;
        }

        /// <summary>
        /// Integrated Gradients from the zero baseline, exact: on the path αx every hidden pre-activation is piecewise
        /// affine in α, so the gradient is piecewise constant. The breakpoints are the zeros of the first layer's
        /// pre-activations (affine in α), then, inside each segment between them, the zeros of the second layer's
        /// (affine there); the integral is Σ segment length × gradient at the segment's midpoint.
        /// </summary>
        public double[] ExactIntegratedGradients(double[] x, int k, out int breakpoints)
        {
            double[] At(double alpha) => x.Select(v => alpha * v).ToArray();
            var cuts = new List<double> { 0, 1 };
            foreach (var root in Roots(alpha => Forward(At(alpha))[0], 0, 1))
            {
                cuts.Add(root);
            }

            cuts.Sort();
            var second = new List<double>();
            for (var s = 0; s + 1 < cuts.Count; s++)
            {
                // Inside (cuts[s], cuts[s+1]) the first layer's mask is fixed: the second layer's pre-activation is the
                // affine function through its values at the ends computed with that mask.
                var (lo, hi) = (cuts[s], cuts[s + 1]);
                var mask = Forward(At(0.5 * (lo + hi)))[0].Select(v => v > 0).ToArray();
                double[] Second(double alpha)
                {
                    var first = Affine(Layers[0], At(alpha)).Select((v, i) => mask[i] ? v : 0).ToArray();
                    return Affine(Layers[1], first);
                }

                second.AddRange(Roots(Second, lo, hi));
            }

            cuts.AddRange(second);
            cuts.Sort();
            breakpoints = cuts.Count - 2;
            var integral = new double[x.Length];
            for (var s = 0; s + 1 < cuts.Count; s++)
            {
                var length = cuts[s + 1] - cuts[s];
                if (length <= 0)
                {
                    continue;
                }

                var g = Gradient(At(0.5 * (cuts[s] + cuts[s + 1])), k);
                for (var j = 0; j < x.Length; j++)
                {
                    integral[j] += length * g[j];
                }
            }

            return integral.Select((v, j) => v * x[j]).ToArray();
        }

        /// <summary>The α in (lo, hi) where a component of an affine vector function crosses zero.</summary>
        private static IEnumerable<double> Roots(Func<double, double[]> affine, double lo, double hi)
        {
            var (a, b) = (affine(lo), affine(hi));
            for (var i = 0; i < a.Length; i++)
            {
                if (Math.Sign(a[i]) * Math.Sign(b[i]) < 0)
                {
                    yield return lo + ((hi - lo) * a[i] / (a[i] - b[i]));
                }
            }
        }
    }

    /// <summary>Gauss–Legendre nodes and weights on [0, 1], by Newton's method on Pₙ (the test's own, not the library's table).</summary>
    private static (double Alpha, double Weight)[] GaussLegendre(int n)
    {
        var result = new (double, double)[n];
        for (var i = 0; i < n; i++)
        {
            var x = Math.Cos(Math.PI * (i + 0.75) / (n + 0.5));
            double derivative = 0;
            for (var iteration = 0; iteration < 100; iteration++)
            {
                double p0 = 1, p1 = x;
                for (var k = 2; k <= n; k++)
                {
                    (p0, p1) = (p1, (((2 * k) - 1) * x * p1 - ((k - 1) * p0)) / k);
                }

                var p = n == 1 ? x : p1;
                var previous = n == 1 ? 1 : p0;
                derivative = n * ((x * p) - previous) / ((x * x) - 1);
                var step = p / derivative;
                x -= step;
                if (Math.Abs(step) < 1e-16)
                {
                    break;
                }
            }

            result[i] = (0.5 * (1 + x), 1 / ((1 - (x * x)) * derivative * derivative));
        }

        return result;
    }

    private static double[] RawOf(Explanation e) => e.RawAttributions!.Single().Select(v => (double)v).ToArray();

    /// <summary>
    /// Gradient and Gradient × Input for every class of every case: the library (float32) against the analytic gradient
    /// in float64. Tolerance 1e-5 relative L2: a float32 product of three weight matrices carries ~1e-7 relative
    /// rounding per entry; 1e-5 leaves margin yet is far below what a wrong class (other numbers entirely) or a wrong
    /// mask would give. The logits and the target reported must be the class asked for, to 1e-5 (float32).
    /// </summary>
    [SkippableFact]
    public void Gradient_and_gradient_x_input_match_float64_for_every_class()
    {
        using var scope = NewDisposeScope();
        using var golden = GoldenMlp.Load();
        var mlp = new Mlp(golden.State);
        double worstGradient = 0, worstGxI = 0;
        var negative = 0;
        for (var k = 0; k < 3; k++)
        {
            var options = Raw with { Target = Target.Class(k) };
            var gradient = new Gradient().Explain(golden.Classifier, golden.Texts, options);
            var gxi = new GradientXInput().Explain(golden.Classifier, golden.Texts, options);
            for (var c = 0; c < golden.Rows.Length; c++)
            {
                var x = golden.Rows[c].Select(v => (double)(float)v).ToArray();
                var logits = mlp.Forward(x)[^1];
                negative += logits[k] < 0 ? 1 : 0;
                var expected = mlp.Gradient(x, k);
                foreach (var e in new[] { gradient[c], gxi[c] })
                {
                    e.Target.Should().Be(k);
                    e.Logits.Should().Equal(logits, (a, b) => Math.Abs(a - b) < 1e-5);
                }

                var errGradient = Golden.RelativeL2(RawOf(gradient[c]), expected);
                gradient[c].Scores.Single().Should().BeApproximately(Math.Sqrt(expected.Sum(v => v * v)), 1e-5 * Math.Sqrt(expected.Sum(v => v * v)), "the L2 norm");
                var expectedGxI = expected.Select((g, j) => g * x[j]).ToArray();
                var errGxI = Golden.RelativeL2(RawOf(gxi[c]), expectedGxI);
                gxi[c].Scores.Single().Should().BeApproximately(expectedGxI.Sum(), 1e-5 * expectedGxI.Sum(Math.Abs));
                errGradient.Should().BeLessThanOrEqualTo(1e-5, $"gradient, case {c}, class {k}");
                errGxI.Should().BeLessThanOrEqualTo(1e-5, $"gradient × input, case {c}, class {k}");
                worstGradient = Math.Max(worstGradient, errGradient);
                worstGxI = Math.Max(worstGxI, errGxI);
            }
        }

        output.WriteLine($"worst relative L2: gradient {worstGradient:E2}, gradient × input {worstGxI:E2}; {negative} of 12 (case, class) pairs have a negative logit");
        negative.Should().BeGreaterThan(0, "negative logits must be among the targets");
    }

    /// <summary>
    /// Integrated Gradients, zero baseline, every class: (1) the test's exact closed form satisfies completeness
    /// (Σ IG = logit(x) − logit(0)) to 1e-12 — a check that no breakpoint was missed; (2) the library's Gauss–Legendre
    /// 50-point IG equals the test's own float64 Gauss–Legendre 50-point sum (nodes by Newton's method) to 1e-5
    /// relative L2 (float32 against float64 on the same quadrature), and its convergence delta equals that sum's
    /// completeness gap to 1e-5 absolute (logits ~0.1–0.4, float32); (3) the library with 2,000 midpoint steps is
    /// within 1e-3 relative L2 of the exact integral: the integrand is piecewise constant, and each of the path's
    /// breakpoints costs the midpoint rule at most |jump| · h / 2 with h = 1/2000 (the measured errors are printed).
    /// </summary>
    [SkippableFact]
    public void Integrated_gradients_match_the_exact_path_integral_for_every_class()
    {
        using var scope = NewDisposeScope();
        using var golden = GoldenMlp.Load();
        var mlp = new Mlp(golden.State);
        var nodes = GaussLegendre(50);
        nodes.Sum(n => n.Weight).Should().BeApproximately(1, 1e-13);
        double worstGl = 0, worstExact = 0, worstDelta = 0, worstGlVsExact = 0;
        for (var k = 0; k < 3; k++)
        {
            var options = Raw with { Target = Target.Class(k) };
            var gl = new IntegratedGradients { Baseline = Baseline.Zero, Rule = IntegrationRule.GaussLegendre, Steps = 50 }.Explain(golden.Classifier, golden.Texts, options);
            var fine = new IntegratedGradients { Baseline = Baseline.Zero, Rule = IntegrationRule.RiemannMiddle, Steps = 2000, InternalBatchSize = 1000 }
                .Explain(golden.Classifier, golden.Texts, options);
            for (var c = 0; c < golden.Rows.Length; c++)
            {
                var x = golden.Rows[c].Select(v => (double)(float)v).ToArray();
                var gain = mlp.Forward(x)[^1][k] - mlp.Forward(new double[x.Length])[^1][k];
                var exact = mlp.ExactIntegratedGradients(x, k, out var breakpoints);
                exact.Sum().Should().BeApproximately(gain, 1e-12, $"completeness of the closed form, case {c}, class {k}");

                var quadrature = new double[x.Length];
                foreach (var (alpha, weight) in nodes)
                {
                    var g = mlp.Gradient(x.Select(v => alpha * v).ToArray(), k);
                    for (var j = 0; j < x.Length; j++)
                    {
                        quadrature[j] += weight * g[j] * x[j];
                    }
                }

                gl[c].Target.Should().Be(k);
                fine[c].Target.Should().Be(k);
                var errGl = Golden.RelativeL2(RawOf(gl[c]), quadrature);
                var errDelta = Math.Abs(gl[c].ConvergenceDelta!.Value - (quadrature.Sum() - gain));
                var errExact = Golden.RelativeL2(RawOf(fine[c]), exact);
                var glVsExact = Golden.RelativeL2(quadrature, exact);
                output.WriteLine($"case {c} class {k}: gain {gain:F6}, {breakpoints} breakpoints; library GL-50 vs own GL-50 {errGl:E2}, delta error {errDelta:E2}; " +
                                 $"library midpoint-2000 vs exact {errExact:E2}; (own GL-50 vs exact {glVsExact:E2})");
                errGl.Should().BeLessThanOrEqualTo(1e-5, $"GL-50, case {c}, class {k}");
                errDelta.Should().BeLessThanOrEqualTo(1e-5, $"GL-50 delta, case {c}, class {k}");
                errExact.Should().BeLessThanOrEqualTo(1e-3, $"midpoint-2000 vs exact, case {c}, class {k}");
                (worstGl, worstDelta, worstExact, worstGlVsExact) =
                    (Math.Max(worstGl, errGl), Math.Max(worstDelta, errDelta), Math.Max(worstExact, errExact), Math.Max(worstGlVsExact, glVsExact));
            }
        }

        output.WriteLine($"worst: GL-50 {worstGl:E2}, delta {worstDelta:E2}, midpoint-2000 vs exact {worstExact:E2}, own GL-50 vs exact {worstGlVsExact:E2}");
    }

    /// <summary>Texts of different lengths (so the batch is padded and may be reordered by length) and both predictions.</summary>
    private static readonly string[] Texts =
    [
        "a gripping , beautifully made film .",
        "it 's a bad , bad movie .",
        "great",
        "the plot is thin and the acting is worse , yet i could not look away from the screen .",
        "dull , lifeless and far too long",
        "a warm and funny story",
    ];

    public static TheoryData<string> Methods() => new() { "gradient-x-input", "integrated-gradients", "lrp-attnlrp", "lrp-cp" };

    private static IAttributor Method(string name) => name switch
    {
        "gradient-x-input" => new GradientXInput(),
        "integrated-gradients" => new IntegratedGradients { Steps = 8 },
        "lrp-attnlrp" => new LrpEpsilon { Epsilon = 0.01, Attention = AttentionRule.AttnLrp },
        _ => new LrpEpsilon { Epsilon = 0.01, Attention = AttentionRule.CpLrp },
    };

    /// <summary>
    /// sst2-bert-tiny, one padded batch of 6 texts: with the predicted target (the batch mixes both classes, so rows
    /// have different targets within one call) and with Target.Class(0) and Target.Class(1) for the whole batch, every
    /// row's scores, target and convergence delta equal that text explained alone with its own target. Tolerance
    /// 1e-5 of the row's largest |score| (at least 1e-3 absolute floor): float32, and padding changes only summation
    /// order; a row scored for another class differs in its leading digits.
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(Methods))]
    public void A_batch_with_different_targets_per_row_equals_one_text_at_a_time(string method)
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/sst2-bert-tiny"));
        var attributor = Method(method);
        var options = new ExplainOptions { Salience = new SalienceOptions { KeepSpecialTokens = true } };
        double worst = 0;
        foreach (var target in new[] { Target.Predicted, Target.Class(0), Target.Class(1) })
        {
            var batched = attributor.Explain(model, Texts, options with { Target = target, BatchSize = Texts.Length });
            var single = Texts.Select(t => attributor.Explain(model, [t], options with { Target = target, BatchSize = 1 })[0]).ToArray();
            if (target.IsPredicted)
            {
                single.Select(e => e.Target).Distinct().Should().HaveCount(2, "the batch must mix both predicted classes, or every row has the same target");
            }

            for (var i = 0; i < Texts.Length; i++)
            {
                var (b, s) = (batched[i], single[i]);
                b.Text.Should().Be(Texts[i]);
                b.Target.Should().Be(target.Index ?? s.Logits.IndexOf(s.Logits.Max()), $"{method}, {target}, text {i}");
                b.Target.Should().Be(s.Target);
                b.Logits.Should().Equal(s.Logits, (x, y) => Math.Abs(x - y) < 1e-5);
                b.TokenIds.Should().Equal(s.TokenIds);
                var largest = Math.Max(1e-3, s.Scores.Max(Math.Abs));
                var error = b.Scores.Zip(s.Scores, (x, y) => Math.Abs(x - y)).Max() / largest;
                error.Should().BeLessThanOrEqualTo(1e-5, $"{method}, target {target}, text {i}");
                if (s.ConvergenceDelta is { } delta)
                {
                    b.ConvergenceDelta!.Value.Should().BeApproximately(delta, 1e-5 * Math.Max(1, Math.Abs(s.Logits[s.Target])), $"{method}, {target}, text {i}: delta");
                }

                worst = Math.Max(worst, error);
            }
        }

        output.WriteLine($"{method}: worst batched vs single |Δscore| / max|score| = {worst:E2}");
    }
}
