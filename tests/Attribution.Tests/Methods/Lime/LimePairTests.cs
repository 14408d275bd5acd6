using Attribution.Methods;
using Attribution.Models;
using Attribution.Salience;
using Attribution.Tests.Salience;
using Attribution.Text.Tokenizers;

namespace Attribution.Tests.Methods;

/// <summary>
/// LIME on sentence pairs: the features are the words of both texts (the first text's, then the pair's; separators
/// never), each text is rebuilt from its own words' mask entries and the two are tokenized together as a pair. The
/// expected figures are written out by hand from a model whose probability is an additive function of the tokens of
/// each text, and from the masks the seed draws (<see cref="Lime.SampleMasks"/>, whose draws LimeGoldenTests check
/// against LIT's).
/// </summary>
public sealed class LimePairTests
{
    private const string Text = "the film was good";
    private const string Pair = "the cast was dull";

    /// <summary>
    /// <see cref="AdditiveTokenModel"/> seen through its tokens; it records every row it is asked about. It refuses texts: pairs must reach it as ids.
    /// </summary>
    private sealed class AdditivePair(ITokenizer tokenizer, int? maxLength = 512) : ITokenClassifier
    {
        public List<(string Tokens, string Types)> Rows { get; } = [];

        public int Calls { get; private set; }

        public string Name => "additive-pair";

        public ITokenizer Tokenizer => tokenizer;

        public int? MaxLength => maxLength;

        public bool UsesTokenTypes => true;

        public IReadOnlyList<string> Labels => ["no", "yes"];

        public double[][] PredictLogits(IReadOnlyList<TokenSequence> sequences)
        {
            Calls++;
            return sequences.Select(s =>
            {
                Rows.Add((string.Join(" ", s.Ids.Select(id => tokenizer.IdToToken(id))), string.Concat(s.TypeIds ?? new long[s.Ids.Length])));
                return AdditiveTokenModel.Logits(tokenizer, s);
            }).ToArray();
        }

        public double[][] PredictProbabilities(IReadOnlyList<string> texts) =>
            throw new InvalidOperationException("a pair must reach the model as ids of both texts, not as texts");
    }

    private static AdditivePair Model(int? maxLength = 512)
    {
        using var bert = ClassifierLoader.Load(SharedData.Require("models/bert-pair-random"));
        return new AdditivePair(bert.Tokenizer, maxLength);
    }

    // Special tokens kept, to check that they score 0.
    private static ExplainOptions Options(string pair = Pair) => new() { Pairs = [pair], Target = Target.Class(1), Salience = new SalienceOptions { KeepSpecialTokens = true } };

    /// <summary>
    /// Unpenalised LIME (α = 0: weighted least squares) on a model exactly linear in the words present recovers each
    /// word's weight, per text, masking as well as removing (a removed word's tokens are gone, a masked one's are
    /// [MASK]: both weigh 0). Tolerance 1e-9: the fit has no residual, so only rounding (p through log and softmax,
    /// ~1e-16, and the normal equations of 8 features, well conditioned here) separates the coefficients from the weights.
    /// </summary>
    [SkippableTheory]
    [InlineData(LimePerturbation.Mask)]
    [InlineData(LimePerturbation.Remove)]
    public void Unpenalised_lime_recovers_each_word_s_weight_in_both_texts(LimePerturbation perturbation)
    {
        var model = Model();
        model.Tokenizer.Encode(Text, Pair).Length.Should().Be(11, "premise: every word is one WordPiece token");
        var e = new Lime { Samples = 400, Seed = 7, Alpha = 0, Perturbation = perturbation }.Explain(model, Text, Options());

        e.TextPair.Should().Be(Pair);
        e.Tokens.Should().Equal("[CLS]", "the", "film", "was", "good", "[SEP]", "the", "cast", "was", "dull", "[SEP]");
        e.TokenTypeIds.Should().Equal(0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1);
        e.Segments.Should().Equal(null, 0, 0, 0, 0, null, 1, 1, 1, 1, null);
        e.Surrogate!.Features.Select(f => (f.Text, f.Segment, f.Start, f.End)).Should().Equal(
            ("the", 0, 0, 3), ("film", 0, 4, 8), ("was", 0, 9, 12), ("good", 0, 13, 17),
            ("the", 1, 0, 3), ("cast", 1, 4, 8), ("was", 1, 9, 12), ("dull", 1, 13, 17));
        var expected = new[] { 0.01, 0.03, -0.02, 0.15, -0.01, 0.02, 0.005, -0.12 };
        e.Surrogate.Coefficients.Zip(expected).Should().OnlyContain(c => Math.Abs(c.First - c.Second) < 1e-9);
        e.Surrogate.Intercept.Should().BeApproximately(0.5, 1e-9);
        e.Words.Select(w => (w.Text, w.Segment)).Should().Equal(
            ("the", 0), ("film", 0), ("was", 0), ("good", 0), ("the", 1), ("cast", 1), ("was", 1), ("dull", 1));
        e.Words.Select(w => w.Score).Zip(expected).Should().OnlyContain(c => Math.Abs(c.First - c.Second) < 1e-9);
        e.Scores[0].Should().Be(0, "[CLS] is never a feature");
        e.Scores[5].Should().Be(0, "nor the separator");
        e.Scores[10].Should().Be(0);
        e.Probabilities[1].Should().BeApproximately(0.5 + expected.Sum(), 1e-12);

        // Same seed, same result; per call, nothing kept on the method.
        var again = new Lime { Samples = 400, Seed = 7, Alpha = 0, Perturbation = perturbation }.Explain(model, Text, Options());
        again.Scores.Should().Equal(e.Scores);
        again.Surrogate!.Intercept.Should().Be(e.Surrogate.Intercept);
    }

