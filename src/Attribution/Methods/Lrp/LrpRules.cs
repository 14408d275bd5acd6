using Attribution.Engine;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Attribution.Methods.Lrp;

/// <summary>
/// A rule that rewrites a module's output in a forward hook (the usual way: same value, rewritten gradient).
/// Derive from it to write a rule for a custom module.
/// </summary>
public abstract class LrpForwardRule : ILrpRule
{
    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public virtual bool CoversSubmodules => false;

    /// <inheritdoc />
    /// <exception cref="ArgumentNullException"><paramref name="module"/> or <paramref name="settings"/> is null.</exception>
    public IDisposable? Attach(nn.Module module, LrpSettings settings)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(settings);
        return NeedsHook(module, settings)
            ? ModuleHooks.AddForwardHook(module, (m, input, output) => Rewrite(m, input, output, settings))
            : null;
    }

    /// <summary>Whether the rule does anything on this module under these settings (default: yes).</summary>
    protected virtual bool NeedsHook(nn.Module module, LrpSettings settings) => true;

    /// <summary>
    /// The replacement output (same value as <paramref name="output"/>, the rule's gradient), or null to keep the
    /// output. Tensors made here belong to the caller's dispose scope.
    /// </summary>
    protected abstract object? Rewrite(nn.Module module, object input, object output, LrpSettings settings);

    /// <summary>The module's output as a tensor, or a clear error.</summary>
    protected Tensor AsTensor(nn.Module module, object value, string what)
    {
        ArgumentNullException.ThrowIfNull(module);
        return value as Tensor ?? throw new InvalidOperationException(
            $"the LRP rule '{Name}' expects a single tensor as the {what} of {module.GetName()}, got a {value?.GetType().Name ?? "null"}");
    }
}

/// <summary>
/// The built-in rules, and the two tricks they are made of. Every rule but <see cref="Dropout"/> (which turns dropout
/// off in a module left in training mode) leaves the forward value bit for bit as it was and changes only the gradient,
/// so relevance = tensor ⊙ gradient after one ordinary backward from the logit.
/// </summary>
public static class LrpRules
{
    /// <summary>
    /// ε-rule for a layer whose output z is a linear map of its input plus a bias (Linear, Conv1d): the output
    /// gradient is multiplied by z / (z + ε·sign(z)), sign(0) = +1, computed without dividing by anything smaller
    /// than ε (a unit with z = 0 passes nothing). ε = 0 leaves the layer alone (LRP-0).
    /// </summary>
    public static ILrpRule Epsilon { get; } = new EpsilonRule();

    /// <summary>LayerNorm with the standard deviation held constant: (x − μ) / detach(σ) · γ + β, μ kept in the graph.</summary>
    public static ILrpRule LayerNorm { get; } = new LayerNormRule();

    /// <summary>GELU (exact or tanh form), identity rule: gradient Φ(x) = GELU(x)/x (or its tanh-form counterpart), exactly.</summary>
    public static ILrpRule Gelu { get; } = new ElementwiseRule("gelu-identity", GeluRatio);

    /// <summary>tanh, identity rule: gradient tanh(x)/x, 1 at 0 (a series near 0, never a division by a small number).</summary>
    public static ILrpRule Tanh { get; } = new ElementwiseRule("tanh-identity", (_, x) => TanhRatio(x));

    /// <summary>
    /// The module's own gradient already is the rule: ReLU (its step is ReLU(x)/x), max pooling (winner takes all),
    /// reshapes, identity, embedding lookups (relevance is taken at their outputs).
    /// </summary>
    public static ILrpRule PassThrough { get; } = new NoHookRule("pass-through");

    /// <summary>
    /// A container: its submodules carry their own rules and its own code only adds, reshapes, selects, scales by
    /// constants or adds masks (residual connections, embedding sums, 1/√d, attention masks), which need none.
    /// </summary>
    public static ILrpRule Composite { get; } = new NoHookRule("composite");

    /// <summary>Dropout is turned off: the identity, whatever the module's training mode.</summary>
    public static ILrpRule Dropout { get; } = new DropoutRule();

    /// <summary>
    /// A product of two activations (attention's Q·Kᵀ and A·V): under <see cref="AttentionRule.AttnLrp"/> the
    /// gradient to both factors is halved (the uniform rule for a bilinear map); under CP-LRP it is left alone.
    /// </summary>
    public static ILrpRule BilinearProduct { get; } = new BilinearRule();

