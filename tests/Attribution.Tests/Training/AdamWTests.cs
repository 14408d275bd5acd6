using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;
using Attribution.Training;

namespace Attribution.Tests.Training;

public sealed class AdamWTests
{
    /// <summary>
    /// torch.optim.AdamW (PyTorch 1.13, amsgrad off), written out for one scalar: decay, moments, bias corrections.
    /// </summary>
    private static double[] Reference(double theta, double[] grads, double lr, double beta1, double beta2, double eps, double decay)
    {
        var result = new double[grads.Length];
        double m = 0, v = 0;
        for (var t = 1; t <= grads.Length; t++)
        {
            var g = grads[t - 1];
            theta *= 1 - (lr * decay);
            m = (beta1 * m) + ((1 - beta1) * g);
            v = (beta2 * v) + ((1 - beta2) * g * g);
            var stepSize = lr / (1 - Math.Pow(beta1, t));
            var denominator = (Math.Sqrt(v) / Math.Sqrt(1 - Math.Pow(beta2, t))) + eps;
            theta -= stepSize * m / denominator;
            result[t - 1] = theta;
        }

        return result;
    }

    [Fact]
    public void One_step_matches_the_hand_computed_update()
    {
        // θ = 0.5, g = 2 θ = 1 (loss θ²), lr = 0.1, λ = 0.01, β = (0.9, 0.999), ε = 1e-8:
        // θ ← 0.5 (1 − 0.001) = 0.4995; m = 0.1, v = 0.001; m̂ = 1, v̂ = 1; θ ← 0.4995 − 0.1 · 1 / (1 + 1e-8).
        using var scope = NewDisposeScope();
        var theta = tensor(new[] { 0.5 }, requires_grad: true);
        using var optimizer = new AdamW([theta], lr: 0.1, weightDecay: 0.01);
        theta.Squared().sum().backward();
        optimizer.step();
        var expected = 0.4995 - (0.1 / (1 + 1e-8));
        theta.data<double>().ToArray()[0].Should().BeApproximately(expected, 1e-12);
        optimizer.StepCount.Should().Be(1);
    }

    [Fact]
    public void Several_steps_match_the_reference_for_every_element()
    {
        using var scope = NewDisposeScope();
        double[] start = [0.5, -1.25, 3.0, 1e-3];
        var theta = tensor(start, requires_grad: true);
        const double lr = 0.05, beta1 = 0.8, beta2 = 0.99, eps = 1e-6, decay = 0.1;
        using var optimizer = new AdamW([theta], lr, beta1, beta2, eps, decay);
        var gradients = new List<double[]>();
        for (var step = 0; step < 5; step++)
        {
            // loss = Σ θ³/3 + sin(θ): gradient θ² + cos θ, different at every step.
            var current = theta.data<double>().ToArray();
            gradients.Add(current.Select(x => (x * x) + Math.Cos(x)).ToArray());
            using var three = 3.ToScalar();
            theta.pow(three).div(three).Plus(theta.sin()).sum().backward();
            optimizer.step();
            optimizer.zero_grad();
            theta.grad.Should().BeNull();
        }

        var actual = theta.data<double>().ToArray();
        for (var i = 0; i < start.Length; i++)
        {
            var expected = Reference(start[i], gradients.Select(g => g[i]).ToArray(), lr, beta1, beta2, eps, decay);
            actual[i].Should().BeApproximately(expected[^1], 1e-12, $"element {i}");
        }
    }

    [Fact]
    public void A_parameter_without_gradient_is_left_alone_and_its_step_count_does_not_advance()
    {
        using var scope = NewDisposeScope();
        var used = tensor(new[] { 1.0 }, requires_grad: true);
        var unused = tensor(new[] { 2.0 }, requires_grad: true);
        using var optimizer = new AdamW([used, unused], lr: 0.1, weightDecay: 0.5);
        used.Squared().sum().backward();
        optimizer.step();
        optimizer.zero_grad();
        unused.data<double>().ToArray()[0].Should().Be(2.0);

        // Its first update is a first step (bias corrections with t = 1), whatever the optimizer's step count.
        unused.Squared().sum().backward();
        optimizer.step();
        unused.data<double>().ToArray()[0].Should().BeApproximately(Reference(2.0, [4.0], 0.1, 0.9, 0.999, 1e-8, 0.5)[0], 1e-12);
    }

