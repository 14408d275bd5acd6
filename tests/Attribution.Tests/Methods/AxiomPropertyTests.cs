using Attribution.Engine;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Pipeline;
using Attribution.Salience;
using CsCheck;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Attribution.Tests.Methods;

/// <summary>
/// The identities the methods' papers prove, checked on small random models (<see cref="TinyBag"/>: fixed seeds) and
/// random texts of 1–8 words drawn from a fixed seed: IG's completeness and its closed form on a linear model,
/// conductance summed over a layer, Gradient (L2) against torch.autograd run here, occlusion against the module run
/// here, Shapley efficiency, symmetry, dummy and linearity, LRP's conservation and its equality with Gradient × Input on
/// a linear model, and invariance to the order of texts and to naming the target. Expected values come from the module
/// run directly in the test (float32, as the library runs it) or from its weights in double precision; each tolerance
/// says what it covers.
/// </summary>
public sealed class AxiomPropertyTests
{
    /// <summary>Texts of 1–8 word ids from 1..10, and now and then the dummy word (its embedding is the padding id's).</summary>
    private static readonly Gen<string> Text = Gen.Frequency((6, Gen.Int[1, 10]), (1, Gen.Const(TinyBag.Dummy))).Array[1, 8]
        .Select(ids => string.Join(' ', ids));

    private static List<string> Texts(int count, ulong seed)
    {
        var pcg = new PCG(11, seed);
        return [.. Enumerable.Range(0, count).Select(_ => Text.Generate(pcg, null!, out CsCheck.Size _))];
    }

    private static long[] Ids(string text) => [.. text.Split(' ').Select(long.Parse)];

    private static ExplainOptions For(int target) => new() { Target = Target.Class(target), Salience = new SalienceOptions { KeepSpecialTokens = true } };

    /// <summary>Float32 model arithmetic, summed in another order by a batch than here: 1e-5 of the scale plus 1e-6.</summary>
    private static bool Close(double actual, double expected, double scale) => Math.Abs(actual - expected) <= (1e-5 * Math.Max(1, Math.Abs(scale))) + 1e-6;

    /// <summary>
    /// Completeness (Sundararajan et al. 2017, prop. 1): Σ scores = F(x) − F(x′) up to the reported delta, and that delta
    /// is the actual gap Σ scores − (F(x) − F(x′)) with F run here on the input ids and on the baseline (padding ids; for
    /// the zero baseline, zero embeddings). Adaptive integration stops within 1% of |F(x) − F(x′)| (plus its absolute
    /// 1e-5 floor), which is checked too, or it reaches its cap (64 here, to keep the test short) and says so with that delta.
    /// </summary>
    [Fact]
    public void Integrated_gradients_is_complete_and_reports_the_actual_gap()
    {
        using var model = TinyBag.Classifier(seed: 3, hidden: true, biases: true);
        var bag = (TinyBag)model.Module;
        var texts = Texts(4, seed: 1);
        foreach (var baseline in new[] { Baseline.Pad, Baseline.Zero })
        {
            for (var target = 0; target < 3; target++)
            {
                var results = new IntegratedGradients { Baseline = baseline, Adaptive = AdaptiveIntegration.Default with { MaxSteps = 64 } }.Explain(model, texts, For(target));
                for (var t = 0; t < texts.Count; t++)
                {
                    var ids = Ids(texts[t]);
                    var fx = bag.Logit(ids, target);
                    var fb = baseline == Baseline.Zero ? bag.LogitOfZeroEmbeddings(ids.Length, target) : bag.Logit(new long[ids.Length], target);
                    var sum = results[t].Scores.Sum();
                    var delta = results[t].ConvergenceDelta!.Value;
                    Close(delta, sum - (fx - fb), fx - fb).Should().BeTrue($"{baseline.Name} class {target} '{texts[t]}': delta {delta}, Σ {sum}, F(x) − F(x′) {fx - fb}");
                    if (results[t].Notes.Count == 0)
                    {
                        Math.Abs(sum - (fx - fb)).Should().BeLessThanOrEqualTo((0.01 * Math.Abs(fx - fb)) + 1e-5 + 1e-6, $"{baseline.Name} class {target} '{texts[t]}'");
                    }
                    else
                    {
                        // A ReLU kink and a small F(x) − F(x′) next to large scores can keep the 1% target out of reach: the
                        // cap is reached and said, with the delta (documented).
                        results[t].Setting("steps-used").Should().Be("64");
                        results[t].Notes.Should().ContainSingle().Which.Should().Contain("step cap (64 steps)")
                            .And.Contain($"convergence delta {delta.ToString("G3", System.Globalization.CultureInfo.InvariantCulture)}");
                    }
                }
            }
        }
    }

