using System.Text.Json;
using Attribution.Engine;
using Attribution.Methods;
using Attribution.Methods.Lrp;
using Attribution.Models;
using Attribution.Salience;
using TorchSharp;
using static TorchSharp.torch;
using Xunit.Abstractions;

namespace Attribution.Tests.Methods.Lrp;

/// <summary>
/// LRP on the golden random BERT (../shared/golden/bert.safetensors: 2 layers, hidden 64, 2 heads, GELU, 1,000-token
/// vocabulary, ids only) against a reference written here in plain float64 C# from the rules' definitions: an explicit
/// forward pass (own matrix products, LayerNorm, softmax, erf-GELU, tanh pooler) and an explicit backward pass that
/// redistributes relevance layer by layer, never through the library's rule hooks nor autograd:
/// <list type="bullet">
/// <item>Linear (every one: Q, K, V, attention output, intermediate, output, pooler, classifier), ε-rule:
/// R_i = Σ_j x_i w_ji R_j / (z_j + ε·sign(z_j)), sign(0) = +1, z_j including the bias (which absorbs its share).</item>
/// <item>LayerNorm with σ held constant, the mean kept: y = γ(x − μ)/σ + β is linear in x, LRP-0 on that map:
/// R_i = x_i Σ_j (γ_j/σ)(δ_ij − 1/n) R_j / y_j.</item>
/// <item>GELU and tanh, identity rule: R_in = R_out. Additions (embedding sum, residuals): R_a = a · R_{a+b} / (a + b).
/// Scaling by 1/√d and the (zero) mask: R unchanged.</item>
/// <item>CP-LRP: attention probabilities A constant, C = A·V linear in V: R_V[s,d] = Σ_t A_ts V_sd R_C[t,d] / C[t,d];
/// nothing reaches Q, K.</item>
/// <item>AttnLRP: each bilinear product (Q·Kᵀ and A·V) sends half of every term's LRP-0 share to each factor; the
/// softmax gets its own rule R_x = x ⊙ (R_A − A · Σ_row R_A) (the library's "softmax left as it is", in relevance
/// form).</item>
/// </list>
/// The seed is the target logit. Compared with <see cref="LrpEpsilon"/> (logit, special tokens kept) for 5 sequences,
/// both classes (class 0's logit is negative in two of them, where the sign of the stabilizer matters), ε ∈ {1e-6, 0.01,
/// 0.25} and both attention rules: per-token scores, the relevance shares of the word, position and token-type
/// embeddings, and the convergence delta.
/// </summary>
public sealed class LrpTransformerReferenceTests(ITestOutputHelper output)
{
    /// <summary>
    /// Relative L2 bound on the per-token scores. The library computes in float32 (≈ 6e-8 relative rounding per
    /// operation, a few hundred operations deep), the reference in float64 from the same float32 weights; measured
    /// ≤ 3e-6 (printed by the test), so 1e-4 leaves a wide margin yet is far below what a changed rule does. Deliberate
    /// breaks of the library: an unsigned (z + ε) or dropped ε moved the scores by 4e-2 to 4e8 relative L2 at ε ≥ 0.01
    /// (1.2e-4 to 2.9e-4 at ε = 1e-6); σ not held constant, μ detached, no attention rule, or the gradient instead of
    /// the identity rule on GELU or tanh by 8e-2 to 0.3 already on the first case checked (4 tokens, ε = 1e-6). Only
    /// sign(0) = −1 instead of +1 goes unseen (no z is exactly 0).
    /// </summary>
    private const double Tolerance = 1e-4;

    /// <summary>The golden BERT's parameters in float64, with its forward pass and LRP written out.</summary>
    private sealed class ReferenceBert
    {
        private const int Hidden = 64;
        private const int Heads = 2;
        private const int HeadDim = Hidden / Heads;
        private const double LayerNormEps = 1e-12;
        private readonly Dictionary<string, double[][]> matrices = [];
        private readonly Dictionary<string, double[]> vectors = [];

