namespace Attribution.Text.Tokenizers;

/// <summary>Which input of a pair loses tokens when it is too long (Hugging Face's <c>truncation</c> strategies).</summary>
public enum TruncationStrategy
{
    /// <summary>
    /// The longer input is cut first; where both must be cut, each keeps half of the budget, the odd token going to the
    /// longer one (to the second when both are equally long), as Hugging Face's fast (Rust) tokenizers do
    /// (<c>longest_first</c>, the default).
    /// </summary>
    LongestFirst,

    /// <summary>Only the first input is cut; an error if cutting it cannot fit the pair (<c>only_first</c>).</summary>
    OnlyFirst,

    /// <summary>Only the second input is cut; an error if cutting it cannot fit the pair (<c>only_second</c>).</summary>
    OnlySecond,
}

/// <summary>Which end of an over-long input loses tokens when <c>maxLength</c> forces truncation.</summary>
public enum TruncationSide
{
    /// <summary>Keep the beginning, drop tokens from the end (Hugging Face's default).</summary>
    Right,

    /// <summary>Keep the end, drop tokens from the beginning.</summary>
    Left,
}

/// <summary>
/// Turns text into model input ids the way the corresponding Hugging Face tokenizer does, keeping track of
/// where every token came from in the input. Obtain one from <see cref="TokenizerLoader"/>. Implementations are
/// immutable and safe to use from several threads.
/// </summary>
public interface ITokenizer
{
    /// <summary>Number of ids (model vocabulary plus added tokens): the rows an embedding matrix needs.</summary>
    int VocabularySize { get; }

    /// <summary>
    /// The longest input (in tokens, special tokens included) the model accepts, from <c>tokenizer_config.json</c>
    /// (<c>model_max_length</c>) or the truncation section of <c>tokenizer.json</c>; null when neither says.
    /// Encoding never truncates on its own: compare <see cref="Encoding.Length"/> with this, or pass <c>maxLength</c>.
    /// </summary>
    int? ModelMaxLength { get; }

    /// <summary>Id of the token that starts every sequence (<c>[CLS]</c> for BERT, <c>&lt;s&gt;</c> for RoBERTa).</summary>
    long ClsId { get; }

    /// <summary>Same as <see cref="ClsId"/>: RoBERTa calls it the beginning-of-sequence token.</summary>
    long BosId { get; }

    /// <summary>Id of the token that ends (and separates) sequences (<c>[SEP]</c> for BERT, <c>&lt;/s&gt;</c> for RoBERTa).</summary>
    long SepId { get; }

    /// <summary>Same as <see cref="SepId"/>: RoBERTa calls it the end-of-sequence token.</summary>
    long EosId { get; }

    /// <summary>Id used to pad batches (<c>[PAD]</c>, <c>&lt;pad&gt;</c>).</summary>
    long PadId { get; }

    /// <summary>Id of the unknown token (<c>[UNK]</c>, <c>&lt;unk&gt;</c>), or null when the vocabulary has none.</summary>
    long? UnkId { get; }

    /// <summary>Id of the mask token (<c>[MASK]</c>, <c>&lt;mask&gt;</c>), or null when the vocabulary has none.</summary>
    long? MaskId { get; }

    /// <summary>
    /// Tokenizes one input, or a pair of inputs, and adds the model's special tokens
    /// (<c>[CLS] a [SEP] b [SEP]</c> for BERT, <c>&lt;s&gt; a &lt;/s&gt;&lt;/s&gt; b &lt;/s&gt;</c> for RoBERTa).
    /// Added and special tokens written literally in the text are kept whole, matched as Hugging Face does: those its
    /// tokenizer.json marks <c>normalized</c> after normalization (an uncased BERT's added <c>foo</c> also matches
    /// <c>FOO</c>), the others in the raw text, case-sensitively (<c>[MASK]</c> is the mask token, <c>[mask]</c> is text).
    /// </summary>
    /// <param name="text">The input; offsets of its tokens index into it.</param>
    /// <param name="pair">An optional second input (type id 1 for BERT); offsets of its tokens index into it.</param>
    /// <param name="maxLength">
    /// When given, the result has at most this many tokens, special tokens included; of a pair, the input
    /// <paramref name="strategy"/> names loses tokens (by default the longer one first, Hugging Face's <c>longest_first</c>).
    /// <see cref="Encoding.Truncated"/> reports how many were dropped. When null, nothing is ever dropped.
    /// </param>
    /// <param name="truncationSide">Which end loses tokens when truncating.</param>
    /// <param name="strategy">Which input of a pair loses tokens (default <see cref="TruncationStrategy.LongestFirst"/>).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> leaves no room for the special tokens.</exception>
    /// <exception cref="ArgumentException">The strategy would have to empty the input it may cut, or is
    /// <see cref="TruncationStrategy.OnlySecond"/> for a single input that must be cut (parameter <c>strategy</c>).</exception>
    Encoding Encode(string text, string? pair = null, int? maxLength = null, TruncationSide truncationSide = TruncationSide.Right,
        TruncationStrategy strategy = TruncationStrategy.LongestFirst);

    /// <summary>
    /// Encodes every input like <see cref="Encode"/> and right-pads the shorter results to the longest one with
    /// <see cref="PadId"/> (attention mask 0, type id 0, special-tokens mask set, no offset, no word).
    /// </summary>
    /// <param name="texts">The inputs.</param>
    /// <param name="pairs">Optional second inputs, one per text.</param>
    /// <param name="maxLength">Truncation limit applied to each input, as in <see cref="Encode"/>.</param>
    /// <param name="truncationSide">Which end loses tokens when truncating.</param>
    /// <param name="strategy">Which input of a pair loses tokens (default <see cref="TruncationStrategy.LongestFirst"/>).</param>
    /// <exception cref="ArgumentException"><paramref name="pairs"/> does not have one entry per text, or as for <see cref="Encode"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">As for <see cref="Encode"/>.</exception>
    IReadOnlyList<Encoding> EncodeBatch(IReadOnlyList<string> texts, IReadOnlyList<string>? pairs = null, int? maxLength = null, TruncationSide truncationSide = TruncationSide.Right,
        TruncationStrategy strategy = TruncationStrategy.LongestFirst);

    /// <summary>
    /// Turns ids back into text: WordPiece joins <c>##</c> pieces and tidies spaces before punctuation as Hugging
    /// Face does (lower-casing and accent stripping cannot be undone); byte-level BPE restores the exact bytes.
    /// </summary>
    /// <param name="ids">Token ids.</param>
    /// <param name="skipSpecialTokens">Leave out special tokens (<c>[CLS]</c>, <c>[PAD]</c>, <c>[UNK]</c>, ...).</param>
    /// <exception cref="ArgumentOutOfRangeException">An id is not in the vocabulary.</exception>
    string Decode(IEnumerable<long> ids, bool skipSpecialTokens = true);

    /// <summary>The token with this id, or null when the id is not in the vocabulary.</summary>
    /// <param name="id">A token id.</param>
    string? IdToToken(long id);

    /// <summary>The id of this exact token (e.g. <c>##ing</c>, <c>Ġworld</c>), or null when it is not in the vocabulary.</summary>
    /// <param name="token">A vocabulary entry, spelled as in the vocabulary file.</param>
    long? TokenToId(string token);
}