    /// <summary>
    /// The reported delta is the actual gap Σ scores − (F(x) − F(x′)) for every scored output, F being the logit, the
    /// softmax probability or its logarithm computed here from the module's logits (double precision on float32
    /// logits; 1e-5 of the gap's scale). A fixed step count keeps it fast; the gap itself may be large at 16 steps.
    /// </summary>
    [Fact]
    public void Integrated_gradients_and_conductance_report_the_actual_gap_for_every_scored_output()
    {
        using var model = TinyBag.Classifier(seed: 4, hidden: true, biases: true);
        var bag = (TinyBag)model.Module;
        var texts = Texts(4, seed: 13);
        foreach (var score in new[] { ScoreOutput.Logit, ScoreOutput.Probability, ScoreOutput.LogProbability })
        {
            var options = For(1) with { Score = score };
            var ig = new IntegratedGradients { Steps = 16 }.Explain(model, texts, options);
            var conductance = new LayerConductance { Layer = "hidden", Steps = 16 }.Explain(model, texts, options);
            for (var t = 0; t < texts.Count; t++)
            {
                var ids = Ids(texts[t]);
                var gap = bag.Score(ids, 1, score) - bag.Score(new long[ids.Length], 1, score);
                foreach (var e in new[] { ig[t], conductance[t] })
                {
                    e.ScoreOutput.Should().Be(score);
                    Close(e.ConvergenceDelta!.Value, e.Scores.Sum() - gap, gap).Should().BeTrue($"{e.Method} {score} '{texts[t]}': delta {e.ConvergenceDelta}, Σ {e.Scores.Sum()}, gap {gap}");
                }
            }
        }
    }

    /// <summary>
    /// On a linear model F = w_c·Σ_t e_t + b_c the gradient is w_c everywhere, so IG_t = (e_t − e′_t)·w_c · Σ_k w_k: with
    /// Gauss–Legendre and the left, right and middle Riemann rules (weights summing to 1) that is (e_t − e′_t)·w_c at any
    /// step count and adaptively; Captum's trapezoid weights sum to (n − 1)/n (methods.md), so it gives (n − 1)/n of it.
    /// With the zero baseline it equals Gradient × Input. Expected values from the weights in double precision; 1e-5
    /// relative covers the float32 forward pass and the float32 Riemann alphas.
    /// </summary>
    [Fact]
    public void On_a_linear_model_integrated_gradients_is_the_input_difference_times_the_weights_at_any_step_count()
    {
        using var model = TinyBag.Classifier(seed: 5, hidden: false, biases: true);
        var bag = (TinyBag)model.Module;
        var texts = Texts(5, seed: 2);
        var methods = new List<(IntegratedGradients Method, double Factor)> { (new IntegratedGradients(), 1) };
        foreach (var steps in new[] { 1, 2, 3, 7 })
        {
            methods.Add((new IntegratedGradients { Steps = steps, Rule = IntegrationRule.GaussLegendre }, 1));
            if (steps >= 2)
            {
                methods.Add((new IntegratedGradients { Steps = steps, Rule = IntegrationRule.RiemannLeft }, 1));
                methods.Add((new IntegratedGradients { Steps = steps, Rule = IntegrationRule.RiemannRight }, 1));
                methods.Add((new IntegratedGradients { Steps = steps, Rule = IntegrationRule.RiemannMiddle }, 1));
                methods.Add((new IntegratedGradients { Steps = steps, Rule = IntegrationRule.RiemannTrapezoid }, (steps - 1.0) / steps));
            }
        }

        for (var target = 0; target < 3; target++)
        {
            var w = bag.OutputWeights(target);
            foreach (var (method, factor) in methods)
            {
                var results = method.Explain(model, texts, For(target));
                for (var t = 0; t < texts.Count; t++)
                {
                    var ids = Ids(texts[t]);
                    var expected = ids.Select(id => factor * Dot(Minus(bag.EmbeddingRow(id), bag.EmbeddingRow(0)), w)).ToArray();
                    results[t].Scores.Should().Equal(expected, (a, b) => Math.Abs(a - b) <= (1e-5 * Math.Abs(b)) + 1e-6,
                        $"{method.Rule} {method.Steps?.ToString() ?? "adaptive"} class {target} '{texts[t]}'");
                }
            }

            // Zero baseline: IG = e_t·w_c = Gradient × Input.
            var ig = new IntegratedGradients { Baseline = Baseline.Zero }.Explain(model, texts, For(target));
            var gxi = new GradientXInput().Explain(model, texts, For(target));
            for (var t = 0; t < texts.Count; t++)
            {
                var expected = Ids(texts[t]).Select(id => Dot(bag.EmbeddingRow(id), w)).ToArray();
                ig[t].Scores.Should().Equal(expected, (a, b) => Math.Abs(a - b) <= (1e-5 * Math.Abs(b)) + 1e-6);
                gxi[t].Scores.Should().Equal(expected, (a, b) => Math.Abs(a - b) <= (1e-5 * Math.Abs(b)) + 1e-6);
            }
        }
    }

