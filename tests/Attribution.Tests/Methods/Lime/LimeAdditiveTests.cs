using Attribution.Methods;
using Attribution.Models;
using Xunit.Abstractions;

namespace Attribution.Tests.Methods;

/// <summary>
/// LIME on a black box that is exactly additive in its words: p(positive) = 0.5 + Σ weight(word) over the words not
/// replaced by <c>[MASK]</c>, p(negative) = 1 − p(positive). The weights sum to less than 0.5 in absolute value, so
/// the probabilities never leave [0, 1] and no clamping makes the model non-linear.
/// </summary>
public sealed class LimeAdditiveTests(ITestOutputHelper output)
{
    private const string Text = "the movie was good but the ending was rather bad";

    private static readonly Dictionary<string, double> Weights = new()
    {
        ["the"] = 0.01,
        ["movie"] = 0.02,
        ["was"] = -0.015,
        ["good"] = 0.12,
        ["but"] = -0.03,
        ["ending"] = 0.025,
        ["rather"] = -0.02,
        ["bad"] = -0.09,
    };

    internal static BlackBoxClassifier Additive() => new(texts => texts.Select(t =>
    {
        var p = 0.5 + t.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(w => w != "[MASK]").Sum(w => Weights.GetValueOrDefault(w));
        return new[] { 1 - p, p };
    }).ToArray(), ["negative", "positive"]);

    [Fact]
    public void Lit_preset_recovers_the_weights_within_one_percent()
    {
        var lime = new Lime { Samples = 2000, Seed = 1 };
        var e = lime.Explain(Additive(), Text, new ExplainOptions { Target = Target.Class(1) });
        var words = Text.Split(' ');
        e.Tokens.Should().Equal(words, "black-box tokens are the features, repeated words included");
        e.TokenIds.Should().OnlyContain(id => id == -1);
        e.Words.Should().HaveCount(words.Length);
        var worst = 0.0;
        for (var i = 0; i < words.Length; i++)
        {
            var expected = Weights[words[i]];
            var relative = Math.Abs(e.Scores[i] - expected) / Math.Abs(expected);
            worst = Math.Max(worst, relative);
            e.Words[i].Score.Should().Be(e.Scores[i]);
        }

        output.WriteLine($"worst relative error {worst:E3}; intercept {e.Surrogate!.Intercept:F6}; R² {e.Surrogate.RSquared:F8}");
        worst.Should().BeLessThan(0.01);
        e.Surrogate.Intercept.Should().BeApproximately(0.5, 0.005);
        e.Surrogate.RSquared.Should().BeGreaterThan(0.999);
        e.Surrogate.Samples.Should().Be(2001);
        e.Target.Should().Be(1);
        e.TargetLabel.Should().Be("positive");
        e.ScoreOutput.Should().Be(ScoreOutput.Probability);
        e.Probabilities[1].Should().BeApproximately(0.5 + words.Sum(w => Weights[w]), 1e-12);
    }

    [Fact]
    public void Same_seed_gives_identical_results_and_another_seed_does_not()
    {
        var options = new ExplainOptions { Target = Target.Class(1) };
        var a = new Lime { Samples = 300, Seed = 42 }.Explain(Additive(), Text, options);
        var b = new Lime { Samples = 300, Seed = 42 }.Explain(Additive(), Text, options);
        var c = new Lime { Samples = 300, Seed = 43 }.Explain(Additive(), Text, options);
        a.Scores.Should().Equal(b.Scores);
        a.Surrogate!.Intercept.Should().Be(b.Surrogate!.Intercept);
        a.Scores.Should().NotEqual(c.Scores);

        var lime = new Lime { Samples = 50, Seed = 9 };
        lime.SampleMasks(7).Should().BeEquivalentTo(lime.SampleMasks(7), o => o.WithStrictOrdering());
        new Lime { Preset = LimePreset.Captum, Samples = 50, Seed = 9 }.SampleMasks(7)
            .Should().BeEquivalentTo(new Lime { Preset = LimePreset.Captum, Samples = 50, Seed = 9 }.SampleMasks(7), o => o.WithStrictOrdering());
    }

