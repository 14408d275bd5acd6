using Attribution.Torch;

namespace Attribution.Tests.Torch;

/// <summary>
/// Test-side gradient checker. For a function f of float64 inputs it compares the analytic gradient of
/// <c>(f(x) * w).sum()</c> (w a fixed random weight of f's output shape) from <c>torch.autograd.grad</c> with central
/// finite differences, input by input: relative error = ‖analytic − numeric‖ / max(‖numeric‖, tiny).
/// </summary>
internal static class GradCheck
{
    /// <summary>Finite-difference step.</summary>
    public const double Step = 1e-6;

    /// <summary>Largest accepted relative error.</summary>
    public const double Tolerance = 1e-6;

    private const double Tiny = 1e-12;
    private const ulong WeightSeed = 20240611;

    /// <summary>Asserts that the analytic gradients of f agree with finite differences for every input.</summary>
    public static void Check(Func<Tensor[], Tensor> f, params Tensor[] inputs) => Check(f, Tolerance, inputs);

    /// <summary>Asserts agreement within <paramref name="tolerance"/>.</summary>
    public static void Check(Func<Tensor[], Tensor> f, double tolerance, params Tensor[] inputs)
    {
        var errors = RelativeErrors(f, inputs);
        for (var i = 0; i < errors.Length; i++)
        {
            errors[i].Should().BeLessThanOrEqualTo(tolerance, $"the analytic gradient of input {i} (shape [{string.Join(", ", inputs[i].shape)}]) should match central differences");
        }
    }

    /// <summary>The relative error of the analytic gradient, per input.</summary>
    public static double[] RelativeErrors(Func<Tensor[], Tensor> f, params Tensor[] inputs)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(inputs);
        using var scope = torch.NewDisposeScope();
        foreach (var x in inputs)
        {
            x.dtype.Should().Be(ScalarType.Float64, "gradient checks run in float64");
        }

        var leaves = inputs.Select(x => x.detach().requires_grad_()).ToArray();
        var output = f(leaves);
        output.dtype.Should().Be(ScalarType.Float64);
        Tensor weight;
        using (var generator = new Generator(WeightSeed))
        {
            weight = torch.randn(output.shape, ScalarType.Float64, generator);
        }

        var loss = (output * weight).sum();
        var analytic = torch.autograd.grad([loss], leaves, allow_unused: true);

        var values = leaves.Select(x => x.detach()).ToArray();
        var errors = new double[leaves.Length];
        for (var i = 0; i < leaves.Length; i++)
        {
            var shape = leaves[i].shape;
            var data = values[i].data<double>();
            var numeric = new double[data.Length];
            for (var j = 0; j < data.Length; j++)
            {
                var saved = data[j];
                data[j] = saved + Step;
                var plus = Loss(f, values, i, data, shape, weight);
                data[j] = saved - Step;
                var minus = Loss(f, values, i, data, shape, weight);
                data[j] = saved;
                numeric[j] = (plus - minus) / (2 * Step);
            }

            double[] exact;
            if (analytic[i] is { } g)
            {
                g.shape.Should().Equal(shape, "a gradient has its input's shape");
                exact = g.data<double>();
            }
            else
            {
                exact = new double[data.Length];
            }

            errors[i] = Norm(exact.Zip(numeric, (a, b) => a - b)) / Math.Max(Norm(numeric), Tiny);
        }

        return errors;
    }

    private static double Loss(Func<Tensor[], Tensor> f, Tensor[] values, int index, double[] data, long[] shape, Tensor weight)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var inputs = (Tensor[])values.Clone();
        inputs[index] = torch.tensor(data, shape);
        return (f(inputs) * weight).sum().item<double>();
    }

    private static double Norm(IEnumerable<double> values) => Math.Sqrt(values.Sum(v => v * v));
}

/// <summary>Deterministic float64 test inputs.</summary>
internal static class Inputs
{
    /// <summary>Uniform values in [lo, hi).</summary>
    public static Tensor Uniform(long[] shape, int seed, double lo = -1, double hi = 1)
    {
        var random = new Random(seed);
        var data = new double[Count(shape)];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = lo + ((hi - lo) * random.NextDouble());
        }

        return torch.tensor(data, shape);
    }

    /// <summary>Values with |x| in [0.2, 1.2] and random signs (away from the kinks of relu/abs/clamp).</summary>
    public static Tensor AwayFromZero(long[] shape, int seed)
    {
        var random = new Random(seed);
        var data = new double[Count(shape)];
        for (var i = 0; i < data.Length; i++)
        {
            var magnitude = 0.2 + random.NextDouble();
            data[i] = random.Next(2) == 0 ? magnitude : -magnitude;
        }

        return torch.tensor(data, shape);
    }

    /// <summary>Pairwise distinct values (at least 0.1 apart) in random order, for max/sort-style ops.</summary>
    public static Tensor Distinct(long[] shape, int seed)
    {
        var n = Count(shape);
        var random = new Random(seed);
        var data = Enumerable.Range(0, n).Select(i => (i * 0.1) - (n * 0.05) + (0.01 * random.NextDouble())).ToArray();
        random.Shuffle(data);
        return torch.tensor(data, shape);
    }

    private static int Count(long[] shape) => checked((int)shape.Aggregate(1L, (a, b) => a * b));
}