    /// <summary>
    /// Conductance (Dhamdhere et al. 2018): summed over every unit of a layer that separates the input from the output
    /// (the hidden Linear, applied per token), it is F(x) − F(x′), IG's total. Both are integrals computed to within
    /// their reported deltas, so the identity checked is |Σ cond − Σ IG| ≤ |δ_cond| + |δ_IG| + float32 rounding, each
    /// delta being the gap to F(x) − F(x′) run here (as for IG above).
    /// </summary>
    [Fact]
    public void Conductance_summed_over_a_layer_is_the_integrated_gradients_total()
    {
        using var model = TinyBag.Classifier(seed: 7, hidden: true, biases: true);
        var bag = (TinyBag)model.Module;
        var texts = Texts(4, seed: 3);
        foreach (var steps in new int?[] { null, 40 })
        {
            foreach (var target in new[] { 0, 2 })
            {
                var conductance = new LayerConductance { Layer = "hidden", Steps = steps }.Explain(model, texts, For(target));
                var ig = new IntegratedGradients { Steps = steps }.Explain(model, texts, For(target));
                for (var t = 0; t < texts.Count; t++)
                {
                    var ids = Ids(texts[t]);
                    var gap = bag.Logit(ids, target) - bag.Logit(new long[ids.Length], target);
                    var c = conductance[t].Scores.Sum();
                    var i = ig[t].Scores.Sum();
                    Close(conductance[t].ConvergenceDelta!.Value, c - gap, gap).Should().BeTrue($"conductance delta of '{texts[t]}'");
                    Math.Abs(c - i).Should().BeLessThanOrEqualTo(Math.Abs(conductance[t].ConvergenceDelta!.Value) + Math.Abs(ig[t].ConvergenceDelta!.Value) + 1e-5,
                        $"steps {steps?.ToString() ?? "adaptive"} class {target} '{texts[t]}'");
                }
            }
        }
    }

    /// <summary>Gradient (L2) is ‖∂F/∂e_t‖₂, with the gradient taken here by torch.autograd on the module (float32 both; 1e-5 relative).</summary>
    [Fact]
    public void Gradient_l2_is_the_norm_of_the_embedding_gradient_from_autograd()
    {
        using var model = TinyBag.Classifier(seed: 9, hidden: true, biases: true);
        var bag = (TinyBag)model.Module;
        var texts = Texts(6, seed: 4);
        for (var target = 0; target < 3; target++)
        {
            var results = new Gradient().Explain(model, texts, For(target));
            for (var t = 0; t < texts.Count; t++)
            {
                var expected = bag.GradientNorms(Ids(texts[t]), target);
                results[t].Scores.Should().Equal(expected, (a, b) => Math.Abs(a - b) <= (1e-5 * Math.Abs(b)) + 1e-7, $"class {target} '{texts[t]}'");
            }
        }
    }

    /// <summary>
    /// Leave-one-out: score_i = F(x) − F(x with word i absent), F run here: with the baseline perturbation the word's id
    /// becomes the padding id (attention mask left on); with removal the word is left out (texts of two words or more:
    /// this tokenizer adds no special tokens, so removing the only word is refused, as documented).
    /// </summary>
    [Fact]
    public void Occlusion_is_the_output_change_when_a_word_is_left_out()
    {
        using var model = TinyBag.Classifier(seed: 11, hidden: true, biases: true);
        var bag = (TinyBag)model.Module;
        var texts = Texts(8, seed: 5).Where(t => t.Contains(' ')).ToList();
        for (var target = 0; target < 3; target++)
        {
            var replaced = new Occlusion { Perturbation = AbsentFeature.Baseline }.Explain(model, texts, For(target));
            var removed = new Occlusion { Perturbation = AbsentFeature.Remove }.Explain(model, texts, For(target));
            for (var t = 0; t < texts.Count; t++)
            {
                var ids = Ids(texts[t]);
                var fx = bag.Logit(ids, target);
                var byPad = ids.Select((_, i) => fx - bag.Logit([.. ids.Select((id, j) => j == i ? 0 : id)], target)).ToArray();
                var byRemoval = ids.Select((_, i) => fx - bag.Logit([.. ids.Where((_, j) => j != i)], target)).ToArray();
                replaced[t].Scores.Should().Equal(byPad, (a, b) => Close(a, b, fx), $"class {target} '{texts[t]}'");
                removed[t].Scores.Should().Equal(byRemoval, (a, b) => Close(a, b, fx), $"class {target} '{texts[t]}'");
            }
        }
    }

