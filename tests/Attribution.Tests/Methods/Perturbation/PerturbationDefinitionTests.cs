using Attribution.Methods;
using Attribution.Models;

namespace Attribution.Tests.Methods.Perturbation;

/// <summary>
/// The perturbation methods on black boxes whose Shapley values and occlusion scores are known in closed form,
/// computed in the test from the definitions, and their refusals of bad settings.
/// </summary>
public sealed class PerturbationDefinitionTests
{
    private const string Text = "alpha beta gamma delta epsilon";

    /// <summary>
    /// p(class 1) = 0.3 + 0.1·[alpha] − 0.05·[gamma] + 0.2·[beta ∧ delta] + 0.06·[alpha ∧ beta ∧ epsilon], where
    /// [w] means the word is present (not replaced by [MASK]). Its Shapley values: an additive term goes to its word,
    /// an interaction of k words is split equally among them.
    /// </summary>
    private static BlackBoxClassifier Interacting(List<string>? seen = null) => new(texts =>
    {
        seen?.AddRange(texts);
        return texts.Select(t =>
        {
            var present = t.Split(' ').ToHashSet();
            var p = 0.3 + (present.Contains("alpha") ? 0.1 : 0) - (present.Contains("gamma") ? 0.05 : 0)
                + (present.Contains("beta") && present.Contains("delta") ? 0.2 : 0)
                + (present.Contains("alpha") && present.Contains("beta") && present.Contains("epsilon") ? 0.06 : 0);
            return new[] { 1 - p, p };
        }).ToArray();
    }, ["no", "yes"]);

    private static readonly double[] ExactShapley = [0.1 + 0.02, 0.1 + 0.02, -0.05, 0.1, 0.02];

    private static readonly ExplainOptions Yes = new() { Target = Target.Class(1) };

    [Fact]
    public void Exact_shapley_values_split_interactions_equally()
    {
        var e = new ShapleyValues().Explain(Interacting(), [Text], Yes)[0];
        e.Scores.Should().Equal(ExactShapley, (a, b) => Math.Abs(a - b) < 1e-12);
        e.ConvergenceDelta!.Value.Should().BeApproximately(0, 1e-12);
        e.Tokens.Should().Equal(Text.Split(' '));
    }

    [Fact]
    public void Kernel_shap_enumerating_every_coalition_gives_the_exact_values()
    {
        var e = new KernelShap { Samples = 30 }.Explain(Interacting(), [Text], Yes)[0];
        e.Scores.Should().Equal(ExactShapley, (a, b) => Math.Abs(a - b) < 1e-12);
        e.Notes.Should().Contain(n => n.Contains("all 30 coalitions"));
    }

    [Fact]
    public void Sampled_kernel_shap_keeps_the_efficiency_constraint_exactly()
    {
        var e = new KernelShap { Samples = 12, Seed = 3 }.Explain(Interacting(), [Text], Yes)[0];
        e.Scores.Sum().Should().BeApproximately(0.3 + 0.1 - 0.05 + 0.2 + 0.06 - 0.3, 1e-12, "f(x) − f(∅) = 0.31");
    }

    /// <summary>
    /// Three sampled coalitions cannot determine five scores: the fit adds a ridge and a note says how large. The note was
    /// written in the current culture ("a ridge of 0,001" in German), unlike every other number in the library's notes,
    /// which reach the JSON; it is now invariant.
    /// </summary>
    [Fact]
    public void The_ridge_note_writes_its_number_in_the_invariant_culture()
    {
        var culture = System.Globalization.CultureInfo.CurrentCulture;
        System.Globalization.CultureInfo.CurrentCulture = TestCultures.DecimalComma;
        try
        {
            var e = new KernelShap { Samples = 3, Seed = 3 }.Explain(Interacting(), [Text], Yes)[0]; // a ridge of the form 1.2E-08 here
            var note = e.Notes.Should().ContainSingle(n => n.Contains("a ridge of")).Which;
            System.Text.RegularExpressions.Regex.IsMatch(note, @"a ridge of [0-9]+(\.[0-9]+)?(E[-+][0-9]+)? on every score").Should().BeTrue(note);
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = culture;
        }
    }

