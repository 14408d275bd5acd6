using Attribution.Methods;

namespace Attribution.Tests.Methods;

/// <summary>
/// <see cref="IntegrationRules"/> against the definitions, with expected values written here: Gauss–Legendre nodes
/// and weights in closed form (the roots of the Legendre polynomials P₁…P₅ and 2/((1−x²)P′ₙ(x)²)), Riemann points
/// by their formulas (rounded to float32, as torch.linspace makes them), names as Captum spells them.
/// </summary>
public class IntegrationRuleFormulaTests
{
    private static readonly IntegrationRule[] AllRules =
    [
        IntegrationRule.GaussLegendre, IntegrationRule.RiemannLeft, IntegrationRule.RiemannRight,
        IntegrationRule.RiemannMiddle, IntegrationRule.RiemannTrapezoid,
    ];

    /// <summary>Closed-form Gauss–Legendre nodes on [−1, 1] (ascending) and weights for n = 1…5.</summary>
    public static TheoryData<int, double[], double[]> ClosedForms()
    {
        var s30 = Math.Sqrt(30);
        var a4 = Math.Sqrt((3.0 / 7) - (2.0 / 7 * Math.Sqrt(6.0 / 5)));
        var b4 = Math.Sqrt((3.0 / 7) + (2.0 / 7 * Math.Sqrt(6.0 / 5)));
        var a5 = Math.Sqrt(5 - (2 * Math.Sqrt(10.0 / 7))) / 3;
        var b5 = Math.Sqrt(5 + (2 * Math.Sqrt(10.0 / 7))) / 3;
        var s70 = Math.Sqrt(70);
        return new TheoryData<int, double[], double[]>
        {
            { 1, [0.0], [2.0] },
            { 2, [-1 / Math.Sqrt(3), 1 / Math.Sqrt(3)], [1.0, 1.0] },
            { 3, [-Math.Sqrt(0.6), 0.0, Math.Sqrt(0.6)], [5.0 / 9, 8.0 / 9, 5.0 / 9] },
            { 4, [-b4, -a4, a4, b4], [(18 - s30) / 36, (18 + s30) / 36, (18 + s30) / 36, (18 - s30) / 36] },
            { 5, [-b5, -a5, 0.0, a5, b5], [(322 - (13 * s70)) / 900, (322 + (13 * s70)) / 900, 128.0 / 225, (322 + (13 * s70)) / 900, (322 - (13 * s70)) / 900] },
        };
    }

    [Theory]
    [MemberData(nameof(ClosedForms))]
    public void Gauss_legendre_points_and_weights_are_the_closed_forms_mapped_to_0_1(int n, double[] nodes, double[] weights)
    {
        // x ∈ [−1, 1] maps to α = (1 + x)/2 and the weight halves (dα = dx/2).
        var alphas = IntegrationRules.Alphas(IntegrationRule.GaussLegendre, n);
        var steps = IntegrationRules.StepSizes(IntegrationRule.GaussLegendre, n);
        alphas.Should().Equal(nodes.Select(x => (1 + x) / 2), (a, e) => Math.Abs(a - e) <= 1e-15);
        steps.Should().Equal(weights.Select(w => w / 2), (a, e) => Math.Abs(a - e) <= 1e-15);
    }

    [Theory]
    [InlineData(IntegrationRule.RiemannLeft, 2)]
    [InlineData(IntegrationRule.RiemannLeft, 5)]
    [InlineData(IntegrationRule.RiemannLeft, 37)]
    [InlineData(IntegrationRule.RiemannLeft, 32)]
    [InlineData(IntegrationRule.RiemannTrapezoid, 16)]
    [InlineData(IntegrationRule.RiemannRight, 3)]
    [InlineData(IntegrationRule.RiemannRight, 37)]
    [InlineData(IntegrationRule.RiemannMiddle, 4)]
    [InlineData(IntegrationRule.RiemannMiddle, 37)]
    [InlineData(IntegrationRule.RiemannTrapezoid, 2)]
    [InlineData(IntegrationRule.RiemannTrapezoid, 6)]
    [InlineData(IntegrationRule.RiemannTrapezoid, 37)]
    public void Riemann_points_are_the_formula_in_float32_and_the_weights_one_over_n(IntegrationRule rule, int n)
    {
        // Left i/n, right (i+1)/n, middle (i+½)/n, trapezoid i/(n−1); torch.linspace computes them in float32, so each
        // is the formula to within float32 rounding (a few ulps of 1: 2.4e-7). n = 37 takes the 16-wide vector path
        // twice and the scalar tail; n = 16 and 32 fill the vector path exactly, with no tail.
        var expected = Enumerable.Range(0, n).Select(i => rule switch
        {
            IntegrationRule.RiemannLeft => (double)i / n,
            IntegrationRule.RiemannRight => (i + 1.0) / n,
            IntegrationRule.RiemannMiddle => (i + 0.5) / n,
            _ => (double)i / (n - 1),
        }).ToArray();
        var alphas = IntegrationRules.Alphas(rule, n);
        alphas.Should().Equal(expected, (a, e) => Math.Abs(a - e) <= 3e-7);
        alphas.Should().OnlyContain(a => a == (float)a, "the points are float32 values");

        var steps = IntegrationRules.StepSizes(rule, n);
        var weights = Enumerable.Repeat(1.0 / n, n).ToArray();
        if (rule == IntegrationRule.RiemannTrapezoid)
        {
            weights[0] = 0.5 / n;
            weights[n - 1] = 0.5 / n;
        }

        steps.Should().Equal(weights);
    }