    /// <summary>
    /// The perturbed pairs sent for a fixed seed, written out by hand for a pair of three words (masks of 3 features: the
    /// seed's 41 masks hold all 8): the prediction's row, then each distinct masked pair once, in one call (8 rows of 6
    /// tokens are 48 padded tokens, within the budget of 4096), the token types of both texts kept.
    /// </summary>
    [SkippableFact]
    public void Masked_pairs_are_the_hand_written_rows_each_sent_once()
    {
        var model = Model();
        var lime = new Lime { Samples = 40, Seed = 3 };
        lime.SampleMasks(3).Select(m => string.Concat(m.Select(v => v ? '1' : '0'))).Distinct().Should().HaveCount(8, "premise: the seed draws every mask");

        var e = lime.Explain(model, "good film", Options("dull"));
        model.Calls.Should().Be(2, "the prediction, then one call of every distinct masked pair");
        model.Rows.Should().HaveCount(9);
        model.Rows[0].Should().Be(("[CLS] good film [SEP] dull [SEP]", "000011"));
        model.Rows.Skip(1).Should().BeEquivalentTo(new[]
        {
            ("[CLS] good film [SEP] dull [SEP]", "000011"),
            ("[CLS] [MASK] film [SEP] dull [SEP]", "000011"),
            ("[CLS] good [MASK] [SEP] dull [SEP]", "000011"),
            ("[CLS] good film [SEP] [MASK] [SEP]", "000011"),
            ("[CLS] [MASK] [MASK] [SEP] dull [SEP]", "000011"),
            ("[CLS] [MASK] film [SEP] [MASK] [SEP]", "000011"),
            ("[CLS] good [MASK] [SEP] [MASK] [SEP]", "000011"),
            ("[CLS] [MASK] [MASK] [SEP] [MASK] [SEP]", "000011"),
        });
        e.Surrogate!.Samples.Should().Be(41, "LIT's 40 samples and the unperturbed pair, each fitted");
    }

