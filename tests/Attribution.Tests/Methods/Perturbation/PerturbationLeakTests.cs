using Attribution.Methods;
using Attribution.Models;

namespace Attribution.Tests.Methods.Perturbation;

/// <summary>
/// The perturbation methods leave the process-wide live-tensor count exactly where they found it (no garbage
/// collection in between, so a tensor left for the finalizer counts), on success and when they throw after the
/// model's first forward pass or between model calls. Serial: the count is process-wide.
/// </summary>
[Collection(LiveTensorCollection.Name)]
public sealed class PerturbationLeakTests(SstBertTinyFixture fixture) : IClassFixture<SstBertTinyFixture>
{
    private const string Text = "a fine , funny film";

    public static TheoryData<string> Methods() => new() { "occlusion", "shapley", "shapley-sampling", "kernel-shap" };

    private static PerturbationMethod Method(string name, AbsentFeature perturbation = AbsentFeature.Mask, long? baselineId = null) => name switch
    {
        "occlusion" => new Occlusion { Window = 2, Perturbation = perturbation, BaselineId = baselineId },
        "shapley" => new ShapleyValues { Perturbation = perturbation, BaselineId = baselineId },
        "shapley-sampling" => new ShapleyValueSampling { Samples = 4, Perturbation = perturbation, BaselineId = baselineId },
        _ => new KernelShap { Samples = 20, Perturbation = perturbation, BaselineId = baselineId },
    };

    [SkippableTheory]
    [MemberData(nameof(Methods))]
    public void Runs_and_failures_leave_no_tensor_behind(string name)
    {
        var model = fixture.Model;
        Method(name).Attribute(model, ["warm up"]);
        var start = LiveTensors.Count;

        Method(name).Attribute(model, [Text]).Should().ContainSingle();
        Method(name, AbsentFeature.Remove).Attribute(model, [Text, "it is too long"]).Should().HaveCount(2);
        Method(name).Run(model, Text).FeatureScores.Should().HaveCount(5);
        LiveTensors.Count.Should().Be(start, "after runs that succeed");

        // Refused after the prediction's forward pass: a baseline id outside the vocabulary.
        FluentActions.Invoking(() => Method(name, AbsentFeature.Baseline, 1_000_000).Attribute(model, [Text]))
            .Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "BaselineId");
        // Cancelled before the first perturbed call.
        FluentActions.Invoking(() => Method(name).Attribute(model, [Text], new AttributionOptions { Cancellation = new CancellationToken(true) }))
            .Should().Throw<OperationCanceledException>();
        // Refused by the method's own feature check, after the forward pass.
        var tooMany = name switch
        {
            "occlusion" => () => new Occlusion { Window = 6 }.Attribute(model, [Text]),
            "shapley" => () => new ShapleyValues { MaxFeatures = 4 }.Attribute(model, [Text]),
            _ => (Func<IReadOnlyList<Explanation>>)(() => Method(name).Attribute(model, [Text], new AttributionOptions { Target = Target.Class(2) })),
        };
        FluentActions.Invoking(tooMany).Should().Throw<ArgumentException>();
        LiveTensors.Count.Should().Be(start, "after calls that throw");
    }
}
