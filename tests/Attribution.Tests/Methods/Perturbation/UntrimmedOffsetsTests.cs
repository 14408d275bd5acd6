using Attribution.Methods;
using Attribution.Models;
using Attribution.Pipeline;

namespace Attribution.Tests.Methods.Perturbation;

/// <summary>
/// A byte-level BPE tokenizer with <c>trim_offsets: false</c> (a valid Hugging Face setting) gives <c>Ġbig</c> of
/// "hello big world" the offset [5, 9), which starts in the space before the word. The perturbation methods and LIME
/// must still find every word's tokens: the same model with trimmed offsets (the shared roberta-random, whose
/// tokenizer.json says <c>trim_offsets: true</c>) has the same ids and features, so its scores are the expected ones,
/// to the last bit (the model inputs are identical).
/// </summary>
public sealed class UntrimmedOffsetsTests : IDisposable
{
    private const string Text = "hello big world, and more";

    private readonly string root = Directory.CreateTempSubdirectory("attribution-untrimmed-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    public static TheoryData<string> Methods => ["occlusion", "kernel-shap", "lime", "lime-words-punct"];

    [SkippableTheory]
    [MemberData(nameof(Methods))]
    public void Every_word_is_a_feature_and_scores_as_with_trimmed_offsets(string method)
    {
        var trimmedFolder = SharedData.Require("models/roberta-random");
        using var trimmed = ClassifierLoader.Load(trimmedFolder);
        using var untrimmed = ClassifierLoader.Load(Untrimmed(trimmedFolder));

        // The precondition: the untrimmed encoding's offsets start in the spaces, the ids are the same.
        var encoding = untrimmed.Tokenizer.Encode(Text);
        encoding.Ids.Should().Equal(trimmed.Tokenizer.Encode(Text).Ids);
        encoding.Offsets.Where(o => o is { } span && char.IsWhiteSpace(Text[span.Start])).Should().HaveCount(4, "Ġbig, Ġworld, Ġand and Ġmore start in a space");

        IAttributor Make() => method switch
        {
            "occlusion" => new Occlusion(),
            "kernel-shap" => new KernelShap { Samples = 64 },
            "lime" => new Lime { Samples = 64 },
            _ => new Lime { Samples = 64, Features = LimeFeatures.WordsAndPunctuation },
        };

        var options = new ExplainOptions { Target = Target.Class(1) };
        var expected = Make().Explain(trimmed, Text, options);
        var actual = Make().Explain(untrimmed, Text, options);
        actual.Words.Select(w => w.Text).Should().Equal("hello", "big", "world,", "and", "more");
        actual.Words.Select(w => w.Score).Should().Equal(expected.Words.Select(w => w.Score));
        actual.Words.Where(w => w.Text != "hello").Should().Contain(w => w.Score != 0, "the words after the first are features, not left at 0");
    }

    /// <summary>A copy of the model folder whose tokenizer.json says trim_offsets: false.</summary>
    private string Untrimmed(string folder)
    {
        var copy = Path.Combine(root, "untrimmed");
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.GetFiles(folder))
        {
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        }

        var tokenizer = Path.Combine(copy, "tokenizer.json");
        var json = File.ReadAllText(tokenizer);
        json.Should().Contain("\"trim_offsets\": true");
        File.WriteAllText(tokenizer, json.Replace("\"trim_offsets\": true", "\"trim_offsets\": false", StringComparison.Ordinal));
        return copy;
    }
}