    [Fact]
    public void Kernel_shap_reports_its_delta_and_handles_one_feature_and_more_coalitions_than_one_call()
    {
        // Enumerated, the efficiency constraint holds: delta = Σ scores − (f(x) − f(∅)) = 0.
        var e = new KernelShap { Samples = 30 }.Explain(Interacting(), [Text], Yes)[0];
        e.ConvergenceDelta!.Value.Should().BeApproximately(0, 1e-12);

        // One feature: its score is f(x) − f(∅) = (0.3 + 0.1) − 0.3.
        new KernelShap().Explain(Interacting(), ["alpha"], Yes)[0].Scores.Should().Equal([0.1], (a, b) => Math.Abs(a - b) < 1e-12);

        // 13 words enumerate 8190 coalitions, more than one call of 4096 holds: with an additive model each word's
        // exact Shapley value is its own term, whichever call scored its coalitions.
        var words = Enumerable.Range(0, 13).Select(i => $"w{i}").ToArray();
        var additive = new BlackBoxClassifier(texts => texts.Select(t =>
        {
            var present = t.Split(' ').ToHashSet();
            var p = 0.3 + words.Select((w, i) => present.Contains(w) ? 0.01 * (i + 1) * (i % 2 == 0 ? 1 : -0.5) : 0).Sum();
            return new[] { 1 - p, p };
        }).ToArray(), ["no", "yes"]);
        var many = new KernelShap { Samples = 8190 }.Explain(additive, [string.Join(' ', words)], Yes)[0];
        many.Scores.Should().Equal(words.Select((_, i) => 0.01 * (i + 1) * (i % 2 == 0 ? 1 : -0.5)), (a, b) => Math.Abs(a - b) < 1e-9);

        // Two draws for five words cannot determine four free scores: said.
        new KernelShap { Samples = 2, Seed = 1 }.Explain(Interacting(), [Text], Yes)[0].Notes
            .Should().Contain(n => n.Contains("distinct coalitions were drawn for 5 features: the fit is underdetermined"));
    }

    [Fact]
    public void Shapley_sampling_of_an_additive_model_is_exact_with_one_order()
    {
        // Without interactions every order gives each word its own term.
        var additive = new BlackBoxClassifier(texts => texts.Select(t =>
        {
            var present = t.Split(' ').ToHashSet();
            var p = 0.5 + (present.Contains("alpha") ? 0.1 : 0) - (present.Contains("delta") ? 0.2 : 0);
            return new[] { 1 - p, p };
        }).ToArray(), ["no", "yes"]);
        var e = new ShapleyValueSampling { Samples = 1, Seed = 5 }.Explain(additive, [Text], Yes)[0];
        e.Scores.Should().Equal([0.1, 0, 0, -0.2, 0], (a, b) => Math.Abs(a - b) < 1e-12);
    }

