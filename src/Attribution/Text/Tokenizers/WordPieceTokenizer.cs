using System.Buffers;
using System.Globalization;
using System.Text;

namespace Attribution.Text.Tokenizers;

/// <summary>How BERT's normalizer treats text before it is split into words.</summary>
/// <param name="CleanText">Remove control characters, NUL and U+FFFD; turn every whitespace character into a space.</param>
/// <param name="HandleChineseChars">Make every CJK ideograph a word of its own.</param>
/// <param name="StripAccents">Decompose (NFD) and drop non-spacing marks.</param>
/// <param name="Lowercase">Lower-case.</param>
internal sealed record BertNormalization(bool CleanText, bool HandleChineseChars, bool StripAccents, bool Lowercase);

/// <summary>
/// BERT's tokenizer: Hugging Face's BertNormalizer, BertPreTokenizer (whitespace and punctuation) and greedy
/// longest-match-first WordPiece, with every token traced back to its span in the original string.
/// </summary>
internal sealed class WordPieceTokenizer : TokenizerBase
{
    private readonly BertNormalization _normalization;
    private readonly int _maxInputCharsPerWord;
    private readonly int _unkId;
    private readonly string _prefix;

    // Lookups by span: whole-word entries, and continuation entries stored without their "##" prefix, so that
    // the greedy search probes substrings of the word without allocating.
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _initial;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _continuation;

    // The added tokens Hugging Face matches after normalization, their contents normalized too; null when there are none.
    private readonly AddedTokenMatcher? _normalizedMatcher;

    // The first characters of those normalized contents, to skip the search in text that cannot hold one.
    private readonly SearchValues<char> _normalizedFirstChars;

    public WordPieceTokenizer(
        IReadOnlyDictionary<string, int> vocabulary,
        IReadOnlyList<AddedToken> addedTokens,
        PostProcessor postProcessor,
        SpecialIds specialIds,
        int? modelMaxLength,
        BertNormalization normalization,
        int unkId,
        string continuingSubwordPrefix,
        int maxInputCharsPerWord)
        : base(vocabulary, addedTokens, postProcessor, specialIds, modelMaxLength, matchesNormalizedTokensItself: true)
    {
        _normalization = normalization;
        _unkId = unkId;
        _prefix = continuingSubwordPrefix;
        _maxInputCharsPerWord = maxInputCharsPerWord;
        var initial = new Dictionary<string, int>(StringComparer.Ordinal);
        var continuation = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (token, id) in vocabulary)
        {
            initial[token] = id;
            if (_prefix.Length > 0 && token.StartsWith(_prefix, StringComparison.Ordinal))
            {
                continuation[token[_prefix.Length..]] = id;
            }
        }

        _initial = initial.GetAlternateLookup<ReadOnlySpan<char>>();

        // Hugging Face looks a continuation up as prefix + piece; with an empty prefix that is the piece itself, so
        // every entry continues a word.
        _continuation = (_prefix.Length == 0 ? initial : continuation).GetAlternateLookup<ReadOnlySpan<char>>();

