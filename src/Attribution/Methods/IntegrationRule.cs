namespace Attribution.Methods;

/// <summary>Quadrature rules for path integrals, with exactly Captum's points (alphas) and weights (step sizes).</summary>
public enum IntegrationRule
{
    /// <summary>
    /// Gauss–Legendre on [0, 1]: Captum's default for Integrated Gradients and layer conductance, and so this library's
    /// where <see cref="PathMethod.Rule"/> is unset (for layer conductance: with a step count).
    /// </summary>
    GaussLegendre,

    /// <summary>Left Riemann sum: alphas 0, 1/n, …, 1 − 1/n.</summary>
    RiemannLeft,

    /// <summary>Right Riemann sum: alphas 1/n, …, 1.</summary>
    RiemannRight,

    /// <summary>Midpoint Riemann sum: alphas 1/(2n), …, 1 − 1/(2n).</summary>
    RiemannMiddle,

    /// <summary>
    /// Trapezoid rule: alphas 0, 1/(n−1), …, 1, weights 1/n with half weights at the ends (Captum's default for
    /// <c>NeuronConductance</c>, and this library's for it; Captum's <c>LayerConductance</c>, like its Integrated
    /// Gradients, defaults to Gauss–Legendre, and so does this library's with a step count; adaptive layer conductance
    /// refines the nested trapezoid grid). As in Captum, the weights sum to (n − 1)/n, not 1.
    /// </summary>
    RiemannTrapezoid,
}

/// <summary>
/// Alphas and step sizes of each <see cref="IntegrationRule"/>, exactly as Captum 0.8 makes them: Gauss–Legendre
/// from NumPy's leggauss in double precision; Riemann alphas from <c>torch.linspace</c> in float32 (so 1/3 is
/// 0.3333333432674408), Riemann step sizes 1/n in double precision, halved at both ends for the trapezoid.
/// </summary>
public static class IntegrationRules
{
    /// <summary>
    /// The most integration steps a method takes (10,000). Gauss–Legendre at 50 steps already integrates a smooth path
    /// to about 1e-6; beyond 10,000 the run time (one forward and backward pass per step) and the nodes' O(n²)
    /// computation grow without making the result more exact.
    /// </summary>
    public const int MaxSteps = 10_000;

    /// <summary>
    /// The most step counts whose nodes are kept (64). Unbounded, a long-running service whose callers choose the step
    /// count kept every count ever asked for: up to 10,000 arrays of n nodes, about 800 MB. At this bound at most
    /// 64 × 10,000 × 16 bytes (10 MB); a service uses a few counts (its setting, adaptive integration's doublings),
    /// which stay cached.
    /// </summary>
    internal const int CachedStepCounts = 64;

    // Nodes and weights per step count: computed once (about 1 s at 10,000 steps), shared by every call and thread;
    // emptied when it holds CachedStepCounts counts (a count asked for again is computed again, and cached).
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, (double Node, double Weight)[]> GaussLegendreCache = new();

    /// <summary>How many step counts' nodes are cached now (for tests).</summary>
    internal static int CachedGaussLegendreCount => GaussLegendreCache.Count;

    /// <summary>The rule's name as Captum and the command line spell it (e.g. <c>gausslegendre</c>, <c>riemann_trapezoid</c>).</summary>
    public static string CaptumName(this IntegrationRule rule) => rule switch
    {
        IntegrationRule.GaussLegendre => "gausslegendre",
        IntegrationRule.RiemannLeft => "riemann_left",
        IntegrationRule.RiemannRight => "riemann_right",
        IntegrationRule.RiemannMiddle => "riemann_middle",
        IntegrationRule.RiemannTrapezoid => "riemann_trapezoid",
        _ => throw new ArgumentOutOfRangeException(nameof(rule), rule, null),
    };