    /// <summary>
    /// Shapley axioms (Shapley 1953), the absent word being the padding id: efficiency (Σ φ = f(all) − f(none), f run
    /// here), symmetry (the same id at two positions of a bag-of-words model: equal values), dummy (the dummy word's
    /// embedding is the padding id's, so it changes no coalition: 0), linearity (class 2's logit is class 0's plus twice
    /// class 1's, so φ₂ = φ₀ + 2φ₁). Exact values, KernelSHAP enumerating every coalition (which must equal them) and
    /// sampling (efficiency and dummy hold for every order, whatever the number of orders). Float32 logits summed in
    /// other orders: 1e-5 of the output's scale.
    /// </summary>
    [Fact]
    public void Shapley_values_are_efficient_symmetric_null_for_a_dummy_and_linear_in_the_output()
    {
        using var model = TinyBag.Classifier(seed: 13, hidden: true, biases: true);
        var bag = (TinyBag)model.Module;
        var texts = Texts(5, seed: 6).Select(t => $"{t} 4 {TinyBag.Dummy} 4").Where(t => t.Split(' ').Length <= 10).ToList();
        var methods = new IAttributor[]
        {
            new ShapleyValues { Perturbation = AbsentFeature.Baseline },
            new KernelShap { Perturbation = AbsentFeature.Baseline, Samples = 1022 },
            new ShapleyValueSampling { Perturbation = AbsentFeature.Baseline, Samples = 3, Seed = 8 },
        };
        var exact = new List<IReadOnlyList<Explanation>>[methods.Length];
        for (var m = 0; m < methods.Length; m++)
        {
            exact[m] = [.. Enumerable.Range(0, 3).Select(target => methods[m].Explain(model, texts, For(target)))];
        }

        for (var t = 0; t < texts.Count; t++)
        {
            var ids = Ids(texts[t]);
            var n = ids.Length;
            for (var m = 0; m < methods.Length; m++)
            {
                for (var target = 0; target < 3; target++)
                {
                    var phi = exact[m][target][t].Scores;
                    var gap = bag.Logit(ids, target) - bag.Logit(new long[n], target);
                    Close(phi.Sum(), gap, gap).Should().BeTrue($"{methods[m].Name} efficiency, class {target} '{texts[t]}': Σ {phi.Sum()} vs {gap}");
                    for (var i = 0; i < n; i++)
                    {
                        if (ids[i] == TinyBag.Dummy)
                        {
                            Math.Abs(phi[i]).Should().BeLessThanOrEqualTo(1e-5 * Math.Max(1, Math.Abs(gap)), $"{methods[m].Name} dummy, class {target} '{texts[t]}'");
                        }
                    }

                    // Symmetry: the two 4s appended (positions n − 3 and n − 1) are interchangeable; sampling is symmetric in expectation only.
                    if (methods[m] is not ShapleyValueSampling)
                    {
                        Close(phi[n - 3], phi[n - 1], gap).Should().BeTrue($"{methods[m].Name} symmetry, class {target} '{texts[t]}'");
                    }
                }

                var linear = exact[m][0][t].Scores.Zip(exact[m][1][t].Scores, (a, b) => a + (2 * b)).ToArray();
                exact[m][2][t].Scores.Should().Equal(linear, (a, b) => Close(a, b, bag.Logit(ids, 2)), $"{methods[m].Name} linearity '{texts[t]}'");
            }

            exact[1][0][t].Scores.Should().Equal(exact[0][0][t].Scores, (a, b) => Close(a, b, 1), $"kernel SHAP with every coalition is exact '{texts[t]}'");
        }
    }