        var normalizedTokens = addedTokens.Where(a => a.Normalized)
            .Select(a => a with { Content = Normalized(a.Content, 0, a.Content.Length).Text })
            .Where(a => a.Content.Length > 0)
            .ToList();
        _normalizedMatcher = normalizedTokens.Count == 0 ? null : new AddedTokenMatcher(normalizedTokens);
        _normalizedFirstChars = SearchValues.Create(string.Concat(normalizedTokens.Select(a => a.Content[0]).Distinct()));
    }

    protected override void TokenizeText(string text, int start, int end, List<Piece> output, ref int word)
    {
        var builder = new WordBuilder(this, output, word);
        if (_normalizedMatcher is null || !MayHoldNormalizedToken(text.AsSpan(start, end - start)))
        {
            NormalizeInto(text, start, end, builder);
        }
        else
        {
            // Normalized added tokens are found in the normalized text; the stretches between them go on to the
            // pre-tokenizer with the original span of each character.
            var normalized = Normalized(text, start, end);
            var chars = normalized.Text;
            foreach (var segment in _normalizedMatcher.Split(chars))
            {
                if (segment.Token is { } added)
                {
                    builder.AddWhole(added.Id, normalized.Starts[segment.Start], normalized.Ends[segment.End - 1]);
                    continue;
                }

                var k = segment.Start;
                while (k < segment.End)
                {
                    Rune.DecodeFromUtf16(chars.AsSpan(k, segment.End - k), out var rune, out var length);
                    builder.Add(rune, normalized.Starts[k], normalized.Ends[k]);
                    k += length;
                }
            }
        }

        builder.EndWord();
        word = builder.Word;
    }

    protected override string DecodeTokens(IReadOnlyList<string> tokens)
    {
        var text = new StringBuilder();
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i];
            if (i > 0 && _prefix.Length > 0 && token.StartsWith(_prefix, StringComparison.Ordinal))
            {
                text.Append(token, _prefix.Length, token.Length - _prefix.Length);
            }
            else
            {
                text.Append(i > 0 ? " " : string.Empty).Append(token);
            }
        }

        // Hugging Face's clean_up_tokenization.
        return text.Replace(" .", ".").Replace(" ?", "?").Replace(" !", "!").Replace(" ,", ",").Replace(" ' ", "'")
            .Replace(" n't", "n't").Replace(" 'm", "'m").Replace(" 's", "'s").Replace(" 've", "'ve").Replace(" 're", "'re")
            .ToString();
    }

    /// <summary>
    /// False when no character of <paramref name="text"/> can normalize to the first character of a normalized added
    /// token (the common case: bert-base-uncased's normalized [PAD] starts with '['), so the text needs no search. An
    /// ASCII character normalizes to itself, lower-cased or, if whitespace, to a space; others are not predicted.
    /// </summary>
    private bool MayHoldNormalizedToken(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (c >= 0x80 || _normalizedFirstChars.Contains(c)
                || (_normalization.Lowercase && c is >= 'A' and <= 'Z' && _normalizedFirstChars.Contains((char)(c + 32)))
                || (char.IsWhiteSpace(c) && _normalizedFirstChars.Contains(' ')))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Feeds the normalized characters of <c>text[start..end)</c> to <paramref name="sink"/>.</summary>
    private void NormalizeInto(string text, int start, int end, ICharacterSink sink)
    {
        var i = start;
        while (i < end)
        {
            // A lone surrogate is not a character; treat it as U+FFFD, which cleaning removes.
            if (Rune.DecodeFromUtf16(text.AsSpan(i, end - i), out var rune, out var length) != OperationStatus.Done)
            {
                rune = Rune.ReplacementChar;
            }

            Normalize(rune, i, i + length, sink);
            i += length;
        }
    }

    /// <summary>The normalizer's output for <c>text[start..end)</c>, with the original span of each UTF-16 unit.</summary>
    private NormalizedText Normalized(string text, int start, int end)
    {
        var normalized = new NormalizedText();
        NormalizeInto(text, start, end, normalized);
        return normalized;
    }

    /// <summary>
    /// Applies the normalizer to one original character (which may become none or several) and feeds the result
    /// to <paramref name="builder"/>, all tagged with the original span <c>[start, end)</c>.
    /// </summary>
    private void Normalize(Rune rune, int start, int end, ICharacterSink builder)
    {
        var n = _normalization;
        var value = rune.Value;
        if (n.CleanText && (value == 0 || value == 0xFFFD || BertCharacters.IsControl(value)))
        {
            return;
        }

        if (value < 0x80)
        {
            // ASCII has no accents and lower-cases to one character: the common case, kept cheap.
            var c = n.Lowercase && value is >= 'A' and <= 'Z' ? (char)(value + 32) : (char)value;
            builder.Add(new Rune(c), start, end);
            return;
        }

        var isolate = n.HandleChineseChars && BertCharacters.IsCjk(value);
        if (isolate)
        {
            builder.Separate(start, end);
        }

        // Hugging Face strips accents before lower-casing: NFD, then drop non-spacing marks (Mn). It decomposes the whole
        // text, which also sorts combining marks by combining class; this decomposes each character alone and sorts
        // nothing. After dropping Mn the two agree on every text in NFC or NFD, where marks are in canonical order and
        // the only decompositions holding a mark that is not Mn with a non-zero class (musical symbols U+1D15E-U+1D164,
        // U+1D1BB-U+1D1C0) are composition exclusions, so never composed. They differ only on text in neither form with
        // two of the 25 such marks (Unicode 14.0: Mc of class 6, 9, 216, 224, 226, e.g. U+1D16D before U+1D165) out of
        // class order (also checked on 200,000 random strings with Python's unicodedata). bert-base-uncased's vocabulary
        // holds none of them, so such a word is [UNK] either way; WordPieceUnicodeTests shows the difference.
        if (n.StripAccents)
        {
            foreach (var part in BertCharacters.Decompose(rune).EnumerateRunes())
            {
                if (Rune.GetUnicodeCategory(part) != UnicodeCategory.NonSpacingMark)
                {
                    AddLowercased(part, start, end, builder);
                }
            }
        }
        else
        {
            AddLowercased(rune, start, end, builder);
        }

        if (isolate)
        {
            builder.Separate(start, end);
        }
    }

    private void AddLowercased(Rune rune, int start, int end, ICharacterSink builder)
    {
        if (!_normalization.Lowercase)
        {
            builder.Add(rune, start, end);
        }
        else if (rune.Value == 0x130)
        {
            // İ is the one character whose full lower-case mapping (Python's and Rust's) is two: i + U+0307.
            // .NET's invariant ToLower uses the simple mapping, which leaves it unchanged.
            builder.Add(new Rune('i'), start, end);
            builder.Add(new Rune(0x307), start, end);
        }
        else
        {
            builder.Add(Rune.ToLowerInvariant(rune), start, end);
        }
    }

    /// <summary>Greedy longest-match-first WordPiece over one normalized word.</summary>
    private void SplitWord(ReadOnlySpan<char> word, ReadOnlySpan<int> starts, ReadOnlySpan<int> ends, int wordIndex, List<Piece> output)
    {
        var first = output.Count;
        var codePoints = 0;
        foreach (var unit in word)
        {
            codePoints += char.IsLowSurrogate(unit) ? 0 : 1;
        }

        if (codePoints <= _maxInputCharsPerWord)
        {
            var position = 0;
            while (position < word.Length)
            {
                var lookup = position == 0 ? _initial : _continuation;
                var end = word.Length;
                var id = -1;
                while (end > position)
                {
                    if (lookup.TryGetValue(word[position..end], out id))
                    {
                        break;
                    }

                    // Shorten by one character, never leaving half a surrogate pair.
                    end -= end - position >= 2 && char.IsLowSurrogate(word[end - 1]) && char.IsHighSurrogate(word[end - 2]) ? 2 : 1;
                    id = -1;
                }

                if (id < 0)
                {
                    break;
                }

                output.Add(new Piece(id, starts[position], ends[end - 1], wordIndex));
                position = end;
            }

            if (position == word.Length)
            {
                return;
            }
        }

        // A word with no complete segmentation (or too long) becomes a single unknown token spanning all of it.
        output.RemoveRange(first, output.Count - first);
        output.Add(new Piece(_unkId, starts[0], ends[word.Length - 1], wordIndex));
    }

    /// <summary>Where the normalizer puts its characters.</summary>
    private interface ICharacterSink
    {
        /// <summary>One normalized character, from the original span <c>[start, end)</c>.</summary>
        void Add(Rune rune, int start, int end);

        /// <summary>A word boundary where Hugging Face's normalizer inserts a space (around a CJK ideograph).</summary>
        void Separate(int start, int end);
    }

    /// <summary>The normalized text as a string, with the original span of each UTF-16 unit.</summary>
    private sealed class NormalizedText : ICharacterSink
    {
        private readonly StringBuilder _text = new();

        public List<int> Starts { get; } = [];

        public List<int> Ends { get; } = [];

        public string Text => _text.ToString();

        public void Add(Rune rune, int start, int end)
        {
            _text.Append(rune.ToString());
            for (var k = 0; k < rune.Utf16SequenceLength; k++)
            {
                Starts.Add(start);
                Ends.Add(end);
            }
        }

        public void Separate(int start, int end) => Add(new Rune(' '), start, end);
    }

    /// <summary>
    /// The pre-tokenizer: collects normalized characters into words, splitting at whitespace and isolating
    /// punctuation, and records for each UTF-16 unit the original span it came from.
    /// </summary>
    private sealed class WordBuilder(WordPieceTokenizer owner, List<Piece> output, int firstWord) : ICharacterSink
    {
        private char[] _chars = new char[32];
        private int[] _starts = new int[32];
        private int[] _ends = new int[32];
        private int _length;

        public int Word { get; private set; } = firstWord;

        public void Add(Rune rune, int start, int end)
        {
            var value = rune.Value;
            if (BertCharacters.IsWhitespace(value))
            {
                EndWord();
                return;
            }

            var punctuation = BertCharacters.IsPunctuation(value);
            if (punctuation)
            {
                EndWord();
            }

            if (_length + 2 > _chars.Length)
            {
                Array.Resize(ref _chars, _chars.Length * 2);
                Array.Resize(ref _starts, _chars.Length);
                Array.Resize(ref _ends, _chars.Length);
            }

            var written = rune.EncodeToUtf16(_chars.AsSpan(_length));
            for (var k = 0; k < written; k++)
            {
                _starts[_length + k] = start;
                _ends[_length + k] = end;
            }

            _length += written;
            if (punctuation)
            {
                EndWord();
            }
        }

        public void Separate(int start, int end) => EndWord();

        /// <summary>An added token matched in the normalized text: a word of its own.</summary>
        public void AddWhole(int id, int start, int end)
        {
            EndWord();
            output.Add(new Piece(id, start, end, Word++));
        }

        public void EndWord()
        {
            if (_length == 0)
            {
                return;
            }

            owner.SplitWord(_chars.AsSpan(0, _length), _starts.AsSpan(0, _length), _ends.AsSpan(0, _length), Word, output);
            Word++;
            _length = 0;
        }
    }
}
