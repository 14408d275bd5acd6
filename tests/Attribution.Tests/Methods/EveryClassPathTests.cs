using Attribution.Methods;
using Attribution.Models;
using Attribution.Salience;
using Attribution.Pipeline;
using Attribution.Tests.Models;

namespace Attribution.Tests.Methods;

/// <summary>
/// Every class at once (<see cref="MethodRunner.AttributeClasses"/>) for the path methods: each path point of each text
/// runs forward once for all classes, with a backward per class. Checked against the by-hand integral of
/// <see cref="PowerOfSum"/> (its passes counted by shape) and against one call per class on a random tiny BERT, whose
/// classes converge at different adaptive levels. Tolerances: 1e-5 relative against the by-hand integral (float32 model,
/// a 10-node Gauss–Legendre rule that is exact for the degree-2 integrand); 1e-5 relative between the shared and the
/// per-class runs, which compute the same float32 products over batches of other sizes.
/// </summary>
public sealed class EveryClassPathTests
{
    private static readonly ExplainOptions Options = new() { BatchSize = 8, Salience = new SalienceOptions { KeepSpecialTokens = true } };

    [Fact]
    public void Integrated_gradients_runs_each_path_point_once_for_both_classes_and_matches_each_by_hand()
    {
        var (model, module) = PowerOfSum.Counted(3);
        using var _ = model;
        string[] texts = ["1 2 3", "4 5 6"];
        var all = MethodRunner.AttributeClasses(model, texts, [new IntegratedGradients { Steps = 10, Baseline = Baseline.Zero }], [1, 0], Options);

        // The prediction (which keeps the input's end), the baseline's end, then 10 points of 2 texts in one pass: 20
        // rows, not 40.
        module.Shapes.Should().Equal((2, 3), (2, 3), (20, 3));
        for (var t = 0; t < texts.Length; t++)
        {
            all[0][t].Select(e => e.Target).Should().Equal(1, 0);
            foreach (var e in all[0][t])
            {
                var byHand = PowerOfSum.GradientTimesInput(texts[t], 3, e.Target).Select(s => s / 3).ToArray();
                e.Scores.Should().Equal(byHand, (a, b) => Math.Abs(a - b) <= 1e-5 * (Math.Abs(b) + 1e-3));
                e.ConvergenceDelta.Should().BeApproximately(0, 1e-5 * byHand.Sum(Math.Abs));
            }
        }
    }

    [Fact]
    public void Conductance_runs_each_grid_point_once_for_both_classes_and_equals_a_call_per_class()
    {
        var (model, module) = PowerOfSum.Counted(2);
        using var _ = model;
        string[] texts = ["1 2 3", "4 5 6"];
        var conductance = new LayerConductance { Layer = "projection", Baseline = Baseline.Zero, Steps = 7 };
        var all = MethodRunner.AttributeClasses(model, texts, [conductance], [0, 1], Options);

        // The prediction (which keeps the input's end), the baseline's end, then 8 grid points of 2 texts in one pass.
        module.Shapes.Should().Equal((2, 3), (2, 3), (16, 3));
        for (var c = 0; c < 2; c++)
        {
            var alone = conductance.Attribute(model, texts, Options with { Target = Target.Class(c) });
            for (var t = 0; t < texts.Length; t++)
            {
                all[0][t][c].Target.Should().Be(c);
                all[0][t][c].Scores.Should().Equal(alone[t].Scores, (a, b) => Math.Abs(a - b) <= 1e-5 * (1 + Math.Abs(b)));
                all[0][t][c].ConvergenceDelta.Should().BeApproximately(alone[t].ConvergenceDelta!.Value, 1e-5);
            }
        }
    }