    [Fact]
    public void Batch_size_does_not_change_the_result()
    {
        var options = new ExplainOptions { Target = Target.Class(1) };
        var calls = new List<int>();
        var counting = new BlackBoxClassifier(texts =>
        {
            calls.Add(texts.Count);
            return Additive().PredictProbabilities(texts);
        }, ["negative", "positive"]);
        var small = new Lime { Samples = 100, Seed = 3, BatchSize = 7 }.Explain(counting, Text, options);
        calls.Skip(1).Should().OnlyContain(n => n <= 7, "perturbed texts go to the predictor in batches of at most 7");
        var large = new Lime { Samples = 100, Seed = 3, BatchSize = 1000 }.Explain(Additive(), Text, options);
        small.Scores.Should().Equal(large.Scores);
    }

    [Fact]
    public void Lit_masks_disable_between_one_and_all_features_and_start_unperturbed()
    {
        var masks = new Lime { Samples = 4000, Seed = 5 }.SampleMasks(6);
        masks.Should().HaveCount(4001);
        masks[0].Should().OnlyContain(v => v);
        var off = masks.Skip(1).Select(m => m.Count(v => !v)).ToArray();
        off.Should().OnlyContain(k => k >= 1 && k <= 6);
        for (var k = 1; k <= 6; k++)
        {
            off.Count(v => v == k).Should().BeInRange(550, 790, $"k = {k} is uniform (expected 667)");
        }

        for (var j = 0; j < 6; j++)
        {
            masks.Skip(1).Count(m => !m[j]).Should().BeInRange(2100, 2570, "every position is equally likely to be disabled (expected 2333)");
        }
    }

    [Fact]
    public void Captum_masks_are_bernoulli_half_and_its_lasso_is_the_exact_minimiser()
    {
        var lime = new Lime { Preset = LimePreset.Captum, Samples = 1000, Seed = 11 };
        var words = Text.Split(' ');
        var masks = lime.SampleMasks(words.Length);
        masks.Should().HaveCount(1000);
        var on = masks.Sum(m => m.Count(v => v)) / (double)(1000 * words.Length);
        on.Should().BeInRange(0.47, 0.53);

        var features = lime.SplitFeatures(Text);
        var targets = masks.Select(m => Additive().PredictProbabilities([lime.Perturb(Text, features, m)])[0][1]).ToArray();
        var fit = lime.Fit(masks, targets);
        fit.Converged.Should().BeTrue();
        fit.Weights.Should().Equal(fit.Distances.Select(d => Math.Exp(-d * d / 2)));

        // KKT conditions of ½·Σwᵢrᵢ²/Σwᵢ + α‖c‖₁ with a free intercept: the weighted mean residual is 0, and the
        // weighted correlation gᵢ = Σ wᵢ rᵢ xᵢⱼ / Σ wᵢ equals α·sign(cⱼ) where cⱼ ≠ 0 and is at most α in size elsewhere.
        const double alpha = 0.01;
        var total = fit.Weights.Sum();
        var residuals = masks.Select((m, i) => targets[i] - fit.Intercept - m.Select((v, j) => v ? fit.Coefficients[j] : 0).Sum()).ToArray();
        residuals.Select((r, i) => fit.Weights[i] * r).Sum().Should().BeApproximately(0, 1e-10);
        for (var j = 0; j < words.Length; j++)
        {
            var g = masks.Select((m, i) => fit.Weights[i] * residuals[i] * (m[j] ? 1 : 0)).Sum() / total;
            if (fit.Coefficients[j] != 0)
            {
                g.Should().BeApproximately(alpha * Math.Sign(fit.Coefficients[j]), 1e-9, $"feature {j} is active");
            }
            else
            {
                Math.Abs(g).Should().BeLessThanOrEqualTo(alpha + 1e-9);
            }
        }

        // The L1 penalty shrinks each weight by about α / Var(x) = 0.04 and zeroes the smaller ones.
        fit.Coefficients[Array.IndexOf(words, "good")].Should().BeApproximately(0.12 - 0.04, 0.01);
        fit.Coefficients[Array.IndexOf(words, "bad")].Should().BeApproximately(-0.09 + 0.04, 0.01);
        fit.Coefficients[Array.IndexOf(words, "the")].Should().Be(0);
    }

