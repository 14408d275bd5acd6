using System.Text;
using System.Text.RegularExpressions;
using Attribution.Text.Tokenizers;
using Encoding = Attribution.Text.Tokenizers.Encoding;

namespace Attribution.Tests.Text.Tokenizers;

/// <summary>Which promises of docs/tokenizers.md an encoding is checked against.</summary>
internal enum TokenizerFamily
{
    /// <summary>BERT WordPiece with an uncased normalizer (clean, strip accents, lower-case).</summary>
    WordPieceUncased,

    /// <summary>BERT WordPiece that lower-cases but keeps accents (<c>strip_accents: false</c>).</summary>
    WordPieceLowercasedWithAccents,

    /// <summary>Byte-level BPE with trim_offsets, no prefix space.</summary>
    ByteLevel,

    /// <summary>Byte-level BPE with trim_offsets and add_prefix_space.</summary>
    ByteLevelPrefixSpace,
}

/// <summary>
/// The invariants one encoding of one text must keep, each written from docs/tokenizers.md and the XML docs of
/// <see cref="Encoding"/> (offsets index the original string; tokens the tokenizer added have no offset; several tokens
/// share a span only where they come from one character; the spans' text is the tokens' text once normalized, or for
/// byte-level BPE their bytes less the leading space; every character the normalizer keeps is covered).
/// </summary>
internal static class TokenizerPropertyChecks
{
    private static readonly string[] WordPieceAdded = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

    /// <summary>Encodes <paramref name="text"/> and checks every invariant; returns the encoding (null when refused as documented).</summary>
    public static Encoding? EncodeAndCheck(ITokenizer tokenizer, TokenizerFamily family, string text)
    {
        Encoding encoding;
        try
        {
            encoding = tokenizer.Encode(text);
        }
        catch (PlatformNotSupportedException e) when (TokenizerFuzzing.InvariantGlobalization && family is TokenizerFamily.WordPieceUncased or TokenizerFamily.WordPieceLowercasedWithAccents)
        {
            // The one refusal docs/tokenizers.md allows for valid text: a letter newer than the decomposition table,
            // in invariant mode. It names the character.
            Assert.Contains("U+", e.Message, StringComparison.Ordinal);
            return null;
        }

        CheckShape(encoding);
        CheckOffsets(text, encoding);
        if (TokenizerFuzzing.InvariantGlobalization && family is TokenizerFamily.WordPieceUncased or TokenizerFamily.WordPieceLowercasedWithAccents)
        {
            // The reference normalizer decomposes with string.Normalize, which needs ICU; the library then uses its own table.
            return encoding;
        }

        CheckCoverage(text, encoding, family);
        if (family is TokenizerFamily.WordPieceUncased or TokenizerFamily.WordPieceLowercasedWithAccents)
        {
            CheckWordPieceContent(tokenizer, text, encoding, Normalizer(family));
        }
        else
        {
            CheckByteLevelContent(tokenizer, text, encoding, family == TokenizerFamily.ByteLevelPrefixSpace);
        }

        return encoding;
    }

    /// <summary>Parallel arrays; added tokens (and only they) have no offset and no word; word ids never go back.</summary>
    public static void CheckShape(Encoding encoding)
    {
        var n = encoding.Length;
        Assert.Equal(n, encoding.Tokens.Length);
        Assert.Equal(n, encoding.Offsets.Length);
        Assert.Equal(n, encoding.WordIds.Length);
        Assert.Equal(n, encoding.SpecialTokensMask.Length);
        Assert.True(encoding.SpecialTokensMask[0] && encoding.SpecialTokensMask[^1], "a single input starts and ends with an added token");
        int? lastWord = null;
        for (var i = 0; i < n; i++)
        {
            Assert.Equal(encoding.SpecialTokensMask[i], encoding.Offsets[i] is null);
            Assert.Equal(encoding.SpecialTokensMask[i], encoding.WordIds[i] is null);
            if (encoding.WordIds[i] is int word)
            {
                Assert.True(lastWord is null || word >= lastWord, $"word ids go back at token {i}");
                lastWord = word;
            }
        }
    }

