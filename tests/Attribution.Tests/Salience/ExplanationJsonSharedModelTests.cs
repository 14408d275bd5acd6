using Attribution.Methods;
using Attribution.Models;
using Attribution.Salience;
using Attribution.Tests.Methods.Perturbation;

namespace Attribution.Tests.Salience;

/// <summary>
/// Explanations of the shared models read back from JSON as they were written, now that the reader refuses a word whose
/// tokens lie outside it: WordPiece pieces (sst2-bert-tiny), byte-level BPE pieces of one multi-byte character sharing
/// its offset (roberta-random), tokens that start in the space before their word (roberta-random without
/// trim_offsets), and the two texts of a pair (bert-pair-random); each with special tokens kept and dropped.
/// </summary>
public sealed class ExplanationJsonSharedModelTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("attribution-json-shared-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    [SkippableFact]
    public void WordPiece_explanations_of_sst2_bert_tiny_read_back()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/sst2-bert-tiny"));
        var results = Explain(model, "a gripping, beautifully acted film", null);
        results[0].Words.Should().Contain(w => w.TokenIndices.Length > 1, "the precondition: a word of several WordPiece tokens");
        RoundTrip(model, results);
    }

    [SkippableFact]
    public void Byte_level_explanations_of_roberta_random_with_multi_byte_characters_read_back()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/roberta-random"));
        var results = Explain(model, "naïve café 😀 日本語 isn't it", null);
        results[0].Offsets.Where(o => o is not null).GroupBy(o => o).Should().Contain(g => g.Count() > 1, "the precondition: byte-level pieces of one character share its offset");
        RoundTrip(model, results);
    }

    [SkippableFact]
    public void Untrimmed_byte_level_offsets_that_start_in_the_space_before_a_word_read_back()
    {
        using var model = ClassifierLoader.Load(UntrimmedOffsetsTests.UntrimmedCopy(SharedData.Require("models/roberta-random"), root));
        const string Text = "hello big world, and 😀 more";
        var results = Explain(model, Text, null);
        var e = results[0];
        e.Words.Should().Contain(w => w.TokenIndices.Any(t => e.Offsets[t]!.Value.Start < w.Start), "the precondition: a word's token starts in the space before it");
        RoundTrip(model, results);
    }

    [SkippableFact]
    public void Pair_explanations_of_bert_pair_random_read_back()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/bert-pair-random"));
        var results = Explain(model, "good film", "a dull, tedious plot");
        results[0].Words.Select(w => w.Segment).Should().Contain([0, 1], "the precondition: words of both texts");
        RoundTrip(model, results);
    }

    /// <summary>Gradient × Input of the text (or pair), special tokens kept, then dropped.</summary>
    private static Explanation[] Explain(TextClassifier model, string text, string? pair)
    {
        var options = new ExplainOptions { Pairs = pair is null ? null : [pair] };
        return [.. new[] { true, false }.Select(keep =>
            new GradientXInput().Explain(model, text, options with { Salience = new SalienceOptions { KeepSpecialTokens = keep } }))];
    }

    private static void RoundTrip(TextClassifier model, IReadOnlyList<Explanation> results)
    {
        results[0].SpecialTokensKept.Should().BeTrue();
        results[1].SpecialTokensKept.Should().BeFalse();
        var json = ExplanationJson.Serialize(ExplanationDocument.For(results, model.Labels));
        var back = ExplanationJson.Parse(json);
        back.Results.Should().HaveSameCount(results);
        for (var i = 0; i < results.Count; i++)
        {
            ExplanationJsonTests.AssertIdentical(back.Results[i], results[i]);
        }
    }
}
