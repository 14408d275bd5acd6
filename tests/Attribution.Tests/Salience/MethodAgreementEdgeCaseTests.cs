using Attribution.Methods;
using Attribution.Salience;

namespace Attribution.Tests.Salience;

/// <summary>
/// <see cref="MethodAgreement"/> beyond the plain Spearman values: pairs over several texts, signed against unsigned
/// methods, words against tokens, special tokens as units, and the argument checks. Every ρ below is worked out by
/// hand from the ranks (ρ = Σdx·dy / √(Σdx²·Σdy²) with d the deviation of a rank from the mean rank).
/// </summary>
public sealed class MethodAgreementEdgeCaseTests
{
    /// <summary>"aa bb cc" as [CLS] a ##a bb cc [SEP], with the given token scores and optionally word scores.</summary>
    private static Explanation Sample(double[] scores, double[]? words = null, bool signed = true, string method = "m") =>
        SalienceSamples.Hand("aa bb cc", ["[CLS]", "a", "##a", "bb", "cc", "[SEP]"], [101, 1, 2, 3, 4, 102],
            [null, (0, 1), (1, 2), (3, 5), (6, 8), null], [true, false, false, false, false, true], scores, signed, method) with
        {
            Words = words is null
                ? []
                : [new WordScore("aa", 0, 2, words[0], [1, 2]), new WordScore("bb", 3, 5, words[1], [3]), new WordScore("cc", 6, 8, words[2], [4])],
        };

    /// <summary>Three plain tokens "a b c" (no special tokens, no words).</summary>
    private static Explanation Plain(string method, double[] scores, bool signed = true) => new()
    {
        Text = "a b c",
        Model = "hand",
        Method = method,
        Settings = [],
        Tokens = ["a", "b", "c"],
        TokenIds = [1, 2, 3],
        Offsets = [(0, 1), (2, 3), (4, 5)],
        IsSpecial = [false, false, false],
        Scores = [.. scores],
        Target = 0,
        TargetLabel = "negative",
        Logits = [1, 0],
        Probabilities = [0.73, 0.27],
        ScoreOutput = ScoreOutput.Logit,
        Signedness = signed ? Signedness.Signed : Signedness.Unsigned,
        Reduction = ScoreReduction.Sum,
        SpecialTokensKept = false,
    };

    [Fact]
    public void Pairs_cover_every_pair_of_methods_in_order_over_every_text()
    {
        // Text 1: m1 (1, 2, 3), m2 (1, 2, 3), m3 (3, 2, 1). Text 2: m1 (1, 2, 3), m2 (3, 2, 1), m3 (2, 1, 3).
        // ρ(1 2 3, 2 1 3): d = (−1, 0, 1) and (0, −1, 1), Σdx·dy = 1, Σd² = 2 each, so 1/2; ρ(3 2 1, 2 1 3) = −1/2.
        IReadOnlyList<IReadOnlyList<Explanation>> results =
        [
            [Plain("m1", [1, 2, 3]), Plain("m1", [1, 2, 3])],
            [Plain("m2", [1, 2, 3]), Plain("m2", [3, 2, 1])],
            [Plain("m3", [3, 2, 1]), Plain("m3", [2, 1, 3])],
        ];
        var pairs = MethodAgreement.Pairs(results, Granularity.Tokens);
        pairs.Select(p => (p.First, p.Second)).Should().Equal(("m1", "m2"), ("m1", "m3"), ("m2", "m3"));
        pairs[0].PerText.Should().Equal(1, -1);
        pairs[1].PerText.Should().Equal(-1, 0.5);
        pairs[2].PerText.Should().Equal(-1, -0.5);
        pairs[2].Mean.Should().Be(-0.75);

        MethodAgreement.Pairs([results[0]], Granularity.Tokens).Should().BeEmpty("one method has no pair");
        FluentActions.Invoking(() => MethodAgreement.Pairs(null!, Granularity.Words)).Should().Throw<ArgumentNullException>();
    }