        public ReferenceBert(string safetensors)
        {
            using var scope = NewDisposeScope();
            foreach (var (name, t) in SafeTensors.Load(safetensors))
            {
                var values = t.to(ScalarType.Float64).data<double>().ToArray();
                if (t.dim() == 1)
                {
                    vectors[name] = values;
                }
                else
                {
                    var columns = (int)t.size(1);
                    matrices[name] = Enumerable.Range(0, (int)t.size(0)).Select(r => values.AsSpan(r * columns, columns).ToArray()).ToArray();
                }
            }
        }

        public int Layers { get; } = 2;

        private double[][] W(string name) => matrices[name + ".weight"];

        private double[] B(string name) => vectors[name + ".bias"];

        private static double Sign(double z) => z >= 0 ? 1 : -1;

        private static double[][] New(int rows, int columns) => Enumerable.Range(0, rows).Select(_ => new double[columns]).ToArray();

        private static double[][] Add(double[][] a, double[][] b) => a.Select((row, r) => row.Select((v, i) => v + b[r][i]).ToArray()).ToArray();

        /// <summary>z = x Wᵀ + b, row by row.</summary>
        private static double[][] Linear(double[][] x, double[][] w, double[] b) => x.Select(row => w.Select((wj, j) =>
        {
            var s = b[j];
            for (var i = 0; i < row.Length; i++)
            {
                s += wj[i] * row[i];
            }

            return s;
        }).ToArray()).ToArray();

        /// <summary>ε-rule: R_x[i] = x_i Σ_j w_ji R_z[j] / (z_j + ε·sign(z_j)).</summary>
        private static double[][] LinearBack(double[][] x, double[][] w, double[][] z, double[][] rz, double epsilon) => x.Select((row, r) =>
        {
            var s = z[r].Select((zj, j) => rz[r][j] / (zj + (epsilon * Sign(zj)))).ToArray();
            return row.Select((xi, i) =>
            {
                double sum = 0;
                for (var j = 0; j < s.Length; j++)
                {
                    sum += w[j][i] * s[j];
                }

                return xi * sum;
            }).ToArray();
        }).ToArray();

        /// <summary>R_a = a · R_{a+b} / (a + b) for the summand <paramref name="a"/> of <paramref name="sum"/>.</summary>
        private static double[][] AddBack(double[][] a, double[][] sum, double[][] rsum) =>
            a.Select((row, r) => row.Select((v, i) => v * rsum[r][i] / sum[r][i]).ToArray()).ToArray();

        private static double Sigma(double[] x)
        {
            var mean = x.Average();
            return Math.Sqrt(x.Average(v => (v - mean) * (v - mean)) + LayerNormEps);
        }

        private double[][] LayerNorm(string name, double[][] x) => x.Select(row =>
        {
            var (mean, sigma, gamma, beta) = (row.Average(), Sigma(row), vectors[name + ".weight"], B(name));
            return row.Select((v, i) => (gamma[i] * (v - mean) / sigma) + beta[i]).ToArray();
        }).ToArray();

        /// <summary>LayerNorm with σ constant: R_x[i] = x_i (u_i − mean(u)), u_j = γ_j R_y[j] / (σ y_j).</summary>
        private double[][] LayerNormBack(string name, double[][] x, double[][] y, double[][] ry) => x.Select((row, r) =>
        {
            var (sigma, gamma) = (Sigma(row), vectors[name + ".weight"]);
            var u = row.Select((_, j) => gamma[j] * ry[r][j] / (sigma * y[r][j])).ToArray();
            var mean = u.Average();
            return row.Select((v, i) => v * (u[i] - mean)).ToArray();
        }).ToArray();

        private static double Gelu(double x) => 0.5 * x * (1 + Erf(x / Math.Sqrt(2)));

