using Attribution.Methods;
using Attribution.Pipeline;
using Attribution.Salience;

namespace Attribution.Tests.Methods;

/// <summary>
/// Gradient and Gradient × Input explained together cost one forward and one backward pass per batch: the gradient
/// comes from the forward pass that also gives the prediction. Counted on <see cref="PowerOfSum"/>, whose gradients
/// are written out by hand (∂(S^p)/∂e_t = p S^(p−1) w); 1e-5 relative covers float32.
/// </summary>
public sealed class SharedPassTests
{
    private static readonly ExplainOptions Options = new() { Target = Target.Class(0), BatchSize = 8, Salience = new SalienceOptions { KeepSpecialTokens = true } };

    [Fact]
    public void Gradient_and_gradient_x_input_share_the_first_forward_pass()
    {
        var (model, module) = PowerOfSum.Counted(3);
        using var _ = model;
        string[] texts = ["1 2 3", "4 5", "2 6 7 8"];
        var results = MethodRunner.AttributeAll(model, texts, [new Gradient { Reduce = HiddenReduction.L2 }, new GradientXInput()], Options);

        module.ForwardCalls.Should().Be(1, "one batch: the prediction's forward pass also gives both methods their gradient");
        for (var i = 0; i < texts.Length; i++)
        {
            var gradientNorm = Math.Sqrt(PowerOfSum.Gradient(texts[i], 3).Sum(g => g * g));
            results[0][i].Scores.Should().OnlyContain(s => Math.Abs(s - gradientNorm) <= 1e-5 * gradientNorm);
            results[1][i].Scores.Should().Equal(PowerOfSum.GradientTimesInput(texts[i], 3), (a, b) => Math.Abs(a - b) <= 1e-5 * Math.Abs(b) + 1e-7);
        }
    }

    [Fact]
    public void A_method_with_its_own_passes_still_gets_its_own_forward()
    {
        var (model, module) = PowerOfSum.Counted(2);
        using var _ = model;
        new IntegratedGradients { Steps = 4, Baseline = Baseline.Zero, InternalBatchSize = 64 }.Explain(model, ["1 2 3"], Options);

        // Prediction, the input's activation, the zero baseline's output, and one pass for the 4 path points.
        module.ForwardCalls.Should().Be(4);
    }

    [Fact]
    public void Batches_of_texts_stay_within_the_token_budget_and_the_results_do_not_depend_on_it()
    {
        var (model, module) = PowerOfSum.Counted(3);
        using var _ = model;
        string[] texts = ["1 2 3 4 5 6 7 8", "1 2", "3 4", "5 6", "7 8 9 1 2 3", "4 5 6", "2 3", "9 8 7 6 5 4 3 2"];
        var budgeted = new GradientXInput().Explain(model, texts, Options with { BatchSize = 64, TokenBudget = 12 });

        // One forward pass per batch (the gradient shares it), lengths sorted 2,2,2,2,3,6,8,8 and at most 12 padded tokens:
        // four 2-token texts (8; a fifth of 3 tokens would make 15), then 3 and 6 (2 × 6 = 12), then each 8 alone (16 > 12).
        module.Shapes.Should().Equal((4, 2), (2, 6), (1, 8), (1, 8));
        var unbudgeted = new GradientXInput().Explain(model, texts, Options with { BatchSize = 64 });
        for (var i = 0; i < texts.Length; i++)
        {
            budgeted[i].Scores.Should().Equal(unbudgeted[i].Scores, (a, b) => Math.Abs(a - b) <= 1e-6 * (1 + Math.Abs(b)));
        }

        FluentActions.Invoking(() => new GradientXInput().Explain(model, texts, Options with { TokenBudget = 0 }))
            .Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("TokenBudget");
    }
}