    [Fact]
    public void Pairs_of_methods_that_explain_different_numbers_of_texts_are_refused_naming_both()
    {
        // The second text of m2 was ignored without a word when m1 came first; the other way round, an index error.
        IReadOnlyList<Explanation> one = [Plain("m1", [1, 2, 3])];
        IReadOnlyList<Explanation> two = [Plain("m2", [1, 2, 3]), Plain("m2", [3, 2, 1])];
        FluentActions.Invoking(() => MethodAgreement.Pairs([one, two], Granularity.Tokens)).Should().Throw<ArgumentException>()
            .WithMessage("m2 (resultsByMethod[1]) explains 2 text(s) but m1 (resultsByMethod[0]) 1: give every method the same texts, in the same order*")
            .And.ParamName.Should().Be("resultsByMethod");
        FluentActions.Invoking(() => MethodAgreement.Pairs([two, one], Granularity.Tokens)).Should().Throw<ArgumentException>()
            .WithMessage("m1 (resultsByMethod[1]) explains 1 text(s) but m2 (resultsByMethod[0]) 2:*");
        FluentActions.Invoking(() => MethodAgreement.Pairs([[], []], Granularity.Tokens)).Should().Throw<ArgumentException>()
            .WithMessage("resultsByMethod[0] is empty: give each method's explanations of the same texts, at least one*");
    }

    [Theory]
    [InlineData(true, true, -0.5)]
    [InlineData(true, false, 1.0)]
    [InlineData(false, true, 1.0)]
    public void A_pair_with_an_unsigned_method_is_compared_on_magnitudes(bool firstSigned, bool secondSigned, double expected)
    {
        // Signed: ranks (1, 2, 3) of (−3, 1, 2) against (3, 1, 2) of (3, 1, 2): Σdx·dy = −1, Σd² = 2, ρ = −1/2.
        // Magnitudes: (3, 1, 2) against (3, 1, 2), ρ = 1.
        var first = Plain("a", [-3, 1, 2], firstSigned);
        var second = Plain("b", [3, 1, 2], secondSigned);
        MethodAgreement.Between(first, second, Granularity.Tokens).Should().BeApproximately(expected, 1e-15);
    }

    [Fact]
    public void Words_and_tokens_are_different_units()
    {
        // Same token scores in both (ρ = 1 over tokens), opposite word scores (ρ = −1 over words).
        double[] tokens = [0, 1, 2, 3, 4, 0.5];
        var first = Sample(tokens, words: [1, 2, 3]);
        var second = Sample(tokens, words: [3, 2, 1]);
        MethodAgreement.Between(first, second, Granularity.Words).Should().BeApproximately(-1, 1e-15);
        MethodAgreement.Between(first, second, Granularity.Tokens).Should().BeApproximately(1, 1e-15);
    }