    /// <summary>
    /// Spans lie in the original text, never cut a surrogate pair, start and end in order, and two tokens overlap only
    /// over one character (the bytes or decomposed parts of one character, which docs/tokenizers.md lets tokens share).
    /// Of a pair, the tokens of input <paramref name="sequence"/>, whose offsets index into that input.
    /// </summary>
    public static void CheckOffsets(string text, Encoding encoding, int sequence = 0)
    {
        (int Start, int End)? previous = null;
        for (var i = 0; i < encoding.Length; i++)
        {
            if (encoding.SequenceOf(i) != sequence || encoding.Offsets[i] is not { } span)
            {
                continue;
            }

            Assert.True(0 <= span.Start && span.Start <= span.End && span.End <= text.Length, $"token {i} '{encoding.Tokens[i]}' has span {span} outside [0, {text.Length}]");
            Assert.False(TokenizerFuzzing.SplitsPair(text, span.Start), $"token {i} starts inside a surrogate pair at {span.Start}");
            Assert.False(TokenizerFuzzing.SplitsPair(text, span.End), $"token {i} ends inside a surrogate pair at {span.End}");
            if (previous is { } p)
            {
                Assert.True(span.Start >= p.Start && span.End >= p.End, $"token {i} span {span} goes back from {p}");
                if (span.Start < p.End)
                {
                    var character = char.IsHighSurrogate(text[span.Start]) && span.Start + 1 < text.Length && char.IsLowSurrogate(text[span.Start + 1]) ? 2 : 1;
                    Assert.True(p.End - span.Start == character, $"token {i} span {span} overlaps {p} by more than one character");
                }
            }

            previous = span;
        }
    }

