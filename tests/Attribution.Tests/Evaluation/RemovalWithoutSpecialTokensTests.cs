using Attribution.Evaluation;
using Attribution.Methods;
using Attribution.Pipeline;
using Attribution.Tests.Methods;

namespace Attribution.Tests.Evaluation;

/// <summary>
/// With <see cref="TokenRemoval.Remove"/>, comprehensiveness at 100% removes every content token whose score is positive,
/// and sufficiency with no positive score keeps no content token: on a model whose tokenizer adds no special tokens
/// (PowerOfSum's ids tokenizer), either leaves no token at all, which no model input can be. Refused before any model
/// call with an ArgumentException naming the setting (removal) and why, not TokenBatches' generic "sequences[1] has no ids".
/// τ-LOO of a one-word text meets the same empty input.
/// </summary>
public sealed class RemovalWithoutSpecialTokensTests
{
    // PowerOfSum with power 1: logit_c = Σ_t w_c·e_t. For ids 3 and 4, w_0·e_t is 0.418 and 0.549 (both positive) and
    // w_1·e_t is −0.086 and −0.088 (both negative), by hand from PowerOfSum's embedding and weights, so Gradient × Input
    // scores both tokens positive for class 0 and negative for class 1 (its values are the products above).
    private const string Text = "3 4";

    [Fact]
    public void Comprehensiveness_that_would_remove_every_token_is_refused_naming_removal()
    {
        using var model = PowerOfSum.Classifier(1);
        var explanation = new GradientXInput().Explain(model, Text, new ExplainOptions { Target = Target.Class(0) });
        explanation.Scores.Should().HaveCount(2).And.OnlyContain(s => s > 0, "by hand, both tokens favour class 0");

        var counted = new TokensOnlyClassifier(model);
        var error = FluentActions.Invoking(() => RationaleRemoval.Comprehensiveness(counted, explanation, TokenRemoval.Remove))
            .Should().Throw<ArgumentException>().Which;
        error.ParamName.Should().Be("removal");
        error.Message.Should().Contain("comprehensiveness with removal = Remove at 100%").And.Contain("leaves tokens-only no token at all")
            .And.Contain("adds no special tokens").And.Contain("no mask token either")
            .And.Contain("removes every content token (all 2 have a positive score)");
        counted.Calls.Should().Be(0, "refused before any model call");
    }

    [Fact]
    public void Sufficiency_with_an_empty_rationale_is_refused_naming_removal()
    {
        using var model = PowerOfSum.Classifier(1);
        var explanation = new GradientXInput().Explain(model, Text, new ExplainOptions { Target = Target.Class(1) });
        explanation.Scores.Should().HaveCount(2).And.OnlyContain(s => s < 0, "by hand, both tokens work against class 1");

        var error = FluentActions.Invoking(() => RationaleRemoval.Sufficiency(model, explanation, TokenRemoval.Remove))
            .Should().Throw<ArgumentException>().Which;
        error.ParamName.Should().Be("removal");
        error.Message.Should().Contain("sufficiency with removal = Remove at 50%").And.Contain("leaves power-of-sum no token at all")
            .And.Contain("keeps only the rationale, which is empty");
    }

    /// <summary>
    /// τ-LOO removes each word alone; a one-word text's only word removed leaves such a model no token. It was refused by
    /// the occlusion run inside, naming "Perturbation", a setting τ-LOO has not (it always removes); now the explanation,
    /// whose text is the cause, and what to do.
    /// </summary>
    [Fact]
    public void Loo_correlation_of_a_one_word_text_is_refused_naming_the_explanation()
    {
        using var model = PowerOfSum.Classifier(1);
        var explanation = new GradientXInput().Explain(model, "3");
        var error = FluentActions.Invoking(() => LeaveOneOutCorrelation.Compute(model, explanation)).Should().Throw<ArgumentException>().Which;
        error.ParamName.Should().Be("explanation");
        error.Message.Should().Contain("loo-correlation removes each word alone").And.Contain("'3' has one word")
            .And.Contain("leaves power-of-sum no token at all").And.Contain("measure texts of at least two words")
            .And.NotContain("Perturbation");

        // Two words: each removal leaves the other, so it runs (τ of two words is defined).
        LeaveOneOutCorrelation.Compute(model, new GradientXInput().Explain(model, "3 4")).Steps.Should().HaveCount(2);
    }
}
