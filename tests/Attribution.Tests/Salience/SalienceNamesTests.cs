using Attribution.Methods;
using Attribution.Salience;

namespace Attribution.Tests.Salience;

/// <summary>The names of normalizations and word aggregations, both ways, as written in the docs and on the command line.</summary>
public sealed class SalienceNamesTests
{
    [Theory]
    [InlineData(Normalization.None, "none")]
    [InlineData(Normalization.L1, "l1")]
    [InlineData(Normalization.L2, "l2")]
    [InlineData(Normalization.MaxAbs, "max-abs")]
    [InlineData(Normalization.MinMax, "min-max")]
    public void Normalization_names(Normalization value, string name)
    {
        value.Name().Should().Be(name);
        ResultNames.ParseNormalization(name).Should().Be(value);
    }

    [Theory]
    [InlineData(WordAggregation.Sum, "sum")]
    [InlineData(WordAggregation.Mean, "mean")]
    [InlineData(WordAggregation.AbsMax, "absmax")]
    [InlineData(WordAggregation.L2, "l2")]
    [InlineData(WordAggregation.First, "first")]
    public void Word_aggregation_names(WordAggregation value, string name)
    {
        value.Name().Should().Be(name);
        ResultNames.ParseWordAggregation(name).Should().Be(value);
    }

    [Fact]
    public void Unknown_names_are_rejected_with_the_accepted_ones()
    {
        FluentActions.Invoking(() => ResultNames.ParseNormalization("maxabs")).Should().Throw<ArgumentException>()
            .WithMessage("unknown normalization 'maxabs': use none, l1, l2, max-abs or min-max*").WithParameterName("name");
        FluentActions.Invoking(() => ResultNames.ParseWordAggregation("max")).Should().Throw<ArgumentException>()
            .WithMessage("unknown word aggregation 'max': use sum, mean, absmax, l2 or first*").WithParameterName("name");
        FluentActions.Invoking(() => ResultNames.ParseNormalization("")).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => ResultNames.ParseWordAggregation("")).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => ((Normalization)99).Name()).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => ((WordAggregation)99).Name()).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Theory]
    [InlineData(ScoreReduction.Sum, "sum")]
    [InlineData(ScoreReduction.L2, "l2")]
    [InlineData(ScoreReduction.L1, "l1")]
    [InlineData(ScoreReduction.FeatureCoefficient, "feature-coefficient")]
    [InlineData(ScoreReduction.FeatureScore, "feature-score")]
    [InlineData(ScoreReduction.PerToken, "per-token")]
    public void Score_reduction_names_as_the_docs_list_them(ScoreReduction value, string name)
    {
        // The names of ResultNames.Name(ScoreReduction)'s doc, in its order (it said "relevance" for per-token).
        value.Name().Should().Be(name);
        ResultNames.ParseScoreReduction(name).Should().Be(value);
    }

    [Fact]
    public void Unknown_reduction_and_method_kind_names_are_rejected_with_the_accepted_ones()
    {
        FluentActions.Invoking(() => ResultNames.ParseScoreReduction("relevance")).Should().Throw<ArgumentException>()
            .WithMessage("unknown reduction 'relevance': use sum, l2, l1, feature-coefficient, feature-score or per-token*").WithParameterName("name");
        FluentActions.Invoking(() => ResultNames.ParseMethodKind("smoothgrad")).Should().Throw<ArgumentException>()
            .WithMessage("unknown method kind 'smoothgrad': use custom, gradient, *, grad-attention-rollout*").WithParameterName("name");
        FluentActions.Invoking(() => ResultNames.ParseScoreOutput("softmax")).Should().Throw<ArgumentException>()
            .WithMessage("unknown score output 'softmax': use logit, probability or log-probability*").WithParameterName("name");
    }

    [Fact]
    public void Options_default_to_dropping_specials_without_normalization_and_summing_words()
    {
        var options = new SalienceOptions();
        options.KeepSpecialTokens.Should().BeFalse();
        options.Normalization.Should().Be(Normalization.None);
        options.WordAggregation.Should().Be(WordAggregation.Sum);
    }
}