        /// <summary>erf to ~1e-14: its Maclaurin series below 2.5, the continued fraction of erfc above (≡ ±1 beyond 6).</summary>
        internal static double Erf(double x)
        {
            var a = Math.Abs(x);
            double value;
            if (a < 2.5)
            {
                double term = a, sum = a;
                for (var n = 1; n < 200 && Math.Abs(term) > 1e-17 * Math.Abs(sum); n++)
                {
                    term *= -a * a / n;
                    sum += term / ((2 * n) + 1);
                }

                value = 2 / Math.Sqrt(Math.PI) * sum;
            }
            else if (a < 6)
            {
                var t = a;
                for (var n = 120; n >= 1; n--)
                {
                    t = a + (n / 2.0 / t);
                }

                value = 1 - (Math.Exp(-a * a) / (Math.Sqrt(Math.PI) * t));
            }
            else
            {
                value = 1;
            }

            return Math.Sign(x) * value;
        }

        /// <summary>One encoder layer's intermediates.</summary>
        private sealed record Layer(
            double[][] H, double[][] Q, double[][] K, double[][] V, double[][][] Scores, double[][][] Probabilities, double[][] Context,
            double[][] O, double[][] X1, double[][] H1, double[][] I, double[][] G, double[][] P, double[][] X2, double[][] H2);

        private sealed record Forward(
            double[][] Words, double[][] Positions, double[][] Types, double[][] Sum, double[][] H0, Layer[] Layers,
            double[] PooledInput, double[] PooledDense, double[] Pooled, double[] Logits);

        private Forward Run(long[] ids)
        {
            var n = ids.Length;
            var words = ids.Select(id => (double[])matrices["bert.embeddings.word_embeddings.weight"][id].Clone()).ToArray();
            var positions = Enumerable.Range(0, n).Select(p => (double[])matrices["bert.embeddings.position_embeddings.weight"][p].Clone()).ToArray();
            var types = Enumerable.Range(0, n).Select(_ => (double[])matrices["bert.embeddings.token_type_embeddings.weight"][0].Clone()).ToArray();
            var sum = Add(Add(words, types), positions);
            var h = LayerNorm("bert.embeddings.LayerNorm", sum);
            var h0 = h;
            var layers = new Layer[Layers];
            for (var l = 0; l < Layers; l++)
            {
                var p = $"bert.encoder.layer.{l}.";
                var q = Linear(h, W(p + "attention.self.query"), B(p + "attention.self.query"));
                var k = Linear(h, W(p + "attention.self.key"), B(p + "attention.self.key"));
                var v = Linear(h, W(p + "attention.self.value"), B(p + "attention.self.value"));
                var scores = new double[Heads][][];
                var probabilities = new double[Heads][][];
                var context = New(n, Hidden);
                for (var head = 0; head < Heads; head++)
                {
                    var o = head * HeadDim;
                    scores[head] = New(n, n);
                    probabilities[head] = New(n, n);
                    for (var t = 0; t < n; t++)
                    {
                        for (var s = 0; s < n; s++)
                        {
                            for (var d = 0; d < HeadDim; d++)
                            {
                                scores[head][t][s] += q[t][o + d] * k[s][o + d];
                            }
                        }

                        var scaled = scores[head][t].Select(x => x / Math.Sqrt(HeadDim)).ToArray();
                        var max = scaled.Max();
                        var e = scaled.Select(x => Math.Exp(x - max)).ToArray();
                        var total = e.Sum();
                        probabilities[head][t] = e.Select(x => x / total).ToArray();
                        for (var s = 0; s < n; s++)
                        {
                            for (var d = 0; d < HeadDim; d++)
                            {
                                context[t][o + d] += probabilities[head][t][s] * v[s][o + d];
                            }
                        }
                    }
                }

                var attentionOut = Linear(context, W(p + "attention.output.dense"), B(p + "attention.output.dense"));
                var x1 = Add(attentionOut, h);
                var h1 = LayerNorm(p + "attention.output.LayerNorm", x1);
                var intermediate = Linear(h1, W(p + "intermediate.dense"), B(p + "intermediate.dense"));
                var gelu = intermediate.Select(row => row.Select(Gelu).ToArray()).ToArray();
                var projected = Linear(gelu, W(p + "output.dense"), B(p + "output.dense"));
                var x2 = Add(projected, h1);
                var h2 = LayerNorm(p + "output.LayerNorm", x2);
                layers[l] = new Layer(h, q, k, v, scores, probabilities, context, attentionOut, x1, h1, intermediate, gelu, projected, x2, h2);
                h = h2;
            }

            var first = h[0];
            var dense = Linear([first], W("bert.pooler.dense"), B("bert.pooler.dense"))[0];
            var pooled = dense.Select(Math.Tanh).ToArray();
            var logits = Linear([pooled], W("classifier"), B("classifier"))[0];
            return new Forward(words, positions, types, sum, h0, layers, first, dense, pooled, logits);
        }