    /// <summary>
    /// On a linear bag of words the game is additive: with the word's id replaced by the padding id as its absence,
    /// word t contributes (e_t − e_pad)·w_c to every coalition it joins. So occlusion, exact Shapley values, Shapley
    /// sampling with a single order and KernelSHAP from sampled coalitions (an exactly linear target, fitted exactly)
    /// all give that, as IG with the pad baseline does. Weights in double precision; 1e-5 relative plus 1e-6 for the
    /// float32 logits the perturbation methods difference.
    /// </summary>
    [Fact]
    public void On_a_linear_model_every_perturbation_method_gives_each_word_its_own_term()
    {
        using var model = TinyBag.Classifier(seed: 27, hidden: false, biases: true);
        var bag = (TinyBag)model.Module;
        var texts = Texts(5, seed: 14);
        IAttributor[] methods =
        [
            new Occlusion { Perturbation = AbsentFeature.Baseline }, new ShapleyValues { Perturbation = AbsentFeature.Baseline },
            new ShapleyValueSampling { Perturbation = AbsentFeature.Baseline, Samples = 1, Seed = 6 },
            new KernelShap { Perturbation = AbsentFeature.Baseline, Samples = 60, Seed = 7 }, new IntegratedGradients { Steps = 1 },
        ];
        foreach (var target in new[] { 0, 2 })
        {
            var w = bag.OutputWeights(target);
            foreach (var method in methods)
            {
                var results = method.Explain(model, texts, For(target));
                for (var t = 0; t < texts.Count; t++)
                {
                    var expected = Ids(texts[t]).Select(id => Dot(Minus(bag.EmbeddingRow(id), bag.EmbeddingRow(0)), w)).ToArray();
                    var scale = expected.Sum(Math.Abs);
                    results[t].Scores.Should().Equal(expected, (a, b) => Math.Abs(a - b) <= (1e-5 * Math.Max(1, scale)) + 1e-6, $"{method.Name} class {target} '{texts[t]}'");
                }
            }
        }
    }

    /// <summary>
    /// LRP-ε with ε → 0 (1e-9) on a bias-free ReLU MLP conserves relevance: Σ_t R_t = the target's logit (run here);
    /// on a linear model (biases kept) it equals Gradient × Input, as LRP-0 does through Linear layers.
    /// </summary>
    [Fact]
    public void Lrp_conserves_the_logit_without_biases_and_is_gradient_x_input_on_a_linear_model()
    {
        using var relu = TinyBag.Classifier(seed: 15, hidden: true, biases: false);
        using var linear = TinyBag.Classifier(seed: 17, hidden: false, biases: true);
        var texts = Texts(6, seed: 7);
        for (var target = 0; target < 3; target++)
        {
            var conserved = new LrpEpsilon { Epsilon = 1e-9 }.Explain(relu, texts, For(target));
            var lrp = new LrpEpsilon { Epsilon = 1e-9 }.Explain(linear, texts, For(target));
            var gxi = new GradientXInput().Explain(linear, texts, For(target));
            for (var t = 0; t < texts.Count; t++)
            {
                var logit = ((TinyBag)relu.Module).Logit(Ids(texts[t]), target);
                Close(conserved[t].Scores.Sum(), logit, logit).Should().BeTrue($"class {target} '{texts[t]}': Σ R {conserved[t].Scores.Sum()}, logit {logit}");
                lrp[t].Scores.Should().Equal(gxi[t].Scores, (a, b) => Math.Abs(a - b) <= (1e-5 * Math.Abs(b)) + 1e-6, $"class {target} '{texts[t]}'");
            }
        }
    }

    /// <summary>
    /// The order of texts in a batch and naming the target by label rather than index change nothing (texts of other
    /// lengths pad each other differently in the two orders: float32 reductions, 1e-5 of the largest score plus 1e-6).
    /// </summary>
    [Fact]
    public void Reordering_the_batch_and_naming_the_target_change_nothing()
    {
        using var model = TinyBag.Classifier(seed: 19, hidden: true, biases: true);
        var texts = Texts(7, seed: 8);
        var reversed = texts.AsEnumerable().Reverse().ToList();
        IAttributor[] methods =
        [
            new Gradient(), new GradientXInput(), new IntegratedGradients { Steps = 8 }, new LayerConductance { Layer = "hidden", Steps = 8 },
            new NoiseTunnel(new GradientXInput()) { Samples = 3, Seed = 2 }, new GradientShap { Samples = 3, Seed = 4 }, new LrpEpsilon(),
            new Occlusion { Perturbation = AbsentFeature.Baseline }, new ShapleyValueSampling { Perturbation = AbsentFeature.Baseline, Samples = 2, Seed = 1 },
            new KernelShap { Perturbation = AbsentFeature.Baseline, Samples = 20, Seed = 3 },
        ];
        foreach (var method in methods)
        {
            var byIndex = method.Explain(model, texts, For(1) with { BatchSize = 4 });
            var byName = method.Explain(model, reversed, new ExplainOptions { Target = Target.Named("pos"), BatchSize = 3, Salience = new SalienceOptions { KeepSpecialTokens = true } });
            for (var t = 0; t < texts.Count; t++)
            {
                var a = byIndex[t];
                var b = byName[texts.Count - 1 - t];
                b.Target.Should().Be(1);
                var scale = a.Scores.Max(Math.Abs);
                b.Scores.Should().Equal(a.Scores, (x, y) => Math.Abs(x - y) <= (1e-5 * scale) + 1e-6, $"{method.Name} '{texts[t]}'");
            }
        }
    }

