using System.Text.Json;
using Attribution.Engine;
using Attribution.Methods;
using Attribution.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Attribution.Tests.Methods;

/// <summary>
/// LRP-ε on the golden MLP (Linear 48→32, ReLU, Linear 32→16, ReLU, Linear 16→3) against a float64 reference written
/// here from the rule's definition — R_in = a ⊙ Wᵀ(R_out / (z + ε·sign(z))), sign(0) = +1, ReLU passing relevance on,
/// starting from the target's logit — for every case and every class, including classes whose logit is negative (where
/// an unsigned stabilizer, z + ε, would give other numbers) and ε &gt; 0 where the rule matters. Tolerance 1e-4
/// relative L2: the model runs in float32.
/// </summary>
public sealed class LrpEpsilonReferenceTests
{
    [SkippableTheory]
    [InlineData(0.25)]
    [InlineData(0.01)]
    public void Every_class_matches_the_rule_computed_in_float64(double epsilon)
    {
        using var scope = NewDisposeScope();
        using var mlp = GoldenMlp.Load();
        var (state, rows, classifier, texts) = (mlp.State, mlp.Rows, mlp.Classifier, mlp.Texts);
        double[,] W(string name)
        {
            var t = state[name].to(ScalarType.Float64);
            var v = t.data<double>().ToArray();
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

        double[] B(string name) => state[name].to(ScalarType.Float64).data<double>().ToArray();
        (double[,] W, double[] B)[] layers = [(W("0.weight"), B("0.bias")), (W("2.weight"), B("2.bias")), (W("4.weight"), B("4.bias"))];
        var negativeTargets = 0;
        for (var target = 0; target < 3; target++)
        {
            var explanations = new LrpEpsilon { Epsilon = epsilon, Rules = Attribution.Methods.Lrp.LrpRuleSet.Default.With<GoldenMlp.VectorClassifier>(Attribution.Methods.Lrp.LrpRules.Composite) }.Explain(classifier, texts,
                new ExplainOptions { Target = Target.Class(target), KeepRawAttributions = true, Salience = new() { KeepSpecialTokens = true } });
            for (var c = 0; c < rows.Length; c++)
            {
                // Forward in float64, keeping each layer's input a and pre-activation z.
                var a = new List<double[]> { rows[c].Select(v => (double)(float)v).ToArray() };
                var z = new List<double[]>();
                for (var l = 0; l < layers.Length; l++)
                {
                    var (w, b) = layers[l];
                    var pre = Enumerable.Range(0, b.Length).Select(i => b[i] + Enumerable.Range(0, w.GetLength(1)).Sum(j => w[i, j] * a[l][j])).ToArray();
                    z.Add(pre);
                    a.Add(l < layers.Length - 1 ? pre.Select(v => Math.Max(0, v)).ToArray() : pre);
                }

                var logit = z[^1][target];
                if (logit < 0)
                {
                    negativeTargets++;
                }

                // Backward: relevance starts as the target's logit; ReLU passes it on unchanged.
                var relevance = new double[3];
                relevance[target] = logit;
                for (var l = layers.Length - 1; l >= 0; l--)
                {
                    var (w, _) = layers[l];
                    var s = relevance.Select((r, i) => r / (z[l][i] + (epsilon * (z[l][i] >= 0 ? 1 : -1)))).ToArray();
                    relevance = Enumerable.Range(0, w.GetLength(1)).Select(j => a[l][j] * Enumerable.Range(0, s.Length).Sum(i => w[i, j] * s[i])).ToArray();
                }

                var actual = explanations[c].RawAttributions![0].Select(v => (double)v).ToArray();
                Golden.RelativeL2(actual, relevance).Should().BeLessThan(1e-4, $"case {c}, class {target} (logit {logit:G4}), ε {epsilon}");
            }
        }

        negativeTargets.Should().BeGreaterThan(0, "the cases must include negative logits, where the stabilizer's sign matters");
    }
}
