using System.Text.Json;
using Attribution.Methods.Lrp;
using Attribution.Engine;
using Attribution.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Xunit.Abstractions;

namespace Attribution.Tests.Methods.Lrp;

/// <summary>The LRP rules on plain tensor modules: LRP-0 = Gradient × Input, Captum parity, each rule's gradient, refusals.</summary>
public sealed class LrpRuleTests(ITestOutputHelper output)
{
    /// <summary>The layer with PyTorch's initialization drawn from <paramref name="generator"/>.</summary>
    private static T Seeded<T>(T module, Generator generator)
        where T : nn.Module
    {
        ParameterInit.Reset(module, generator, null);
        return module;
    }

    private static Sequential Mlp(bool biases, ulong seed)
    {
        using var generator = new Generator(seed);
        var mlp = nn.Sequential(
            Seeded(nn.Linear(12, 10, biases), generator), nn.ReLU(),
            Seeded(nn.Linear(10, 8, biases), generator), nn.ReLU(),
            Seeded(nn.Linear(8, 3, biases), generator));
        mlp.eval();
        return mlp;
    }

    private static Tensor GradientXInput(nn.Module<Tensor, Tensor> model, Tensor x, long[] targets)
    {
        using var grad = enable_grad();
        var leaf = x.detach().requires_grad_();
        var score = model.call(leaf).gather(1, tensor(targets).unsqueeze(1)).sum();
        return leaf.detach() * autograd.grad([score], [leaf])[0]!;
    }

    /// <summary>
    /// Relevance with one target for every row refused a target outside the output naming <c>targets</c>, the other
    /// overload's parameter: now <c>target</c>. The list overload still names <c>targets</c>. (The MLP has 3 outputs.)
    /// </summary>
    [Fact]
    public void A_target_outside_the_output_is_refused_naming_the_overloads_parameter()
    {
        using var scope = NewDisposeScope();
        using var mlp = Mlp(true, 7);
        var x = zeros([2, 12]);
        FluentActions.Invoking(() => LrpPropagation.Relevance(mlp, x, 3)).Should().Throw<ArgumentOutOfRangeException>()
            .Where(e => e.ParamName == "target").WithMessage("target 3 of row 0 is outside [0, 3)*");
        FluentActions.Invoking(() => LrpPropagation.Relevance(mlp, x, new long[] { 0, -1 })).Should().Throw<ArgumentOutOfRangeException>()
            .Where(e => e.ParamName == "targets").WithMessage("target -1 of row 1 is outside [0, 3)*");
    }

    /// <summary>LRP-0 on a ReLU network is Gradient × Input, with or without biases (float32; 1e-6 absolute).</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Lrp0_equals_gradient_times_input_on_a_relu_mlp(bool biases)
    {
        using var scope = NewDisposeScope();
        using var mlp = Mlp(biases, 7);
        using var generator = new Generator(8);
        var x = randn([5, 12], generator: generator);
        long[] targets = [0, 1, 2, 1, 0];
        var lrp = LrpPropagation.Relevance(mlp, x, targets, new LrpSettings { Epsilon = 0 });
        var gxi = GradientXInput(mlp, x, targets);
        var worst = (lrp - gxi).abs().max().ItemAsSingle();
        worst.Should().BeLessThanOrEqualTo(1e-6f);

        // Without biases LRP-0 conserves the logit exactly (up to float32 rounding).
        if (!biases)
        {
            var logits = mlp.call(x).gather(1, tensor(targets).unsqueeze(1)).squeeze(1);
            var totals = lrp.sum(1);
            (totals - logits).abs().max().ItemAsSingle().Should().BeLessThan(1e-5f);
        }
    }

