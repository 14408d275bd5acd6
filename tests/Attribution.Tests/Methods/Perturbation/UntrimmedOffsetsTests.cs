using Attribution.Methods;
using Attribution.Models;
using Attribution.Pipeline;

namespace Attribution.Tests.Methods.Perturbation;

/// <summary>
/// A byte-level BPE tokenizer with <c>trim_offsets: false</c> (a valid Hugging Face setting) gives <c>Ġbig</c> of
/// "hello big world" the offset [5, 9), which starts in the space before the word. The perturbation methods and LIME
/// must still find every word's tokens: the same model with trimmed offsets (the shared roberta-random, whose
/// tokenizer.json says <c>trim_offsets: true</c>) has the same ids and features, so its scores are the expected ones,
/// to the last bit (the model inputs are identical). HotFlip, which writes its edits back into the text at the
/// flipped token's offset, must keep the space before the word.
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

    [SkippableFact]
    public void HotFlip_replaces_a_word_and_keeps_the_space_before_it()
    {
        var folder = SharedData.Require("models/roberta-random");
        using var trimmed = ClassifierLoader.Load(folder);
        using var untrimmed = ClassifierLoader.Load(Untrimmed(folder));
        const string text = "hello big world";
        var expected = new HotFlip().Generate(trimmed, text, maxEdits: 5);
        var actual = new HotFlip().Generate(untrimmed, text, maxEdits: 5);
        actual.Should().NotBeEmpty();
        actual.Select(e => e.Text).Should().Equal(expected.Select(e => e.Text), "the same ids and gradients give the same edits");
        foreach (var edit in actual)
        {
            // One word swapped for one whole word: still three words, the unflipped ones unchanged.
            var words = edit.Text.Split(' ');
            words.Should().HaveCount(3, $"'{edit.Text}' must keep the spaces between words");
            words.Zip(text.Split(' ')).Count(p => p.First != p.Second).Should().Be(1);

            // A byte-level flip after a space is a word-start token (Ġ…), so the edit tokenizes to the flipped ids.
            var flip = edit.Flips.Single();
            flip.To.StartsWith('Ġ').Should().Be(flip.From.StartsWith('Ġ'), $"{flip.From} → {flip.To}");
            untrimmed.Tokenizer.Encode(edit.Text).Tokens.Should().Contain(flip.To);
        }
    }

    /// <summary>A copy of the model folder whose tokenizer.json says trim_offsets: false.</summary>
    private string Untrimmed(string folder) => UntrimmedCopy(folder, root);

    /// <summary>A copy of the model in <paramref name="folder"/>, under <paramref name="under"/>, whose tokenizer.json says <c>trim_offsets: false</c>.</summary>
    internal static string UntrimmedCopy(string folder, string under)
    {
        var copy = Path.Combine(under, "untrimmed");
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
