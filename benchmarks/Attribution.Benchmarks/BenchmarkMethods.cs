using Attribution.Methods;

namespace Attribution.Benchmarks;

/// <summary>
/// The method names method-throughput and method-one-text take, and the attributors they stand for (the library's
/// defaults unless the name says otherwise). Kept free of models so the test project can compile this file by link.
/// </summary>
internal static class BenchmarkMethods
{
    /// <summary>The suffix that explains every class of the model in one call instead of the predicted one.</summary>
    public const string EveryClass = "/every-class";

    private const string Known =
        "gradient, gradient-x-input, ig, ig-50, smoothgrad, gradient-shap, conductance, neuron-conductance, lime, occlusion, kernel-shap, shapley-sampling, attention-rollout, grad-attention-rollout, lrp or predict";

    /// <summary>
    /// The attributor <paramref name="name"/> names, or null for <c>predict</c> (the model's predictions only); for a
    /// combination <c>a+b+c</c> the first of <see cref="Combination"/>, after every part is checked.
    /// </summary>
    /// <exception cref="BenchmarkArgumentException">The name, or a part of a combination, is no method.</exception>
    public static IAttributor? Method(string name) => name.Contains('+', StringComparison.Ordinal)
        ? Combination(name)[0]
        : Single(name.EndsWith(EveryClass, StringComparison.Ordinal) ? name[..^EveryClass.Length] : name, name);

    /// <summary>The attributors of a combination <c>a+b+c</c>, run together in one MethodRunner.AttributeAll call.</summary>
    /// <exception cref="BenchmarkArgumentException">
    /// A part is unknown, is <c>predict</c> (which runs no method) or ends in <c>/every-class</c> (a combination explains
    /// the predicted class only).
    /// </exception>
    public static IAttributor[] Combination(string name) => name.Split('+').Select(part =>
    {
        if (part.EndsWith(EveryClass, StringComparison.Ordinal))
        {
            throw new BenchmarkArgumentException(
                $"method '{name}': '{part}' cannot be combined, a combination explains the predicted class only: leave {EveryClass} out, or time {part} alone", "method");
        }

        return Single(part, name) ?? throw new BenchmarkArgumentException(
            $"method '{name}': predict runs no method, so it cannot be combined: name methods only (e.g. gradient+ig), or time predict alone", "method");
    }).ToArray();

    private static IAttributor? Single(string method, string given) => method switch
    {
        "gradient" => new Gradient(),
        "gradient-x-input" => new GradientXInput(),
        "ig" => new IntegratedGradients(),
        "ig-50" => new IntegratedGradients { Steps = 50 },
        "smoothgrad" => new NoiseTunnel(new Gradient()),
        "gradient-shap" => new GradientShap(),
        "conductance" => new LayerConductance { Layer = "bert.encoder.layer.0" },
        "lime" => new Lime { Samples = 256 },
        "occlusion" => new Occlusion(),
        "kernel-shap" => new KernelShap(),
        "shapley-sampling" => new ShapleyValueSampling(),
        "neuron-conductance" => new NeuronConductance { Layer = "bert.encoder.layer.0", Position = 0, Unit = 5 },
        "attention-rollout" => new Attribution.Methods.Attention.AttentionRollout(),
        "grad-attention-rollout" => new Attribution.Methods.Attention.AttentionRollout { GradientWeighted = true },
        "lrp" => new LrpEpsilon(),
        "predict" => null,
        _ => throw new BenchmarkArgumentException(
            method == given ? $"unknown method '{method}': use {Known}" : $"unknown method '{method}' in '{given}': use {Known}",
            "method"),
    };
}