    [Fact]
    public void Words_fall_back_to_tokens_for_results_without_words()
    {
        double[] tokens = [0, 1, 2, 3, 4, 0.5];
        MethodAgreement.Between(Sample(tokens), Sample(tokens), Granularity.Words).Should().BeApproximately(1, 1e-15);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void At_word_granularity_a_result_without_words_gets_them_from_its_tokens(bool wordsFirst)
    {
        // One result has words (1, 2, 3); the other only tokens, whose sums per word are aa 1 + 1 = 2, bb 5, cc 0,
        // ranks (2, 3, 1). Against (1, 2, 3): d = (−1, 0, 1) and (0, 1, −1), Σdx·dy = −1, Σd² = 2, ρ = −1/2.
        // (Word keys were matched against token keys before: nothing shared, NaN.)
        var withWords = Sample([0, 9, 9, 9, 9, 0], words: [1, 2, 3]);
        var tokensOnly = Sample([0, 1, 1, 5, 0, 0]);
        var rho = wordsFirst
            ? MethodAgreement.Between(withWords, tokensOnly, Granularity.Words)
            : MethodAgreement.Between(tokensOnly, withWords, Granularity.Words);
        rho.Should().BeApproximately(-0.5, 1e-15);
    }

    [Fact]
    public void Tokens_with_equal_span_and_text_are_each_a_unit()
    {
        // "a" twice over the same span (as byte-level pieces of one character can be), then b and c.
        // x = (1, 4, 2, 3), y = (4, 1, 2, 3): d = (−1.5, 1.5, −.5, .5) and (1.5, −1.5, −.5, .5), Σdx·dy = −4, Σd² = 5,
        // ρ = −0.8. Keeping only the first "a" gave (1, 2, 3) against (4, 2, 3): −0.5.
        Explanation Twice(double[] scores) => Plain("m", [.. scores[1..]]) with
        {
            Tokens = ["a", "a", "b", "c"],
            TokenIds = [1, 1, 2, 3],
            Offsets = [(0, 1), (0, 1), (2, 3), (4, 5)],
            IsSpecial = [false, false, false, false],
            Scores = [.. scores],
        };
        MethodAgreement.Between(Twice([1, 4, 2, 3]), Twice([4, 1, 2, 3]), Granularity.Tokens).Should().BeApproximately(-0.8, 1e-15);
    }

    [Fact]
    public void Pairs_of_methods_that_explain_different_texts_at_one_index_are_refused_naming_their_argument()
    {
        // Text 1 of m2 is "a b d", of m1 "a b c": the refusal names Pairs' parameter, both indices and both texts
        // (it came from Between, naming a parameter "second" that Pairs does not have).
        IReadOnlyList<Explanation> one = [Plain("m1", [1, 2, 3]), Plain("m1", [1, 2, 3])];
        IReadOnlyList<Explanation> two = [Plain("m2", [1, 2, 3]), Plain("m2", [3, 2, 1]) with { Text = "a b d" }];
        FluentActions.Invoking(() => MethodAgreement.Pairs([one, two], Granularity.Tokens)).Should().Throw<ArgumentException>()
            .WithParameterName("resultsByMethod")
            .WithMessage("resultsByMethod[0][1] (m1) explains 'a b c' but resultsByMethod[1][1] (m2) 'a b d': give every method the same texts, in the same order*");
    }

    [Fact]
    public void Results_of_different_texts_are_refused()
    {
        var first = Plain("a", [1, 2, 3]);
        var second = Plain("b", [1, 2, 3]) with { Text = "a b d" };
        FluentActions.Invoking(() => MethodAgreement.Between(first, second, Granularity.Tokens)).Should().Throw<ArgumentException>()
            .WithParameterName("second").WithMessage("*different texts*'a b c'*'a b d'*");
    }

    [Fact]
    public void Every_token_special_ones_included_is_a_unit()
    {
        // x = [CLS] 0.5, a 1, ##a 2, bb 3, cc 4, [SEP] −1 → ranks 2 3 4 5 6 1; y swaps the specials' scores → 1 3 4 5 6 2.
        // Mean rank 3.5: Σdx·dy = 3.75 + 0.25 + 0.25 + 2.25 + 6.25 + 3.75 = 16.5 and Σd² = 17.5, so ρ = 33/35.
        var first = Sample([0.5, 1, 2, 3, 4, -1]);
        var second = Sample([-1, 1, 2, 3, 4, 0.5]);
        MethodAgreement.Between(first, second, Granularity.Tokens).Should().BeApproximately(33.0 / 35, 1e-15);
    }

    [Fact]
    public void Only_units_both_results_have_are_compared()
    {
        // The second result lacks [CLS] and [SEP]; the four shared tokens agree perfectly.
        var first = Sample([9, 1, 2, 3, 4, -9]);
        var second = SalienceLayer.DropSpecialTokens(Sample([-9, 1, 2, 3, 4, 9]));
        MethodAgreement.Between(first, second, Granularity.Tokens).Should().BeApproximately(1, 1e-15);
    }

    [Fact]
    public void Spearman_edge_cases()
    {
        MethodAgreement.Spearman([1, 2], [3, 4]).Should().Be(1, "two values are enough");
        MethodAgreement.Spearman([1, 2], [4, 3]).Should().Be(-1);
        double.IsNaN(MethodAgreement.Spearman([], [])).Should().BeTrue();
        FluentActions.Invoking(() => MethodAgreement.Spearman([1, 2, 3], [1, 2])).Should().Throw<ArgumentException>()
            .WithMessage("3 values against 2*").WithParameterName("y");
        FluentActions.Invoking(() => MethodAgreement.Spearman(null!, [1.0])).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => MethodAgreement.Spearman([1.0], null!)).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => MethodAgreement.Ranks(null!)).Should().Throw<ArgumentNullException>();
        MethodAgreement.Ranks([]).Should().BeEmpty();
        MethodAgreement.Ranks([2, 2, 2]).Should().Equal(2, 2, 2);
    }

    [Fact]
    public void A_NaN_value_has_no_rank_and_the_others_are_ranked_among_themselves()
    {
        // pandas' rank(na_option="keep") of [3, NaN, 1, 3]: 1 → 1, the two 3s share (2 + 3) / 2 = 2.5, NaN → NaN.
        // (Sorted, the NaN came first: it got rank 1 and pushed 1 to rank 2, as if NaN were the smallest score.)
        MethodAgreement.Ranks([3, double.NaN, 1, 3]).Should().Equal(2.5, double.NaN, 1, 2.5);
        MethodAgreement.Ranks([double.NaN]).Should().Equal(double.NaN);
    }

    [Fact]
    public void A_NaN_score_leaves_the_agreement_undefined_instead_of_ranking_it_lowest()
    {
        // Sorted, NaN came first: {1, NaN, 3} ranked 2, 1, 3 against 1, 2, 3, deviations (0, −1, 1) and (−1, 0, 1),
        // gave ρ = 1 / √(2·2) = 0.5, as if the NaN token were the least important. A NaN has no rank: ρ is undefined.
        MethodAgreement.Spearman([2.0, 1.0, 3.0], [1.0, 2.0, 3.0]).Should().BeApproximately(0.5, 1e-15, "the ranks the NaN case produced");
        double.IsNaN(MethodAgreement.Spearman([1.0, double.NaN, 3.0], [1.0, 2.0, 3.0])).Should().BeTrue();
        double.IsNaN(MethodAgreement.Spearman([1.0, 2.0, 3.0], [double.NaN, 2.0, 3.0])).Should().BeTrue();
        double.IsNaN(MethodAgreement.Between(Plain("x", [1, double.NaN, 3]), Plain("y", [1, 2, 3]), Granularity.Tokens)).Should().BeTrue();

        // Infinities are ordered: +∞ is the largest score, and ρ stays defined (ranks 1, 2, 3 against 1, 2, 3).
        MethodAgreement.Spearman([1.0, 2.0, double.PositiveInfinity], [1.0, 2.0, 3.0]).Should().Be(1);
    }

    [Fact]
    public void Between_rejects_null_results()
    {
        var e = Plain("a", [1, 2, 3]);
        FluentActions.Invoking(() => MethodAgreement.Between(null!, e, Granularity.Words)).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => MethodAgreement.Between(e, null!, Granularity.Words)).Should().Throw<ArgumentNullException>();
    }

    [Fact]
    public void The_mean_of_no_defined_value_is_undefined()
    {
        double.IsNaN(new PairAgreement("a", "b", [double.NaN, double.NaN]).Mean).Should().BeTrue();
        double.IsNaN(new PairAgreement("a", "b", []).Mean).Should().BeTrue();
        new PairAgreement("a", "b", [double.PositiveInfinity, 0.25]).Mean.Should().Be(0.25, "only finite values count");
    }
}