        public double[] Logits(long[] ids) => Run(ids).Logits;

        /// <summary>Token relevance (Σ over hidden of the word embedding's relevance) and the three embeddings' totals.</summary>
        public (double[] Tokens, double Word, double Position, double Type, double Logit) Relevance(long[] ids, int target, double epsilon, AttentionRule rule)
        {
            var f = Run(ids);
            var n = ids.Length;

            // Seed: the target logit; classifier and pooler dense by the ε-rule, tanh by the identity rule.
            var rLogits = new double[f.Logits.Length];
            rLogits[target] = f.Logits[target];
            var rPooled = LinearBack([f.Pooled], W("classifier"), [f.Logits], [rLogits], epsilon);
            var rFirst = LinearBack([f.PooledInput], W("bert.pooler.dense"), [f.PooledDense], rPooled, epsilon)[0];
            var rh = New(n, Hidden);
            rh[0] = rFirst;

            for (var l = Layers - 1; l >= 0; l--)
            {
                var p = $"bert.encoder.layer.{l}.";
                var L = f.Layers[l];

                // Feed-forward block: LayerNorm (σ constant), residual split, output dense (ε), GELU (identity), intermediate dense (ε).
                var rx2 = LayerNormBack(p + "output.LayerNorm", L.X2, L.H2, rh);
                var rProjected = AddBack(L.P, L.X2, rx2);
                var rh1 = AddBack(L.H1, L.X2, rx2);
                var rGelu = LinearBack(L.G, W(p + "output.dense"), L.P, rProjected, epsilon);
                var rIntermediate = rGelu;
                rh1 = Add(rh1, LinearBack(L.H1, W(p + "intermediate.dense"), L.I, rIntermediate, epsilon));

                // Attention block: LayerNorm, residual split, output dense (ε).
                var rx1 = LayerNormBack(p + "attention.output.LayerNorm", L.X1, L.H1, rh1);
                var rAttentionOut = AddBack(L.O, L.X1, rx1);
                var rhResidual = AddBack(L.H, L.X1, rx1);
                var rContext = LinearBack(L.Context, W(p + "attention.output.dense"), L.O, rAttentionOut, epsilon);

                var half = rule == AttentionRule.AttnLrp ? 0.5 : 1.0;
                var rv = New(n, Hidden);
                var rq = New(n, Hidden);
                var rk = New(n, Hidden);
                for (var head = 0; head < Heads; head++)
                {
                    var o = head * HeadDim;
                    var a = L.Probabilities[head];
                    var rProbabilities = New(n, n);

                    // C[t,d] = Σ_s A[t,s] V[s,d]: each term's LRP-0 share A·V·R_C/C, all to V (CP-LRP) or half to each factor (AttnLRP).
                    for (var t = 0; t < n; t++)
                    {
                        for (var d = 0; d < HeadDim; d++)
                        {
                            var ratio = rContext[t][o + d] / L.Context[t][o + d];
                            for (var s = 0; s < n; s++)
                            {
                                var share = a[t][s] * L.V[s][o + d] * ratio;
                                rv[s][o + d] += half * share;
                                rProbabilities[t][s] += half * share;
                            }
                        }
                    }

                    if (rule != AttentionRule.AttnLrp)
                    {
                        continue;
                    }

                    // Softmax (AttnLRP): R_x = x ⊙ (R_A − A Σ_row R_A), x the scaled scores; ÷√d and the zero mask pass R on.
                    for (var t = 0; t < n; t++)
                    {
                        var rowTotal = rProbabilities[t].Sum();
                        var rScores = Enumerable.Range(0, n)
                            .Select(s => L.Scores[head][t][s] / Math.Sqrt(HeadDim) * (rProbabilities[t][s] - (a[t][s] * rowTotal)))
                            .ToArray();

                        // scores[t,s] = Σ_d Q[t,d] K[s,d]: half of each term's share to Q, half to K.
                        for (var s = 0; s < n; s++)
                        {
                            var ratio = rScores[s] / L.Scores[head][t][s];
                            for (var d = 0; d < HeadDim; d++)
                            {
                                var share = L.Q[t][o + d] * L.K[s][o + d] * ratio;
                                rq[t][o + d] += 0.5 * share;
                                rk[s][o + d] += 0.5 * share;
                            }
                        }
                    }
                }

                rh = Add(rhResidual, LinearBack(L.H, W(p + "attention.self.value"), L.V, rv, epsilon));
                if (rule == AttentionRule.AttnLrp)
                {
                    rh = Add(rh, LinearBack(L.H, W(p + "attention.self.query"), L.Q, rq, epsilon));
                    rh = Add(rh, LinearBack(L.H, W(p + "attention.self.key"), L.K, rk, epsilon));
                }
            }

            // Embeddings: LayerNorm (σ constant), then the sum word + type + position split in proportion.
            var rSum = LayerNormBack("bert.embeddings.LayerNorm", f.Sum, f.H0, rh);
            var rWords = AddBack(f.Words, f.Sum, rSum);
            var rPositions = AddBack(f.Positions, f.Sum, rSum);
            var rTypes = AddBack(f.Types, f.Sum, rSum);
            var tokens = rWords.Select(row => row.Sum()).ToArray();
            return (tokens, tokens.Sum(), rPositions.Sum(row => row.Sum()), rTypes.Sum(row => row.Sum()), f.Logits[target]);
        }
    }

