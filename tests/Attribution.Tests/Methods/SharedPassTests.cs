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
}