    [Fact]
    public void Removal_deletes_words_and_features_with_punctuation_keep_the_text_between_them()
    {
        var remove = new Lime { Perturbation = LimePerturbation.Remove };
        var features = remove.SplitFeatures("  a  smart , witty film ");
        features.Select(f => f.Text).Should().Equal("a", "smart", ",", "witty", "film");
        remove.Perturb("  a  smart , witty film ", features, [true, false, true, false, true]).Should().Be("a , film");
        new Lime().Perturb("  a  smart , witty film ", features, [true, false, true, false, true]).Should().Be("a [MASK] , [MASK] film");

        var punctuation = new Lime { Features = LimeFeatures.WordsAndPunctuation };
        const string text = "a smart, witty follow-up (isn't it?)";
        var split = punctuation.SplitFeatures(text);
        split.Select(f => f.Text).Should().Equal("a", "smart", ",", "witty", "follow", "-", "up", "(", "isn", "'", "t", "it", "?", ")");
        split.Should().OnlyContain(f => text.Substring(f.Start, f.End - f.Start) == f.Text);
        var mask = split.Select(f => f.Text != "," && f.Text != "follow" && f.Text != "t").ToArray();
        punctuation.Perturb(text, split, mask).Should().Be("a smart[MASK] witty [MASK]-up (isn'[MASK] it?)");
    }

    [Fact]
    public void Removing_every_feature_drops_the_sample_and_says_so()
    {
        var lime = new Lime { Perturbation = LimePerturbation.Remove, Samples = 200, Seed = 2 };
        var e = lime.Explain(Additive(), "good bad", new ExplainOptions { Target = Target.Class(1) });
        e.Notes.Should().Contain(n => n.Contains("empty text", StringComparison.Ordinal));
        e.Surrogate!.Samples.Should().BeLessThan(201);
        e.Scores[0].Should().BePositive();
        e.Scores[1].Should().BeNegative();
        (e.Scores[0] - e.Scores[1]).Should().BeApproximately(0.21, 0.01, "the contrast between the two words is well determined");
    }