    private static (TextClassifier Model, long[][] Ids, double[][] Logits) Load()
    {
        var module = LrpTestModels.GoldenBert();
        var model = new TextClassifier("bert-golden", new IdsTokenizer(101, 102, 0, module.Config.VocabSize), module, ["0", "1"],
            module.WordEmbeddingPath, module.Config.MaxSequenceLength, usesTokenTypes: true);
        using var golden = JsonDocument.Parse(File.ReadAllText(SharedData.Require("golden/bert_golden.json")));
        var cases = golden.RootElement.GetProperty("cases").EnumerateArray().ToArray();
        return (model, cases.Select(c => Golden.Longs(c.GetProperty("input_ids"))).ToArray(), cases.Select(c => Golden.Doubles(c.GetProperty("logits"))).ToArray());
    }

    /// <summary>
    /// The reference's own forward pass reproduces the logits PyTorch recorded in bert_golden.json (float32 there, so
    /// 1e-5 absolute on logits of ~0.2), and its erf matches known values to 1e-14: the reference is a faithful BERT
    /// before any relevance is compared.
    /// </summary>
    [SkippableFact]
    public void The_reference_forward_pass_reproduces_the_recorded_logits()
    {
        var (model, ids, logits) = Load();
        using var owned = model;
        var reference = new ReferenceBert(SharedData.Require("golden/bert.safetensors"));
        ReferenceBert.Erf(0.5).Should().BeApproximately(0.5204998778130465, 1e-14);
        ReferenceBert.Erf(-1.7).Should().BeApproximately(-0.9837904585907745, 1e-14);
        ReferenceBert.Erf(3.1).Should().BeApproximately(0.9999883513426328, 1e-14);
        double worst = 0;
        for (var c = 0; c < ids.Length; c++)
        {
            var mine = reference.Logits(ids[c]);
            worst = Math.Max(worst, mine.Zip(logits[c], (a, b) => Math.Abs(a - b)).Max());
        }

        output.WriteLine($"reference forward vs recorded logits: max |Δ| = {worst:E2}");
        worst.Should().BeLessThanOrEqualTo(1e-5);
    }

