using Attribution.Methods.LimeParts;
using Attribution.Models;
using Attribution.Text.Tokenizers;

namespace Attribution.Tests.Models;

/// <summary>The pair checks, and how the words of a pair's two texts are indexed per token (LIME's and the perturbation methods' features).</summary>
public sealed class TextPairsTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("attribution-text-pairs-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Fact]
    public void Missing_texts_and_a_null_second_text_are_refused_by_name()
    {
        FluentActions.Invoking(() => TextPairs.Check(null!, ["b"])).Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("texts");
        var error = FluentActions.Invoking(() => TextPairs.Check(["a", "b"], ["x", null!])).Should().Throw<ArgumentNullException>().Which;
        error.ParamName.Should().Be("pairs");
        error.Message.Should().StartWith("pairs[1] is null: give the second text of every pair");
        FluentActions.Invoking(() => TextPairs.Check(["a"], [null!], "Pairs")).Should().Throw<ArgumentNullException>()
            .Which.Message.Should().StartWith("Pairs[0] is null");
        TextPairs.Check(["a"], null);
        TextPairs.Check(["a"], ["b"]);
    }

    [Fact]
    public void The_second_texts_words_follow_the_firsts_with_offsets_into_their_own_text()
    {
        // "good ." / "dull !" split at whitespace: good, . | dull, ! (the second text's numbered after the first's, offsets
        // into the second text itself); the separators belong to no word. By hand: [CLS] good . [SEP] dull ! [SEP] →
        // -1, 0, 1, -1, 2, 3, -1.
        var vocab = Path.Combine(root, "vocab.txt");
        File.WriteAllLines(vocab, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "dull", ".", "!"]);
        var tokenizer = TokenizerLoader.FromWordPieceVocab(vocab);
        var encoding = tokenizer.Encode("good .", "dull !");
        var (words, tokenWord) = LimeText.PairWords("good .", "dull !", encoding, punctuation: false);
        words.Select(w => (w.Text, w.Segment, w.Start, w.End)).Should().Equal(("good", 0, 0, 4), (".", 0, 5, 6), ("dull", 1, 0, 4), ("!", 1, 5, 6));
        tokenWord.Should().Equal(-1, 0, 1, -1, 2, 3, -1);
    }

    [Fact]
    public void A_single_texts_perturbation_explanation_carries_no_pair_fields()
    {
        // LIME and occlusion record a pair's token types and segments (TextPairResults.WithPair); a single text's
        // explanation has none, as a gradient method's has none (its JSON then writes no token_type_ids).
        using var model = Attribution.Tests.Models.Small.SmallModelKit.Random(root, Attribution.Models.SmallClassifierConfig.MlpType);
        const string text = "a fine film";
        var gradient = new Attribution.Methods.Gradient().Attribute(model, [text])[0];
        gradient.TokenTypeIds.Should().BeEmpty();
        gradient.Segments.Should().BeEmpty();
        foreach (var method in new Attribution.Methods.IAttributor[] { new Attribution.Methods.Lime { Samples = 20 }, new Attribution.Methods.Occlusion() })
        {
            var e = method.Attribute(model, [text])[0];
            e.TextPair.Should().BeNull();
            e.TokenTypeIds.Should().BeEmpty(method.Name);
            e.Segments.Should().BeEmpty(method.Name);
        }
    }
}
