using Attribution.Methods;
using Attribution.Salience;

namespace Attribution.Tests.Salience;

/// <summary>
/// Word aggregation and normalization on inputs that real tokenizers and methods produce but the samples do not:
/// offsets that start in whitespace, tokens that belong to no word, huge, tiny and non-finite scores. Every expected
/// value is computed by hand from the text.
/// </summary>
public sealed class SalienceWordEdgeTests
{
    [Fact]
    public void Tokens_whose_offsets_start_in_the_space_before_a_word_belong_to_that_word()
    {
        // Byte-level BPE with trim_offsets false: "hello big world" → hello [0,5), Ġbig [5,9), Ġworld [9,15).
        // The words are hello [0,5), big [6,9), world [10,15); each token's span reaches into exactly one of them.
        var e = SalienceSamples.Hand(
            "hello big world", ["<s>", "hello", "Ġbig", "Ġworld", "</s>"], [0, 1, 2, 3, 2], [null, (0, 5), (5, 9), (9, 15), null],
            [true, false, false, false, true], [0.5, 1.0, 2.0, 4.0, 8.0]);
        var words = SalienceLayer.AggregateWords(e, WordAggregation.Sum).Words;
        words.Select(w => (w.Text, w.Start, w.End, w.Score)).Should().Equal(("hello", 0, 5, 1.0), ("big", 6, 9, 2.0), ("world", 10, 15, 4.0));
        words.Select(w => w.TokenIndices.Single()).Should().Equal(1, 2, 3);
        words.Select(w => e.Text.Substring(w.Start, w.End - w.Start)).Should().Equal(words.Select(w => w.Text));
    }

    [Fact]
    public void A_token_that_spans_only_whitespace_still_belongs_to_no_word()
    {
        // "a  b": a [0,1), a lone space token [1,2), Ġb [2,4) (untrimmed: it starts in the second space).
        var e = SalienceSamples.Hand("a  b", ["a", "Ġ", "Ġb"], [1, 2, 3], [(0, 1), (1, 2), (2, 4)], [false, false, false], [1.0, 2.0, 4.0]);
        var words = SalienceLayer.AggregateWords(e, WordAggregation.Sum).Words;
        words.Select(w => (w.Text, w.Score)).Should().Equal(("a", 1.0), ("b", 4.0));
        words[1].TokenIndices.Should().Equal(2);
    }
}