    /// <summary>
    /// Removal that leaves one text with no word still sends a valid pair: that text is empty, its separators stay
    /// (<c>[CLS] [SEP] dull [SEP]</c>, <c>[CLS] good film [SEP] [SEP]</c>, as Hugging Face encodes an empty text of a
    /// pair and as the perturbation methods send it), and a note says so; a mask removing both texts' words is not sent
    /// and not fitted, as a single text's empty sample. Rows written out by hand.
    /// </summary>
    [SkippableFact]
    public void Removal_leaving_one_text_empty_sends_its_separators_and_drops_only_the_empty_pair()
    {
        var model = Model();
        var lime = new Lime { Samples = 40, Seed = 3, Perturbation = LimePerturbation.Remove };
        var masks = lime.SampleMasks(3);
        var empty = masks.Count(m => !m.Contains(true));
        empty.Should().BeGreaterThan(0, "premise: the seed draws the mask of no word");

        var e = lime.Explain(model, "good film", Options("dull"));
        model.Rows.Skip(1).Should().BeEquivalentTo(new[]
        {
            ("[CLS] good film [SEP] dull [SEP]", "000011"),
            ("[CLS] film [SEP] dull [SEP]", "00011"),
            ("[CLS] good [SEP] dull [SEP]", "00011"),
            ("[CLS] good film [SEP] [SEP]", "00001"),
            ("[CLS] [SEP] dull [SEP]", "0011"),
            ("[CLS] film [SEP] [SEP]", "0001"),
            ("[CLS] good [SEP] [SEP]", "0001"),
        });
        e.Surrogate!.Samples.Should().Be(41 - empty);
        e.Notes.Should().Contain(n => n.StartsWith($"{empty} sample(s) removed every feature, leaving both texts of the pair empty; they were not sent", StringComparison.Ordinal));
        var firstEmptied = masks.Count(m => !m[0] && !m[1] && m[2]);
        var secondEmptied = masks.Count(m => (m[0] || m[1]) && !m[2]);
        e.Notes.Should().Contain($"with removal, {firstEmptied} sample(s) removed every word of the text and {secondEmptied} every word of its pair: " +
            "additive-pair got such a pair with that text empty and its special tokens kept ([CLS] [SEP] … [SEP]), a valid input, scored and fitted like the others");

        // The fit saw exactly those pairs' probabilities, 0.5 + the weights of the words kept (good 0.15 and film 0.03 of
        // the text, dull −0.12 of the pair), the emptied texts' included: unpenalised, the coefficients are the weights.
        var exact = new Lime { Samples = 40, Seed = 3, Perturbation = LimePerturbation.Remove, Alpha = 0 }.Explain(Model(), "good film", Options("dull"));
        exact.Surrogate!.Coefficients.Zip(new[] { 0.15, 0.03, -0.12 }).Should().OnlyContain(c => Math.Abs(c.First - c.Second) < 1e-9, "exact fit, rounding only");
    }

    /// <summary>
    /// As for a single text, before any sample's call: a mask string of several tokens that makes a masked pair longer
    /// than the model takes is refused naming MaskToken; a pair longer than the model takes is refused naming text
    /// (LIME cannot truncate: the perturbed pairs are tokenized whole). Only the first needs the prediction's call.
    /// </summary>
    [SkippableFact]
    public void A_mask_string_too_long_for_the_pair_and_a_pair_too_long_are_refused_before_any_sample()
    {
        var model = Model(maxLength: 6);
        var mask = () => new Lime { Samples = 8, MaskToken = "two words" }.Explain(model, "good film", Options("dull"));
        mask.Should().Throw<ArgumentException>().WithMessage("a perturbed pair has 7 tokens but additive-pair accepts at most 6 (the pair itself has 6)*").Which.ParamName.Should().Be("MaskToken");
        model.Calls.Should().Be(1, "only the prediction");

        var tooLong = () => new Lime { Samples = 8 }.Explain(model, "good film", Options("the cast"));
        tooLong.Should().Throw<ArgumentException>().WithMessage("the text with its pair has 7 tokens but additive-pair accepts at most 6*shorten the text or its pair*").Which.ParamName.Should().Be("text");
        model.Calls.Should().Be(1, "no call for the refused pair");
    }

    /// <summary>What takes no pairs is refused naming the setting, before any model call: a black box, token features.</summary>
    [SkippableFact]
    public void A_black_box_and_token_features_refuse_pairs()
    {
        var blackBox = () => new Lime().Explain(new BlackBoxClassifier(_ => throw new InvalidOperationException("called"), ["a", "b"]), ["a film"], new ExplainOptions { Pairs = ["dull"] });
        blackBox.Should().Throw<ArgumentException>().WithMessage("a black-box predictor takes single texts*").Which.ParamName.Should().Be("Pairs");
        var model = Model();
        var tokens = () => new Lime { Features = LimeFeatures.Tokens }.Explain(model, "good film", Options("dull"));
        tokens.Should().Throw<ArgumentException>().WithMessage("token features are for single texts*").Which.ParamName.Should().Be("Features");
        model.Calls.Should().Be(0);

        // The perturbation methods refuse them as early (they refused after the text's prediction, a model call).
        var occlusion = () => new Occlusion { Features = LimeFeatures.Tokens }.Explain(model, "good film", Options("dull"));
        occlusion.Should().Throw<ArgumentException>().WithMessage("token features are for single texts*").Which.ParamName.Should().Be("Features");
        model.Calls.Should().Be(0, "no call before the refusal");
    }