    /// <summary>
    /// Neuron conductance of neuron (1, 0) at the projection: logit c = S_c^2 with S_c = Σ_t y[t, c], y[t, u] = w_u·e_t,
    /// depends on the neuron only for c = 0, where ∂F/∂y = 2 S_0(α) = 2α S_0 along the zero baseline's path and
    /// ∂y/∂e_1 = w_0; the trapezoid rule is exact for this linear integrand up to Captum's weights, which sum to
    /// (n − 1)/n (<see cref="IntegrationRule.RiemannTrapezoid"/>), so token 1 gets (6/7) S_0 (w_0·e_1) for class 0, and
    /// every other token and class 1 get 0. Each path point runs forward once for both classes (7 points of 2 texts:
    /// one pass of 14 rows, where a call per class ran two), and each class equals its own call bit for bit (the same
    /// passes, row for row; one backward per class). 1e-5 relative against the by-hand values covers float32.
    /// </summary>
    [Fact]
    public void Neuron_conductance_runs_each_path_point_once_for_both_classes()
    {
        var (model, module) = PowerOfSum.Counted(2);
        using var _ = model;
        string[] texts = ["1 2 3", "4 5 6"];
        var neuron = new NeuronConductance { Layer = "projection", Baseline = Baseline.Zero, Steps = 7, Position = 1, Unit = 0 };
        var all = MethodRunner.AttributeClasses(model, texts, [neuron], [0, 1], Options);

        // The prediction (which keeps the input's end), the baseline's end, then the 7 points of 2 texts in one pass.
        module.Shapes.Should().Equal((2, 3), (2, 3), (14, 3));
        for (var c = 0; c < 2; c++)
        {
            var alone = neuron.Attribute(model, texts, Options with { Target = Target.Class(c) });
            for (var t = 0; t < texts.Length; t++)
            {
                var byHand = new double[3];
                byHand[1] = c == 0 ? 6.0 / 7 * PowerOfSum.GradientTimesInput(texts[t], 2, 0)[1] / 2 : 0;
                all[0][t][c].Target.Should().Be(c);
                all[0][t][c].Scores.Should().Equal(byHand, (a, b) => Math.Abs(a - b) <= 1e-5 * (Math.Abs(b) + 1e-3));
                all[0][t][c].Scores.Should().Equal(alone[t].Scores);
            }
        }
    }

    public static TheoryData<string> AdaptiveMethods => ["integrated-gradients", "conductance", "conductance-in-groups"];

    /// <summary>
    /// Adaptive integration on a random 3-label BERT: the classes of a text converge at different levels, so later levels
    /// run a text for some of its classes only; every class's scores, steps, evaluations and delta equal its own call's.
    /// </summary>
    [Theory]
    [MemberData(nameof(AdaptiveMethods))]
    public void Adaptive_paths_for_every_class_equal_a_call_per_class(string method)
    {
        using var model = RandomBert();
        string[] texts = ["5 9 12 7", "20 21", "8 30 31 32 33 6", "14 15 16"];
        IAttributor attributor = method switch
        {
            "integrated-gradients" => new IntegratedGradients(),
            "conductance" => new LayerConductance { Layer = "bert.encoder.layer.0" },

            // A memory budget of 5 rows' grid points: groups of 5 of the 12 text-and-class rows split texts' classes.
            _ => new LayerConductance { Layer = "bert.encoder.layer.0", MemoryBudget = 5L * 16 * 8 * sizeof(float) * 2 * 257 },
        };
        var all = MethodRunner.AttributeClasses(model, texts, [attributor], [0, 1, 2], Options);

        var stepsUsed = new HashSet<string>();
        for (var c = 0; c < 3; c++)
        {
            var alone = attributor.Attribute(model, texts, Options with { Target = Target.Class(c) });
            for (var t = 0; t < texts.Length; t++)
            {
                var shared = all[0][t][c];
                shared.Target.Should().Be(c);
                shared.Scores.Should().Equal(alone[t].Scores, (a, b) => Math.Abs(a - b) <= 1e-5 * (1 + Math.Abs(b)));
                shared.Setting("steps-used").Should().Be(alone[t].Setting("steps-used"));
                shared.Setting("gradient-evaluations").Should().Be(alone[t].Setting("gradient-evaluations"));
                shared.ConvergenceDelta.Should().BeApproximately(alone[t].ConvergenceDelta!.Value, 1e-5);
                stepsUsed.Add(shared.Setting("steps-used")!);
            }
        }

        stepsUsed.Should().HaveCountGreaterThan(1, "texts and classes that converge at different levels exercise the later levels' subsets");
    }

    public static TheoryData<string> NoisyMethods => ["gradient", "gradient-x-input", "integrated-gradients", "integrated-gradients-50", "gradient-shap"];