    /// <summary>
    /// A noise tunnel with σ = 0 averages copies of the unperturbed input, so it is the plain method (Gradient in each
    /// reduction, Gradient × Input, IG fixed and adaptive; 1e-5 relative: the mean of identical float32 values); with noise
    /// and a fixed seed two calls are identical (bitwise: the same draws, the same arithmetic).
    /// </summary>
    [Fact]
    public void A_noise_tunnel_without_noise_is_the_plain_method_and_with_a_seed_is_deterministic()
    {
        using var model = TinyBag.Classifier(seed: 21, hidden: true, biases: true);
        var texts = Texts(3, seed: 9);
        IAttributor[] inners =
        [
            new Gradient(), new Gradient { Reduce = HiddenReduction.L1 }, new Gradient { Reduce = HiddenReduction.Sum }, new GradientXInput(),
            new IntegratedGradients { Steps = 6 }, new IntegratedGradients(),
        ];
        foreach (var inner in inners)
        {
            var plain = inner.Explain(model, texts, For(2));
            var quiet = new NoiseTunnel(inner) { Samples = 3, Stdev = 0, Seed = 5 }.Explain(model, texts, For(2));
            var noisy = new NoiseTunnel(inner) { Samples = 3, Stdev = 0.3, Seed = 5 }.Explain(model, texts, For(2));
            var again = new NoiseTunnel(inner) { Samples = 3, Stdev = 0.3, Seed = 5 }.Explain(model, texts, For(2));
            for (var t = 0; t < texts.Count; t++)
            {
                quiet[t].Scores.Should().Equal(plain[t].Scores, (a, b) => Math.Abs(a - b) <= (1e-5 * Math.Abs(b)) + 1e-6, $"{inner.Name} '{texts[t]}'");
                again[t].Scores.Should().Equal(noisy[t].Scores, $"{inner.Name} '{texts[t]}'");
            }
        }
    }

    /// <summary>
    /// GradientSHAP on a linear model: the gradient is w_c at every draw, so each draw gives (x − b)·w_c whatever α, and
    /// with σ = 0 and one baseline the mean is (e_t − b_t)·w_c (zero baseline: Gradient × Input), at any sample count,
    /// and the reported delta is 0.
    /// Weights in double precision; 1e-5 relative for the float32 pass.
    /// </summary>
    [Fact]
    public void Gradient_shap_on_a_linear_model_is_the_input_difference_times_the_weights()
    {
        using var model = TinyBag.Classifier(seed: 23, hidden: false, biases: true);
        var bag = (TinyBag)model.Module;
        var texts = Texts(5, seed: 10);
        for (var target = 0; target < 3; target++)
        {
            var w = bag.OutputWeights(target);
            foreach (var (baseline, row) in new[] { (Baseline.Zero, (double[]?)null), (Baseline.Pad, bag.EmbeddingRow(0)) })
            {
                foreach (var samples in new[] { 1, 4 })
                {
                    var results = new GradientShap { Baselines = [baseline], Samples = samples, Seed = 3 }.Explain(model, texts, For(target));
                    for (var t = 0; t < texts.Count; t++)
                    {
                        var expected = Ids(texts[t]).Select(id => Dot(row is null ? bag.EmbeddingRow(id) : Minus(bag.EmbeddingRow(id), row), w)).ToArray();
                        results[t].Scores.Should().Equal(expected, (a, b) => Math.Abs(a - b) <= (1e-5 * Math.Abs(b)) + 1e-6, $"{baseline.Name} × {samples}, class {target} '{texts[t]}'");

                        // Its delta, Σ scores − mean over draws of (F(x) − F(b)), is 0 here: every draw is exact.
                        results[t].ConvergenceDelta!.Value.Should().BeApproximately(0, 1e-5 * Math.Max(1, expected.Sum(Math.Abs)));
                    }
                }
            }
        }
    }