    [Fact]
    public void Bad_settings_are_refused()
    {
        using var scope = NewDisposeScope();
        var p = tensor(new[] { 1.0 }, requires_grad: true);
        ((Action)(() => _ = new AdamW([p], lr: 0))).Should().Throw<ArgumentOutOfRangeException>();
        ((Action)(() => _ = new AdamW([p], beta1: 1))).Should().Throw<ArgumentOutOfRangeException>();
        ((Action)(() => _ = new AdamW([p], beta2: -0.1))).Should().Throw<ArgumentOutOfRangeException>();
        ((Action)(() => _ = new AdamW([p], weightDecay: -1))).Should().Throw<ArgumentOutOfRangeException>();

        // ε = 0: an element whose gradient is 0 (as the padding row's always is) gets m = v = 0, so 0/0 = NaN. Before,
        // accepted, and every such element of the model became NaN at the first step.
        ((Action)(() => _ = new AdamW([p], eps: 0))).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*0/0 = NaN*").Which.ParamName.Should().Be("eps");
        ((Action)(() => _ = new AdamW([p, p]))).Should().Throw<ArgumentException>().WithMessage("*more than once*");
    }

    [Theory]
    [InlineData(0.5, 2.0)] // product exactly 1: 1 − lr·λ = 0 erases every weight at the first step
    [InlineData(0.1, 15.0)] // product 1.5: every sign flips at each step
    public void A_decay_that_would_zero_or_flip_every_weight_is_refused_naming_both_settings_and_their_product(double lr, double decay)
    {
        // PyTorch's AdamW runs it (it checks lr ≥ 0 and λ ≥ 0 only); the factor 1 − lr·λ is worked out by hand from
        // the update θ ← θ·(1 − lr·λ): 0 at lr·λ = 1, −0.5 at 1.5.
        using var scope = NewDisposeScope();
        var p = tensor(new[] { 1.0 }, requires_grad: true);
        var product = (lr * decay).ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        ((Action)(() => _ = new AdamW([p], lr: lr, weightDecay: decay))).Should().Throw<ArgumentOutOfRangeException>()
            .WithMessage($"lr · weightDecay = * = {product},*lower weightDecay below 1 / lr*")
            .Which.Should().Match<ArgumentOutOfRangeException>(e => e.ParamName == "weightDecay" && Equals(e.ActualValue, decay), "the argument named carries its own value");

        // Just below 1 is a (harsh) decay, accepted: one step from θ = 1 with g = 2 is the reference.
        var below = (1 - 1e-9) / decay;
        using var optimizer = new AdamW([p], lr: below, weightDecay: decay);
        p.Squared().sum().backward();
        optimizer.step();
        p.data<double>().ToArray()[0].Should().BeApproximately(Reference(1.0, [2.0], below, 0.9, 0.999, 1e-8, decay)[0], 1e-12);

        // A schedule cannot raise the rate past 1 / λ either; the refused rate is not kept.
        ((Action)(() => optimizer.LearningRate = lr)).Should().Throw<ArgumentOutOfRangeException>()
            .WithMessage($"LearningRate · WeightDecay = * = {product},*")
            .Which.Should().Match<ArgumentOutOfRangeException>(e => e.ParamName == nameof(AdamW.LearningRate) && Equals(e.ActualValue, lr), "the rate being set is the value named");
        optimizer.LearningRate.Should().Be(below);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-0.1)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void A_learning_rate_set_between_steps_out_of_range_is_refused_and_the_next_step_is_unchanged(double bad)
    {
        using var scope = NewDisposeScope();
        var theta = tensor(new[] { 0.5 }, requires_grad: true);
        using var optimizer = new AdamW([theta], lr: 0.1, weightDecay: 0.01);
        ((Action)(() => optimizer.LearningRate = bad)).Should().Throw<ArgumentOutOfRangeException>()
            .WithMessage("the learning rate must be positive and finite*")
            .Which.ParamName.Should().Be(nameof(AdamW.LearningRate));
        optimizer.LearningRate.Should().Be(0.1);

        // The refused value was not kept: the step is the hand-computed one with lr = 0.1 (see the test above;
        // 1e-12 is float64 rounding of a handful of operations on numbers near 1).
        theta.Squared().sum().backward();
        optimizer.step();
        theta.data<double>().ToArray()[0].Should().BeApproximately(0.4995 - (0.1 / (1 + 1e-8)), 1e-12);
    }
}