    /// <summary>Parses <c>gausslegendre</c>, <c>riemann_left</c>/<c>riemann-left</c>, … (any case; <c>gauss_legendre</c> too).</summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is no rule's name (the message lists them).</exception>
    public static IntegrationRule Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Replace('-', '_').ToLowerInvariant() switch
        {
            "gausslegendre" or "gauss_legendre" => IntegrationRule.GaussLegendre,
            "riemann_left" => IntegrationRule.RiemannLeft,
            "riemann_right" => IntegrationRule.RiemannRight,
            "riemann_middle" => IntegrationRule.RiemannMiddle,
            "riemann_trapezoid" => IntegrationRule.RiemannTrapezoid,
            _ => throw new ArgumentException($"unknown integration rule '{name}': use gausslegendre, riemann-left, riemann-right, riemann-middle or riemann-trapezoid", nameof(name)),
        };
    }

    /// <summary>The smallest step count the rule accepts: 1 for Gauss–Legendre, 2 for the Riemann rules (as Captum asserts).</summary>
    public static int MinimumSteps(this IntegrationRule rule) => rule == IntegrationRule.GaussLegendre ? 1 : 2;

    /// <summary>Throws unless <paramref name="steps"/> is allowed for <paramref name="rule"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="steps"/> is below <see cref="MinimumSteps"/> or above
    /// <see cref="MaxSteps"/> (the parameter named is <paramref name="argumentName"/>).</exception>
    public static void ValidateSteps(IntegrationRule rule, int steps, string argumentName = "steps")
    {
        if (steps < rule.MinimumSteps())
        {
            throw new ArgumentOutOfRangeException(argumentName, steps,
                $"{rule.CaptumName()} needs at least {rule.MinimumSteps()} step(s), got {steps}");
        }

        if (steps > MaxSteps)
        {
            throw new ArgumentOutOfRangeException(argumentName, steps,
                $"at most {MaxSteps} integration steps, got {steps}: more steps cost one forward and backward pass each and do not make the result more exact");
        }
    }

    /// <summary>The n integration points in [0, 1].</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="n"/> is not allowed for the rule (see <see cref="ValidateSteps"/>), or the rule is not an <see cref="IntegrationRule"/> value.</exception>
    public static double[] Alphas(IntegrationRule rule, int n)
    {
        ValidateSteps(rule, n, nameof(n));
        return rule switch
        {
            IntegrationRule.GaussLegendre => GaussLegendre(n).Select(x => 0.5 * (1 + x.Node)).ToArray(),
            IntegrationRule.RiemannLeft => Float32Linspace(0, 1 - (1.0 / n), n),
            IntegrationRule.RiemannRight => Float32Linspace(1.0 / n, 1, n),
            IntegrationRule.RiemannMiddle => Float32Linspace(1.0 / (2 * n), 1 - (1.0 / (2 * n)), n),
            IntegrationRule.RiemannTrapezoid => Float32Linspace(0, 1, n),
            _ => throw new ArgumentOutOfRangeException(nameof(rule), rule, null),
        };
    }

    /// <summary>The n weights (summing to 1, except for the trapezoid rule: see <see cref="IntegrationRule.RiemannTrapezoid"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="n"/> is not allowed for the rule (see <see cref="ValidateSteps"/>).</exception>
    public static double[] StepSizes(IntegrationRule rule, int n)
    {
        ValidateSteps(rule, n, nameof(n));
        if (rule == IntegrationRule.GaussLegendre)
        {
            return GaussLegendre(n).Select(x => 0.5 * x.Weight).ToArray();
        }

        var sizes = Enumerable.Repeat(1.0 / n, n).ToArray();
        if (rule == IntegrationRule.RiemannTrapezoid)
        {
            sizes[0] /= 2;
            sizes[n - 1] /= 2;
        }

        return sizes;
    }

    /// <summary>
    /// <c>torch.linspace(start, end, n)</c> in float32 exactly as PyTorch 1.13.1's CPU kernel (the one Captum's golden
    /// values came from) computes it, read back as doubles; newer libtorch differs in the last bit, so no torch call.
    /// </summary>
    /// <remarks>
    /// Replicates aten/src/ATen/native/cpu/RangeFactoriesKernel.cpp (1.13) as dispatched on an AVX2 CPU: start and end
    /// rounded to float, step = (end − start) / (n − 1) in float, halfway = n / 2; the base for index i is
    /// start + step·i if i &lt; halfway, else end − step·(n − 1 − i), each a fused multiply-add (the AVX2 build contracts
    /// it). cpu_serial_kernel_vec fills blocks of 2 × 8 elements with two 8-lane Vectorized&lt;float&gt;::arange(base, step)
    /// calls, lane k = base + (k·step rounded to float), not fused; the last n mod 16 elements take the scalar path
    /// (the fused base). Of the variants tried (scalar only, 4/8/16 lanes, with and without fused base and fused lanes,
    /// with and without the halfway split), only this one reproduces all 248 Riemann alphas in bert_golden.json
    /// (left/right/middle/trapezoid, n = 4, 8, 50) bit for bit. Exact for n ≤ 32768 (ATen's GRAIN_SIZE); above that
    /// libtorch splits the range across threads, which is not replicated.
    /// </remarks>
    private static double[] Float32Linspace(double start, double end, int n)
    {
        const int lanes = 8;
        var result = new double[n];
        if (n == 1)
        {
            result[0] = (float)start;
            return result;
        }

        var first = (float)start;
        var last = (float)end;
        var step = (last - first) / (n - 1);
        var halfway = n / 2;
        float Base(int i) => i < halfway
            ? MathF.FusedMultiplyAdd(step, i, first)
            : MathF.FusedMultiplyAdd(-step, n - 1 - i, last);

        var index = 0;
        for (; index <= n - (2 * lanes); index += 2 * lanes)
        {
            for (var vector = index; vector < index + (2 * lanes); vector += lanes)
            {
                var origin = Base(vector);
                for (var k = 0; k < lanes; k++)
                {
                    var offset = (float)(k * step);
                    result[vector + k] = (float)(origin + offset);
                }
            }
        }

        for (; index < n; index++)
        {
            result[index] = Base(index);
        }

        return result;
    }

    /// <summary>
    /// Gauss–Legendre nodes on [−1, 1] in ascending order with their weights: Newton's method on the Legendre
    /// recurrence from Chebyshev starting points, converged to machine precision (NumPy's leggauss agrees to ~1e-16).
    /// </summary>
    private static (double Node, double Weight)[] GaussLegendre(int n)
    {
        if (n > MaxSteps)
        {
            return ComputeGaussLegendre(n);
        }

        if (GaussLegendreCache.TryGetValue(n, out var cached))
        {
            return cached;
        }

        // A new count: make room first, so the cache holds at most CachedStepCounts (plus one per thread adding at the
        // same moment; threads racing here may each clear, which costs recomputation, never a wrong node).
        if (GaussLegendreCache.Count >= CachedStepCounts)
        {
            GaussLegendreCache.Clear();
        }

        return GaussLegendreCache.GetOrAdd(n, ComputeGaussLegendre);
    }

    private static (double Node, double Weight)[] ComputeGaussLegendre(int n)
    {
        var result = new (double, double)[n];
        for (var i = 0; i < (n + 1) / 2; i++)
        {
            var x = Math.Cos(Math.PI * (i + 0.75) / (n + 0.5));
            double derivative = 0;
            for (var iteration = 0; iteration < 100; iteration++)
            {
                var (p, dp) = Legendre(n, x);
                derivative = dp;
                var dx = p / dp;
                x -= dx;
                if (Math.Abs(dx) < 1e-16)
                {
                    break;
                }
            }

            derivative = Legendre(n, x).Derivative;
            var weight = 2 / ((1 - (x * x)) * derivative * derivative);
            result[i] = (-x, weight);
            result[n - 1 - i] = (x, weight);
        }

        if (n % 2 == 1)
        {
            result[n / 2] = (0, result[n / 2].Item2);
        }

        return result;
    }

    private static (double Value, double Derivative) Legendre(int n, double x)
    {
        double p0 = 1, p1 = x;
        if (n == 0)
        {
            return (1, 0);
        }

        for (var k = 2; k <= n; k++)
        {
            var p2 = (((2 * k) - 1) * x * p1 - ((k - 1) * p0)) / k;
            p0 = p1;
            p1 = p2;
        }

        var dp = n * ((x * p1) - p0) / ((x * x) - 1);
        return (p1, dp);
    }
}