    [Fact]
    public void A_feature_the_fit_never_saw_switched_off_is_reported_as_unknown_not_as_no_effect()
    {
        // One word removed leaves an empty text, so every sample is dropped and the fit sees only the original:
        // the coefficient of "good" (whose true effect is large) comes out 0, which must not pass for "no effect".
        var removed = new Lime { Perturbation = LimePerturbation.Remove, Samples = 50, Seed = 2 }.Explain(Additive(), "good", new ExplainOptions { Target = Target.Class(1) });
        removed.Scores.Should().Equal(0.0);
        removed.Notes.Should().Contain("'good' was kept in every sample the fit saw, so its coefficient of 0 means unknown, not no effect: " +
            "mask features instead of removing them (Perturbation = Mask, --perturbation mask), or draw more samples");

        // Two samples of a ten-word text leave most words on in every fitted sample: the note names the first five
        // of them (in text order) and counts the rest. The constant words are read off the run's own masks.
        var few = new Lime { Samples = 2, Seed = 6 };
        var run = few.Run(Additive(), Text, 1);
        var constant = Enumerable.Range(0, run.Features.Count).Where(j => run.Masks.All(m => m[j])).Select(j => run.Features[j].Text).ToArray();
        constant.Length.Should().BeGreaterThan(5, "the precondition: more constant words than the note lists");
        var two = few.Explain(Additive(), Text, new ExplainOptions { Target = Target.Class(1) });
        two.Notes.Should().Contain($"{string.Join(", ", constant.Take(5).Select(w => $"'{w}'"))} and {constant.Length - 5} more were kept in every sample the fit saw, " +
            "so their coefficient of 0 means unknown, not no effect: draw more samples");

        // The Captum preset has no unperturbed sample: with one sample, the words it switched off are off in every
        // sample the fit saw, their coefficient is 0 too, and that must be said as well (it was not: only words kept
        // throughout were reported). The words are read off the run's own mask.
        var captum = new Lime { Preset = LimePreset.Captum, Samples = 1, Seed = 4 };
        var mask = captum.Run(Additive(), Text, 1).Masks.Single();
        var off = Text.Split(' ').Where((_, j) => !mask[j]).ToArray();
        var on = Text.Split(' ').Where((_, j) => mask[j]).ToArray();
        off.Should().NotBeEmpty("the precondition: the one sample switches some words off");
        on.Should().NotBeEmpty();
        static string Listed(string[] words) => string.Join(", ", words.Take(5).Select(w => $"'{w}'")) + (words.Length > 5 ? $" and {words.Length - 5} more" : string.Empty)
            + (words.Length == 1 ? " was" : " were");
        var single = captum.Explain(Additive(), Text, new ExplainOptions { Target = Target.Class(1) });
        single.Scores.Should().OnlyContain(v => v == 0, "a constant column gets no coefficient");
        single.Notes.Should().Contain($"{Listed(off)} switched off in every sample the fit saw, " +
            $"so {(off.Length == 1 ? "its" : "their")} coefficient of 0 means unknown, not no effect: draw more samples");
        var kept = $"{Listed(on)} kept in every sample the fit saw";
        single.Notes.Should().Contain(n => n.StartsWith(kept, StringComparison.Ordinal));

        var masked = new Lime { Samples = 50, Seed = 2 }.Explain(Additive(), "good", new ExplainOptions { Target = Target.Class(1) });
        masked.Scores[0].Should().BePositive();
        masked.Notes.Should().NotContain(n => n.Contains("unknown", StringComparison.Ordinal), "a masked word varies across the samples");
    }

    [Fact]
    public void Samples_a_narrow_kernel_weighs_zero_are_not_seen_by_the_fit_and_that_is_said()
    {
        // LIT's distance is 100 × the cosine distance to the all-on mask; with 10 words the nearest perturbed sample
        // (one word off) is at 100·(1 − 9/(√10·√9)) ≈ 5.13, so a kernel of width 0.1 weighs it √exp(−(51.3)²) = 0 in
        // double precision, and every farther one too: only the unperturbed sample keeps a weight (1), so every
        // coefficient is 0. Before, nothing said so (the words vary across the samples, just not across the seen ones).
        var lime = new Lime { Samples = 50, Seed = 2, KernelWidth = 0.1 };
        var e = lime.Explain(Additive(), Text, new ExplainOptions { Target = Target.Class(1) });
        e.Scores.Should().OnlyContain(v => v == 0);
        e.Notes.Should().Contain(n => n.StartsWith("50 of 51 samples got a kernel weight of 0 (kernel width 0.1, distances up to ", StringComparison.Ordinal)
            && n.EndsWith("so the fit does not see them: widen the kernel (KernelWidth, --kernel-width)", StringComparison.Ordinal));
        e.Notes.Should().Contain("'the', 'movie', 'was', 'good', 'but' and 5 more were kept in every sample the fit saw, so their coefficient of 0 means unknown, not no effect: draw more samples");

        // The default width (256) weighs every sample: no such note.
        new Lime { Samples = 50, Seed = 2 }.Explain(Additive(), Text, new ExplainOptions { Target = Target.Class(1) })
            .Notes.Should().NotContain(n => n.Contains("kernel weight of 0", StringComparison.Ordinal));
    }
}
