using Attribution.Engine;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Tests.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Methods;

/// <summary>
/// The pipeline <see cref="TextAttributor"/> gives every method, driven by a method whose attributions are known in
/// closed form: a[b, t, d] = (id(b, t) + 1)·w_d with w = (1, −2, ½), padding included. Per token that is
/// Σ = −½·(id+1), L1 = 3.5·(id+1), L2 = √5.25·(id+1), and 0 on padding, whatever the method put there.
/// </summary>
public sealed class TextAttributorContractTests : IDisposable
{
    // Three lengths in one batch (5, 3 and 9 tokens with [CLS] and [SEP]): padding in two rows.
    private static readonly string[] Texts = ["a dull film", "superb", "the cast was dull but the film was superb"];

    private static readonly double[] W = [1.0, -2.0, 0.5];

    private readonly string root = Directory.CreateTempSubdirectory("attribution-pipeline-").FullName;
    private readonly TextClassifier classifier;

    public TextAttributorContractTests()
    {
        (classifier, _, _) = MaskedMeanKit.Create(root, ["a", "dull", "film", "superb", "cast", "was", "the", "but"], dim: 4, hidden: 3, seed: 7, scale: 0.5, maxLength: 32);
    }

    public void Dispose()
    {
        classifier.Dispose();
        Directory.Delete(root, recursive: true);
    }

    private static Tensor Known(AttributionContext context) =>
        context.Batch.Input.InputIds.to(ScalarType.Float32).Plus(1L).unsqueeze(-1) * tensor(W.Select(v => (float)v).ToArray());

    [Theory]
    [InlineData(HiddenReduction.Sum)]
    [InlineData(HiddenReduction.L1)]
    [InlineData(HiddenReduction.L2)]
    public void Per_dimension_attributions_are_reduced_per_token_and_padding_is_zero(HiddenReduction reduction)
    {
        var factor = reduction switch
        {
            HiddenReduction.Sum => -0.5,
            HiddenReduction.L1 => 3.5,
            _ => Math.Sqrt(5.25),
        };
        var method = new KnownMethod(c => new MethodOutput(Known(c), PerDimension: true)) { ReductionValue = reduction };
        var results = method.Attribute(classifier, Texts, new AttributionOptions { BatchSize = 8 });
        results.Should().HaveCount(3);
        for (var i = 0; i < Texts.Length; i++)
        {
            var e = results[i];
            e.Text.Should().Be(Texts[i]);
            e.Tokens.Should().HaveCount(e.TokenIds.Length).And.HaveCount(e.Scores.Length).And.HaveCount(e.Offsets.Length).And.HaveCount(e.IsSpecial.Length);
            e.Tokens.Should().HaveCount(Texts[i].Split(' ').Length + 2, "the text's own tokens with [CLS] and [SEP], no padding");
            e.Scores.Should().Equal(e.TokenIds.Select(id => factor * (id + 1)), (a, x) => Math.Abs(a - x) <= 1e-5 * Math.Abs(x));
            e.Reduction.Should().Be(reduction.ToScoreReduction());
        }
    }

    [Fact]
    public void A_batch_result_carries_the_model_the_method_and_the_call()
    {
        var method = new KnownMethod(c => new MethodOutput(Known(c), PerDimension: true, Deltas: [.. Enumerable.Range(0, c.Size).Select(b => c.Batch.Texts[b].Length * 0.25)])
        {
            Notes = [.. Enumerable.Range(0, c.Size).Select(b => (IReadOnlyList<string>)[$"note for {c.Batch.Texts[b]}"])],
            RelevanceShares = [.. Enumerable.Range(0, c.Size).Select(b => (IReadOnlyDictionary<string, double>)new Dictionary<string, double> { ["embedding"] = b + 0.5 })],
        });
        var options = new AttributionOptions { Target = Target.Class(1), Score = ScoreOutput.LogProbability, BatchSize = 8 };
        var results = method.Attribute(classifier, Texts, options);
        var probabilities = classifier.PredictProbabilities(Texts);
        for (var i = 0; i < Texts.Length; i++)
        {
            var e = results[i];
            e.Method.Should().Be("known");
            e.Kind.Should().Be(MethodKind.Custom);
            e.Model.Should().Be(classifier.Name);
            e.Settings.Should().Equal(new KeyValuePair<string, string>("w", "1,-2,0.5"), new KeyValuePair<string, string>("score", "logprobability"));
            e.Target.Should().Be(1);
            e.TargetLabel.Should().Be("positive");
            e.ScoreOutput.Should().Be(ScoreOutput.LogProbability);
            e.Signedness.Should().Be(Signedness.Signed);
            e.Probabilities.Should().Equal(probabilities[i], (a, x) => Math.Abs(a - x) <= 1e-5);
            var max = e.Logits.Max();
            var z = e.Logits.Sum(v => Math.Exp(v - max));
            e.Probabilities.Should().Equal(e.Logits.Select(v => Math.Exp(v - max) / z), (a, x) => Math.Abs(a - x) <= 1e-5, "softmax of the logits");
            e.ConvergenceDelta.Should().Be(Texts[i].Length * 0.25);
            e.Notes.Should().Equal($"note for {Texts[i]}");
            e.RelevanceShares.Should().NotBeNull();
            e.RelevanceShares!["embedding"].Should().BeGreaterThan(0);
            e.RawAttributions.Should().BeNull("raw attributions were not asked for");
            e.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.Zero);
        }

