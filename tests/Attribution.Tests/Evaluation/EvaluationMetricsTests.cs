using System.Collections.Immutable;
using Attribution.Evaluation;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Salience;
using Attribution.Text.Tokenizers;

namespace Attribution.Tests.Evaluation;

/// <summary>
/// The faithfulness and plausibility metrics against values computed by hand in the test from their definitions, on a
/// model written here whose output is known in closed form: logit(positive) = Σ weight(token id) over the tokens
/// present, logit(negative) = 0, so p(positive) = σ(Σ weights). Explanations are built by hand with chosen scores.
/// </summary>
public sealed class EvaluationMetricsTests : IDisposable
{
    private static readonly string[] Vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "c", "d", "e"];

    private static readonly Dictionary<string, double> Weight = new() { ["a"] = 0.7, ["b"] = -0.4, ["c"] = 1.1, ["d"] = 0.2, ["e"] = -0.9, ["[MASK]"] = 0.05 };

    private readonly string root = Directory.CreateTempSubdirectory("attribution-metrics-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    /// <summary>
    /// Single-label: logits [0, Σ]. Multi-label: [3, Σ], so the softmax of label 1 (σ(Σ − 3)) differs from its sigmoid
    /// (σ(Σ)). Regression: the one output Σ.
    /// </summary>
    private sealed class AdditiveModel(ITokenizer tokenizer, OutputHead head = OutputHead.SingleLabel, int maxLength = 32) : ITokenClassifier
    {
        public string Name => "additive";

        public ITokenizer Tokenizer => tokenizer;

        public int? MaxLength => maxLength;

        public bool UsesTokenTypes => false;

        public IReadOnlyList<string> Labels { get; } = head == OutputHead.Regression ? ["score"] : ["negative", "positive"];

        public OutputHead Head => head;

        public List<TokenSequence> Seen { get; } = [];

        public double[][] PredictLogits(IReadOnlyList<TokenSequence> sequences)
        {
            Seen.AddRange(sequences);
            return sequences.Select(s =>
            {
                var sum = s.Ids.Sum(id => Weight.GetValueOrDefault(tokenizer.IdToToken(id)!));
                return head switch { OutputHead.Regression => new[] { sum }, OutputHead.MultiLabel => [3.0, sum], _ => [0.0, sum] };
            }).ToArray();
        }

        public double[][] PredictProbabilities(IReadOnlyList<string> texts) => throw new NotSupportedException();
    }

    private AdditiveModel Model(OutputHead head = OutputHead.SingleLabel, int maxLength = 32)
    {
        var vocab = Path.Combine(root, "vocab.txt");
        File.WriteAllLines(vocab, Vocabulary);
        return new AdditiveModel(TokenizerLoader.FromWordPieceVocab(vocab), head, maxLength);
    }

    private static double Sum(params string[] tokens) => tokens.Sum(t => Weight.GetValueOrDefault(t));

    private static double P(params string[] tokens) => 1 / (1 + Math.Exp(-Sum(tokens)));

    /// <summary>An explanation of <paramref name="text"/> for the positive class (a regression model's output) with the given content-token scores.</summary>
    private static Explanation Explained(AdditiveModel model, double[] scores, bool signed = true, string text = "a b c d e", int? maxLength = null)
    {
        var target = model.Head == OutputHead.Regression ? 0 : 1;
        var encoding = model.Tokenizer.Encode(text, maxLength: maxLength);
        return SalienceLayer.Apply(new Explanation
        {
            Text = text,
            Model = model.Name,
            Method = "hand-made",
            Settings = [],
            Tokens = [.. encoding.Tokens],
            TokenIds = [.. encoding.Ids],
            Offsets = [.. encoding.Offsets],
            IsSpecial = [.. encoding.SpecialTokensMask],
            Scores = [0, .. scores, 0],
            Target = target,
            TargetLabel = model.Labels[target],
            Logits = [0, 1],
            Probabilities = [0.3, 0.7],
            ScoreOutput = ScoreOutput.Logit,
            Signedness = signed ? Signedness.Signed : Signedness.Unsigned,
            Reduction = ScoreReduction.Sum,
        }, new SalienceOptions());
    }

    // Scores a..e: ranking c (0.9), a (0.5), d (0.1), e (0), b (−0.2). n = 5, so the fractions give rationales of
    // ⌊k·5⌋ = 0 (skipped), 1 {c}, 1 (same), 2 {c, a}, 2, 3 {c, a, d}, 3, 4 → {c, a, d} (e is not positive: same),
    // 4, 5 → same: three rationales counted.
    private static readonly double[] Scores = [0.5, -0.2, 0.9, 0.1, 0.0];

    [Fact]
    public void Comprehensiveness_removes_the_positive_top_k_and_averages_the_drops()
    {
        var model = Model();
        var result = RationaleRemoval.Comprehensiveness(model, Explained(model, Scores));
        var full = P("[CLS]", "a", "b", "c", "d", "e", "[SEP]");
        var expected = new[]
        {
            full - P("[CLS]", "a", "b", "d", "e", "[SEP]"),
            full - P("[CLS]", "b", "d", "e", "[SEP]"),
            full - P("[CLS]", "b", "e", "[SEP]"),
        };
        result.Steps.Select(s => s.Value).Should().Equal(expected, (x, y) => Math.Abs(x - y) < 1e-12);
        result.Value.Should().BeApproximately(expected.Average(), 1e-12);
        result.Steps.Select(s => s.Label).Should().Equal("20%", "40%", "60%");
    }

    [Fact]
    public void A_negative_comprehensiveness_is_kept_and_the_note_says_what_it_means()
    {
        // Unsigned scores rank by magnitude: e (0.9), b (0.3), a (0.1), c (0.05), d (0.02); e and b weigh against the
        // positive class, so removing them raises p. Rationales of ⌊k·5⌋ tokens: {e}, {e, b}, {e, b, a}, {e, b, a, c}, all.
        var model = Model();
        var result = RationaleRemoval.Comprehensiveness(model, Explained(model, [0.1, 0.3, 0.05, 0.02, 0.9], signed: false));
        var full = P("[CLS]", "a", "b", "c", "d", "e", "[SEP]");
        var expected = new[]
        {
            full - P("[CLS]", "a", "b", "c", "d", "[SEP]"),
            full - P("[CLS]", "a", "c", "d", "[SEP]"),
            full - P("[CLS]", "c", "d", "[SEP]"),
            full - P("[CLS]", "d", "[SEP]"),
            full - P("[CLS]", "[SEP]"),
        };

        // σ(0.7) − σ(1.6), − σ(2.0), − σ(1.3), − σ(0.2), − σ(0): −0.164, −0.213, −0.118, +0.118, +0.168; mean −0.042.
        // 1e-12: logistic functions of sums of five weights, off only by rounding.
        result.Value.Should().BeApproximately(expected.Average(), 1e-12).And.BeLessThan(0, "ERASER's difference is not clamped");
        result.Note.Should().Be("5 fraction(s) gave no whole token or the same rationale as the one before and were not counted; negative: removing the rationale raised the explained output on average (the difference is not clamped, as in ERASER and ferret): the top-scored tokens work against it, which an unsigned method, ranking by magnitude alone, cannot tell");

        // A positive value gets no such note: sufficiency of the same ranking keeps {e}, {e, b}, … alone, all below p(x).
        var sufficiency = RationaleRemoval.Sufficiency(model, Explained(model, [0.1, 0.3, 0.05, 0.02, 0.9], signed: false));
        sufficiency.Value.Should().BePositive();
        sufficiency.Note.Should().NotContain("negative");

        // Signed scores of the same order pick the same rationales: the same value, a note without the unsigned clause.
        var signed = RationaleRemoval.Comprehensiveness(model, Explained(model, [0.1, 0.3, 0.05, 0.02, 0.9], signed: true));
        signed.Value.Should().Be(result.Value);
        signed.Note.Should().EndWith("; negative: removing the rationale raised the explained output on average (the difference is not clamped, as in ERASER and ferret): the top-scored tokens work against it");

        // Ranking the tokens that favour the class first (a, c, d), the rationale alone scores above the whole text.
        var favouring = RationaleRemoval.Sufficiency(model, Explained(model, [0.9, 0.02, 0.8, 0.7, 0.01], signed: true));
        favouring.Value.Should().BeNegative();
        favouring.Note.Should().EndWith("; negative: the rationale alone gives a higher explained output than the whole text on average (the difference is not clamped, as in ERASER and ferret)");
    }

    [Fact]
    public void The_rationale_size_is_the_exact_floor_of_k_times_n()
    {
        // 90 content tokens, scores falling with position: the 70% rationale is the first ⌊0.7 × 90⌋ = 63 tokens. In
        // floating point 0.7 × 90 = 62.99999999999999, which truncated to 62 before.
        var model = Model(maxLength: 128);
        var words = Enumerable.Range(0, 90).Select(i => Vocabulary[5 + (i % 5)]).ToArray();
        var result = RationaleRemoval.Comprehensiveness(model, Explained(model, [.. Enumerable.Range(0, 90).Select(i => 90.0 - i)], text: string.Join(' ', words)));
        var seventy = result.Steps.Single(s => s.Label == "70%");
        seventy.Detail.Should().StartWith("without 63 token(s)");
        var full = P(["[CLS]", .. words, "[SEP]"]);

        // 1e-12: two logistic functions of sums of a few dozen weights, off only by rounding.
        seventy.Value.Should().BeApproximately(full - P(["[CLS]", .. words[63..], "[SEP]"]), 1e-12);
        result.Steps.Select(s => s.Detail.Split(' ')[1]).Should().Equal("9", "18", "27", "36", "45", "54", "63", "72", "81", "90");
    }

    [Fact]
    public void Sufficiency_keeps_only_the_rationale_and_the_special_tokens()
    {
        var model = Model();
        var result = RationaleRemoval.Sufficiency(model, Explained(model, Scores));
        var full = P("[CLS]", "a", "b", "c", "d", "e", "[SEP]");
        var expected = new[] { full - P("[CLS]", "c", "[SEP]"), full - P("[CLS]", "a", "c", "[SEP]"), full - P("[CLS]", "a", "c", "d", "[SEP]") };
        result.Value.Should().BeApproximately(expected.Average(), 1e-12);
    }

    [Fact]
    public void Masking_replaces_instead_of_removing()
    {
        var model = Model();
        var full = P("[CLS]", "a", "b", "c", "d", "e", "[SEP]");
        var comprehensiveness = RationaleRemoval.Comprehensiveness(model, Explained(model, Scores), TokenRemoval.Mask);
        comprehensiveness.Steps[0].Value.Should().BeApproximately(full - P("[CLS]", "a", "b", "[MASK]", "d", "e", "[SEP]"), 1e-12);
        var sufficiency = RationaleRemoval.Sufficiency(model, Explained(model, Scores), TokenRemoval.Mask);
        sufficiency.Steps[0].Value.Should().BeApproximately(full - P("[CLS]", "[MASK]", "[MASK]", "c", "[MASK]", "[MASK]", "[SEP]"), 1e-12);
        model.Seen.Should().OnlyContain(s => s.Ids.Length == 7, "masking keeps the length");
    }

    [Fact]
    public void No_positive_score_removes_nothing_once()
    {
        var model = Model();
        var result = RationaleRemoval.Comprehensiveness(model, Explained(model, [-1, -1, -1, -1, -1]));
        result.Steps.Should().ContainSingle().Which.Value.Should().Be(0);
    }

    [Fact]
    public void An_empty_rationale_or_a_cut_among_equal_scores_is_noted()
    {
        var model = Model();

        // No positive score: nothing removed (comprehensiveness 0, ferret's value) and only [CLS] [SEP] kept (ferret's
        // current release returns a fixed 1 for sufficiency there); both measure the model, not the explanation, so the
        // result says so.
        var negative = Explained(model, [-1, -1, -1, -1, -1]);
        RationaleRemoval.Comprehensiveness(model, negative).Note.Should().Contain("no content token has a positive score");
        var sufficiency = RationaleRemoval.Sufficiency(model, negative);
        sufficiency.Value.Should().BeApproximately(P("[CLS]", "a", "b", "c", "d", "e", "[SEP]") - P("[CLS]", "[SEP]"), 1e-12);
        sufficiency.Note.Should().Contain("only the special tokens were kept");

        // All five scores equal: 20% takes 'a' of five equal tokens, 40% 'a b', 60% 'a b c', 80% 'a b c d' — text order
        // alone. 100% takes all five: no cut.
        var constant = RationaleRemoval.Comprehensiveness(model, Explained(model, [1, 1, 1, 1, 1]));
        constant.Steps[0].Value.Should().BeApproximately(P("[CLS]", "a", "b", "c", "d", "e", "[SEP]") - P("[CLS]", "b", "c", "d", "e", "[SEP]"), 1e-12);
        constant.Note.Should().Contain("at 20%, 40%, 60%, 80% the cut fell among tokens of equal score");

        // Distinct scores: no such note.
        RationaleRemoval.Comprehensiveness(model, Explained(model, Scores)).Note.Should().NotContain("equal score").And.NotContain("positive score");
    }

    [Fact]
    public void Leave_one_out_correlation_is_kendall_tau_against_the_drops()
    {
        var model = Model();

        // Drops of removing each word alone follow the weights: c > a > d > b... with e and b negative. Scores in the
        // weights' order give τ = 1; swapping the two highest scores makes 1 of 10 pairs discordant: τ = (9 − 1)/10.
        var inOrder = LeaveOneOutCorrelation.Compute(model, Explained(model, [0.7, -0.4, 1.1, 0.2, -0.9]));
        inOrder.Value.Should().BeApproximately(1, 1e-12);
        var swapped = LeaveOneOutCorrelation.Compute(model, Explained(model, [1.1, -0.4, 0.7, 0.2, -0.9]));
        swapped.Value.Should().BeApproximately(0.8, 1e-12);
        var full = P("[CLS]", "a", "b", "c", "d", "e", "[SEP]");
        swapped.Steps[2].Value.Should().BeApproximately(full - P("[CLS]", "a", "b", "d", "e", "[SEP]"), 1e-12, "the drop of removing c");
    }

    [Fact]
    public void Leave_one_out_steps_write_their_scores_in_the_invariant_culture()
    {
        // The command writes each step's detail into its JSON: in a German culture it read "score 0,7".
        var model = Model();
        var culture = System.Globalization.CultureInfo.CurrentCulture;
        System.Globalization.CultureInfo.CurrentCulture = TestCultures.DecimalComma;
        try
        {
            LeaveOneOutCorrelation.Compute(model, Explained(model, [0.7, -0.4, 1.1, 0.2, -0.9])).Steps.Select(s => s.Detail)
                .Should().Equal("score 0.7", "score -0.4", "score 1.1", "score 0.2", "score -0.9");
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = culture;
        }
    }

    [Fact]
    public void Leave_one_out_correlation_of_an_unsigned_explanation_compares_the_size_of_each_drop()
    {
        // Unsigned scores |weight|: c 1.1 > e 0.9 > a 0.7 > b 0.4 > d 0.2. Drops σ(0.7) − σ(0.7 − weight): c 0.267,
        // a 0.168, d 0.046, b −0.082, e −0.164; their sizes order c > a > e > b > d, one pair (a, e) against the scores:
        // τ = (9 − 1) / 10. Against the signed drops four pairs disagreed (τ = 0.2): e, whose removal raises p by
        // 0.164, ranked as unimportant.
        var model = Model();
        var loo = LeaveOneOutCorrelation.Compute(model, Explained(model, [0.7, 0.4, 1.1, 0.2, 0.9], signed: false));
        loo.Value.Should().BeApproximately(0.8, 1e-12);
        var full = P("[CLS]", "a", "b", "c", "d", "e", "[SEP]");
        loo.Steps[4].Value.Should().BeApproximately(Math.Abs(full - P("[CLS]", "a", "b", "c", "d", "[SEP]")), 1e-12, "the size of the drop of removing e");
        loo.Parameters.Should().Contain(new KeyValuePair<string, string>("drops", "magnitude (unsigned explanation)"));
    }

    [Fact]
    public void Leave_one_out_correlation_of_a_truncated_explanation_occludes_the_kept_words()
    {
        // 40 words; the model takes 32 tokens, so an explanation made with truncation covers the first 30 words. The
        // occlusion of the whole text was refused as too long before.
        var model = Model();
        var words = Enumerable.Range(0, 40).Select(i => Vocabulary[5 + (i % 5)]).ToArray();
        var kept = words[..30];
        var explanation = Explained(model, [.. kept.Select(w => Weight[w])], text: string.Join(' ', words), maxLength: 32);
        var loo = LeaveOneOutCorrelation.Compute(model, explanation);
        loo.Steps.Should().HaveCount(30);

        // Removing kept word 2 ('c') from the kept input; 1e-12: two logistic functions of short sums, rounding only.
        var full = P(["[CLS]", .. kept, "[SEP]"]);
        loo.Steps[2].Value.Should().BeApproximately(full - P(["[CLS]", .. kept[..2], .. kept[3..], "[SEP]"]), 1e-12);

        // The drops are increasing in the weights, which are the scores: the same order, ties in the same pairs, τ-b = 1.
        loo.Value.Should().BeApproximately(1, 1e-12);
    }

    [Fact]
    public void A_regression_model_s_removal_metrics_compare_its_output_itself()
    {
        // A softmax over one output is 1 for every input, which made every drop 0 before.
        var model = Model(OutputHead.Regression);
        var comprehensiveness = RationaleRemoval.Comprehensiveness(model, Explained(model, Scores));
        var full = Sum("[CLS]", "a", "b", "c", "d", "e", "[SEP]");
        comprehensiveness.Steps.Select(s => s.Value).Should().Equal(
            [full - Sum("[CLS]", "a", "b", "d", "e", "[SEP]"), full - Sum("[CLS]", "b", "d", "e", "[SEP]"), full - Sum("[CLS]", "b", "e", "[SEP]")],
            (x, y) => Math.Abs(x - y) < 1e-12);
        comprehensiveness.Parameters.Should().Contain(new KeyValuePair<string, string>("output", "the regression output"));
        var sufficiency = RationaleRemoval.Sufficiency(model, Explained(model, Scores));
        sufficiency.Steps[0].Value.Should().BeApproximately(full - Sum("[CLS]", "c", "[SEP]"), 1e-12);
        var loo = LeaveOneOutCorrelation.Compute(model, Explained(model, [1.1, -0.4, 0.7, 0.2, -0.9]));
        loo.Value.Should().BeApproximately(0.8, 1e-12, "the drops are the weights themselves: one discordant pair of 10");
        loo.Steps[2].Value.Should().BeApproximately(Weight["c"], 1e-12, "removing c lowers the output by its weight");
    }

    [Fact]
    public void A_multi_label_model_s_removal_metrics_compare_the_label_s_sigmoid()
    {
        var model = Model(OutputHead.MultiLabel);
        var comprehensiveness = RationaleRemoval.Comprehensiveness(model, Explained(model, Scores));
        var full = P("[CLS]", "a", "b", "c", "d", "e", "[SEP]");
        comprehensiveness.Steps[0].Value.Should().BeApproximately(full - P("[CLS]", "a", "b", "d", "e", "[SEP]"), 1e-12,
            "label 1's probability is σ(its logit), whatever label 0's logit (3) is");
        comprehensiveness.Parameters.Should().Contain(new KeyValuePair<string, string>("output", "sigmoid probability of the explained label"));
        var loo = LeaveOneOutCorrelation.Compute(model, Explained(model, Scores));
        loo.Steps[2].Value.Should().BeApproximately(full - P("[CLS]", "a", "b", "d", "e", "[SEP]"), 1e-12);
    }

    [Fact]
    public void The_shared_fractions_cannot_be_written()
    {
        // Exposed as the array itself, a caller's cast could write them for every caller in the process. The value
        // written is the one already there, so the check changes nothing even where the write goes through.
        var list = (IList<double>)RationaleRemoval.Fractions;
        FluentActions.Invoking(() => list[0] = list[0]).Should().Throw<NotSupportedException>();
        RationaleRemoval.Fractions.Should().Equal(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0);
    }

    [Fact]
    public void Kendall_tau_b_handles_ties_as_scipy_does()
    {
        // Pairs of (1,2,2,3) and (1,3,2,2): 3 concordant, 1 discordant, 1 tied in x, 1 tied in y of 6:
        // τ-b = (3 − 1) / √((6 − 1)(6 − 1)) = 0.4.
        RankCorrelation.KendallTauB([1, 2, 2, 3], [1, 3, 2, 2]).Should().BeApproximately(0.4, 1e-15);
        RankCorrelation.KendallTauB([1, 1, 1], [1, 2, 3]).Should().Be(double.NaN);
        RankCorrelation.KendallTauB([1, 2, 3], [3, 2, 1]).Should().Be(-1);
    }

    [Fact]
    public void Kendall_tau_b_of_a_NaN_value_is_undefined_as_Spearman_is()
    {
        // Math.Sign(NaN) threw an ArithmeticException that named neither the value nor the fix.
        RankCorrelation.KendallTauB([1, double.NaN, 3], [1, 2, 3]).Should().Be(double.NaN);
        RankCorrelation.KendallTauB([1, 2, 3], [1, 2, double.NaN]).Should().Be(double.NaN);
    }

    [Fact]
    public void Kendall_tau_b_ranks_infinite_values_and_ties_equal_ones()
    {
        // Two equal infinities differ by NaN, whose Math.Sign threw an ArithmeticException. Ranked as scipy ranks them:
        // (+inf, +inf, 1) against (1, 2, 3): the first pair ties in x, the other two are discordant, so
        // τ-b = (0 − 2) / √((3 − 1)(3 − 0)) = −2/√6. Tolerance 1e-15: one division and one square root.
        RankCorrelation.KendallTauB([double.PositiveInfinity, double.PositiveInfinity, 1], [1, 2, 3]).Should().BeApproximately(-2 / Math.Sqrt(6), 1e-15);

        // (1, +inf, −inf) against (2, 3, 1): every pair agrees.
        RankCorrelation.KendallTauB([1, double.PositiveInfinity, double.NegativeInfinity], [2, 3, 1]).Should().Be(1);

        // τ-LOO of an explanation with two +inf word scores: b and c, tied at the top, against the drops of
        // a 0.168, b −0.082, c 0.267, d 0.046, e −0.164 (σ(0.7) − σ(0.7 − weight)): concordant (a,d) (a,e) (b,e) (c,a)
        // (c,d) (c,e) (d,e), discordant (a,b) (b,d), tied in scores (b,c): τ-b = (7 − 2) / √(9 · 10). The drops enter
        // only through their order, so 1e-12 leaves room for rounding alone.
        var model = Model();
        LeaveOneOutCorrelation.Compute(model, Explained(model, [0.5, double.PositiveInfinity, double.PositiveInfinity, 0.2, -1])).Value
            .Should().BeApproximately(5 / Math.Sqrt(90), 1e-12);
    }

    [Fact]
    public void A_target_the_model_does_not_have_is_refused_naming_it()
    {
        // The removal metrics read the target's output from each row of logits: index 2 of two, or −1, threw an
        // IndexOutOfRangeException that named neither the argument nor the value.
        var model = Model();
        foreach (var target in new[] { 2, -1 })
        {
            var explanation = Explained(model, Scores) with { Target = target };
            foreach (var measure in new Func<MetricResult>[]
            {
                () => RationaleRemoval.Comprehensiveness(model, explanation),
                () => RationaleRemoval.Sufficiency(model, explanation),
                () => LeaveOneOutCorrelation.Compute(model, explanation),
            })
            {
                FluentActions.Invoking(measure).Should().Throw<ArgumentOutOfRangeException>()
                    .Where(e => e.ParamName == "explanation" && Equals(e.ActualValue, target))
                    .WithMessage($"*target {target} is not an output of additive, which has 2 (0: negative, 1: positive)*");
            }
        }
    }

    /// <summary>The refusals the removal metrics' and τ-LOO's exception docs list that no other test exercises.</summary>
    [Fact]
    public void Another_model_s_tokens_a_missing_mask_token_an_unknown_removal_and_unequal_rankings_are_refused()
    {
        var model = Model();

        // Scores of "a b c d e" laid over "a b c d e a": 5 content tokens against the model's 6.
        var other = Explained(model, Scores) with { Text = "a b c d e a" };
        foreach (var measure in new Func<MetricResult>[]
        {
            () => RationaleRemoval.Comprehensiveness(model, other),
            () => RationaleRemoval.Sufficiency(model, other),
            () => LeaveOneOutCorrelation.Compute(model, other),
        })
        {
            FluentActions.Invoking(measure).Should().Throw<ArgumentException>().Where(e => e.ParamName == "explanation")
                .WithMessage("the explanation's tokens are not additive's tokens for its text (5 content tokens against 6)*");
        }

        var unmasked = Path.Combine(root, "no-mask");
        Directory.CreateDirectory(unmasked);
        File.WriteAllLines(Path.Combine(unmasked, "vocab.txt"), Vocabulary.Where(t => t != "[MASK]"));
        var noMask = new AdditiveModel(TokenizerLoader.FromWordPieceVocab(Path.Combine(unmasked, "vocab.txt")));
        FluentActions.Invoking(() => RationaleRemoval.Sufficiency(noMask, Explained(noMask, Scores), TokenRemoval.Mask)).Should().Throw<ArgumentException>()
            .Where(e => e.ParamName == "removal").WithMessage("additive's tokenizer has no mask token: use TokenRemoval.Remove*");

        FluentActions.Invoking(() => RationaleRemoval.Comprehensiveness(model, Explained(model, Scores), (TokenRemoval)7)).Should().Throw<ArgumentOutOfRangeException>()
            .Where(e => e.ParamName == "removal").WithMessage("unknown removal 7: use TokenRemoval.Remove or TokenRemoval.Mask*");

        FluentActions.Invoking(() => RankCorrelation.KendallTauB([1, 2, 3], [1, 2])).Should().Throw<ArgumentException>()
            .Where(e => e.ParamName == "y").WithMessage("the two rankings have 3 and 2 values: give one pair per item*");
    }

    [Fact]
    public void An_explanation_whose_arrays_disagree_in_length_is_refused_naming_the_counts()
    {
        // 5 tokens (the special ones dropped); one score, id or flag short failed with an IndexOutOfRangeException naming nothing.
        var model = Model();
        var explanation = Explained(model, Scores);
        foreach (var broken in new[]
        {
            explanation with { Scores = explanation.Scores.RemoveAt(4) },
            explanation with { TokenIds = explanation.TokenIds.RemoveAt(4) },
            explanation with { IsSpecial = explanation.IsSpecial.RemoveAt(4) },
        })
        {
            FluentActions.Invoking(() => RationaleRemoval.Comprehensiveness(model, broken)).Should().Throw<ArgumentException>()
                .Where(e => e.ParamName == "explanation").WithMessage("explanation.* has 4 entries for 5 tokens: every per-token array has one entry per token*");
            FluentActions.Invoking(() => LeaveOneOutCorrelation.Compute(model, broken)).Should().Throw<ArgumentException>()
                .Where(e => e.ParamName == "explanation").WithMessage("explanation.* has 4 entries for 5 tokens*");
        }
    }

    [Fact]
    public void A_token_with_a_NaN_score_makes_the_removal_metrics_undefined_and_is_named()
    {
        // Sorted, the NaN came last and was never positive, so 'b' silently left every rationale and the value
        // looked defined (comprehensiveness 0.12 here).
        var model = Model();
        var explanation = Explained(model, [0.5, double.NaN, 0.9, 0.1, 0.0]);
        foreach (var result in new[] { RationaleRemoval.Comprehensiveness(model, explanation), RationaleRemoval.Sufficiency(model, explanation) })
        {
            result.Value.Should().Be(double.NaN);
            result.Steps.Should().BeEmpty();
            result.Note.Should().Be("the token 'b' (position 2 of the model's input) has a NaN score, which has no rank");
        }
    }

    [Fact]
    public void Plausibility_of_a_word_with_a_NaN_score_is_undefined_and_says_which_word()
    {
        // Ranked before, NaN sorted last: 'b' was the least important word (MRR 1/5) though its score says nothing.
        var model = Model();
        var results = Plausibility.Compute(Explained(model, [0.5, double.NaN, 0.9, 0.1, 0.0]), ["b"]);
        results.Select(r => r.Metric).Should().Equal("auprc", "token-f1", "iou", "precision-at-1", "mrr");
        results.Should().AllSatisfy(r =>
        {
            r.Value.Should().Be(double.NaN);
            r.Note.Should().Be("the word 'b' (characters 2-3) has a NaN score, which has no rank");
        });
    }

    [Fact]
    public void Plausibility_against_hand_computed_figures()
    {
        var model = Model();

        // Ranking by signed score: c, a, d, e, b. Highlighted {a, b}: at ranks 2 and 5.
        var results = Plausibility.Compute(Explained(model, Scores), ["a", "B"]).ToDictionary(r => r.Metric, r => r.Value);
        results["auprc"].Should().BeApproximately(((1.0 / 2) + (2.0 / 5)) / 2, 1e-12);
        results["precision-at-1"].Should().Be(0);
        results["mrr"].Should().BeApproximately(0.5, 1e-12);

        // k = 2: top {c, a}; one of two correct: precision = recall = 1/2, F1 = 1/2; IOU = 1 / |{c, a, b}| = 1/3.
        results["token-f1"].Should().BeApproximately(0.5, 1e-12);
        results["iou"].Should().BeApproximately(1.0 / 3, 1e-12);

        // Unsigned scores rank by magnitude: c, a, b, d, e.
        var unsigned = Plausibility.Compute(Explained(model, Scores, signed: false), ["b"]).ToDictionary(r => r.Metric, r => r.Value);
        unsigned["mrr"].Should().BeApproximately(1.0 / 3, 1e-12);
    }

    [Fact]
    public void Plausibility_does_not_credit_an_all_zero_explanation()
    {
        // Every word ties, so the explanation says nothing: it must score what a random ranking scores, not what
        // text order gives the first word (1 everywhere before). Exact fractions; 1e-12 leaves room for rounding only.
        var model = Model();
        var zero = Explained(model, [0, 0, 0, 0, 0]);
        var one = Plausibility.Compute(zero, ["a"]).ToDictionary(r => r.Metric, r => r.Value);

        // sklearn: one threshold holding all 5 words, precision 1/5 at recall 1, so AP = 1/5.
        one["auprc"].Should().BeApproximately(1.0 / 5, 1e-12);

        // 'a' is equally likely at each of the 5 ranks: P@1 = 1/5, MRR = (1 + 1/2 + 1/3 + 1/4 + 1/5) / 5 = 137/300.
        one["precision-at-1"].Should().BeApproximately(1.0 / 5, 1e-12);
        one["mrr"].Should().BeApproximately(137.0 / 300, 1e-12);

        // k = 1: the top word is 'a' with probability 1/5, then F1 = IOU = 1, else 0.
        one["token-f1"].Should().BeApproximately(1.0 / 5, 1e-12);
        one["iou"].Should().BeApproximately(1.0 / 5, 1e-12);

        // Two of five highlighted. The first of them is at rank 1 in 4 of the C(5, 2) = 10 placements, rank 2 in 3,
        // rank 3 in 2, rank 4 in 1: MRR = (4 + 3/2 + 2/3 + 1/4) / 10 = 77/120. k = 2 hits 0, 1 or 2 of them with
        // probabilities 3/10, 6/10, 1/10: F1 = 2·E[tp] / (k + 2) = 2/5, IOU = 6/10 · 1/3 + 1/10 · 1 = 3/10.
        var two = Plausibility.Compute(zero, ["a", "b"]).ToDictionary(r => r.Metric, r => r.Value);
        two["auprc"].Should().BeApproximately(2.0 / 5, 1e-12);
        two["precision-at-1"].Should().BeApproximately(2.0 / 5, 1e-12);
        two["mrr"].Should().BeApproximately(77.0 / 120, 1e-12);
        two["token-f1"].Should().BeApproximately(2.0 / 5, 1e-12);
        two["iou"].Should().BeApproximately(3.0 / 10, 1e-12);
    }

    [Fact]
    public void Plausibility_with_a_partial_tie_takes_tied_words_as_one_threshold_and_in_random_order()
    {
        var model = Model();

        // a, b, c tie at 0.3, then d (0.1), then e (0). Highlighted {b, d}.
        var results = Plausibility.Compute(Explained(model, [0.3, 0.3, 0.3, 0.1, 0.0]), ["b", "d"]);
        var figures = results.ToDictionary(r => r.Metric, r => r.Value);

        // sklearn's average_precision_score([0,1,0,1,0], [.3,.3,.3,.1,0]): thresholds 0.3 (precision 1/3, recall 1/2)
        // and 0.1 (precision 2/4, recall 1): AP = 1/2 · 1/3 + 1/2 · 1/2 = 5/12.
        figures["auprc"].Should().BeApproximately(5.0 / 12, 1e-12);

        // b is one of three tied top words: P@1 = 1/3; b's rank is 1, 2 or 3 alike: MRR = (1 + 1/2 + 1/3) / 3 = 11/18.
        figures["precision-at-1"].Should().BeApproximately(1.0 / 3, 1e-12);
        figures["mrr"].Should().BeApproximately(11.0 / 18, 1e-12);

        // k = 2 takes 2 of {a, b, c}: b among them with probability 2/3 (tp 1, F1 = 2/4, IOU = 1/3), else tp 0.
        figures["token-f1"].Should().BeApproximately(2.0 / 3 * 0.5, 1e-12);
        figures["iou"].Should().BeApproximately(2.0 / 3 * (1.0 / 3), 1e-12);

        // The steps: b's expected reciprocal rank over ranks 1-3, d's 1/4.
        results.Single(r => r.Metric == "mrr").Steps.Select(s => s.Value).Should().Equal([11.0 / 18, 1.0 / 4], (x, y) => Math.Abs(x - y) < 1e-12);
        results[0].Parameters.Should().Contain(p => p.Key == "ties");
    }

    [Fact]
    public void Plausibility_cut_inside_a_later_tied_block_draws_the_rest_of_k_from_it()
    {
        var model = Model();

        // a (0.5) alone, then b, c, d tied at 0.3, then e. Highlighted {c}, k = 3: the top 3 are a and two of {b, c, d},
        // so c is among them with probability 2/3 (tp 1: precision 1/3, recall 1, F1 = 1/2, IOU = 1/3), else tp 0.
        var results = Plausibility.Compute(Explained(model, [0.5, 0.3, 0.3, 0.3, 0.0]), ["c"], topK: 3);
        var figures = results.ToDictionary(r => r.Metric, r => r.Value);
        figures["token-f1"].Should().BeApproximately(2.0 / 3 * 0.5, 1e-12);
        figures["iou"].Should().BeApproximately(2.0 / 3 * (1.0 / 3), 1e-12);
    }

    [Fact]
    public void Plausibility_k_counts_every_occurrence_of_a_highlighted_word()
    {
        // "a b a c", highlighted 'a': two relevant words. A ranking with both first is perfect: k = 2 takes both,
        // F1 = IOU = 1. With k = 1 (one distinct word) it scored F1 = 2·1/(1 + 2) = 2/3 and IOU = 1/2.
        var model = Model();
        var results = Plausibility.Compute(Explained(model, [0.9, 0.1, 0.8, 0.2], text: "a b a c"), ["a"]);
        var figures = results.ToDictionary(r => r.Metric, r => r.Value);
        figures["token-f1"].Should().Be(1);
        figures["iou"].Should().Be(1);
        results.Single(r => r.Metric == "token-f1").Parameters.Should().Contain(new KeyValuePair<string, string>("k", "2"));
    }

    [Fact]
    public void Bad_arguments_are_refused_naming_them()
    {
        var model = Model();
        var explanation = Explained(model, Scores);
        FluentActions.Invoking(() => Plausibility.Compute(explanation, ["z"])).Should().Throw<ArgumentException>().WithMessage("*'z'*not words*");
        FluentActions.Invoking(() => Plausibility.Compute(explanation, [])).Should().Throw<ArgumentException>().WithMessage("*at least one*");
        FluentActions.Invoking(() => Plausibility.Compute(explanation, ["a"], topK: 9)).Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "topK");
        FluentActions.Invoking(() => Plausibility.Compute(explanation with { Words = [] }, ["a"])).Should().Throw<ArgumentException>()
            .Where(e => e.ParamName == "explanation").WithMessage("the explanation has no words to rank*");

        // A blank or null entry was dropped without a word: ["c", ""] scored as ["c"]. Refused, saying which entry.
        FluentActions.Invoking(() => Plausibility.Compute(explanation, ["c", " "])).Should().Throw<ArgumentException>()
            .Where(e => e.ParamName == "highlighted").WithMessage("highlighted word 2 of 2 is blank*");
        FluentActions.Invoking(() => Plausibility.Compute(explanation, [null!, "c"])).Should().Throw<ArgumentException>()
            .Where(e => e.ParamName == "highlighted").WithMessage("highlighted word 1 of 2 is null*");
        FluentActions.Invoking(() => Shortcuts.Score([explanation], [["c", ""]])).Should().Throw<ArgumentException>().Where(e => e.ParamName == "highlights")
            .WithMessage("highlights[0]: highlighted word 2 of 2 is blank*");
        FluentActions.Invoking(() => RationaleRemoval.Comprehensiveness(model, explanation with { TokenIds = [.. explanation.TokenIds.Select(_ => -1L)] }))
            .Should().Throw<ArgumentException>().WithMessage("*black-box*");
    }
}