    /// <summary>Every character that is not whitespace and that the normalizer keeps lies in some token's span.</summary>
    private static void CheckCoverage(string text, Encoding encoding, TokenizerFamily family)
    {
        var normalize = Normalizer(family);
        var covered = new bool[text.Length];
        foreach (var span in encoding.Offsets.OfType<(int Start, int End)>())
        {
            Array.Fill(covered, true, span.Start, span.End - span.Start);
        }

        var i = 0;
        while (i < text.Length)
        {
            var length = char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) ? 2 : 1;
            var character = text.Substring(i, length);
            var kept = family is TokenizerFamily.WordPieceUncased or TokenizerFamily.WordPieceLowercasedWithAccents
                ? normalize(character).Any(c => !char.IsWhiteSpace(c))
                : !char.IsWhiteSpace(text[i]);
            Assert.True(!kept || covered[i], $"U+{char.ConvertToUtf32(TokenizerFuzzing.ReplaceLoneSurrogates(character), 0):X4} at {i} is in no token's span");
            i += length;
        }
    }

    /// <summary>
    /// Per word, the tokens without their "##" spell the normalized text of the word's span; a token whose span it shares
    /// with no neighbour spells its own span; an added token spells its span; [UNK] spans its whole word and stands only
    /// for a word the vocabulary cannot spell character by character.
    /// </summary>
    private static void CheckWordPieceContent(ITokenizer tokenizer, string text, Encoding encoding, Func<string, string> normalize)
    {
        var core = Enumerable.Range(0, encoding.Length).Where(i => !encoding.SpecialTokensMask[i]).ToList();
        foreach (var word in core.GroupBy(i => encoding.WordIds[i]))
        {
            var tokens = word.ToList();
            var start = encoding.Offsets[tokens[0]]!.Value.Start;
            var end = tokens.Max(t => encoding.Offsets[t]!.Value.End);
            var source = text[start..end];
            if (tokens.Any(t => WordPieceAdded.Contains(encoding.Tokens[t])))
            {
                Assert.Single(tokens);
                if (encoding.Tokens[tokens[0]] != "[UNK]" || source == "[UNK]")
                {
                    Assert.Equal(normalize(encoding.Tokens[tokens[0]]), normalize(source));
                }
                else
                {
                    // Greedy longest-match-first always succeeds on a word of at most 100 characters each of which is a
                    // vocabulary entry (the first) or a ## entry (the rest): such a word is never [UNK].
                    var runes = normalize(source).EnumerateRunes().Select(r => r.ToString()).ToList();
                    var spellable = runes.Count <= 100 && runes.Select((r, k) => tokenizer.TokenToId(k == 0 ? r : "##" + r) is not null).All(b => b);
                    Assert.False(spellable, $"word [{start}, {end}) '{source}' is [UNK] though its characters '{normalize(source)}' are all in the vocabulary");
                }

                continue;
            }

            Assert.DoesNotContain(tokens.Skip(1), t => !encoding.Tokens[t].StartsWith("##", StringComparison.Ordinal));
            var spelled = encoding.Tokens[tokens[0]] + string.Concat(tokens.Skip(1).Select(t => encoding.Tokens[t][2..]));
            Assert.True(normalize(source) == spelled, $"word [{start}, {end}) '{source}' normalizes to '{normalize(source)}' but its tokens spell '{spelled}'");
        }

        for (var k = 0; k < core.Count; k++)
        {
            var span = encoding.Offsets[core[k]]!.Value;
            var alone = (k == 0 || encoding.Offsets[core[k - 1]]!.Value.End <= span.Start)
                && (k == core.Count - 1 || span.End <= encoding.Offsets[core[k + 1]]!.Value.Start);
            var token = encoding.Tokens[core[k]];
            if (alone && !WordPieceAdded.Contains(token))
            {
                var piece = token.StartsWith("##", StringComparison.Ordinal) ? token[2..] : token;
                Assert.True(normalize(text[span.Start..span.End]) == piece, $"token '{token}' has span {span} '{text[span.Start..span.End]}'");
            }
        }
    }

    /// <summary>The reference normalizer of a WordPiece family.</summary>
    private static Func<string, string> Normalizer(TokenizerFamily family) =>
        text => TokenizerFuzzing.BertLowercased(text, stripAccents: family == TokenizerFamily.WordPieceUncased);

    /// <summary>
    /// The tokens' bytes, taken in runs of tokens that share characters, are the UTF-8 bytes of the run's span with the
    /// leading spaces the tokens carry (trim_offsets); all the tokens' bytes are the text's (lone surrogates as U+FFFD),
    /// less the whitespace &lt;mask&gt; swallows (lstrip) and, with add_prefix_space, plus the spaces it adds.
    /// </summary>
    private static void CheckByteLevelContent(ITokenizer tokenizer, string text, Encoding encoding, bool prefixSpace)
    {
        var core = Enumerable.Range(0, encoding.Length).Where(i => !encoding.SpecialTokensMask[i]).ToList();
        var k = 0;
        while (k < core.Count)
        {
            var first = k;
            var end = encoding.Offsets[core[k]]!.Value.End;
            while (k + 1 < core.Count && encoding.Offsets[core[k + 1]]!.Value.Start < end)
            {
                k++;
                end = Math.Max(end, encoding.Offsets[core[k]]!.Value.End);
            }

            var start = encoding.Offsets[core[first]]!.Value.Start;
            var bytes = core[first..(k + 1)].SelectMany(t => TokenizerFuzzing.BytesOf(encoding.Tokens[t])).ToArray();
            var trimmed = bytes.AsSpan().Trim((byte)' ').ToArray();
            var expected = System.Text.Encoding.UTF8.GetBytes(text[start..end]);
            Assert.True(expected.AsSpan().SequenceEqual(trimmed),
                $"tokens {string.Join(" ", core[first..(k + 1)].Select(t => encoding.Tokens[t]))} have span [{start}, {end}) '{text[start..end]}'");
            k++;
        }

        var all = core.SelectMany(t => TokenizerFuzzing.BytesOf(encoding.Tokens[t])).ToArray();
        var kept = Regex.Replace(TokenizerFuzzing.ReplaceLoneSurrogates(text), @"\s+(?=<mask>)", string.Empty);
        var want = System.Text.Encoding.UTF8.GetBytes(kept);
        if (!prefixSpace)
        {
            // ITokenizer.Decode: byte-level BPE restores the exact bytes.
            Assert.Equal(kept, tokenizer.Decode(core.Select(t => encoding.Ids[t]), skipSpecialTokens: false));
        }
        if (prefixSpace)
        {
            // A space is added before every stretch between added tokens that does not start with one: compare without spaces.
            all = [.. all.Where(b => b != ' ')];
            want = [.. want.Where(b => b != ' ')];
        }

        Assert.True(want.AsSpan().SequenceEqual(all), $"the tokens' bytes are '{System.Text.Encoding.UTF8.GetString(all)}', not the text's '{System.Text.Encoding.UTF8.GetString(want)}'");
    }
}
