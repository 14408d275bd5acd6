using Attribution.Methods;
using Attribution.Methods.Attention;
using Attribution.Models;
using Attribution.Pipeline;
using Attribution.Salience;
using Attribution.Tests.Models;

namespace Attribution.Tests.Methods;

/// <summary>
/// Every method that takes part in a shared pass (the prediction's first pass, a path's input end kept per batch and
/// layer, the call's baseline cache, a pass kept for later classes) gives in a <see cref="MethodRunner"/> call with
/// other methods what it gives run alone: every ordered pair of them, and all of them at once in either order, on a
/// random 3-label tiny BERT, texts of several lengths in several batches. Tolerance 1e-5 · (1 + |score|): the shared
/// and the lone runs compute the same float32 operations, but a baseline cached from another batch or a first pass
/// over other rows may round differently in the last bits (float32 has about 7 digits); any real sharing error (the
/// wrong rows, class, site or baseline) changes scores by far more.
/// </summary>
public sealed class SharedPassEqualityTests
{
    private static readonly ExplainOptions Options = new() { BatchSize = 3, Salience = new SalienceOptions { KeepSpecialTokens = true } };

    private static readonly string[] Texts = ["5 9 12 7", "20 21", "8 30 31 32 33 6", "14 15 16", "40 41 42 43", "45"];

    /// <summary>The methods that can take or share a pass, by name.</summary>
    private static IAttributor Method(string name) => name switch
    {
        "gradient" => new Gradient(),
        "gradient-l2" => new Gradient { Reduce = HiddenReduction.L2 },
        "gradient-x-input" => new GradientXInput(),
        "ig" => new IntegratedGradients { Steps = 8 },
        "ig-riemann-right-zero" => new IntegratedGradients { Steps = 5, Rule = IntegrationRule.RiemannRight, Baseline = Baseline.Zero },
        "ig-local" => new IntegratedGradients { Steps = 6, MultiplyByInputs = false, Reduce = HiddenReduction.L2 },
        "ig-layer0" => new IntegratedGradients { Steps = 6, Layer = "bert.encoder.layer.0" },
        "ig-adaptive" => new IntegratedGradients(),
        "conductance" => new LayerConductance { Layer = "bert.encoder.layer.0", Steps = 6 },
        "conductance-adaptive" => new LayerConductance { Layer = "bert.encoder.layer.1" },
        "neuron-conductance" => new NeuronConductance { Layer = "bert.encoder.layer.0", Position = 0, Unit = 3, Steps = 6 },
        "gradient-shap" => new GradientShap { Samples = 4, Stdev = 0.1, Seed = 3 },
        "smoothgrad" => new NoiseTunnel(new Gradient()) { Samples = 3, Seed = 5 },
        "vargrad-ig" => new NoiseTunnel(new IntegratedGradients { Steps = 4 }) { Samples = 3, Type = NoiseTunnelType.VarGrad, Stdev = 0.05, Seed = 5 },
        "lrp" => new LrpEpsilon(),
        "lrp-cp" => new LrpEpsilon { Epsilon = 0.01, Attention = Attribution.Methods.Lrp.AttentionRule.CpLrp },
        "rollout" => new AttentionRollout(),
        "rollout-gradient" => new AttentionRollout { GradientWeighted = true },
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    private static readonly string[] PairMethods =
        ["gradient", "gradient-x-input", "ig", "ig-riemann-right-zero", "ig-layer0", "conductance", "gradient-shap", "smoothgrad", "lrp", "rollout-gradient"];

    private static readonly string[] AllMethods =
    [
        "gradient", "gradient-l2", "gradient-x-input", "ig", "ig-riemann-right-zero", "ig-local", "ig-layer0", "ig-adaptive", "conductance",
        "conductance-adaptive", "neuron-conductance", "gradient-shap", "smoothgrad", "vargrad-ig", "lrp", "lrp-cp", "rollout", "rollout-gradient",
    ];

    public static TheoryData<string, string> Pairs()
    {
        var data = new TheoryData<string, string>();
        foreach (var first in PairMethods)
        {
            foreach (var second in PairMethods.Where(m => m != first))
            {
                data.Add(first, second);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    public void A_pair_run_together_equals_each_run_alone(string first, string second)
    {
        using var model = TransformerTestKit.RandomTinyBertClassifier(7);
        IAttributor[] methods = [Method(first), Method(second)];
        var together = MethodRunner.AttributeAll(model, Texts, methods, Options);
        for (var m = 0; m < methods.Length; m++)
        {
            ShouldEqual(together[m], methods[m].Attribute(model, Texts, Options), methods[m].Name);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void All_methods_run_together_equal_each_run_alone(bool reversed)
    {
        using var model = TransformerTestKit.RandomTinyBertClassifier(7);
        var names = reversed ? AllMethods.Reverse().ToArray() : AllMethods;
        var methods = names.Select(Method).ToArray();
        var together = MethodRunner.AttributeAll(model, Texts, methods, Options);
        for (var m = 0; m < methods.Length; m++)
        {
            ShouldEqual(together[m], methods[m].Attribute(model, Texts, Options), names[m]);
        }
    }

    /// <summary>
    /// Every class at once, all methods together: each class equals a lone call for that class. The adaptive methods
    /// are left out here (their per-class levels are <see cref="EveryClassPathTests"/>'); they take part above.
    /// </summary>
    [Fact]
    public void All_methods_for_every_class_equal_each_run_alone_per_class()
    {
        using var model = TransformerTestKit.RandomTinyBertClassifier(7);
        var names = AllMethods.Where(m => !m.EndsWith("adaptive", StringComparison.Ordinal)).Reverse().ToArray();
        var methods = names.Select(Method).ToArray();
        int[] classes = [2, 0, 1];
        var together = MethodRunner.AttributeClasses(model, Texts, methods, classes, Options);
        for (var c = 0; c < classes.Length; c++)
        {
            for (var m = 0; m < methods.Length; m++)
            {
                var alone = methods[m].Attribute(model, Texts, Options with { Target = Target.Class(classes[c]) });
                ShouldEqual(Texts.Select((_, t) => together[m][t][c]).ToArray(), alone, $"{names[m]} for class {classes[c]}");
            }
        }
    }

    private static void ShouldEqual(IReadOnlyList<Explanation> shared, IReadOnlyList<Explanation> alone, string what)
    {
        shared.Should().HaveCount(alone.Count);
        for (var t = 0; t < alone.Count; t++)
        {
            shared[t].Target.Should().Be(alone[t].Target, $"{what}, text {t}");
            shared[t].Scores.Should().Equal(alone[t].Scores, (a, b) => Math.Abs(a - b) <= 1e-5 * (1 + Math.Abs(b)), $"{what}, text {t}");
            shared[t].Settings.Should().Equal(alone[t].Settings, $"{what}, text {t}");
            if (alone[t].ConvergenceDelta is { } delta)
            {
                shared[t].ConvergenceDelta.Should().NotBeNull($"{what}, text {t}");
                shared[t].ConvergenceDelta!.Value.Should().BeApproximately(delta, 1e-5 * (1 + Math.Abs(delta)), $"{what}, text {t}");
            }
            else
            {
                shared[t].ConvergenceDelta.Should().BeNull($"{what}, text {t}");
            }
        }
    }
}
