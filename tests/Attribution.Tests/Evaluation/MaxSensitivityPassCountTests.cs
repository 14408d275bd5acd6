using Attribution.Engine;
using Attribution.Evaluation;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Tests.Methods;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Evaluation;

/// <summary>
/// One max-sensitivity call runs the text's prediction and the reference explanation as one pass (the method's own shared
/// first pass: the gradient's forward, or Integrated Gradients' capture of the path's input end), then each sample's run
/// of the method; a token baseline's pass runs once for the reference and every sample (the samples perturb the input's
/// embeddings, never the baseline's). Counted without a hook (<see cref="ForwardCountingModule"/>): a hook of the caller's
/// on the model keeps a path method's capture from serving as the prediction. Runs alone: the live tensor count is
/// process-wide.
/// </summary>
[Collection(LiveTensorCollection.Name)]
public sealed class MaxSensitivityPassCountTests
{
    private const string Text = "5 9 12 7";

    /// <summary>
    /// Passes and rows by hand for S samples, IG at 4 steps (its 4 path points fit one pass): gradient and gradient × input,
    /// the prediction with the reference gradient (1 pass, 1 row), then one gradient pass per sample (S, S): S + 1 passes,
    /// S + 1 rows. IG with the pad baseline: the prediction with the text's capture (1, 1), the baseline's capture (1, 1,
    /// kept), the reference's path points (1, 4); per sample the perturbed capture (1, 1) and the path points (1, 4):
    /// 3 + 2S passes, 6 + 5S rows. IG with the zero baseline has no baseline capture but a pass for F at the zero
    /// activation in every run (the reference's and each sample's, the same input each time, not kept): 3 + 3S passes,
    /// 6 + 6S rows. Before, the prediction was a pass of its own and the reference ran the text again (gradient: S + 2,
    /// S + 2; IG pad: 4 + 3S, 7 + 6S, the baseline's capture in every run; IG zero: 4 + 3S, 7 + 6S).
    /// </summary>
    [Theory]
    [InlineData("gradient", 3, 4, 4)]
    [InlineData("gradient-x-input", 3, 4, 4)]
    [InlineData("integrated-gradients", 3, 9, 21)]
    [InlineData("integrated-gradients-zero", 3, 12, 24)]
    public void The_prediction_is_the_reference_pass_and_a_token_baseline_runs_once(string method, int samples, int passes, long rows)
    {
        var (model, forwards) = ForwardCountingModule.TinyBert(7);
        using var _ = model;
        var attributor = Attributor(method);
        var settings = new SensitivitySettings { Samples = samples, Radius = 0.05 };
        var before = LiveTensors.Settled();
        forwards.Reset();

        var result = MaxSensitivity.Compute(model, attributor, Text, settings: settings);

        LiveTensors.Count.Should().Be(before, "the call frees every tensor it made, the kept first pass and baseline included");
        result.Steps.Should().HaveCount(samples);
        forwards.Calls.Should().Be(passes);
        forwards.Rows.Should().Be(rows);
    }

    /// <summary>
    /// The shared passes change no value: each sample's change equals, exactly, the one computed here the way the metric
    /// computed it before (a context with no shared first pass and no kept baseline, the reference an identity
    /// perturbation through the method's <see cref="INoiseTunnelable"/> interface, the same float64 arithmetic), on the
    /// same given perturbations. Exact (no tolerance): the passes are the same computations on the same inputs.
    /// </summary>
    [Theory]
    [InlineData("gradient")]
    [InlineData("gradient-x-input")]
    [InlineData("integrated-gradients")]
    [InlineData("integrated-gradients-zero")]
    [InlineData("integrated-gradients-adaptive")]
    public void Each_samples_change_is_the_unshared_computations(string method)
    {
        var (model, _) = ForwardCountingModule.TinyBert(7);
        using var __ = model;
        var attributor = Attributor(method);
        var perturbations = Perturbations(model, seed: 5, count: 3, radius: 0.05);

        var result = MaxSensitivity.Compute(model, attributor, Text, settings: new SensitivitySettings { Perturbations = perturbations });

        result.Steps.Select(s => s.Value).Should().Equal(UnsharedChanges(model, (INoiseTunnelable)attributor, perturbations));
    }

    /// <summary>The methods the metrics' pass-count tests run, by name (InfidelityPassCountTests takes the first three).</summary>
    internal static IAttributor Attributor(string method) => method switch
    {
        "gradient" => new Gradient(),
        "gradient-x-input" => new GradientXInput(),
        "integrated-gradients" => new IntegratedGradients { Steps = 4 },
        "integrated-gradients-zero" => new IntegratedGradients { Steps = 4, Baseline = Baseline.Zero },
        _ => new IntegratedGradients(),
    };

    /// <summary>Uniform perturbations in [−r, r] of the text's word-embedding output, [tokens][hidden], from a seeded System.Random.</summary>
    private static List<double[][]> Perturbations(TextClassifier model, int seed, int count, double radius)
    {
        var tokens = model.Encode([Text], true).Input.InputIds.shape[1];
        var hidden = Attribution.Tests.Models.TransformerTestKit.TinyBert.HiddenSize;
        var random = new Random(seed);
        return Enumerable.Range(0, count)
            .Select(_ => Enumerable.Range(0, (int)tokens).Select(_ => Enumerable.Range(0, hidden).Select(_ => ((2 * random.NextDouble()) - 1) * radius).ToArray()).ToArray())
            .ToList();
    }

    /// <summary>‖Φ(x) − Φ(x + δ)‖ / ‖Φ(x)‖ per perturbation, each explanation a run of its own as the metric ran them before.</summary>
    private static double[] UnsharedChanges(TextClassifier model, INoiseTunnelable method, List<double[][]> perturbations)
    {
        using var scope = NewDisposeScope();
        var context = new AttributionContext(model, model.Encode([Text], true), new ExplainOptions());
        var reference = method.AttributeWithNoise(context, x => x).to(ScalarType.Float64);
        var norm = reference.norm().ItemAsDouble();
        return perturbations.Select(delta =>
        {
            var d = tensor(delta.SelectMany(row => row).ToArray(), ScalarType.Float64);
            var perturbed = method.AttributeWithNoise(context, x => x.Plus(d.reshape(x.shape).to(x.dtype))).to(ScalarType.Float64);
            return (reference - perturbed).norm().ItemAsDouble() / norm;
        }).ToArray();
    }
}
