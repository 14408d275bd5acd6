using System.Text.RegularExpressions;
using Attribution.Methods;
using Attribution.Salience;
using Attribution.Tests.Salience;
using Attribution.Text;
using Attribution.Text.Tokenizers;
using CsCheck;

namespace Attribution.Tests.Text.Tokenizers;

/// <summary>
/// <see cref="WordSpans"/> and <see cref="SalienceLayer.AggregateWords"/> on the tokens real tokenizers make of hostile
/// text (<see cref="TokenizerFuzzing.Text"/>). The expected words come from the definition in WordSpans' docs (maximal
/// runs of non-whitespace, here found with the regex <c>\S+</c>), the token-to-word rule from AggregateWords' docs.
/// </summary>
public class WordAggregationPropertyTests
{
    private static readonly Regex NonWhitespaceRun = new(@"\S+", RegexOptions.CultureInvariant);

    [Fact]
    public void Word_spans_are_the_maximal_runs_of_non_whitespace_and_find_locates_every_position()
    {
        PropertyDraws.ForAll(Gen.Select(TokenizerFuzzing.Text, TokenizerFuzzing.TextWithLoneSurrogates), seed: 15, count: 500, (text, lone) =>
        {
            foreach (var subject in new[] { text, lone })
            {
                var spans = WordSpans.Of(subject);
                var expected = NonWhitespaceRun.Matches(subject).Select(m => (m.Index, m.Index + m.Length)).ToList();
                Assert.Equal(expected, spans);
                for (var p = -1; p <= subject.Length; p++)
                {
                    var position = p;
                    var owner = expected.FindIndex(s => s.Item1 <= position && position < s.Item2);
                    Assert.Equal(owner, WordSpans.Find(spans, position));
                }
            }
        });
    }

    [Fact]
    public void Word_scores_of_small_tokenizers_group_each_token_once_and_keep_the_total()
    {
        using var dir = new TempDirectory();
        CheckAggregation(TokenizerFuzzing.SmallWordPiece(dir), 16);
        CheckAggregation(TokenizerFuzzing.SmallByteLevel(dir, addPrefixSpace: true), 17);
    }

    [SkippableFact]
    public void Word_scores_of_shared_tokenizers_group_each_token_once_and_keep_the_total()
    {
        CheckAggregation(TokenizerFuzzing.BertBaseUncased(), 18);
        CheckAggregation(TokenizerFuzzing.RobertaBase(), 19);
    }

    /// <summary>
    /// Words are whitespace runs of the text, in order and disjoint; a token added by the tokenizer is in no word; every
    /// other token is in at most one, the one its span starts in, else the first its span reaches into (AggregateWords'
    /// docs), so one holding a non-whitespace character is in exactly one; summed word scores plus the scores of the
    /// tokens in no word are the sum of the input tokens' scores. Tolerance 1e-12 of Σ|score|: the two sums add the same
    /// at most ~300 numbers in different orders, each addition off by at most 2^-53 of the running Σ|score|.
    /// </summary>
    private static void CheckAggregation(ITokenizer tokenizer, ulong seed)
    {
        PropertyDraws.ForAll(Gen.Select(TokenizerFuzzing.Text, Gen.Double[-1000, 1000].Array[1, 12]), seed, count: 300, (text, draws) =>
        {
            var encoding = tokenizer.Encode(text);
            var scores = Enumerable.Range(0, encoding.Length).Select(i => draws[i % draws.Length] * (i % 3 == 0 ? 1e-3 : 1)).ToArray();
            var explanation = SalienceSamples.Hand(text, encoding.Tokens, encoding.Ids, encoding.Offsets, encoding.SpecialTokensMask, scores);
            var result = SalienceLayer.AggregateWords(explanation, WordAggregation.Sum);

            var spans = NonWhitespaceRun.Matches(text).Select(m => (Start: m.Index, End: m.Index + m.Length)).ToList();
            var previousEnd = -1;
            var wordOf = new int?[encoding.Length];
            foreach (var word in result.Words)
            {
                Assert.Contains((word.Start, word.End), spans);
                Assert.True(word.Start >= previousEnd, $"word '{word.Text}' at {word.Start} overlaps or precedes the one before");
                Assert.Equal(text[word.Start..word.End], word.Text);
                Assert.NotEmpty(word.TokenIndices);
                Assert.Equal(word.TokenIndices.Order(), word.TokenIndices);
                previousEnd = word.End;
                foreach (var t in word.TokenIndices)
                {
                    Assert.True(wordOf[t] is null, $"token {t} '{encoding.Tokens[t]}' is in two words");
                    wordOf[t] = spans.IndexOf((word.Start, word.End));
                }

                Assert.True(Math.Abs(word.TokenIndices.Sum(t => scores[t]) - word.Score) <= 1e-12 * word.TokenIndices.Sum(t => Math.Abs(scores[t])), $"word '{word.Text}' scores {word.Score:R}");
            }

            var outside = new List<int>();
            for (var t = 0; t < encoding.Length; t++)
            {
                if (encoding.Offsets[t] is not { } span)
                {
                    Assert.Null(wordOf[t]);
                    continue;
                }

                // The documented rule: the span its offset starts in, else the first span its offset reaches into.
                var owner = spans.FindIndex(s => s.Start <= span.Start && span.Start < s.End);
                if (owner < 0 && span.End > span.Start)
                {
                    owner = spans.FindIndex(s => s.Start > span.Start && s.Start < span.End);
                }

                Assert.True((owner < 0 ? null : owner) == wordOf[t], $"token {t} '{encoding.Tokens[t]}' span {span} is in word {wordOf[t]}, not {owner}");
                var holdsText = text[span.Start..span.End].Any(c => !char.IsWhiteSpace(c));
                Assert.True(!holdsText || wordOf[t] is not null, $"token {t} '{encoding.Tokens[t]}' with text '{text[span.Start..span.End]}' is in no word");
                if (wordOf[t] is null)
                {
                    outside.Add(t);
                }
            }

            var inputs = Enumerable.Range(0, encoding.Length).Where(t => encoding.Offsets[t] is not null).ToList();
            var total = inputs.Sum(t => scores[t]);
            var magnitude = inputs.Sum(t => Math.Abs(scores[t]));
            var regrouped = result.Words.Sum(w => w.Score) + outside.Sum(t => scores[t]);
            Assert.True(Math.Abs(regrouped - total) <= 1e-12 * magnitude, $"words and outside tokens sum to {regrouped:R}, the tokens to {total:R}");
            var noted = result.Notes.Any(n => n.StartsWith($"word scores include no token that lies outside every word: {outside.Count} such", StringComparison.Ordinal));
            Assert.Equal(outside.Any(t => scores[t] != 0), noted);
        });
    }
}
