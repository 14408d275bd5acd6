using Attribution.Evaluation;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Tests.Methods;
using Attribution.Tests.Text;
using Attribution.Text.Tokenizers;

namespace Attribution.Tests.Evaluation;

/// <summary>
/// <see cref="ScorecardSettings.Removal"/> against the model, before any model call. The scorecard always removed tokens
/// (<see cref="TokenRemoval.Remove"/>): on a tokenizer that adds no special tokens (PowerOfSum's ids tokenizer, a user's
/// ITokenizer) removing every content token leaves no input, which the first comprehensiveness of a map scoring every
/// token positive (Occlusion's on "3 4", by hand below) refused with ParamName "removal" only after every method had
/// explained every text. It is now refused up front naming the setting, its value, why, and the removal that works.
/// </summary>
public sealed class ScorecardRemovalTests
{
    // By hand from PowerOfSum (power 1): logit_c = Σ_t w_c·e_t, w_0·e_3 = 0.418 and w_0·e_4 = 0.549 (both raise class
    // 0), so occlusion of either token lowers p(class 0) and scores it positive: comprehensiveness at 100% removes both.
    private static readonly string[] Texts = ["3 4", "4 3"];

    [Fact]
    public void Remove_without_special_tokens_or_mask_token_is_refused_before_any_model_call()
    {
        using var model = PowerOfSum.Classifier(1);
        var counted = new TokensOnlyClassifier(model);
        var error = FluentActions.Invoking(() => Scorecard.Run(counted, Texts, [new Occlusion()]))
            .Should().Throw<ArgumentException>().Which;

        error.ParamName.Should().Be("Removal");
        error.Message.Should().Contain("ScorecardSettings.Removal is TokenRemoval.Remove")
            .And.Contain("tokens-only's tokenizer adds no special tokens (text 1 is encoded without one)")
            .And.Contain("would leave no token at all")
            .And.Contain("no removal works on every map of this model")
            .And.Contain("a tokenizer that adds a special token (such as [CLS]) or has a mask token");
        counted.Calls.Should().Be(0, "refused before any method explained a text");
    }

    [Fact]
    public void Remove_without_special_tokens_names_mask_where_the_tokenizer_has_one_and_mask_then_runs()
    {
        using var plain = PowerOfSum.Classifier(1);
        var model = new TextClassifier("masked", new MaskTokenizer(plain.Tokenizer, 9), plain.Module, plain.Labels, plain.WordEmbeddingPath, null, usesTokenTypes: false);
        var counted = new TokensOnlyClassifier(model);
        var error = FluentActions.Invoking(() => Scorecard.Run(counted, Texts, [new Occlusion()]))
            .Should().Throw<ArgumentException>().Which;

        error.ParamName.Should().Be("Removal");
        error.Message.Should().Contain("ScorecardSettings.Removal is TokenRemoval.Remove")
            .And.Contain("adds no special tokens")
            .And.Contain("use TokenRemoval.Mask, which puts the mask token in place of each removed token");
        counted.Calls.Should().Be(0, "refused before any method explained a text");

        // The fix the message names works: every text keeps its length, so no input is empty.
        var report = Scorecard.Run(counted, Texts, [new Occlusion()], settings: new ScorecardSettings { Removal = TokenRemoval.Mask });
        report.Rows[0].Metrics.Should().ContainKey("comprehensiveness").And.ContainKey("sufficiency");
        report.Definitions["comprehensiveness"].Should().Contain("tokens replaced by the mask token");
    }

    [Fact]
    public void A_one_word_text_without_special_tokens_is_refused_before_any_model_call_whatever_the_removal()
    {
        // τ-LOO removes each word alone: "3" alone leaves no token. With Mask the removal check passes, and the metric
        // refused the text (ParamName "explanation") only after every method had explained every text.
        using var plain = PowerOfSum.Classifier(1);
        var model = new TextClassifier("masked", new MaskTokenizer(plain.Tokenizer, 9), plain.Module, plain.Labels, plain.WordEmbeddingPath, null, usesTokenTypes: false);
        var counted = new TokensOnlyClassifier(model);
        var error = FluentActions.Invoking(() => Scorecard.Run(counted, ["3 4", "3"], [new Occlusion()], settings: new ScorecardSettings { Removal = TokenRemoval.Mask }))
            .Should().Throw<ArgumentException>().Which;

        error.ParamName.Should().Be("texts");
        error.Message.Should().Contain("texts[1] ('3') has one word and tokens-only's tokenizer adds no special tokens")
            .And.Contain("score texts of at least two words");
        counted.Calls.Should().Be(0, "refused before any method explained a text");
    }

    [Fact]
    public void Mask_without_a_mask_token_is_refused_naming_remove()
    {
        // Ids 1 and 2 are this tokenizer's special tokens ("1 3 4 2" is [CLS] 3 4 [SEP]); it has no mask token.
        using var plain = PowerOfSum.Classifier(1);
        var model = new TextClassifier("specials", new IdsTokenizer(1, 2, 0, 10), plain.Module, plain.Labels, plain.WordEmbeddingPath, null, usesTokenTypes: false);
        var counted = new TokensOnlyClassifier(model);
        var error = FluentActions.Invoking(() => Scorecard.Run(counted, ["1 3 4 2"], [new Occlusion()], settings: new ScorecardSettings { Removal = TokenRemoval.Mask }))
            .Should().Throw<ArgumentException>().Which;

        error.ParamName.Should().Be("Removal");
        error.Message.Should().Contain("ScorecardSettings.Removal is TokenRemoval.Mask, but tokens-only's tokenizer has no mask token")
            .And.Contain("use TokenRemoval.Remove");
        counted.Calls.Should().Be(0, "refused before any method explained a text");

        // Remove works on it: the special tokens keep every input non-empty.
        // (Occlusion itself removes here: its default, masking, needs the mask token too.)
        Scorecard.Run(counted, ["1 3 4 2"], [new Occlusion { Perturbation = AbsentFeature.Remove }])
            .Rows[0].Metrics.Should().ContainKey("comprehensiveness");
    }

    [Fact]
    public void An_unknown_removal_is_refused_naming_removal()
    {
        using var model = PowerOfSum.Classifier(1);
        var counted = new TokensOnlyClassifier(model);
        var error = FluentActions.Invoking(() => Scorecard.Run(counted, Texts, [new Occlusion()], settings: new ScorecardSettings { Removal = (TokenRemoval)7 }))
            .Should().Throw<ArgumentOutOfRangeException>().Which;
        error.ParamName.Should().Be("Removal");
        error.Message.Should().Contain("unknown removal 7");
        counted.Calls.Should().Be(0);
    }

    /// <summary>A tokenizer with a mask token (<paramref name="mask"/>) that is otherwise <paramref name="inner"/>.</summary>
    private sealed class MaskTokenizer(ITokenizer inner, long mask) : DelegatingTokenizer(inner)
    {
        public override long? MaskId => mask;
    }
}
