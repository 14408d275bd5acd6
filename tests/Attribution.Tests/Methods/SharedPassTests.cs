using Attribution.Methods;
using Attribution.Pipeline;
using Attribution.Salience;

namespace Attribution.Tests.Methods;

/// <summary>
/// Gradient and Gradient × Input explained together cost one forward and one backward pass per batch: the gradient
/// comes from the forward pass that also gives the prediction; so does LRP's relevance when LRP is the first method that can take that pass. Counted on <see cref="PowerOfSum"/>, whose gradients
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

    /// <summary>
    /// LRP's relevance pass is the batch's first forward pass: one forward per batch. With ε = 0 and the module's own
    /// code taken as a composite (its power left unrewritten), LRP here is gradient × input: (w_0·e_t) p S^(p−1).
    /// </summary>
    [Fact]
    public void Lrp_alone_makes_the_prediction_with_its_own_relevance_pass()
    {
        var (model, module) = PowerOfSum.Counted(3);
        using var _ = model;
        string[] texts = ["1 2 3", "4 5", "2 6 7 8"];
        var results = LrpOf(epsilon: 0).Explain(model, texts, Options);

        module.ForwardCalls.Should().Be(1, "one batch: the relevance pass also gives the prediction");
        for (var i = 0; i < texts.Length; i++)
        {
            results[i].Scores.Should().Equal(PowerOfSum.GradientTimesInput(texts[i], 3), (a, b) => Math.Abs(a - b) <= 1e-5 * Math.Abs(b) + 1e-7);
        }
    }

    /// <summary>
    /// The first method that can takes the first pass (LRP here) and the others run their own: LRP and Gradient × Input
    /// cost two forward passes either way; an LRP whose settings differ from the first one's runs its own too. The
    /// ε-rule scales token t's gradient by z_t / (z_t + ε), z_t = w_0·e_t the unit-0 output (sign +1 here: every z_t is
    /// positive).
    /// </summary>
    [Fact]
    public void One_method_takes_the_first_pass_and_lrp_only_with_its_own_settings()
    {
        var (model, module) = PowerOfSum.Counted(3);
        using var _ = model;
        string[] texts = ["1 2 3", "4 5"];
        var withGradient = MethodRunner.AttributeAll(model, texts, [LrpOf(epsilon: 0), new GradientXInput()], Options);
        module.ForwardCalls.Should().Be(2, "the prediction is LRP's pass; Gradient × Input runs its own");

        module.ForwardCalls = 0;
        var twoLrps = MethodRunner.AttributeAll(model, texts, [LrpOf(epsilon: 0), LrpOf(epsilon: 0.1)], Options);
        module.ForwardCalls.Should().Be(2, "the first pass is the first LRP's; the other ε needs a pass of its own");
        for (var i = 0; i < texts.Length; i++)
        {
            var gradientTimesInput = PowerOfSum.GradientTimesInput(texts[i], 3);
            var z = PowerOfSum.IntegratedGradients(texts[i], 1);
            var stabilized = gradientTimesInput.Select((r, t) => r * z[t] / (z[t] + 0.1)).ToArray();
            z.Should().OnlyContain(v => v > 0);
            withGradient[0][i].Scores.Should().Equal(gradientTimesInput, (a, b) => Math.Abs(a - b) <= 1e-5 * Math.Abs(b) + 1e-7);
            withGradient[1][i].Scores.Should().Equal(gradientTimesInput, (a, b) => Math.Abs(a - b) <= 1e-5 * Math.Abs(b) + 1e-7);
            twoLrps[0][i].Scores.Should().Equal(gradientTimesInput, (a, b) => Math.Abs(a - b) <= 1e-5 * Math.Abs(b) + 1e-7);
            twoLrps[1][i].Scores.Should().Equal(stabilized, (a, b) => Math.Abs(a - b) <= 1e-5 * Math.Abs(b) + 1e-7);
        }
    }

    /// <summary>
    /// LRP explains only the logit: another scored output is refused before any forward pass, alone (where the batch's
    /// first pass then was a plain one) and after a method that takes the first pass (whose pass and backward then ran).
    /// </summary>
    [Fact]
    public void Lrp_refuses_another_scored_output_before_any_forward_pass()
    {
        var (model, module) = PowerOfSum.Counted(3);
        using var _ = model;
        var probability = Options with { Score = ScoreOutput.Probability };

        FluentActions.Invoking(() => LrpOf(epsilon: 0).Explain(model, ["1 2 3"], probability))
            .Should().Throw<ArgumentException>().WithMessage("*from the target logit*probability*Score to Logit*").Which.ParamName.Should().Be("options");
        module.ForwardCalls.Should().Be(0, "the options are checked before the batch's first pass");

        FluentActions.Invoking(() => MethodRunner.AttributeAll(model, ["1 2 3"], [new Gradient(), LrpOf(epsilon: 0)], probability))
            .Should().Throw<ArgumentException>().WithMessage("*from the target logit*");
        FluentActions.Invoking(() => MethodRunner.AttributeClasses(model, ["1 2 3"], [new Gradient(), LrpOf(epsilon: 0)], [0, 1], probability))
            .Should().Throw<ArgumentException>().WithMessage("*from the target logit*");
        module.ForwardCalls.Should().Be(0, "every method's options are checked before any method's pass");
    }

    /// <summary>
    /// A primed LRP pass is given only to an LRP with the settings it ran with, and only once (in a run the first LRP
    /// listed is both the one primed and the first to ask, so this is checked on the batch directly). The primed
    /// relevance is gradient × input (ε = 0, see above).
    /// </summary>
    [Fact]
    public void A_primed_lrp_pass_goes_once_and_only_to_the_same_settings()
    {
        var (model, module) = PowerOfSum.Counted(3);
        using var _ = model;
        using var scope = TorchSharp.torch.NewDisposeScope();
        var (settings, context) = PrimedLrp(model, classes: 1);

        module.ForwardCalls.Should().Be(1);
        context.TakeLrpForward(settings with { Epsilon = 0.1 }).Should().BeNull("other settings need their own pass");
        context.TakeLrpForward(settings with { Attention = Attribution.Methods.Lrp.AttentionRule.CpLrp }).Should().BeNull("other settings need their own pass");
        var primed = context.TakeLrpForward(settings with { });
        primed.Should().NotBeNull("equal settings, another instance");
        context.TakeLrpForward(settings).Should().BeNull("the graph serves one backward");
        primed!.Value.RetainGraph.Should().BeFalse("one class: the graph serves one backward");
        var relevance = primed.Value.Pass.Relevance(context.Targets, "targets");
        using var perToken = relevance.Word.sum(-1);
        perToken.data<float>().ToArray().Select(v => (double)v).Should().Equal(
            PowerOfSum.GradientTimesInput("1 2 3", 3), (a, b) => Math.Abs(a - b) <= 1e-5 * Math.Abs(b) + 1e-7);
        module.ForwardCalls.Should().Be(1);
    }

    /// <summary>
    /// Every class at once: the first pass's graph serves one backward per class. Gradient × Input and LRP (ε = 0, here
    /// gradient × input too) for both classes, by hand: (w_c·e_t) p S_c^(p−1). Gradient × Input, listed first, takes the
    /// first pass; LRP's own pass, run for the first class, is kept for the second (one backward each), and the other way
    /// round with LRP first; a kept pass gives each class what a run for that class alone gives, bit for bit.
    /// </summary>
    [Fact]
    public void Every_class_takes_a_backward_from_the_same_first_pass()
    {
        var (model, module) = PowerOfSum.Counted(3);
        using var _ = model;
        string[] texts = ["1 2 3", "4 5"];
        var lrp = LrpOf(epsilon: 0);
        var lrpOnly = MethodRunner.AttributeClasses(model, texts, [lrp, new LrpEpsilon { Epsilon = 0, Rules = lrp.Rules }], [1, 0], Options);
        module.ForwardCalls.Should().Be(2, "LRP's pass is the prediction's and serves both classes, and the second LRP with these settings in the first class; released after the last class's backward, it leaves the second LRP of that class a pass of its own");

        module.ForwardCalls = 0;
        var both = MethodRunner.AttributeClasses(model, texts, [new GradientXInput(), LrpOf(epsilon: 0)], [0, 1], Options);
        module.ForwardCalls.Should().Be(2, "Gradient × Input's pass is the prediction's and serves both classes; LRP's own pass, run for the first class, is kept for the second");

        module.ForwardCalls = 0;
        var lrpFirst = MethodRunner.AttributeClasses(model, texts, [LrpOf(epsilon: 0), new GradientXInput(), new LrpEpsilon { Epsilon = 0.1, Rules = lrp.Rules }], [0, 1], Options);
        module.ForwardCalls.Should().Be(3, "LRP's pass is the prediction's; Gradient × Input's own pass and the other ε's, run for the first class, are kept for the second");
        for (var t = 0; t < texts.Length; t++)
        {
            foreach (var c in new[] { 0, 1 })
            {
                var expected = PowerOfSum.GradientTimesInput(texts[t], 3, c);
                lrpOnly[0][t][1 - c].Target.Should().Be(c);
                lrpOnly[0][t][1 - c].Scores.Should().Equal(expected, (a, b) => Math.Abs(a - b) <= 1e-5 * Math.Abs(b) + 1e-7);
                lrpOnly[1][t][1 - c].Scores.Should().Equal(lrpOnly[0][t][1 - c].Scores);
                both[0][t][c].Scores.Should().Equal(expected, (a, b) => Math.Abs(a - b) <= 1e-5 * Math.Abs(b) + 1e-7);
                both[1][t][c].Scores.Should().Equal(expected, (a, b) => Math.Abs(a - b) <= 1e-5 * Math.Abs(b) + 1e-7);

                // A kept pass gives what a pass of the class's own gives, bit for bit (the same forward, one backward).
                var alone = MethodRunner.AttributeAll(model, texts, [new GradientXInput(), new LrpEpsilon { Epsilon = 0.1, Rules = lrp.Rules }], Options with { Target = Target.Class(c) });
                lrpFirst[0][t][c].Scores.Should().Equal(expected, (a, b) => Math.Abs(a - b) <= 1e-5 * Math.Abs(b) + 1e-7);
                lrpFirst[1][t][c].Scores.Should().Equal(alone[0][t].Scores);
                lrpFirst[2][t][c].Scores.Should().Equal(alone[1][t].Scores);
                lrpFirst[2][t][c].ConvergenceDelta.Should().Be(alone[1][t].ConvergenceDelta);
            }
        }
    }

    /// <summary>
    /// Three classes: a method's own pass, run for the first class, serves the second and the third (the second keeps it
    /// for the third), so each method costs one pass per batch whatever the number of classes; the third class's
    /// scores equal a call for that class alone, bit for bit.
    /// </summary>
    [Fact]
    public void A_kept_pass_serves_every_later_class_of_three()
    {
        using var model = Attribution.Tests.Models.TransformerTestKit.RandomTinyBertClassifier(7);
        string[] texts = ["5 9 12", "20 21"];
        using var forwards = new ForwardCounter(model);
        foreach (var methods in new IAttributor[][] { [new GradientXInput(), new LrpEpsilon()], [new LrpEpsilon(), new GradientXInput()] })
        {
            forwards.Reset();
            var all = MethodRunner.AttributeClasses(model, texts, methods, [0, 1, 2], Options);
            forwards.Calls.Should().Be(2, $"{methods[0].Name}'s pass is the prediction's; {methods[1].Name}'s own pass, run for class 0, is kept for classes 1 and 2");

            var third = MethodRunner.AttributeAll(model, texts, methods, Options with { Target = Target.Class(2) });
            for (var t = 0; t < texts.Length; t++)
            {
                all[1][t][2].Scores.Should().Equal(third[1][t].Scores);
            }
        }
    }

    /// <summary>With several classes the primed graph outlives each backward until the last class's, then is released.</summary>
    [Fact]
    public void A_primed_graph_serves_every_class_and_is_released_after_the_last()
    {
        var (model, module) = PowerOfSum.Counted(3);
        using var _ = model;
        using var scope = TorchSharp.torch.NewDisposeScope();
        var (settings, first) = PrimedLrp(model, classes: 2);
        var second = first.ForClass(1);

        first.TakeLrpForward(settings)!.Value.RetainGraph.Should().BeTrue("the other class has not had its backward");
        first.TakeLrpForward(settings)!.Value.RetainGraph.Should().BeTrue("the same class again: still kept for the other");
        var last = second.TakeLrpForward(settings);
        last!.Value.RetainGraph.Should().BeFalse("the last class's backward may free the graph");
        second.TakeLrpForward(settings).Should().BeNull("released after the last class");
        first.TakeLrpForward(settings).Should().BeNull("released after the last class");

        using var perToken = last.Value.Pass.Relevance(second.Targets, "targets").Word.sum(-1);
        perToken.data<float>().ToArray().Select(v => (double)v).Should().Equal(
            PowerOfSum.GradientTimesInput("1 2 3", 3, 1), (a, b) => Math.Abs(a - b) <= 1e-5 * Math.Abs(b) + 1e-7);
        module.ForwardCalls.Should().Be(1);
    }

    [Fact]
    public void A_method_with_its_own_passes_still_gets_its_own_forward()
    {
        var (model, module) = PowerOfSum.Counted(2);
        using var _ = model;
        new IntegratedGradients { Steps = 4, Baseline = Baseline.Zero, InternalBatchSize = 64 }.Explain(model, ["1 2 3"], Options);

        // The prediction, which keeps the input's activation (the path's input end), the zero baseline's output, and
        // one pass for the 4 path points.
        module.ForwardCalls.Should().Be(3);
    }

    /// <summary>
    /// Path methods at the same layer start from one input end per batch: the prediction's pass keeps the input's
    /// activation, and every later path method (and class) at that layer reuses it. Two Integrated Gradients of three
    /// texts in one batch: the shared pass, then per method the zero baseline's pass and one pass for the 4 path points
    /// (5 passes; 7 with a pass per method for the input end). IG of a degree-p homogeneous function with the zero
    /// baseline is x·∇F / p (Euler), and 4 Gauss–Legendre points integrate p α^(p−1) exactly, so the scores are
    /// <see cref="PowerOfSum.IntegratedGradients"/>; 1e-5 relative covers float32.
    /// </summary>
    [Fact]
    public void Path_methods_at_one_layer_share_the_first_pass_as_their_input_end()
    {
        var (model, module) = PowerOfSum.Counted(2);
        using var _ = model;
        string[] texts = ["1 2 3", "4 5", "2 6 7 8"];
        var ig = new IntegratedGradients { Steps = 4, Baseline = Baseline.Zero, InternalBatchSize = 64 };
        var results = MethodRunner.AttributeAll(model, texts, [ig, ig], Options);

        module.ForwardCalls.Should().Be(5);
        for (var m = 0; m < 2; m++)
        {
            for (var i = 0; i < texts.Length; i++)
            {
                results[m][i].Scores.Should().Equal(PowerOfSum.IntegratedGradients(texts[i], 2), (a, b) => Math.Abs(a - b) <= 1e-5 * Math.Abs(b) + 1e-7);
            }
        }
    }

    /// <summary>
    /// Gradient × Input and IG at the word embeddings, in either order: the gradient's first pass (a pass with a graph,
    /// taken before a path start whatever the order) also gives IG its input end, its leaf being the tensor there. Three
    /// passes: the shared one, the zero baseline's and IG's path points (4 when IG's pass came first and left the gradient
    /// a pass of its own, or when the gradient's pass kept nothing for IG). Scores by hand as above; 1e-5 relative.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_gradients_first_pass_gives_integrated_gradients_its_input_end(bool gradientFirst)
    {
        var (model, module) = PowerOfSum.Counted(2);
        using var _ = model;
        string[] texts = ["1 2 3", "4 5", "2 6 7 8"];
        IAttributor gxi = new GradientXInput();
        IAttributor ig = new IntegratedGradients { Steps = 4, Baseline = Baseline.Zero };
        var results = MethodRunner.AttributeAll(model, texts, gradientFirst ? [gxi, ig] : [ig, gxi], Options);

        module.ForwardCalls.Should().Be(3);
        var (gxiResults, igResults) = gradientFirst ? (results[0], results[1]) : (results[1], results[0]);
        for (var i = 0; i < texts.Length; i++)
        {
            gxiResults[i].Scores.Should().Equal(PowerOfSum.GradientTimesInput(texts[i], 2), (a, b) => Math.Abs(a - b) <= 1e-5 * Math.Abs(b) + 1e-7);
            igResults[i].Scores.Should().Equal(PowerOfSum.IntegratedGradients(texts[i], 2), (a, b) => Math.Abs(a - b) <= 1e-5 * Math.Abs(b) + 1e-7);
        }
    }

    /// <summary>
    /// Explained for both classes at once, IG runs the path once for the two (rows repeating each text) and starts it
    /// from the first pass's input end: the shared pass, the zero baseline's, one for the path points (3; 4 with an input
    /// end of its own). Per class c the scores are (w_c·e_t) p S_c^(p−1) / p (Euler, as above).
    /// </summary>
    [Fact]
    public void Every_class_path_starts_from_the_first_pass()
    {
        var (model, module) = PowerOfSum.Counted(2);
        using var _ = model;
        string[] texts = ["1 2 3", "4 5"];
        var all = MethodRunner.AttributeClasses(model, texts, [new IntegratedGradients { Steps = 4, Baseline = Baseline.Zero }], [0, 1], Options);

        module.ForwardCalls.Should().Be(3);
        for (var t = 0; t < texts.Length; t++)
        {
            for (var c = 0; c < 2; c++)
            {
                var expected = PowerOfSum.GradientTimesInput(texts[t], 2, c).Select(v => v / 2).ToArray();
                all[0][t][c].Target.Should().Be(c);
                all[0][t][c].Scores.Should().Equal(expected, (a, b) => Math.Abs(a - b) <= 1e-5 * Math.Abs(b) + 1e-7);
            }
        }
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

    /// <summary>The batch "1 2 3" with LRP's pass (ε = 0) as its first pass, to be explained for <paramref name="classes"/> classes.</summary>
    private static (Attribution.Methods.Lrp.LrpSettings Settings, AttributionContext Context) PrimedLrp(Attribution.Models.TextClassifier model, int classes)
    {
        var settings = new Attribution.Methods.Lrp.LrpSettings { Epsilon = 0, Rules = LrpOf(0).Rules };
        return (settings, new AttributionContext(model, model.Encode(["1 2 3"]), Options, new Attribution.Methods.Internal.FirstPass.Lrp(settings), classes));
    }

    private static LrpEpsilon LrpOf(double epsilon) => new()
    {
        Epsilon = epsilon,
        Rules = Attribution.Methods.Lrp.LrpRuleSet.Default.With<PowerOfSum>(Attribution.Methods.Lrp.LrpRules.Composite),
    };
}