    /// <summary>
    /// On the pair BERT of ../shared (no LIME or perturbation reference for pairs exists there): each sample's target
    /// probability is the model's own for the pair encoded as Hugging Face does (checked on the reference ids by
    /// TextPairTests), recomputed here with the model's logits; the token budget cuts the calls as for single texts
    /// (6-token rows, budget 12: 2 rows a call, so the 8 distinct masked pairs take 4 calls after the prediction); every
    /// class at once equals a call per class, the model's rows shared; and the result goes through JSON with its
    /// features' segments.
    /// </summary>
    [SkippableFact]
    public void On_the_pair_bert_samples_batching_every_class_and_json_hold()
    {
        using var bert = ClassifierLoader.Load(SharedData.Require("models/bert-pair-random"));
        var lime = new Lime { Samples = 40, Seed = 3, TokenBudget = 12 };
        var options = new ExplainOptions { Pairs = ["dull"], Target = Target.Class(2) };
        Explanation e;
        using (var counter = new ForwardCounter(bert))
        {
            e = lime.Explain(bert, "good film", options);
            counter.Calls.Should().Be(5);
            counter.Rows.Should().Be(9);
        }

        var expected = lime.SampleMasks(3).Select(m =>
        {
            var first = string.Join(" ", new[] { m[0] ? "good" : "[MASK]", m[1] ? "film" : "[MASK]" });
            var second = m[2] ? "dull" : "[MASK]";
            var encoding = bert.Tokenizer.Encode(first, second);
            var logits = ((ITokenClassifier)bert).PredictLogits([new TokenSequence(encoding.Ids, encoding.TypeIds)])[0];
            return (Masks: m, P: Math.Exp(logits[2]) / logits.Sum(Math.Exp));
        }).ToArray();
        var fit = lime.Fit(expected.Select(x => (IReadOnlyList<bool>)x.Masks).ToArray(), expected.Select(x => x.P).ToArray());
        // 1e-6: the run's batches pad rows that the recomputation sends alone (float32 logits differ by ~1e-7).
        e.Surrogate!.Coefficients.Zip(fit.Coefficients).Should().OnlyContain(c => Math.Abs(c.First - c.Second) < 1e-6);

        var classes = MethodRunner.AttributeClasses(bert, ["good film"], [lime], [0, 1, 2], new AttributionOptions { Pairs = ["dull"] })[0][0];
        for (var c = 0; c < 3; c++)
        {
            var alone = lime.Attribute(bert, ["good film"], new AttributionOptions { Pairs = ["dull"], Target = Target.Class(c) })[0];
            classes[c].Scores.Should().Equal(alone.Scores, $"class {c}");
            classes[c].TextPair.Should().Be("dull");
        }

        classes[0].Notes.Should().Contain(n => n.EndsWith("(8 input(s) in 4 model call(s))", StringComparison.Ordinal), "the 8 masked pairs, once for all classes");

        var back = ExplanationJson.Parse(ExplanationJson.Serialize(ExplanationDocument.For([e], bert.Labels))).Results[0];
        back.Surrogate!.Features.Should().Equal(e.Surrogate.Features);
        back.Surrogate.Features.Select(f => f.Segment).Should().Equal(0, 0, 1);
        back.Words.Select(w => (w.Text, w.Segment)).Should().Equal(("good", 0), ("film", 0), ("dull", 1));

        // A feature of segment 1 needs the pair's text, whose span it is: without one the writer refuses it.
        var single = () => ExplanationJson.Serialize(ExplanationDocument.For([e with { TextPair = null, Segments = [], TokenTypeIds = [] }], bert.Labels));
        single.Should().Throw<ArgumentException>().WithMessage("*features[2] is in segment 1: 0 (the text) or, for a pair, 1 (text_pair)*");
        var json = ExplanationJson.Serialize(ExplanationDocument.For([e], bert.Labels));
        json.Should().Contain("\"segment\": 1, \"offsets\": [0, 4]");
        var schema = new JsonSchemaSubset(System.Text.Json.JsonDocument.Parse(File.ReadAllText(ExplanationJsonTests.RepositoryFile("docs/json-schema.json"))).RootElement.Clone());
        using var document = System.Text.Json.JsonDocument.Parse(json);
        schema.Validate(document.RootElement).Should().BeEmpty("the schema takes a surrogate feature's segment");
    }
}
