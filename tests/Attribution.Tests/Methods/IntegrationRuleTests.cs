using System.Text.Json;
using Attribution.Methods;

namespace Attribution.Tests.Methods;

public class IntegrationRuleTests
{
    /// <summary>
    /// Captum's alphas and step sizes for every rule at n = 4, 8, 50 (../shared/golden/bert_golden.json). Riemann
    /// values come from the same float32 linspace and must be identical; Gauss–Legendre nodes are computed
    /// independently (Newton on the Legendre recurrence vs NumPy's eigenvalue method), so they agree to 1e-14.
    /// </summary>
    [SkippableFact]
    public void Alphas_and_step_sizes_equal_captums()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(SharedData.Require("golden/bert_golden.json")));
        var checkedRules = 0;
        foreach (var entry in document.RootElement.GetProperty("alphas").EnumerateObject())
        {
            var split = entry.Name.LastIndexOf('_');
            var rule = IntegrationRules.Parse(entry.Name[..split]);
            var n = int.Parse(entry.Name[(split + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            var alphas = Golden.Doubles(entry.Value.GetProperty("alphas"));
            var steps = Golden.Doubles(entry.Value.GetProperty("step_sizes"));
            var tolerance = rule == IntegrationRule.GaussLegendre ? 1e-14 : 0;
            IntegrationRules.Alphas(rule, n).Should().Equal(alphas, (a, e) => Math.Abs(a - e) <= tolerance, entry.Name);
            IntegrationRules.StepSizes(rule, n).Should().Equal(steps, (a, e) => Math.Abs(a - e) <= tolerance, entry.Name);
            checkedRules++;
        }

        checkedRules.Should().Be(15);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(50)]
    [InlineData(300)]
    public void Gauss_legendre_integrates_polynomials_of_degree_2n_minus_1_exactly(int n)
    {
        var alphas = IntegrationRules.Alphas(IntegrationRule.GaussLegendre, n);
        var weights = IntegrationRules.StepSizes(IntegrationRule.GaussLegendre, n);
        var degree = Math.Min((2 * n) - 1, 40);
        var integral = alphas.Select((a, i) => weights[i] * Math.Pow(a, degree)).Sum();
        integral.Should().BeApproximately(1.0 / (degree + 1), 1e-13);
        alphas.Should().BeInAscendingOrder();
    }

    [Theory]
    [InlineData(IntegrationRule.RiemannLeft, 1)]
    [InlineData(IntegrationRule.RiemannTrapezoid, 1)]
    [InlineData(IntegrationRule.GaussLegendre, 0)]
    public void Too_few_steps_is_an_error_naming_the_minimum(IntegrationRule rule, int steps)
    {
        var act = () => IntegrationRules.Alphas(rule, steps);
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage($"*{rule.CaptumName()} needs at least {rule.MinimumSteps()} step*");
    }
}