    /// <summary>
    /// Gradient with the L1 and signed-sum reductions: Σ_h |∂F/∂e_t,h| and Σ_h ∂F/∂e_t,h, the gradient from
    /// torch.autograd on the module here (1e-5 relative).
    /// </summary>
    [Fact]
    public void Gradient_l1_and_sum_reduce_the_autograd_gradient()
    {
        using var model = TinyBag.Classifier(seed: 25, hidden: true, biases: true);
        var bag = (TinyBag)model.Module;
        var texts = Texts(5, seed: 11);
        var l1 = new Gradient { Reduce = HiddenReduction.L1 }.Explain(model, texts, For(0));
        var sum = new Gradient { Reduce = HiddenReduction.Sum }.Explain(model, texts, For(0));
        for (var t = 0; t < texts.Count; t++)
        {
            var g = bag.Gradients(Ids(texts[t]), 0);
            l1[t].Scores.Should().Equal(g.Select(r => r.Sum(Math.Abs)), (a, b) => Math.Abs(a - b) <= (1e-5 * Math.Abs(b)) + 1e-7);
            sum[t].Scores.Should().Equal(g.Select(r => r.Sum()), (a, b) => Math.Abs(a - b) <= (1e-5 * Math.Abs(b)) + 1e-7);
        }
    }

    /// <summary>
    /// LIME without regularization (α = 0) on a black box whose probability is linear in the words present: the
    /// weighted least-squares fit of an exactly linear target is exact whatever the kernel weights, so the coefficients
    /// are the weights and the intercept the constant (1e-9: double-precision least squares on a well-conditioned
    /// design of 200 samples).
    /// </summary>
    [Fact]
    public void Lime_without_regularization_recovers_a_linear_black_box_exactly()
    {
        var pcg = new PCG(5, 12);
        var weights = Gen.Double[-0.05, 0.05].Array[10].Generate(pcg, null!, out CsCheck.Size _);
        var black = new BlackBoxClassifier(batch => [.. batch.Select(text =>
        {
            var p = 0.4 + text.Split(' ').Where(w => w.StartsWith('w')).Sum(w => weights[int.Parse(w[1..], System.Globalization.CultureInfo.InvariantCulture)]);
            return new[] { 1 - p, p };
        })], ["no", "yes"]);
        foreach (var text in Texts(4, seed: 12).Select(t => string.Join(' ', t.Split(' ').Distinct().Select(id => $"w{int.Parse(id, System.Globalization.CultureInfo.InvariantCulture) % 10}").Distinct())))
        {
            foreach (var preset in new[] { LimePreset.Lit, LimePreset.Captum })
            {
                var e = new Lime { Preset = preset, Alpha = 0, Samples = 200, Seed = 2 }.Explain(black, text, new ExplainOptions { Target = Target.Class(1) });
                var expected = text.Split(' ').Select(w => weights[int.Parse(w[1..], System.Globalization.CultureInfo.InvariantCulture)]).ToArray();
                e.Scores.Should().Equal(expected, (a, b) => Math.Abs(a - b) <= 1e-9, $"{preset} '{text}'");
                e.Surrogate!.Intercept.Should().BeApproximately(0.4, 1e-9);
            }
        }
    }

    private static double[] Minus(double[] a, double[] b) => [.. a.Zip(b, (x, y) => x - y)];

    private static double Dot(double[] a, double[] b) => a.Zip(b, (x, y) => x * y).Sum();

    /// <summary>
    /// A bag of words: token embeddings (12 ids, 4 dimensions; id 0 pads, id 11 shares its embedding), a masked sum over
    /// tokens, a Linear to 3 classes whose third row is the first plus twice the second; the non-linear variant has a
    /// Linear (4 → 5) and ReLU per token before the sum and tanh(sum / 4) after it. Random weights from a private generator.
    /// </summary>
    internal sealed class TinyBag : nn.Module<ModelInput, Tensor>, ICompositeModule
    {
        public const int Vocabulary = 12;
        public const int Dummy = 11;
        private readonly Embedding embeddings;
        private readonly Linear? hidden;
        private readonly ReLU? act;
        private readonly Tanh? squash;
        private readonly Linear output;

