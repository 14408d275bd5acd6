using Attribution.Methods;
using Attribution.Methods.Internal;
using Attribution.Pipeline;
using Attribution.Salience;

namespace Attribution.Tests.Methods.Internal;

/// <summary>
/// Path passes are sized by padded tokens as well as rows: the passes a method runs are counted on
/// <see cref="PowerOfSum"/> (whose forward records its input's shape), the sizes worked out by hand, and the scores
/// must not depend on the split (1e-6 relative: the same float32 gradients summed in the same order).
/// </summary>
public sealed class PathPassTests
{
    private static readonly ExplainOptions Options = new() { Target = Target.Class(0), BatchSize = 8, Salience = new SalienceOptions { KeepSpecialTokens = true } };

    [Theory]
    [InlineData(1, 64, 64, 1024, 16)] // 1024 / 64 = 16 rows, one text: 16 points
    [InlineData(1, 20, 64, 1024, 51)] // 1024 / 20 = 51 rows, under the row cap
    [InlineData(1, 10, 64, 1024, 64)] // 102 rows by tokens, capped at 64
    [InlineData(4, 20, 64, 1024, 12)] // 51 rows for 4 texts: 12 points each
    [InlineData(64, 25, 64, 1024, 1)] // 40 rows by tokens, fewer than the texts: still one point of every text
    [InlineData(1, 64, 64, 10, 1)] // a text longer than the budget: one point a pass
    [InlineData(3, 5, 7, 1 << 20, 2)] // the row cap alone: 7 / 3
    public void Points_per_pass_fit_the_row_cap_and_the_token_budget(int texts, long length, int rowCap, int budget, int expected) =>
        PathPass.PointsPerPass(texts, length, rowCap, budget).Should().Be(expected);

    [Fact]
    public void Integrated_gradients_passes_stay_within_the_token_budget_and_the_scores_do_not_depend_on_it()
    {
        var (model, module) = PowerOfSum.Counted(3);
        using var _ = model;
        string[] texts = ["1 2 3", "4 5"];
        var budgeted = new IntegratedGradients { Steps = 10, Baseline = Baseline.Zero, TokenBudget = 12 }.Explain(model, texts, Options);

        // Two texts padded to 3 tokens: 12 / 3 = 4 rows, 2 points a pass, so the 10 points take 5 passes of 4 rows.
        module.Shapes.TakeLast(6).Should().Equal((2, 3), (4, 3), (4, 3), (4, 3), (4, 3), (4, 3));
        module.Shapes.Clear();
        var onePointAPass = new IntegratedGradients { Steps = 10, Baseline = Baseline.Zero, TokenBudget = 1 }.Explain(model, texts, Options);
        module.Shapes.TakeLast(10).Should().Equal(Enumerable.Repeat((2L, 3L), 10), "below one point of the batch, each pass still takes one point of every text");
        module.Shapes.Clear();
        var unbounded = new IntegratedGradients { Steps = 10, Baseline = Baseline.Zero, TokenBudget = 1 << 20 }.Explain(model, texts, Options);
        module.Shapes.Should().Contain((20, 3), "without a token budget the 64-row cap takes all 10 points of both texts at once");
        for (var i = 0; i < texts.Length; i++)
        {
            budgeted[i].Scores.Should().Equal(unbounded[i].Scores, (a, b) => Math.Abs(a - b) <= 1e-6 * (1 + Math.Abs(b)));
            onePointAPass[i].Scores.Should().Equal(unbounded[i].Scores, (a, b) => Math.Abs(a - b) <= 1e-6 * (1 + Math.Abs(b)));
            budgeted[i].Setting("token-budget").Should().Be("12");
        }
    }

