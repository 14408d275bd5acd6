using Attribution.Methods;
using Attribution.Models;
using Attribution.Text.Tokenizers;

namespace Attribution.Tests.Methods.Perturbation;

/// <summary>
/// Settings of the perturbation methods that would otherwise be ignored or turn masking into something else: a
/// <see cref="PerturbationMethod.BaselineId"/> with a perturbation that does not use it, a blank mask string for a
/// black box; and what <see cref="AbsentFeature.Baseline"/> puts in the model's input (read off the recorded inputs).
/// </summary>
public sealed class PerturbationSettingsTests
{
    private const string Text = "1 11 12 13 2";

    /// <summary>Reads ids (vocabulary 0..99, no mask token); logits (Σ ids / 100, 0); records every input row.</summary>
    private sealed class RecordingModel : ITokenClassifier
    {
        public List<long[]> Rows { get; } = [];

        public string Name => "recording";

        public ITokenizer Tokenizer { get; } = new IdsTokenizer(1, 2, 0, 100);

        public int? MaxLength => null;

        public bool UsesTokenTypes => false;

        public IReadOnlyList<string> Labels => ["a", "b"];

        public double[][] PredictLogits(IReadOnlyList<TokenSequence> sequences)
        {
            Rows.AddRange(sequences.Select(s => s.Ids));
            return sequences.Select(s => new[] { s.Ids.Sum() / 100.0, 0.0 }).ToArray();
        }

        public double[][] PredictProbabilities(IReadOnlyList<string> texts) => throw new NotSupportedException("token ids only");
    }

    private static readonly BlackBoxClassifier Constant = new(texts => texts.Select(_ => new[] { 0.4, 0.6 }).ToArray(), ["no", "yes"]);

    [Theory]
    [InlineData(AbsentFeature.Mask)]
    [InlineData(AbsentFeature.Remove)]
    public void A_baseline_id_with_a_perturbation_that_does_not_use_it_is_refused(AbsentFeature perturbation)
    {
        // Before, the id was dropped without a word and the tokens masked or removed.
        var model = new RecordingModel();
        var act = () => new Occlusion { Perturbation = perturbation, BaselineId = 5 }.Explain(model, [Text]);
        act.Should().Throw<ArgumentException>().Where(e => e.ParamName == "BaselineId")
            .WithMessage($"BaselineId is 5 but Perturbation is {perturbation.Name()}, which does not use it: set Perturbation = Baseline*");
        model.Rows.Should().BeEmpty("settings are checked before any model call");
    }

    [Fact]
    public void A_baseline_id_replaces_each_absent_token_in_place_and_must_be_in_the_vocabulary()
    {
        // Occlusion of the 3 tokens between [CLS] = 1 and [SEP] = 2, each word in turn replaced by 7, length kept.
        var model = new RecordingModel();
        var e = new Occlusion { Perturbation = AbsentFeature.Baseline, BaselineId = 7, Features = LimeFeatures.Tokens }.Explain(model, [Text])[0];
        model.Rows.Skip(1).Should().BeEquivalentTo(new long[][] { [1, 7, 12, 13, 2], [1, 11, 7, 13, 2], [1, 11, 12, 7, 2] });
        // Logit of class 0 = Σ ids / 100: occluding id k by 7 lowers it by (k − 7)/100 (tolerance 1e-15: a few roundings of doubles below 1).
        e.Scores.Should().Equal([0.04, 0.05, 0.06], (a, b) => Math.Abs(a - b) <= 1e-15); // Explain leaves the special tokens out
        e.Setting("baseline-id").Should().Be("7");

        // Unset: the padding id (0).
        model.Rows.Clear();
        new Occlusion { Perturbation = AbsentFeature.Baseline, Features = LimeFeatures.Tokens }.Explain(model, [Text]);
        model.Rows.Skip(1).Should().Contain(r => r.SequenceEqual(new long[] { 1, 0, 12, 13, 2 }));

        foreach (var id in new long[] { -1, 100 })
        {
            FluentActions.Invoking(() => new Occlusion { Perturbation = AbsentFeature.Baseline, BaselineId = id }.Explain(new RecordingModel(), [Text]))
                .Should().Throw<ArgumentOutOfRangeException>().Where(x => x.ParamName == "BaselineId").WithMessage("*not in recording's vocabulary (0..99)*");
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    public void A_blank_mask_string_is_refused(string mask)
    {
        // Before, "" deleted the absent words and kept their spaces: removal under the name of masking.
        var act = () => new ShapleyValues { MaskToken = mask }.Explain(Constant, ["alpha beta"]);
        act.Should().Throw<ArgumentException>().Where(e => e.ParamName == "MaskToken").WithMessage("*empty or blank*Perturbation = Remove*");

        // With removal the mask string is not used, so it is not checked.
        new ShapleyValues { MaskToken = mask, Perturbation = AbsentFeature.Remove }.Explain(Constant, ["alpha beta"])[0].Scores.Should().Equal(0.0, 0.0);
    }
}
