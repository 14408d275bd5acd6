using Attribution.Methods;
using Attribution.Models;
using Attribution.Tests.Training;
using Attribution.Text.Tokenizers;
using static TorchSharp.torch;

namespace Attribution.Tests.Methods.Perturbation;

/// <summary>
/// With <see cref="AbsentFeature.Remove"/>, the coalition of no words of a model with a tokenizer keeps the tokens that
/// are no word's. The small classifiers trained here (the default CNN among them) use a BERT-style word vocabulary
/// whose tokenizer wraps every text in [CLS] … [SEP], so their empty coalition is "[CLS] [SEP]", the encoding of the
/// empty text, which the model saw around every training sentence: a defined input, scored and noted on the result.
/// A model whose tokenizer adds no special tokens would get no token at all, which no model input can be: refused,
/// naming Perturbation and the fix.
/// </summary>
public sealed class RemovedEmptyCoalitionTests
{
    /// <summary>Passes every call on to <paramref name="inner"/> and records the id rows it was asked about.</summary>
    private sealed class Recording(TextClassifier inner) : ITokenClassifier
    {
        public List<long[]> Rows { get; } = [];

        public string Name => inner.Name;

        public ITokenizer Tokenizer => inner.Tokenizer;

        public int? MaxLength => inner.MaxLength;

        public bool UsesTokenTypes => inner.UsesTokenTypes;

        public IReadOnlyList<string> Labels => inner.Labels;

        public OutputHead Head => inner.Head;

        public double[][] PredictLogits(IReadOnlyList<TokenSequence> sequences)
        {
            Rows.AddRange(sequences.Select(s => s.Ids.ToArray()));
            return ((ITokenClassifier)inner).PredictLogits(sequences);
        }

        public double[][] PredictProbabilities(IReadOnlyList<string> texts) => inner.PredictProbabilities(texts);
    }

