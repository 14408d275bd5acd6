using Attribution.Methods;
using Xunit.Abstractions;

namespace Attribution.Tests.Methods.Perturbation;

/// <summary>
/// On sst2-bert-tiny (a real float32 transformer, padded batches with an attention mask), how the perturbed inputs
/// are cut into model calls must not change the result: one input per call (token budget 1, batch size 1) against
/// every input in one call (budget 2^20, batch size 4096). Removal makes the rows of different lengths, so the large
/// calls pad them and the small ones do not. Tolerance 2e-6: the same row computed in calls of other shapes may take
/// other BLAS kernels and differ by a few float32 roundings of the logits (ulp 2.4e-7 at |logit| ≈ 3); the scores
/// combine them with weights of order 1 (measured: at most 6e-8). A padding leak would show as 1e-3 or more.
/// </summary>
public sealed class BatchingInvarianceTests(SstBertTinyFixture fixture, ITestOutputHelper output) : IClassFixture<SstBertTinyFixture>
{
    private const double Tolerance = 2e-6;

    private const string Text = "the film is a charming , often funny and yet somewhat uneven ride";

    public static TheoryData<string> Methods() => new() { "occlusion", "kernel-shap", "shapley-sampling", "lime" };

    private static IAttributor Method(string name, int budget, int batchSize) => name switch
    {
        "occlusion" => new Occlusion { Window = 2, Perturbation = AbsentFeature.Remove, TokenBudget = budget, BatchSize = batchSize },
        "kernel-shap" => new KernelShap { Samples = 200, Seed = 5, Perturbation = AbsentFeature.Remove, TokenBudget = budget, BatchSize = batchSize },
        "shapley-sampling" => new ShapleyValueSampling { Samples = 8, Seed = 5, Perturbation = AbsentFeature.Remove, TokenBudget = budget, BatchSize = batchSize },
        _ => new Lime { Samples = 200, Seed = 5, Perturbation = LimePerturbation.Remove, TokenBudget = budget, BatchSize = batchSize },
    };

    [SkippableTheory]
    [MemberData(nameof(Methods))]
    public void One_input_per_call_and_all_in_one_call_give_the_same_scores(string name)
    {
        var small = Method(name, budget: 1, batchSize: 1).Attribute(fixture.Model, [Text])[0];
        var large = Method(name, budget: 1 << 20, batchSize: PerturbationMethod.MaxBatchSize).Attribute(fixture.Model, [Text])[0];
        var worst = small.Scores.Zip(large.Scores, (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"{name}: worst |one per call − all in one| = {worst:E2}");
        small.Tokens.Should().Equal(large.Tokens);
        small.Scores.Should().Equal(large.Scores, (a, b) => Math.Abs(a - b) <= Tolerance);
        small.Scores.Should().Contain(v => Math.Abs(v) > 1e-3, "the precondition: scores well above the tolerance");
    }
}