        private TinyBag(ulong seed, bool hiddenLayer, bool biases)
            : base(nameof(TinyBag))
        {
            embeddings = nn.Embedding(Vocabulary, 4);
            var width = 4;
            if (hiddenLayer)
            {
                hidden = nn.Linear(4, 5, hasBias: biases);
                act = nn.ReLU();
                squash = nn.Tanh();
                width = 5;
            }

            output = nn.Linear(width, 3, hasBias: biases);
            RegisterComponents();
            using var generator = new Generator(seed);
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            foreach (var (_, p) in named_parameters())
            {
                p.copy_(randn(p.shape, p.dtype, generator: generator).Times(0.7));
            }

            embeddings.weight![Dummy].copy_(embeddings.weight[0]);
            output.weight![2].copy_(output.weight[0].Plus(output.weight[1].TimesInteger(2)));
            output.bias?[2].copy_(output.bias[0].Plus(output.bias[1].TimesInteger(2)));
        }

        public static TextClassifier Classifier(ulong seed, bool hidden, bool biases) =>
            new("tiny-bag", new IdsTokenizer(-1, -2, 0, Vocabulary), new TinyBag(seed, hidden, biases), ["neg", "pos", "combo"], "embeddings",
                maxLength: null, usesTokenTypes: false);

        public override Tensor forward(ModelInput input)
        {
            var e = embeddings.call(input.InputIds);
            var mask = (input.AttentionMask ?? ones_like(input.InputIds)).to(e.dtype);
            return FromEmbeddings(e, mask);
        }

        private Tensor FromEmbeddings(Tensor e, Tensor mask)
        {
            if (hidden is null)
            {
                return output.call((e * mask.unsqueeze(-1)).sum(1));
            }

            // The tanh after the sum makes words interact (without it the model would be a sum of per-word terms, an
            // additive game on which any semivalue, Banzhaf's too, passes the Shapley checks).
            var pooled = (act!.call(hidden.call(e)) * mask.unsqueeze(-1)).sum(1);
            return output.call(squash!.call(pooled.Times(0.25)));
        }

        /// <summary>The target's logit for one text of these ids, run here (float32, as the library runs it).</summary>
        public double Logit(long[] ids, int target)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var x = tensor(ids).unsqueeze(0);
            return FromEmbeddings(embeddings.forward(x), ones([1, ids.Length]))[0, target].ItemAsDouble();
        }

        /// <summary>The target's logit, softmax probability or log-probability (from the logits run here, in double precision).</summary>
        public double Score(long[] ids, int target, ScoreOutput score)
        {
            var logits = Enumerable.Range(0, 3).Select(c => Logit(ids, c)).ToArray();
            var max = logits.Max();
            var logSum = max + Math.Log(logits.Sum(l => Math.Exp(l - max)));
            return score switch
            {
                ScoreOutput.Logit => logits[target],
                ScoreOutput.Probability => Math.Exp(logits[target] - logSum),
                _ => logits[target] - logSum,
            };
        }

        /// <summary>The target's logit with every token's embedding zero.</summary>
        public double LogitOfZeroEmbeddings(int length, int target)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            return FromEmbeddings(zeros([1, length, 4]), ones([1, length]))[0, target].ItemAsDouble();
        }

        /// <summary>‖∂logit/∂e_t‖₂ per token, the gradient from torch.autograd.grad on the module.</summary>
        public double[] GradientNorms(long[] ids, int target)
        {
            using var scope = NewDisposeScope();
            var e = embeddings.forward(tensor(ids).unsqueeze(0)).detach().requires_grad_();
            var logit = FromEmbeddings(e, ones([1, ids.Length]))[0, target];
            var g = autograd.grad([logit], [e])[0];
            return [.. Enumerable.Range(0, ids.Length).Select(t => g[0, t].norm().ItemAsDouble())];
        }

        /// <summary>∂logit/∂e_t per token and dimension, from torch.autograd.grad on the module.</summary>
        public double[][] Gradients(long[] ids, int target)
        {
            using var scope = NewDisposeScope();
            var e = embeddings.forward(tensor(ids).unsqueeze(0)).detach().requires_grad_();
            var logit = FromEmbeddings(e, ones([1, ids.Length]))[0, target];
            var g = autograd.grad([logit], [e])[0];
            return [.. Enumerable.Range(0, ids.Length).Select(t => g[0, t].data<float>().Select(v => (double)v).ToArray())];
        }

        public double[] EmbeddingRow(long id) => [.. embeddings.weight![id].data<float>().Select(v => (double)v)];

        public double[] OutputWeights(int target) => [.. output.weight![target].data<float>().Select(v => (double)v)];
    }
}
