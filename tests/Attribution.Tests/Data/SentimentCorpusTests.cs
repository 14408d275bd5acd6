using Attribution.Training;
using Attribution.Data;

namespace Attribution.Tests.Data;

public sealed class SentimentCorpusTests
{
    private static readonly IReadOnlyList<SentimentExample> Sample = SentimentCorpus.Generate(3000);

    [Fact]
    public void The_same_seed_gives_the_same_corpus_and_another_seed_another()
    {
        var again = SentimentCorpus.Generate(3000);
        again.Should().Equal(Sample, (a, b) => a.Text == b.Text && a.Label == b.Label && a.Rationale.SequenceEqual(b.Rationale) && a.Template == b.Template);
        SentimentCorpus.Generate(100).Select(e => e.Text).Should().Equal(Sample.Take(100).Select(e => e.Text), "a longer corpus extends a shorter one");
        SentimentCorpus.Generate(100, seed: 1).Select(e => e.Text).Should().NotEqual(Sample.Take(100).Select(e => e.Text));
    }

    [Fact]
    public void The_corpus_is_pinned()
    {
        // Changing the generator changes the default model's training data: bump DefaultModel.Version with it.
        Sample[0].Text.Should().Be(SentimentCorpus.Generate(1)[0].Text);
        var fingerprint = Sample.Aggregate(17L, (h, e) => unchecked((h * 31) + StableHash(e.Text) + e.Label));
        fingerprint.Should().Be(PinnedFingerprint, "the corpus for the default seed must not change silently");
    }

    private const long PinnedFingerprint = -634359669268374458;

    private static long StableHash(string s) => s.Aggregate(0L, (h, c) => unchecked((h * 131) + c));

    [Fact]
    public void Texts_are_distinct_balanced_and_made_of_vocabulary_words()
    {
        Sample.Select(e => e.Text).Distinct().Should().HaveCount(Sample.Count);
        Sample.Average(e => e.Label).Should().BeInRange(0.45, 0.55);
        Sample.SelectMany(e => e.Words).Distinct().Should().BeSubsetOf(SentimentCorpus.Vocabulary);
        SentimentCorpus.Vocabulary.Should().BeInAscendingOrder(StringComparer.Ordinal).And.OnlyHaveUniqueItems();
        Sample.Should().OnlyContain(e => e.Text == e.Text.Trim() && !e.Text.Contains("  ", StringComparison.Ordinal) && e.Text == e.Text.ToLowerInvariant());
        Sample.Select(e => e.Template).Distinct().Should().BeEquivalentTo(SentimentCorpus.Templates.Keys);
    }

    [Fact]
    public void Each_rationale_names_the_words_that_decide_the_label()
    {
        // Plain checks per example and one assertion at the end: thousands of FluentAssertions calls are slow.
        var problems = new List<string>();
        foreach (var e in Sample)
        {
            if (e.Rationale.Count == 0 || e.Rationale.Any(i => i < 0 || i >= e.Words.Count))
            {
                problems.Add($"{e.Text}: rationale [{string.Join(", ", e.Rationale)}]");
                continue;
            }

            var words = e.RationaleWords;
            var negated = words.Any(w => SentimentCorpus.NegationWords.Contains(w));
            var polarities = words.Select(SentimentCorpus.Polarity).Where(p => p != 0).Distinct().ToList();
            if (polarities.Count != 1)
            {
                problems.Add($"{e.Text}: rationale words {string.Join(" ", words)} do not carry one polarity");
                continue;
            }

            var expected = negated ? -polarities[0] : polarities[0];
            if ((expected > 0 ? 1 : 0) != e.Label)
            {
                problems.Add($"{e.Text}: labelled {e.LabelName} but its rationale {string.Join(" ", words)} says otherwise");
            }
        }

        problems.Should().BeEmpty();
    }

    [Fact]
    public void Negation_and_contrast_make_word_counting_insufficient()
    {
        // A bag-of-sentiment-words vote gets a fair share of the corpus wrong: the labels need word order.
        var wrong = Sample.Count(e => Math.Sign(e.Words.Sum(SentimentCorpus.Polarity)) != (e.Label == 1 ? 1 : -1));
        ((double)wrong / Sample.Count).Should().BeGreaterThan(0.2);

        var negated = Sample.First(e => e.Template == "negated-copula" && e.Label == 1);
        negated.RationaleWords[0].Should().BeOneOf(SentimentCorpus.NegationWords);
        SentimentCorpus.Polarity(negated.RationaleWords[^1]).Should().Be(-1);

        var contrast = Sample.First(e => e.Template == "contrast-clause");
        var but = contrast.Words.ToList().IndexOf("but");
        contrast.Rationale.Should().OnlyContain(i => i > but);
    }

    [Fact]
    public void The_demo_phrases_are_in_the_corpus_distribution()
    {
        var all = SentimentCorpus.Generate(20000);
        all.Should().Contain(e => e.Text == "a sometimes tedious film" || e.Text.EndsWith("a sometimes tedious film", StringComparison.Ordinal)
            || (e.Template == "phrase" && e.Words.Contains("sometimes") && e.Words.Contains("tedious")));
        SentimentCorpus.Polarity("tedious").Should().Be(-1);
        SentimentCorpus.Polarity("Superb").Should().Be(1);
        SentimentCorpus.Polarity("sometimes").Should().Be(0);
        SentimentCorpus.SentimentWords.Should().ContainKey("recommend");
        SentimentCorpus.Labels.Should().Equal("negative", "positive");
    }

    [Theory]
    [InlineData(int.MaxValue, 1, 0)]
    [InlineData(int.MaxValue - 5, 3, 3)]
    public void Create_refuses_sizes_whose_sum_overflows_under_its_own_parameter_name(int train, int dev, int test)
    {
        // int.MaxValue + 1 wrapped to int.MinValue: refused as "count", which Create has no parameter of. Both cases sum
        // to 2^31 = 2147483648 by hand; the second needs every size counted (a test size of 0 would hide a dropped one).
        var act = () => SentimentCorpus.Create(train, dev, test);
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*train + dev + test = 2147483648 sentences*ask for fewer*")
            .Which.ParamName.Should().Be("train");
    }

    [Fact]
    public void Create_cuts_disjoint_portions()
    {
        var splits = SentimentCorpus.Create(500, 100, 200);
        splits.Train.Should().HaveCount(500);
        splits.Dev.Should().HaveCount(100);
        splits.Test.Should().HaveCount(200);
        splits.Train.Select(e => e.Text).Intersect(splits.Test.Select(e => e.Text)).Should().BeEmpty();
        splits.Dev.Select(e => e.Text).Intersect(splits.Test.Select(e => e.Text)).Should().BeEmpty();
        splits.Train.Select(e => e.Text).Should().Equal(Sample.Take(500).Select(e => e.Text));
    }
}
