using Attribution.Methods;
using Attribution.Models;
using Attribution.Pipeline;
using Attribution.Tests.Methods;

namespace Attribution.Tests.Models;

/// <summary>
/// A tokenizer that is not the model's can give ids the word embedding has no row for. libtorch's lookup then failed with
/// an ExternalException ("index out of range in self") naming no text, id or tokenizer; now every way ids reach a
/// TextClassifier's module refuses them first with an ArgumentException. PowerOfSum's embedding has 10 rows (ids 0–9);
/// IdsTokenizer reads the text "3 12 4" as the ids 3, 12, 4.
/// </summary>
public sealed class EmbeddingIdRangeTests
{
    [Fact]
    public void Prediction_of_a_text_with_an_id_past_the_embedding_is_refused_naming_text_id_and_rows()
    {
        var model = PowerOfSum.Classifier(1);
        var act = () => model.Predict(["3 4", "3 12 4"]);
        act.Should().Throw<ArgumentException>().Where(e => e.ParamName == "texts"
            && e.Message.Contains("texts[1] has token id 12 at position 1", StringComparison.Ordinal)
            && e.Message.Contains("has 10 rows (ids 0 to 9)", StringComparison.Ordinal));
    }

    [Fact]
    public void Explaining_such_a_text_is_refused_before_any_pass()
    {
        var model = PowerOfSum.Classifier(1);
        var act = () => new Gradient().Explain(model, ["3 12 4"]);
        act.Should().Throw<ArgumentException>().Which.Message.Should().Contain("token id 12");
    }

    [Fact]
    public void Sequences_given_as_ids_are_refused_too()
    {
        ITokenClassifier model = PowerOfSum.Classifier(1);
        var act = () => model.PredictLogits([new TokenSequence([3, 4]), new TokenSequence([5, 10])]);
        act.Should().Throw<ArgumentException>().Where(e => e.ParamName == "sequences"
            && e.Message.Contains("sequences[1] has token id 10 at position 1", StringComparison.Ordinal));

        var negative = () => model.PredictLogits([new TokenSequence([-3])]);
        negative.Should().Throw<ArgumentException>().Which.Message.Should().Contain("token id -3");
    }

    [Fact]
    public void Ids_inside_the_embedding_still_run()
    {
        // Ids 0 and 9, the embedding's first and last rows (the check's boundaries), give PowerOfSum's logits: with
        // power 1, logit_c = Σ_t w_c·e_t, the sum of its hand-computed per-token terms. Tolerance 1e-6: float32 module.
        ITokenClassifier model = PowerOfSum.Classifier(1);
        var logits = model.PredictLogits([new TokenSequence([0, 9])]);
        for (var c = 0; c < 2; c++)
        {
            logits[0][c].Should().BeApproximately(PowerOfSum.GradientTimesInput("0 9", 1, c).Sum(), 1e-6);
        }
    }
}
