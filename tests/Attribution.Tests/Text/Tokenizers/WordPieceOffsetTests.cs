using System.Globalization;
using Attribution.Text.Tokenizers;

namespace Attribution.Tests.Text.Tokenizers;

public class WordPieceOffsetTests
{
    public static TheoryData<string> Sentences => new()
    {
        "HÉLLO Naïve CAFÉ, résumé!",
        "Ωmega σ Straße İstanbul ÅNGSTRÖM",
        "東京タワー is in 日本 (Tōkyō)",
        "emoji 😀 test 👍🏽 ok 𝐀𝐁𝐂 done",
        "zero\u200bwidth control\u0007char tab\there\nnewline",
        "Ünïcödé döesn't ÇÓMPLÀÌN; it's fine…",
        "the 𠀀 ideograph and ﬁne print",
    };

    [SkippableTheory]
    [MemberData(nameof(Sentences))]
    public void Every_word_token_spans_its_source_text(string text)
    {
        var tokenizer = TokenizerLoader.FromDirectory(Path.GetDirectoryName(SharedData.Require("tokenizers/bert-base-uncased/vocab.txt"))!);
        var encoding = tokenizer.Encode(text);

        var checkedTokens = 0;
        for (var i = 0; i < encoding.Length; i++)
        {
            if (encoding.SpecialTokensMask[i])
            {
                encoding.Offsets[i].Should().BeNull();
                encoding.WordIds[i].Should().BeNull();
                continue;
            }

            var (start, end) = encoding.Offsets[i]!.Value;
            start.Should().BeInRange(0, end);
            end.Should().BeLessThanOrEqualTo(text.Length);
            if (encoding.Ids[i] == tokenizer.UnkId)
            {
                continue;
            }

            var source = text.Substring(start, end - start);
            var expected = encoding.Tokens[i].StartsWith("##", StringComparison.Ordinal) ? encoding.Tokens[i][2..] : encoding.Tokens[i];
            LowerWithoutAccents(source).Should().Be(expected, $"token {i} of \"{text}\" spans ({start}, {end})");
            checkedTokens++;
        }

        checkedTokens.Should().BeGreaterThan(3);
    }

    [SkippableFact]
    public void Surrogate_pairs_count_as_two_utf16_units()
    {
        var tokenizer = TokenizerLoader.FromDirectory(Path.GetDirectoryName(SharedData.Require("tokenizers/bert-base-uncased/vocab.txt"))!);
        var encoding = tokenizer.Encode("😀 test");

        encoding.Tokens.Should().Equal("[CLS]", "[UNK]", "test", "[SEP]");
        encoding.Offsets[1].Should().Be((0, 2));
        encoding.Offsets[2].Should().Be((3, 7));
    }

    /// <summary>An independent, string-level version of BERT's uncased normalization: NFD, drop Mn, lower-case.</summary>
    private static string LowerWithoutAccents(string text)
    {
        var kept = text.Normalize(System.Text.NormalizationForm.FormD)
            .Where(c => CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.NonSpacingMark
                && CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.Format
                && CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.Control);
        return new string(kept.ToArray()).ToLowerInvariant();
    }
}