    /// <summary>
    /// Captum 0.8 LRP with EpsilonRule(ε) on shared/golden/mlp.safetensors for every ε recorded (stabilizer
    /// z + ε·sign(z), sign(0) = +1 in Captum's rule too): attributions within 1e-5 absolute, and Captum's delta
    /// (logit − Σ attributions) within 1e-5. Both sides propagate in float32 through three small layers, so only
    /// summation orders differ (measured: at most 1.2e-8 on attributions, 2.1e-8 on deltas).
    /// </summary>
    [SkippableFact]
    public void Lrp_epsilon_matches_captum_on_the_golden_mlp()
    {
        using var golden = JsonDocument.Parse(File.ReadAllText(SharedData.Require("golden/mlp_golden.json")));
        var weights = SharedData.Require("golden/mlp.safetensors");
        using var scope = NewDisposeScope();
        using var mlp = nn.Sequential(nn.Linear(48, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 3));
        mlp.load_state_dict(SafeTensors.Load(weights));
        mlp.eval();
        var rows = golden.RootElement.GetProperty("x").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToArray();
        var x = tensor(rows.SelectMany(r => r).ToArray(), [rows.Length, 48]);
        var cases = golden.RootElement.GetProperty("cases").EnumerateArray().ToArray();
        var targets = cases.Select(c => c.GetProperty("target").GetInt64()).ToArray();
        var logits = mlp.call(x).to(ScalarType.Float64).data<double>().ToArray();

        var keys = cases[0].EnumerateObject().Select(p => p.Name).Where(n => n.StartsWith("lrp_eps_", StringComparison.Ordinal)).ToArray();
        keys.Should().BeEquivalentTo("lrp_eps_1e-09", "lrp_eps_0.01", "lrp_eps_0.25");
        foreach (var key in keys)
        {
            var epsilon = double.Parse(key["lrp_eps_".Length..], System.Globalization.CultureInfo.InvariantCulture);
            var relevance = LrpPropagation.Relevance(mlp, x, targets, new LrpSettings { Epsilon = epsilon }).to(ScalarType.Float64).data<double>().ToArray();
            double worst = 0, worstDelta = 0;
            for (var i = 0; i < cases.Length; i++)
            {
                var expected = cases[i].GetProperty(key).GetProperty("attr").EnumerateArray().Select(e => e.GetDouble()).ToArray();
                var actual = relevance.AsSpan(i * 48, 48).ToArray();
                worst = Math.Max(worst, actual.Zip(expected, (a, b) => Math.Abs(a - b)).Max());
                var delta = logits[(i * 3) + targets[i]] - actual.Sum();
                worstDelta = Math.Max(worstDelta, Math.Abs(delta - cases[i].GetProperty(key).GetProperty("delta").GetDouble()));
            }

            output.WriteLine($"{key}: max |Δattr| = {worst:E2}, max |Δdelta| = {worstDelta:E2}");
            worst.Should().BeLessThanOrEqualTo(1e-5, key);
            worstDelta.Should().BeLessThanOrEqualTo(1e-5, key);
        }
    }

    /// <summary>The ε-rule rescales the output gradient by z / (z + ε·sign(z)) with sign(0) = +1; z = 0 gives 0, never NaN.</summary>
    [Fact]
    public void Epsilon_rule_rescales_the_output_gradient_and_is_finite_at_zero()
    {
        using var scope = NewDisposeScope();
        using var linear = nn.Linear(2, 4);
        using (no_grad())
        {
            linear.weight.copy_(tensor(new float[] { 1, 0, -1, 0, 0, 0, 0.5f, 0 }, [4, 2]));
            linear.bias!.zero_();
        }

        var x = tensor(new float[] { 2, 3 }, [1, 2]);
        const double Epsilon = 0.5;
        using (LrpPropagation.Attach(linear, new LrpSettings { Epsilon = Epsilon }))
        using (enable_grad())
        {
            var leaf = x.detach().requires_grad_();
            var z = linear.call(leaf);
            z.data<float>().ToArray().Should().Equal(2, -2, 0, 1);
            var seed = ones([1, 4]);
            var g = autograd.grad([z], [leaf], [seed])[0]!.data<float>().ToArray();

            // ∂/∂x of Σ_j z_j·r_j with r = z/(z + ε·s): r = [0.8, 0.8, 0, 2/3].
            g[0].Should().BeApproximately((float)((1 * 0.8) + (-1 * 0.8) + (0.5 * (1 / 1.5))), 1e-6f);
            g[1].Should().Be(0);
            g.Should().OnlyContain(v => float.IsFinite(v));
        }
    }