    /// <summary>The module's logits for one unpadded row of ids, called directly (no tokenizer, no batching code).</summary>
    private static float[] ModuleLogits(TextClassifier model, long[] ids)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var input = new ModelInput(tensor(ids, [1, ids.Length]), ones([1, ids.Length], ScalarType.Int64));
        return model.Module.call(input).to(ScalarType.Float32).data<float>().ToArray();
    }

    [Fact]
    public void The_default_models_coalition_of_no_words_is_CLS_SEP_its_logit_is_f_empty_and_the_result_says_so()
    {
        using var model = TrainedDefaultModel.Load();
        var recording = new Recording(model);
        var cls = model.Tokenizer.TokenToId("[CLS]")!.Value;
        var sep = model.Tokenizer.TokenToId("[SEP]")!.Value;
        var good = model.Tokenizer.TokenToId("good")!.Value;

        var run = new ShapleyValues { Perturbation = AbsentFeature.Remove }.Run(recording, "good");

        // What the model received: the text ([CLS] good [SEP], for the prediction) and the coalition of no words, the
        // special tokens alone, unpadded: neither an empty row nor padding read as a token.
        recording.Rows.Should().BeEquivalentTo(new long[][] { [cls, good, sep], [cls, sep] }, o => o.WithStrictOrdering());

        // f(∅) and f(x) are the module's own target logits for those two rows, computed here by calling the module
        // directly. Tolerance 1e-6: the CNN computes in float32 and the method reads the same float32 logits widened to
        // float64, so only the batching of the forward pass could differ (and does not, one row each).
        var empty = ModuleLogits(model, [cls, sep]);
        var full = ModuleLogits(model, [cls, good, sep]);
        run.EmptyScore.Should().BeApproximately(empty[run.Target], 1e-6);
        run.FullScore.Should().BeApproximately(full[run.Target], 1e-6);

        // One player: its Shapley value is f(x) − f(∅).
        run.FeatureScores.Should().ContainSingle().Which.Should().BeApproximately(full[run.Target] - empty[run.Target], 1e-5);
        run.Notes.Should().ContainSingle(n => n.StartsWith("with every word removed", StringComparison.Ordinal))
            .Which.Should().Be($"with every word removed {model.Name} got only its special tokens ([CLS] [SEP]); its answer is the coalition of no words (f(∅))");
    }

    [Fact]
    public void Occlusion_of_a_one_word_text_scores_the_special_tokens_alone_and_LIME_leaves_them_out()
    {
        using var model = TrainedDefaultModel.Load();
        var cls = model.Tokenizer.TokenToId("[CLS]")!.Value;
        var sep = model.Tokenizer.TokenToId("[SEP]")!.Value;
        var good = model.Tokenizer.TokenToId("good")!.Value;

        var recording = new Recording(model);
        var occlusion = new Occlusion { Perturbation = AbsentFeature.Remove }.Run(recording, "good");
        recording.Rows.Should().BeEquivalentTo(new long[][] { [cls, good, sep], [cls, sep] }, o => o.WithStrictOrdering());
        var empty = ModuleLogits(model, [cls, sep]);
        var full = ModuleLogits(model, [cls, good, sep]);

        // Occluding the only word: f(x) − f(text without it); 1e-5 as above, for a difference of two float32 logits.
        occlusion.FeatureScores.Should().ContainSingle().Which.Should().BeApproximately(full[occlusion.Target] - empty[occlusion.Target], 1e-5);
        occlusion.Notes.Should().Contain(n => n.StartsWith("with every word removed", StringComparison.Ordinal));

        // Two words: occlusion never removes both, so nothing is noted.
        new Occlusion { Perturbation = AbsentFeature.Remove }.Run(model, "good film").Notes
            .Should().NotContain(n => n.StartsWith("with every word removed", StringComparison.Ordinal));

        // LIME perturbs text: a sample without words is the empty text, which it leaves out of its fit, with a note.
        var lime = new Lime { Samples = 20, Seed = 1, Perturbation = LimePerturbation.Remove }.Attribute(model, ["good"])[0];
        lime.Notes.Should().Contain(n => n.Contains("sample(s) removed every feature, leaving an empty text; they were not sent to the model", StringComparison.Ordinal));
    }

    /// <summary>
    /// The note must not depend on how often the coalition of no words was asked for. Shapley value sampling processes
    /// max(1, 4096 / (n + 1)) orders per model request; with one word that is 2048, so 4096 samples ask the scorer twice,
    /// each time with the empty coalition (every order starts from it). A flag toggled per request (^= in place of |=)
    /// would end false and drop the note. With one word every order gives the same marginal, so the score is
    /// f(x) − f(∅) exactly, by the definition, whatever the samples.
    /// </summary>
    [Fact]
    public void The_note_stays_when_the_empty_coalition_is_asked_for_in_two_requests()
    {
        using var model = Attribution.Tests.Models.TransformerTestKit.RandomTinyBertClassifier(7);
        var recording = new Recording(model);
        var run = new ShapleyValueSampling { Perturbation = AbsentFeature.Remove, Samples = 4096, Seed = 1 }.Run(recording, "2 5 3");

        // The ids tokenizer adds nothing: the text carries its own special tokens (2 and 3, its [CLS] and [SEP]), so "5" is
        // the one word. The model got 2 5 3 for the prediction and 2 3 once: the second request's coalitions were remembered.
        recording.Rows.Should().BeEquivalentTo(new long[][] { [2, 5, 3], [2, 3] }, o => o.WithStrictOrdering());
        run.Notes.Should().ContainSingle(n => n.StartsWith("with every word removed", StringComparison.Ordinal))
            .Which.Should().Be("with every word removed random-tiny-bert got only its special tokens (2 3); its answer is the coalition of no words (f(∅))");

        // The module's own logits for the two rows, called directly; 1e-5 for a difference of two float32 logits.
        var full = ModuleLogits(model, [2, 5, 3]);
        var empty = ModuleLogits(model, [2, 3]);
        run.FeatureScores.Should().ContainSingle().Which.Should().BeApproximately(full[run.Target] - empty[run.Target], 1e-5);
    }

    [Theory]
    [InlineData("shapley")]
    [InlineData("shapley-sampling")]
    [InlineData("kernel-shap")]
    [InlineData("occlusion")]
    public void A_model_whose_tokenizer_adds_no_special_tokens_is_refused_naming_Perturbation_and_the_fix(string method)
    {
        // PowerOfSum's tokenizer adds nothing around the ids, so removing every word leaves no token at all.
        using var model = PowerOfSum.Classifier(1);
        var text = method == "occlusion" ? "3" : "3 4";
        PerturbationMethod Make(AbsentFeature perturbation) => method switch
        {
            "shapley" => new ShapleyValues { Perturbation = perturbation },
            "shapley-sampling" => new ShapleyValueSampling { Perturbation = perturbation, Samples = 2, Seed = 1 },
            "kernel-shap" => new KernelShap { Perturbation = perturbation, Samples = 8, Seed = 1 },
            _ => new Occlusion { Perturbation = perturbation },
        };

        // Before: TokenBatches.Check's "sequences[0] has no ids" (parameter "sequences"), naming neither the removal nor the fix.
        FluentActions.Invoking(() => Make(AbsentFeature.Remove).Attribute(model, [text])).Should().Throw<ArgumentException>()
            .WithMessage("with Perturbation = Remove the coalition of no features leaves power-of-sum no token at all*adds no special tokens*Use Perturbation = Baseline*or Mask*")
            .Which.ParamName.Should().Be("Perturbation");

        // The padding id in place of each word keeps the input's length: the same model explains the text.
        Make(AbsentFeature.Baseline).Attribute(model, [text]).Should().ContainSingle();

        // Occlusion of two words never removes both: removal works there.
        new Occlusion { Perturbation = AbsentFeature.Remove }.Attribute(model, ["3 4"]).Should().ContainSingle();
    }
}