    /// <summary>
    /// A noise tunnel draws each text's noise once for every class, the numbers a call per class draws (the same seed),
    /// and GradientSHAP's rows of one text draw alike: every class's scores equal its own call's, for fewer forward rows.
    /// </summary>
    [Theory]
    [MemberData(nameof(NoisyMethods))]
    public void Noisy_methods_for_every_class_draw_each_text_s_noise_once_and_equal_a_call_per_class(string inner)
    {
        using var model = RandomBert();
        string[] texts = ["5 9 12 7", "20 21", "8 30 31 32 33 6"];

        // A fixed noise level and, for the noise tunnel, its default: a level relative to each text's own range, which
        // must be measured on the right text's real tokens when one pass serves every class.
        foreach (var stdev in inner == "gradient-shap" ? [0.2] : new double?[] { 0.2, null })
        {
            EveryClassEqualsACallPerClass(model, texts, inner, stdev);
        }
    }

    private static void EveryClassEqualsACallPerClass(TextClassifier model, string[] texts, string inner, double? stdev)
    {
        IAttributor tunnel = inner == "gradient-shap"
            ? new GradientShap { Samples = 7, Stdev = 0.2, Seed = 11, Baselines = [Baseline.Pad, Baseline.Zero] }
            : new NoiseTunnel(inner switch
            {
                "gradient" => new Gradient(),
                "gradient-x-input" => new GradientXInput(),
                "integrated-gradients" => new IntegratedGradients(),
                _ => new IntegratedGradients { Steps = 50 },
            }) { Samples = 3, Stdev = stdev, Seed = 11 };
        using var forwards = new ForwardCounter(model);
        var all = MethodRunner.AttributeClasses(model, texts, [tunnel], [0, 1, 2], Options);
        var shared = forwards.Rows;
        forwards.Reset();
        for (var c = 0; c < 3; c++)
        {
            var alone = tunnel.Attribute(model, texts, Options with { Target = Target.Class(c) });
            for (var t = 0; t < texts.Length; t++)
            {
                all[0][t][c].Target.Should().Be(c);
                all[0][t][c].Scores.Should().Equal(alone[t].Scores, (a, b) => Math.Abs(a - b) <= 1e-5 * (1 + Math.Abs(b)));
                all[0][t][c].Settings.Should().Equal(alone[t].Settings);
                if (alone[t].ConvergenceDelta is { } delta)
                {
                    all[0][t][c].ConvergenceDelta.Should().BeApproximately(delta, 1e-5, "equal draws give equal deltas");
                }
                else
                {
                    all[0][t][c].ConvergenceDelta.Should().BeNull();
                }
            }
        }

        shared.Should().BeLessThan(forwards.Rows / 2, "each noisy pass runs the texts once for the three classes");
    }

    /// <summary>
    /// Counted without a hook (<see cref="ForwardCountingModule"/>): the root hook of <see cref="ForwardCounter"/> kept the
    /// prediction's pass from serving as the path's input end, so this test counted a pass for that end (3 rows a call)
    /// that an unhooked run does not make.
    /// </summary>
    [Fact]
    public void Every_class_at_once_runs_fewer_forward_rows_than_a_call_per_class()
    {
        var (model, forwards) = ForwardCountingModule.TinyBert(7);
        using var _ = model;
        string[] texts = ["5 9 12 7", "20 21", "8 30 31 32 33 6"];
        MethodRunner.AttributeClasses(model, texts, [new IntegratedGradients { Steps = 20 }], [0, 1, 2], Options);
        var shared = forwards.Rows;
        forwards.Reset();
        for (var c = 0; c < 3; c++)
        {
            new IntegratedGradients { Steps = 20 }.Attribute(model, texts, Options with { Target = Target.Class(c) });
        }

        // Per class: the prediction, which keeps the path's input end (3 rows), the baseline end (3) and 20 points of 3
        // texts; at once the path and its ends run once.
        forwards.Rows.Should().Be(3 * (3 + 3 + 60));
        shared.Should().Be(3 + 3 + 60);
    }