        method.Settings.Should().ContainSingle().Which.Should().Be(new KeyValuePair<string, string>("w", "1,-2,0.5"));
    }

    [Fact]
    public void Raw_attributions_are_kept_per_token_when_asked()
    {
        var method = new KnownMethod(c => new MethodOutput(Known(c), PerDimension: true));
        var results = method.Attribute(classifier, Texts, new AttributionOptions { KeepRawAttributions = true, BatchSize = 8 });
        foreach (var e in results)
        {
            e.RawAttributions.Should().NotBeNull().And.HaveCount(e.Tokens.Length);
            for (var t = 0; t < e.Tokens.Length; t++)
            {
                e.RawAttributions![t].Should().Equal(W.Select(w => (float)(w * (e.TokenIds[t] + 1))));
            }
        }

        // Without per-dimension attributions there is nothing to keep.
        var perToken = new KnownMethod(c => new MethodOutput(c.Batch.Input.InputIds.to(ScalarType.Float32).Plus(1L), PerDimension: false));
        perToken.Attribute(classifier, Texts, new AttributionOptions { KeepRawAttributions = true }).Should().OnlyContain(e => e.RawAttributions == null);
        var notPerDimension = new KnownMethod(c => new MethodOutput(Known(c).sum(-1), PerDimension: true));
        notPerDimension.Attribute(classifier, Texts, new AttributionOptions { KeepRawAttributions = true }).Should().OnlyContain(e => e.RawAttributions == null);
    }

    [Fact]
    public void Token_level_and_four_dimensional_outputs_are_read_as_they_are()
    {
        // Per token already ([batch, tokens]): no reduction, even when flagged per dimension.
        foreach (var perDimension in new[] { false, true })
        {
            var method = new KnownMethod(c => new MethodOutput(c.Batch.Input.InputIds.to(ScalarType.Float32).Plus(1L), perDimension));
            foreach (var e in method.Attribute(classifier, Texts, new AttributionOptions { BatchSize = 8 }))
            {
                e.Scores.Should().Equal(e.TokenIds.Select(id => id + 1.0));

                // ScoreReduction.PerToken is the documented name of scores a method computed per token (json-format.md:
                // `per-token`); the method's HiddenReduction (Sum here) was never applied, so "sum" would be false.
                e.Reduction.Should().Be(ScoreReduction.PerToken);
            }
        }

        // [batch, tokens, 2, 3]: the trailing dimensions are flattened before the reduction (Σ over 6 values = 2·(−½)).
        var fourD = new KnownMethod(c => new MethodOutput(Known(c).unsqueeze(2).expand(-1, -1, 2, -1), PerDimension: true));
        foreach (var e in fourD.Attribute(classifier, Texts, new AttributionOptions { BatchSize = 8, KeepRawAttributions = true }))
        {
            e.Scores.Should().Equal(e.TokenIds.Select(id => -1.0 * (id + 1)), (a, x) => Math.Abs(a - x) <= 1e-5 * Math.Abs(x));
            e.RawAttributions![0].Should().HaveCount(6);
        }
    }

    [Fact]
    public void Outputs_without_a_batch_and_token_layout_are_refused()
    {
        Func<AttributionContext, Tensor>[] wrong =
        [
            c => zeros(c.Size * c.Length),
            c => zeros(c.Size + 1, c.Length, 3),
            c => zeros(c.Size, c.Length + 1, 3),
        ];
        foreach (var make in wrong)
        {
            var method = new KnownMethod(c => new MethodOutput(make(c), PerDimension: true));
            var act = () => method.Attribute(classifier, Texts, new AttributionOptions { BatchSize = 8 });
            act.Should().Throw<InvalidOperationException>().WithMessage("known produced attributions of shape*no [batch, token] layout for a batch of 3 texts of 11 tokens*");
        }
    }

    [Fact]
    public void A_non_finite_score_names_the_token_and_the_text()
    {
        // Token 4 of the longest text: the message names that token and that text (whichever row it has in the batch).
        var method = new KnownMethod(c =>
        {
            var a = Known(c);
            a[RowOf(c, Texts[2]), 4, 1] = tensor(float.NaN);
            return new MethodOutput(a, PerDimension: true);
        });
        var act = () => method.Attribute(classifier, Texts, new AttributionOptions { BatchSize = 8 });
        act.Should().Throw<NonFiniteValueException>().WithMessage("known produced a non-finite score (NaN) for token 4 of \"the cast was dull but*");

        // A non-finite value on padding is not masked away (∞ · 0 is NaN): "superb" has 3 tokens, position 5 is padding.
        var onPadding = new KnownMethod(c =>
        {
            var a = Known(c);
            a[RowOf(c, Texts[1]), 5, 0] = tensor(float.PositiveInfinity);
            return new MethodOutput(a, PerDimension: true);
        });
        var padded = () => onPadding.Attribute(classifier, Texts, new AttributionOptions { BatchSize = 8 });
        padded.Should().Throw<NonFiniteValueException>().WithMessage("*for token 5 of \"superb\"*");
    }

    [Fact]
    public void A_truncated_text_says_so_in_its_notes()
    {
        var longText = string.Join(' ', Enumerable.Repeat("superb film", 20));
        var method = new KnownMethod(c => new MethodOutput(Known(c), PerDimension: true));
        var e = method.Attribute(classifier, [longText, "a film"], new AttributionOptions { Truncate = true });
        e[0].Tokens.Should().HaveCount(32);
        e[0].Notes.Should().ContainSingle().Which.Should().Be(
            "the text was truncated: 10 token(s) beyond the model's limit of 32 were dropped and are not explained");
        e[1].Notes.Should().BeEmpty();
    }

    /// <summary>
    /// The cancellation note: per-dimension attributions [1, −1] on every token of "superb" sum to 0 there; "a dull film"
    /// has one such token and [1, 1] on the others, so its sums are real scores; with an L2 reduction nothing cancels.
    /// The method's own notes stay, the cancellation note after them.
    /// </summary>
    [Fact]
    public void Only_a_text_whose_every_token_sums_to_nothing_is_noted_as_cancelling()
    {
        MethodOutput Compute(AttributionContext c)
        {
            var values = new float[c.Size * c.Length * 2];
            for (var b = 0; b < c.Size; b++)
            {
                for (var t = 0; t < c.Length; t++)
                {
                    var at = (int)(((b * c.Length) + t) * 2);
                    values[at] = 1;
                    values[at + 1] = c.Batch.Texts[b] == "superb" || t == 0 ? -1 : 1;
                }
            }

            return new MethodOutput(tensor(values, [c.Size, c.Length, 2]), PerDimension: true)
            {
                Notes = [.. Enumerable.Range(0, c.Size).Select(_ => (IReadOnlyList<string>)["the method's own note"])],
            };
        }

        string[] texts = ["a dull film", "superb"];
        var summed = new KnownMethod(Compute).Attribute(classifier, texts);
        summed[0].Notes.Should().Equal("the method's own note");
        summed[1].Notes.Should().HaveCount(2).And.StartWith("the method's own note");
        summed[1].Notes[1].Should().StartWith("the signed sum over the hidden dimension cancels for every token");
        new KnownMethod(Compute) { ReductionValue = HiddenReduction.L2 }.Attribute(classifier, texts)
            .Should().AllSatisfy(e => e.Notes.Should().Equal("the method's own note"));
    }

    /// <summary>
    /// Score on logits whose rows are not Size × repeats scored the first rows silently (gather reads as many rows as
    /// there are targets) or failed inside libtorch; now an ArgumentException naming logits. Repeats below 1 is refused.
    /// </summary>
    [Fact]
    public void Score_refuses_logits_that_are_not_the_batch_repeated()
    {
        var checkedBatches = 0;
        var method = new KnownMethod(c =>
        {
            c.Size.Should().Be(3, "one batch of the three texts");
            FluentActions.Invoking(() => c.Score(c.Logits.repeat(2, 1))).Should().Throw<ArgumentException>()
                .Where(e => e.ParamName == "logits").WithMessage("logits of shape [6, *] for 1 copy of a batch of 3 text(s): give [3, classes] logits*");
            FluentActions.Invoking(() => c.Score(c.Logits, repeats: 2)).Should().Throw<ArgumentException>()
                .Where(e => e.ParamName == "logits").WithMessage("logits of shape [3, *] for 2 copies of a batch of 3 text(s): give [6, classes] logits*");
            FluentActions.Invoking(() => c.Score(c.Logits, repeats: 0)).Should().Throw<ArgumentOutOfRangeException>()
                .Where(e => e.ParamName == "repeats");
            c.Score(c.Logits.repeat(2, 1), repeats: 2).shape.Should().Equal(6L);
            checkedBatches++;
            return new MethodOutput(Known(c), PerDimension: true);
        });
        method.Attribute(classifier, Texts, new AttributionOptions { BatchSize = 8 });
        checkedBatches.Should().Be(1);
    }

    private static long RowOf(AttributionContext context, string text) => context.Batch.Texts.ToList().IndexOf(text);

    private sealed class KnownMethod(Func<AttributionContext, MethodOutput> compute) : TextAttributor
    {
        public HiddenReduction ReductionValue { get; init; } = HiddenReduction.Sum;

        public override string Name => "known";

        public override Signedness Signedness => Signedness.Signed;

        public override HiddenReduction Reduction => ReductionValue;

        protected override IEnumerable<KeyValuePair<string, string>> DescribeSettings()
        {
            yield return new("w", string.Join(',', W.Select(Format)));
        }

        protected override MethodOutput Attribute(AttributionContext context) => compute(context);
    }
}