    /// <summary>GELU's identity rule: the value is the stock GELU bit for bit, the gradient is Φ(x) (exactly GELU(x)/x).</summary>
    [Theory]
    [InlineData("none")]
    [InlineData("tanh")]
    public void Gelu_identity_rule_keeps_the_value_and_gives_gelu_over_x(string approximate)
    {
        using var scope = NewDisposeScope();
        using var gelu = nn.GELU(approximate == "tanh" ? GELU.Approximate.tanh : GELU.Approximate.none);
        var x = tensor(new double[] { -3, -1, -1e-9, 0, 1e-9, 0.5, 2 });
        var stock = gelu.call(x).data<double>().ToArray();
        using (LrpPropagation.Attach(gelu))
        using (enable_grad())
        {
            var leaf = x.detach().requires_grad_();
            var y = gelu.call(leaf);
            y.data<double>().ToArray().Should().Equal(stock);
            var g = autograd.grad([y.sum()], [leaf])[0]!.data<double>().ToArray();
            var values = x.data<double>().ToArray();
            for (var i = 0; i < values.Length; i++)
            {
                var v = values[i];
                var ratio = approximate == "none"
                    ? 0.5 * (1 + Erf(v / Math.Sqrt(2)))
                    : 0.5 * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (v + (0.044715 * v * v * v))));
                g[i].Should().BeApproximately(ratio, 1e-12);
                if (v != 0)
                {
                    (g[i] * v).Should().BeApproximately(stock[i], 1e-12 * Math.Max(1, Math.Abs(stock[i])), "identity rule: x · r = f(x)");
                }
            }
        }
    }

    /// <summary>tanh's identity rule: gradient tanh(x)/x, exactly 1 at 0, finite and accurate for tiny x.</summary>
    [Fact]
    public void Tanh_identity_rule_is_tanh_over_x_and_one_at_zero()
    {
        using var scope = NewDisposeScope();
        using var tanh = nn.Tanh();
        double[] xs = [-4, -0.3, -1e-5, -1e-300, 0, 1e-30, 1e-4, 2e-4, 0.7, 30];
        var x = tensor(xs);
        using (LrpPropagation.Attach(tanh))
        using (enable_grad())
        {
            var leaf = x.detach().requires_grad_();
            var y = tanh.call(leaf);
            var g = autograd.grad([y.sum()], [leaf])[0]!.data<double>().ToArray();
            for (var i = 0; i < xs.Length; i++)
            {
                var expected = xs[i] == 0 ? 1 : Math.Tanh(xs[i]) / xs[i];
                g[i].Should().BeApproximately(expected, 1e-12, $"x = {xs[i]}");
            }
        }

        // float32 too: no NaN at 0.
        var x32 = tensor(new float[] { 0, 1e-30f, -1e-8f });
        using (LrpPropagation.Attach(tanh))
        using (enable_grad())
        {
            var leaf = x32.detach().requires_grad_();
            autograd.grad([tanh.call(leaf).sum()], [leaf])[0]!.data<float>().ToArray().Should().Equal(1, 1, 1);
        }
    }

    /// <summary>
    /// LayerNorm with constant σ: the forward value equals the stock LayerNorm (float32 and float64), and the
    /// relevance is conserved: Σ x ⊙ ∂ + Σ β ⊙ ∂ = Σ y ⊙ g for any output gradient g (float64, 1e-12 relative).
    /// </summary>
    [Fact]
    public void Layer_norm_rule_keeps_the_value_and_conserves_relevance()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(3);
        using var norm = nn.LayerNorm(6, 1e-5);
        LrpTestModels.Randomize(norm, 4);
        var x32 = randn([2, 3, 6], generator: generator).TimesInteger(3).Plus(1L);
        var stock32 = norm.call(x32);
        using (LrpPropagation.Attach(norm))
        {
            var rewritten = norm.call(x32);
            (rewritten - stock32).abs().max().ItemAsSingle().Should().BeLessThanOrEqualTo(1e-5f * stock32.abs().max().ItemAsSingle());
        }

        norm.to(ScalarType.Float64);
        var x = x32.to(ScalarType.Float64);
        var stock = norm.call(x);
        var g = randn([2, 3, 6], ScalarType.Float64, generator: generator);
        using (LrpPropagation.Attach(norm))
        using (enable_grad())
        {
            var leaf = x.detach().requires_grad_();
            var y = norm.call(leaf);
            (y - stock).abs().max().ItemAsDouble().Should().BeLessThanOrEqualTo(1e-12);
            var grads = autograd.grad([y], [leaf, norm.bias!], [g]);
            var inputSide = (leaf.detach() * grads[0]!).sum().ItemAsDouble() + (norm.bias!.detach() * grads[1]!).sum().ItemAsDouble();
            var outputSide = (y.detach() * g).sum().ItemAsDouble();
            inputSide.Should().BeApproximately(outputSide, 1e-12 * Math.Max(1, Math.Abs(outputSide)));
        }
    }

    /// <summary>A Conv1d / MaxPool1d / Flatten network: ε-rule on the convolution, winner-take-all pooling; without biases LRP-0 conserves exactly.</summary>
    [Fact]
    public void Conv1d_and_max_pooling_conserve_relevance_without_biases()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(11);
        using var net = nn.Sequential(
            Seeded(nn.Conv1d(3, 4, 3, padding: 1, bias: false), generator), nn.ReLU(), nn.MaxPool1d(2),
            nn.Flatten(), Seeded(nn.Linear(4 * 4, 2, hasBias: false), generator));
        net.eval();
        net.to(ScalarType.Float64);
        var x = randn([3, 3, 8], ScalarType.Float64, generator: generator);
        long[] targets = [0, 1, 1];
        var relevance = LrpPropagation.Relevance(net, x, targets, new LrpSettings { Epsilon = 0 });
        var logits = net.call(x).gather(1, tensor(targets).unsqueeze(1)).squeeze(1).data<double>().ToArray();
        var totals = relevance.sum([1L, 2L]).data<double>().ToArray();
        for (var i = 0; i < 3; i++)
        {
            totals[i].Should().BeApproximately(logits[i], 1e-12 * Math.Max(1, Math.Abs(logits[i])));
        }

        // ε > 0 absorbs some relevance but stays finite.
        var smoothed = LrpPropagation.Relevance(net, x, targets, new LrpSettings { Epsilon = 0.1 });
        smoothed.isfinite().all().item<bool>().Should().BeTrue();
    }

    /// <summary>The forward output with rules attached equals the stock forward, for every ε.</summary>
    [Theory]
    [InlineData(0.0)]
    [InlineData(1e-6)]
    [InlineData(0.25)]
    public void Rules_leave_the_forward_output_unchanged(double epsilon)
    {
        using var scope = NewDisposeScope();
        using var mlp = nn.Sequential(nn.Linear(5, 7), nn.GELU(), nn.LayerNorm(7), nn.Tanh(), nn.Dropout(0.3), nn.Linear(7, 2));
        mlp.eval();
        using var generator = new Generator(5);
        var x = randn([4, 5], generator: generator);
        var stock = mlp.call(x);
        using (LrpPropagation.Attach(mlp, new LrpSettings { Epsilon = epsilon }))
        {
            (mlp.call(x) - stock).abs().max().ItemAsSingle().Should().BeLessThanOrEqualTo(1e-6f);
        }

        mlp.SelfAndDescendants().Should().OnlyContain(m => ModuleHooks.Count(m.Module) == 0, "every hook is removed after the call");
    }

    [Theory]
    [InlineData(-1e-3)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void A_bad_epsilon_is_refused(double epsilon)
    {
        var settings = () => new LrpSettings { Epsilon = epsilon };
        settings.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*ε*");
        var attributor = () => new Attribution.Methods.LrpEpsilon { Epsilon = epsilon };
        attributor.Should().Throw<ArgumentOutOfRangeException>();
    }

    /// <summary>A layer without a rule (here a sigmoid, whose f(x)/x is unbounded at 0) is refused, named by path and type, before any hook is attached.</summary>
    [Fact]
    public void A_module_without_a_rule_is_refused_by_path_and_type()
    {
        using var scope = NewDisposeScope();
        using var net = nn.Sequential(nn.Linear(3, 3), nn.Sigmoid(), nn.Linear(3, 2));
        var attach = () => LrpPropagation.Relevance(net, ones([1, 3]), 0);
        var error = attach.Should().Throw<LrpNotSupportedException>().Which;
        error.ModulePath.Should().Be("1");
        error.ModuleType.Should().Be(typeof(Sigmoid));
        error.Message.Should().Contain("'1' (Sigmoid)");
        error.Should().BeAssignableTo<NotSupportedException>();
        net.SelfAndDescendants().Should().OnlyContain(m => ModuleHooks.Count(m.Module) == 0);

        // Giving the type a rule makes it work.
        var rules = LrpRuleSet.Default.With<Sigmoid>(LrpRules.PassThrough);
        LrpPropagation.Relevance(net, ones([1, 3]), 0, new LrpSettings { Rules = rules }).isfinite().all().item<bool>().Should().BeTrue();
    }

    private sealed class Doubler() : nn.Module<Tensor, Tensor>(nameof(Doubler)), ILrpRuleProvider
    {
        public ILrpRule LrpRule => LrpRules.PassThrough;

        public override Tensor forward(Tensor input) => input.Times(2.0);
    }

    private sealed class FailingRule : LrpForwardRule
    {
        public override string Name => "failing";

        protected override object? Rewrite(nn.Module module, object input, object output, LrpSettings settings) =>
            throw new InvalidOperationException("rule failed");
    }

    /// <summary>A custom module can declare its own rule; hooks are removed even when a rule throws mid-forward.</summary>
    [Fact]
    public void Custom_modules_declare_rules_and_hooks_are_removed_on_exceptions()
    {
        using var scope = NewDisposeScope();
        using var net = nn.Sequential(nn.Linear(3, 3), new Doubler(), nn.Linear(3, 2));
        LrpPropagation.Relevance(net, ones([2, 3]), 1).shape.Should().Equal(2, 3);

        var rules = LrpRuleSet.Default.With<ReLU>(new FailingRule());
        using var failing = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 2));
        var run = () => LrpPropagation.Relevance(failing, ones([2, 3]), 1, new LrpSettings { Rules = rules });
        run.Should().Throw<InvalidOperationException>().WithMessage("rule failed");
        failing.SelfAndDescendants().Should().OnlyContain(m => ModuleHooks.Count(m.Module) == 0);
    }

    private static double Erf(double x)
    {
        using var t = tensor(x);
        using var e = t.erf();
        return e.ItemAsDouble();
    }
}