    /// <summary>
    /// Passes are sized by the distinct texts, not the rows that repeat them per class: 2 texts of 3 tokens in a budget of
    /// 12 tokens take 2 points a pass (4 rows), as a call for one class does, not 1.
    /// </summary>
    [Fact]
    public void Shared_passes_are_sized_by_the_distinct_texts()
    {
        var (model, module) = PowerOfSum.Counted(3);
        using var _ = model;
        string[] texts = ["1 2 3", "4 5 6"];
        MethodRunner.AttributeClasses(model, texts, [new IntegratedGradients { Steps = 10, Baseline = Baseline.Zero, TokenBudget = 12 }], [0, 1], Options);

        module.Shapes.Skip(2).Should().Equal(Enumerable.Repeat((4L, 3L), 5));
    }

    [Fact]
    public void Text_pairs_keep_their_pair_and_equal_a_call_per_class()
    {
        using var model = RandomBert();
        string[] texts = ["5 9 12", "20 21"];
        var options = Options with { Pairs = ["7 8", "30 31 32"] };
        var method = new IntegratedGradients { Steps = 8 };
        var all = MethodRunner.AttributeClasses(model, texts, [method], [2, 0], options);
        for (var c = 0; c < 2; c++)
        {
            var alone = method.Attribute(model, texts, options with { Target = Target.Class(c == 0 ? 2 : 0) });
            for (var t = 0; t < texts.Length; t++)
            {
                all[0][t][c].TextPair.Should().Be(options.Pairs[t]);
                all[0][t][c].TokenTypeIds.Should().Equal(alone[t].TokenTypeIds);
                all[0][t][c].Scores.Should().Equal(alone[t].Scores, (a, b) => Math.Abs(a - b) <= 1e-5 * (1 + Math.Abs(b)));
            }
        }
    }

    [Theory]
    [InlineData("spare", "*'spare' (Linear) did not run through .call*")]
    [InlineData("twice", "*'twice' (Linear) ran 2 times in one forward pass*")]
    public void A_conductance_layer_that_does_not_run_once_is_refused_for_every_class(string layer, string message)
    {
        using var model = new TextClassifier("spare-and-twice", new IdsTokenizer(-1, -2, 0, 10), new SpareAndTwice(), ["0", "1"], "embeddings", maxLength: null, usesTokenTypes: false);
        var act = () => MethodRunner.AttributeClasses(model, ["1 2 3"], [new LayerConductance { Layer = layer, Steps = 4, Baseline = Baseline.Zero }], [0, 1], Options);
        act.Should().Throw<InvalidOperationException>().WithMessage(message);
    }

    /// <summary>
    /// A gradient at a layer that runs twice is refused, alone and for every class: the batch's first pass cannot be
    /// the method's (which one of the two tensors would be the leaf?), and the method's own pass names the layer.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_gradient_at_a_layer_that_runs_twice_is_refused(bool everyClass)
    {
        using var model = new TextClassifier("spare-and-twice", new IdsTokenizer(-1, -2, 0, 10), new SpareAndTwice(), ["0", "1"], "embeddings", maxLength: null, usesTokenTypes: false);
        IAttributor[] methods = [new Gradient { Layer = "twice" }];
        var act = everyClass
            ? (Action)(() => MethodRunner.AttributeClasses(model, ["1 2 3"], methods, [0, 1], Options))
            : () => MethodRunner.AttributeAll(model, ["1 2 3"], methods, Options);
        act.Should().Throw<InvalidOperationException>().WithMessage("*'twice' (Linear) ran 2 times in one forward pass*");
    }

    /// <summary>Embeddings, a layer applied twice, a head; one layer registered but never run.</summary>
    private sealed class SpareAndTwice : TorchSharp.torch.nn.Module<ModelInput, TorchSharp.torch.Tensor>
    {
        private readonly TorchSharp.Modules.Embedding embeddings = TorchSharp.torch.nn.Embedding(10, 3);
        private readonly TorchSharp.Modules.Linear twice = TorchSharp.torch.nn.Linear(3, 3);
        private readonly TorchSharp.Modules.Linear spare = TorchSharp.torch.nn.Linear(3, 3);
        private readonly TorchSharp.Modules.Linear head = TorchSharp.torch.nn.Linear(3, 2);

        public SpareAndTwice()
            : base(nameof(SpareAndTwice)) => RegisterComponents();

        public override TorchSharp.torch.Tensor forward(ModelInput input) =>
            head.call(twice.call(twice.call(embeddings.call(input.InputIds)))).sum(1);
    }

    private static TextClassifier RandomBert() => TransformerTestKit.RandomTinyBertClassifier(7);
}