    [Fact]
    public void Conductance_fixed_and_adaptive_passes_stay_within_the_token_budget()
    {
        var (model, module) = PowerOfSum.Counted(2);
        using var _ = model;
        string[] texts = ["1 2 3", "4 5"];
        var fixedSteps = new LayerConductance { Layer = "projection", Baseline = Baseline.Zero, Steps = 7, TokenBudget = 12 }.Explain(model, texts, Options);

        // 8 grid points, 2 a pass: 4 passes of 4 rows.
        module.Shapes.TakeLast(4).Should().Equal(Enumerable.Repeat((4L, 3L), 4));
        module.Shapes.Clear();
        new LayerConductance { Layer = "projection", Baseline = Baseline.Zero, TokenBudget = 12 }.Explain(model, texts, Options);
        module.Shapes.Where(s => s.Rows > 2).Should().NotBeEmpty().And.OnlyContain(s => s.Rows * s.Length <= 12);
        var unbounded = new LayerConductance { Layer = "projection", Baseline = Baseline.Zero, Steps = 7, TokenBudget = 1 << 20 }.Explain(model, texts, Options);
        for (var i = 0; i < texts.Length; i++)
        {
            fixedSteps[i].Scores.Should().Equal(unbounded[i].Scores, (a, b) => Math.Abs(a - b) <= 1e-6 * (1 + Math.Abs(b)));
        }
    }

    [Fact]
    public void Gradient_shap_draws_stay_within_the_token_budget_and_the_scores_do_not_depend_on_it()
    {
        var (model, module) = PowerOfSum.Counted(3);
        using var _ = model;
        string[] texts = ["1 2 3", "4 5"];
        var budgeted = new GradientShap { Samples = 5, Stdev = 0.1, Baselines = [Baseline.Zero], TokenBudget = 12 }.Explain(model, texts, Options);

        // 2 draws of both texts a pass: 4 + 4 + 2 rows.
        module.Shapes.TakeLast(3).Should().Equal((4, 3), (4, 3), (2, 3));
        var unbounded = new GradientShap { Samples = 5, Stdev = 0.1, Baselines = [Baseline.Zero], TokenBudget = 1 << 20 }.Explain(model, texts, Options);
        for (var i = 0; i < texts.Length; i++)
        {
            budgeted[i].Scores.Should().Equal(unbounded[i].Scores, (a, b) => Math.Abs(a - b) <= 1e-6 * (1 + Math.Abs(b)));
        }
    }

    /// <summary>
    /// On rows that repeat texts per class, a pass takes a tensor for every row (or text) and path point: a tensor of
    /// another size would be misread, so it is refused.
    /// </summary>
    [Fact]
    public void A_shared_pass_refuses_tensors_not_given_per_row()
    {
        using var model = PowerOfSum.Classifier(2);
        using var scope = TorchSharp.torch.NewDisposeScope();
        var tokenized = Attribution.Models.TokenizedTexts.Of(model, ["1 2", "3 4"], truncate: false);
        var context = new AttributionContext(model, tokenized.Batch([0, 1]), Options).ForClasses([0, 1]);
        var site = context.Site("embeddings");
        context.SharedTexts!.Representatives.Should().Equal(0, 2);
        context.SharedTexts.TextOfRow.Should().Equal(0, 0, 1, 1);

        var oneRow = () => PathPass.Run(context, site, 2, v => v.narrow(0, 0, 1));
        oneRow.Should().Throw<InvalidOperationException>().WithMessage("*a tensor for each of the 2×4 rows or 2×2 texts, got 1*");
    }

    [Theory]
    [InlineData(0)]
    [InlineData((1 << 20) + 1)]
    public void A_token_budget_out_of_range_is_refused_naming_it(int budget)
    {
        using var model = PowerOfSum.Classifier(2);
        FluentActions.Invoking(() => new IntegratedGradients { TokenBudget = budget }.Explain(model, ["1 2"], Options))
            .Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("TokenBudget");
        FluentActions.Invoking(() => new LayerConductance { Layer = "projection", TokenBudget = budget }.Explain(model, ["1 2"], Options))
            .Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("TokenBudget");
        FluentActions.Invoking(() => new GradientShap { TokenBudget = budget }.Explain(model, ["1 2"], Options))
            .Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("TokenBudget");
    }
}