    /// <summary>
    /// The library's LRP-ε (float32) against the float64 reference for every case, both classes, ε ∈ {1e-6, 0.01, 0.25}
    /// and both attention rules: per-token scores within <see cref="Tolerance"/> relative L2; each embedding's share
    /// (word, position, token type) and the convergence delta (Σ shares − logit) within 1e-4 × the sum of the shares'
    /// magnitudes and the logit's (an absolute float32 scale: the shares partly cancel).
    /// </summary>
    [SkippableTheory]
    [InlineData(AttentionRule.CpLrp)]
    [InlineData(AttentionRule.AttnLrp)]
    public void Lrp_epsilon_matches_the_float64_reference(AttentionRule rule)
    {
        var (model, ids, _) = Load();
        using var owned = model;
        var reference = new ReferenceBert(SharedData.Require("golden/bert.safetensors"));
        var texts = ids.Select(i => string.Join(' ', i)).ToArray();
        double worstTokens = 0, worstShares = 0;
        var negative = 0;
        var failures = new List<string>();
        foreach (var epsilon in new[] { 1e-6, 0.01, 0.25 })
        {
            for (var target = 0; target < 2; target++)
            {
                var results = new LrpEpsilon { Epsilon = epsilon, Attention = rule }.Explain(model, texts,
                    new ExplainOptions { Target = Target.Class(target), Salience = new SalienceOptions { KeepSpecialTokens = true } });
                for (var c = 0; c < ids.Length; c++)
                {
                    var e = results[c];
                    var expected = reference.Relevance(ids[c], target, epsilon, rule);
                    e.Target.Should().Be(target);
                    e.TokenIds.Should().Equal(ids[c]);
                    negative += expected.Logit < 0 ? 1 : 0;
                    var error = Golden.RelativeL2(e.Scores, expected.Tokens);
                    var shares = e.RelevanceShares!;
                    var scale = Math.Abs(expected.Word) + Math.Abs(expected.Position) + Math.Abs(expected.Type) + Math.Abs(expected.Logit);
                    var shareError = new[]
                    {
                        Math.Abs(shares["bert.embeddings.word_embeddings"] - expected.Word),
                        Math.Abs(shares["bert.embeddings.position_embeddings"] - expected.Position),
                        Math.Abs(shares["bert.embeddings.token_type_embeddings"] - expected.Type),
                        Math.Abs(e.ConvergenceDelta!.Value - (expected.Word + expected.Position + expected.Type - expected.Logit)),
                    }.Max() / scale;
                    var where = $"{rule}, ε {epsilon}, case {c} ({ids[c].Length} tokens), class {target} (logit {expected.Logit:G4})";
                    if (error > Tolerance || shareError > 1e-4)
                    {
                        failures.Add($"{where}: token relative L2 {error:E2}, share/delta error {shareError:E2}");
                    }

                    worstTokens = Math.Max(worstTokens, error);
                    worstShares = Math.Max(worstShares, shareError);
                    if (c == 0)
                    {
                        output.WriteLine($"{where}: tokens rel L2 {error:E2}; word {expected.Word:F6} position {expected.Position:F6} type {expected.Type:F6}");
                    }
                }
            }
        }

        output.WriteLine($"{rule}: worst token relative L2 {worstTokens:E2}, worst share/delta error {worstShares:E2} (relative to Σ|shares| + |logit|)");
        failures.Should().BeEmpty($"token scores must match the reference to {Tolerance} relative L2 and the shares to 1e-4 (worst: tokens {worstTokens:E2}, shares {worstShares:E2})");
        negative.Should().BeGreaterThan(0, "negative target logits must be covered");
    }
}