    [Fact]
    public void Shapley_sampling_averages_marginal_contributions_over_orders()
    {
        // For beta, the 0.2 of beta∧delta is beta's when delta came first: probability 1/2 for a random order; the
        // 0.06 term is beta's when it came last of {alpha, beta, epsilon}: 1/3. So the estimate is 0.2·a + 0.06·b where
        // a, b are the sampled fractions; over 2,000 orders both are within 0.05 of 1/2 and 1/3.
        var e = new ShapleyValueSampling { Samples = 2000, Seed = 11 }.Explain(Interacting(), [Text], Yes)[0];
        e.Scores[0].Should().BeApproximately(ExactShapley[0], 0.06 * 0.05 + 1e-12, "alpha = 0.1 + 0.06·(fraction of orders with alpha last of three)");
        e.Scores[1].Should().BeApproximately(ExactShapley[1], 0.2 * 0.05 + 0.06 * 0.05);
        e.Scores[2].Should().BeApproximately(-0.05, 1e-12, "gamma has no interaction");
        e.Scores.Sum().Should().BeApproximately(0.31, 1e-12);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 2)]
    [InlineData(4, 3)]
    [InlineData(5, 1)]
    public void Occlusion_averages_the_windows_that_cover_each_feature(int window, int stride)
    {
        var model = Interacting();
        var e = new Occlusion { Window = window, Stride = stride }.Explain(model, [Text], Yes)[0];

        // Recomputed from Captum's definition: starts 0, s, 2s, … (⌈(n − w)/s⌉ + 1 of them), the last window cut at the end.
        var words = Text.Split(' ');
        double P(Func<int, bool> absent) => model.PredictProbabilities([string.Join(' ', words.Select((w, i) => absent(i) ? "[MASK]" : w))])[0][1];
        var full = P(_ => false);
        var sums = new double[words.Length];
        var counts = new int[words.Length];
        for (var start = 0; start < words.Length; start += stride)
        {
            var end = Math.Min(start + window, words.Length);
            var drop = full - P(i => i >= start && i < end);
            for (var i = start; i < end; i++)
            {
                sums[i] += drop;
                counts[i]++;
            }

            if (end == words.Length)
            {
                break;
            }
        }

        e.Scores.Should().Equal(sums.Select((s, i) => s / counts[i]), (a, b) => Math.Abs(a - b) < 1e-12);
        e.Setting("window").Should().Be(window.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Repeated_coalitions_are_scored_once_and_sent_in_batches()
    {
        var seen = new List<string>();
        var run = new ShapleyValueSampling { Samples = 200, Seed = 1, BatchSize = 16 }.Explain(Interacting(seen), [Text], Yes)[0];
        run.Notes.Should().Contain("the predictor scored 32 distinct texts (the text itself and its perturbed texts, each once) in 2 call(s) of at most 16");
        run.Notes.Should().Contain("31 perturbed input(s) scored (1200 coalition(s) asked for; repeats are scored once)", "the calls are the shared note's, not counted again per text");

        // 5 features have 32 coalitions; 200 orders ask for 1,200. The full one is the original text, scored once for
        // the prediction and not again.
        seen.Should().HaveCount(32).And.OnlyHaveUniqueItems();
    }

    [Fact]
    public void Removal_deletes_the_absent_words()
    {
        var seen = new List<string>();
        new Occlusion { Perturbation = AbsentFeature.Remove }.Explain(Interacting(seen), [Text], Yes);
        seen.Should().Contain("beta gamma delta epsilon").And.Contain("alpha beta gamma delta");
    }

    [Fact]
    public void Bad_settings_are_refused_with_the_setting_named()
    {
        var model = Interacting();
        FluentActions.Invoking(() => new Occlusion { Window = 6 }.Explain(model, [Text]))
            .Should().Throw<ArgumentException>().WithMessage("*window (6 features) is larger than the text, which has 5*");
        FluentActions.Invoking(() => new Occlusion { Stride = 0 }.Explain(model, [Text]))
            .Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "Stride");
        FluentActions.Invoking(() => new Occlusion { Window = 2, Stride = 3 }.Explain(model, [Text]))
            .Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "Stride")
            .WithMessage("the occlusion stride (3 features) is larger than the window (2): the features between windows would never be occluded*");
        FluentActions.Invoking(() => new ShapleyValues { MaxFeatures = 4 }.Explain(model, [Text]))
            .Should().Throw<ArgumentException>().WithMessage("*5 features*limit of 4*shapley-sampling or kernel-shap*");
        FluentActions.Invoking(() => new ShapleyValues { MaxFeatures = 21 }.Explain(model, [Text]))
            .Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "MaxFeatures");
        FluentActions.Invoking(() => new ShapleyValueSampling { Samples = 0 }.Explain(model, [Text]))
            .Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "Samples");
        FluentActions.Invoking(() => new KernelShap { Samples = 0 }.Explain(model, [Text]))
            .Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "Samples");
        FluentActions.Invoking(() => new Occlusion { Perturbation = AbsentFeature.Baseline }.Explain(model, [Text]))
            .Should().Throw<ArgumentException>().WithMessage("*baseline id needs token ids*");
        FluentActions.Invoking(() => new Occlusion { Features = LimeFeatures.Tokens }.Explain(model, [Text]))
            .Should().Throw<ArgumentException>().WithMessage("*token features need the model's tokenizer*");
        FluentActions.Invoking(() => new Occlusion().Explain(model, ["  "]))
            .Should().Throw<ArgumentException>().WithMessage("*empty or whitespace*");
        FluentActions.Invoking(() => new Occlusion { BatchSize = 0 }.Explain(model, [Text]))
            .Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "BatchSize");
    }
}