    /// <summary>
    /// The softmax that makes attention probabilities: left alone under <see cref="AttentionRule.AttnLrp"/>, detached
    /// (held constant) under <see cref="AttentionRule.CpLrp"/>.
    /// </summary>
    public static ILrpRule AttentionProbabilities { get; } = new AttentionProbabilitiesRule();

    /// <summary>
    /// An identity rule for a custom elementwise activation f: the gradient becomes f(x)/x. <paramref name="ratio"/>
    /// gets the detached input (gradient recording off) and must return f(x)/x in closed form, finite everywhere
    /// (including at 0), with the input's shape.
    /// </summary>
    /// <param name="name">The rule's name, for messages.</param>
    /// <param name="ratio">f(x)/x of the detached input.</param>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> or <paramref name="ratio"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty.</exception>
    /// <remarks>A ratio of another shape than the input fails the forward pass with an <see cref="InvalidOperationException"/> naming the rule and both shapes.</remarks>
    public static ILrpRule Elementwise(string name, Func<Tensor, Tensor> ratio)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(ratio);
        return new ElementwiseRule(name, (_, x) => ratio(x));
    }

    /// <summary>
    /// detach(value) + (surrogate − detach(surrogate)): exactly <paramref name="value"/> forward, the gradient of
    /// <paramref name="surrogate"/> backward. Every rule is this with a surrogate whose gradient is the rule's.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> or <paramref name="surrogate"/> is null.</exception>
    public static Tensor Rewire(Tensor value, Tensor surrogate)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(surrogate);
        using var fixedValue = value.detach();
        using var frozen = surrogate.detach();
        using var zeroWithGradient = surrogate - frozen;
        return fixedValue.Plus(zeroWithGradient);
    }

    /// <summary>
    /// replace(x, f, r): the value <paramref name="fx"/> = f(x) with gradient <paramref name="ratio"/> (held constant)
    /// with respect to <paramref name="x"/>; the identity rule when ratio = f(x)/x.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="x"/>, <paramref name="fx"/> or <paramref name="ratio"/> is null.</exception>
    public static Tensor Replace(Tensor x, Tensor fx, Tensor ratio)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(fx);
        ArgumentNullException.ThrowIfNull(ratio);
        using var constant = ratio.detach();
        using var surrogate = x * constant;
        return Rewire(fx, surrogate);
    }

    /// <summary>GELU(x)/x: Φ(x) for the exact form, ½(1 + tanh(√(2/π)(x + 0.044715x³))) for the tanh form.</summary>
    internal static Tensor GeluRatio(nn.Module module, Tensor x)
    {
        var tanhForm = module is GELU { approximate: GELU.Approximate.tanh };
        if (tanhForm)
        {
            using var cube = x.Power(3);
            using var scaledCube = cube.Times(0.044715);
            using var inner = x.Plus(scaledCube);
            using var argument = inner.Times(Math.Sqrt(2 / Math.PI));
            using var t = argument.tanh();
            using var onePlus = t.Plus(1.0);
            return onePlus.Times(0.5);
        }

        using var scaled = x.Times(1 / Math.Sqrt(2));
        using var e = scaled.erf();
        using var shifted = e.Plus(1.0);
        return shifted.Times(0.5);
    }

    /// <summary>tanh(x)/x, with 1 − x²/3 where |x| &lt; 1e-4 (exact to rounding there), so nothing is divided by a small number.</summary>
    internal static Tensor TanhRatio(Tensor x)
    {
        const double Small = 1e-4;
        using var magnitude = x.abs();
        using var threshold = Small.ToScalar();
        using var small = magnitude.lt(threshold);
        using var ones = ones_like(x);
        using var safe = where(small, ones, x);
        using var t = x.tanh();
        using var ratio = t / safe;
        using var square = x.Squared();
        using var third = square.Times(1.0 / 3);
        using var series = third.SubtractedFrom(1.0);
        return where(small, series, ratio);
    }

    private sealed class NoHookRule(string name) : ILrpRule
    {
        public string Name => name;

        public IDisposable? Attach(nn.Module module, LrpSettings settings) => null;
    }

    private sealed class EpsilonRule : LrpForwardRule
    {
        public override string Name => "epsilon";

        protected override bool NeedsHook(nn.Module module, LrpSettings settings) => settings.Epsilon > 0;

        protected override object? Rewrite(nn.Module module, object input, object output, LrpSettings settings)
        {
            var z = AsTensor(module, output, "output");
            Tensor ratio;
            using (no_grad())
            {
                using var value = z.detach();
                using var nonNegative = value.AtLeast(0);
                using var unit = nonNegative.to(value.dtype);
                using var twice = unit.Times(2.0);
                using var sign = twice.Minus(1.0);
                using var stabilizer = sign.Times(settings.Epsilon);
                using var denominator = value.Plus(stabilizer);
                using var quotient = value / denominator;

                // z / (z + ε) is 0 at z = 0 for every ε > 0; an ε below the tensor's smallest number (1e-300 in float32)
                // rounds to 0 there and made 0 / 0, NaN relevance that no input caused. A NaN z keeps its NaN.
                using var zero = denominator.EqualTo(0);
                ratio = quotient.MaskedFill(zero, 0.0);
            }

            using (ratio)
            {
                using var surrogate = z * ratio;
                return Rewire(z, surrogate);
            }
        }
    }

    private sealed class LayerNormRule : LrpForwardRule
    {
        public override string Name => "layer-norm-constant-std";

        protected override object? Rewrite(nn.Module module, object input, object output, LrpSettings settings)
        {
            var norm = module as LayerNorm ?? throw new InvalidOperationException(
                $"the LRP rule '{Name}' is for LayerNorm modules, not {module.GetName()}; give that type its own rule");
            var x = AsTensor(module, input, "input");
            var y = AsTensor(module, output, "output");
            var dims = Enumerable.Range(1, norm.normalized_shape.Length).Select(i => (long)-i).ToArray();
            using var mean = x.mean(dims, keepdim: true);
            using var centered = x - mean;
            Tensor sigma;
            using (no_grad())
            {
                using var square = centered.Squared();
                using var variance = square.mean(dims, keepdim: true);
                using var stabilized = variance.Plus(norm.eps);
                sigma = stabilized.sqrt();
            }

            using (sigma)
            {
                using var normalized = centered / sigma;
                if (norm.weight is null)
                {
                    return Rewire(y, normalized);
                }

                using var scaled = normalized * norm.weight;
                if (norm.bias is null)
                {
                    return Rewire(y, scaled);
                }

                using var shifted = scaled.Plus(norm.bias);
                return Rewire(y, shifted);
            }
        }
    }

    private sealed class ElementwiseRule(string name, Func<nn.Module, Tensor, Tensor> ratio) : LrpForwardRule
    {
        public override string Name => name;

        protected override object? Rewrite(nn.Module module, object input, object output, LrpSettings settings)
        {
            var x = AsTensor(module, input, "input");
            var y = AsTensor(module, output, "output");
            Tensor r;
            using (no_grad())
            {
                using var value = x.detach();
                r = ratio(module, value);
            }

            using (r)
            {
                if (!r.shape.SequenceEqual(x.shape))
                {
                    throw new InvalidOperationException(
                        $"the LRP rule '{Name}' returned a ratio of shape [{string.Join(", ", r.shape)}] for an input of shape [{string.Join(", ", x.shape)}]");
                }

                return Replace(x, y, r);
            }
        }
    }

    private sealed class DropoutRule : LrpForwardRule
    {
        public override string Name => "dropout-off";

        protected override bool NeedsHook(nn.Module module, LrpSettings settings) => module.training;

        protected override object? Rewrite(nn.Module module, object input, object output, LrpSettings settings) =>
            AsTensor(module, input, "input").alias();
    }

    private sealed class BilinearRule : LrpForwardRule
    {
        public override string Name => "bilinear-half";

        protected override bool NeedsHook(nn.Module module, LrpSettings settings) => settings.Attention == AttentionRule.AttnLrp;

        protected override object? Rewrite(nn.Module module, object input, object output, LrpSettings settings)
        {
            var y = AsTensor(module, output, "output");
            using var half = y.Times(0.5);
            return Rewire(y, half);
        }
    }

    private sealed class AttentionProbabilitiesRule : LrpForwardRule
    {
        public override string Name => "attention-probabilities";

        protected override bool NeedsHook(nn.Module module, LrpSettings settings) => settings.Attention == AttentionRule.CpLrp;

        protected override object? Rewrite(nn.Module module, object input, object output, LrpSettings settings) =>
            AsTensor(module, output, "output").detach();
    }
}