    [Fact]
    public void Riemann_end_points_are_exact()
    {
        IntegrationRules.Alphas(IntegrationRule.RiemannLeft, 40)[0].Should().Be(0);
        IntegrationRules.Alphas(IntegrationRule.RiemannRight, 40)[^1].Should().Be(1);
        IntegrationRules.Alphas(IntegrationRule.RiemannTrapezoid, 40).Should().StartWith(0.0).And.EndWith(1.0);
    }

    [Fact]
    public void Names_and_parsing_follow_captum()
    {
        AllRules.Select(r => r.CaptumName()).Should().Equal(
            "gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid");
        foreach (var rule in AllRules)
        {
            IntegrationRules.Parse(rule.CaptumName()).Should().Be(rule);
            IntegrationRules.Parse(rule.CaptumName().Replace('_', '-').ToUpperInvariant()).Should().Be(rule);
        }

        IntegrationRules.Parse("gauss_legendre").Should().Be(IntegrationRule.GaussLegendre);
        IntegrationRules.Parse("Gauss-Legendre").Should().Be(IntegrationRule.GaussLegendre);
        var unknown = () => IntegrationRules.Parse("simpson");
        unknown.Should().Throw<ArgumentException>().WithMessage("unknown integration rule 'simpson'*").Which.ParamName.Should().Be("name");
        var missing = () => IntegrationRules.Parse(null!);
        missing.Should().Throw<ArgumentNullException>();
        var bad = () => ((IntegrationRule)99).CaptumName();
        bad.Should().Throw<ArgumentOutOfRangeException>();
        var alphas = () => IntegrationRules.Alphas((IntegrationRule)99, 4);
        alphas.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Step_counts_are_bounded_by_the_minimum_and_max_steps()
    {
        IntegrationRule.GaussLegendre.MinimumSteps().Should().Be(1);
        foreach (var rule in AllRules.Skip(1))
        {
            rule.MinimumSteps().Should().Be(2);
            ((Action)(() => IntegrationRules.ValidateSteps(rule, 2))).Should().NotThrow();
            ((Action)(() => IntegrationRules.ValidateSteps(rule, 1))).Should().Throw<ArgumentOutOfRangeException>();
        }

        ((Action)(() => IntegrationRules.ValidateSteps(IntegrationRule.GaussLegendre, 1))).Should().NotThrow();
        ((Action)(() => IntegrationRules.ValidateSteps(IntegrationRule.RiemannLeft, IntegrationRules.MaxSteps))).Should().NotThrow();
        var tooMany = () => IntegrationRules.ValidateSteps(IntegrationRule.RiemannLeft, IntegrationRules.MaxSteps + 1, "n_steps");
        tooMany.Should().Throw<ArgumentOutOfRangeException>().WithMessage("at most 10000 integration steps, got 10001*")
            .Which.ParamName.Should().Be("n_steps");
        var tooFew = () => IntegrationRules.ValidateSteps(IntegrationRule.RiemannMiddle, 1, "n_steps");
        tooFew.Should().Throw<ArgumentOutOfRangeException>().WithMessage("riemann_middle needs at least 2 step(s), got 1*")
            .Which.ParamName.Should().Be("n_steps");
        ((Func<double[]>)(() => IntegrationRules.StepSizes(IntegrationRule.RiemannLeft, 1))).Should().Throw<ArgumentOutOfRangeException>()
            .Which.ParamName.Should().Be("n");
        ((Func<double[]>)(() => IntegrationRules.StepSizes(IntegrationRule.GaussLegendre, 0))).Should().Throw<ArgumentOutOfRangeException>();
    }
}
