using Attribution.Text.Tokenizers;

namespace Attribution.Models;

/// <summary>
/// The texts of one call, tokenized once: their token counts sort and cut the batches (so padding stays small), and
/// each batch is built from the same encodings, so no text is tokenized twice (tokenizing was about 3% of Gradient's
/// time on the tiny SST-2 model, and LIME on a token model tokenized each perturbed text three times).
/// </summary>
internal sealed class TokenizedTexts
{
    private readonly ITextClassifier model;
    private readonly IReadOnlyList<string> texts;
    private readonly IReadOnlyList<string>? pairs;
    private readonly Encoding[] encodings;
    private readonly bool truncate;
    private readonly TruncationStrategy strategy;

    private TokenizedTexts(ITextClassifier model, IReadOnlyList<string> texts, IReadOnlyList<string>? pairs, Encoding[] encodings, bool truncate, TruncationStrategy strategy, TimeSpan time)
    {
        TimePerText = time / Math.Max(1, texts.Count);
        this.model = model;
        this.texts = texts;
        this.pairs = pairs;
        this.encodings = encodings;
        this.truncate = truncate;
        this.strategy = strategy;
        Lengths = encodings.Select(e => e.Length).ToArray();
    }

    /// <summary>The time tokenizing took, per text (a batch's share of shared work in the explanations' timings).</summary>
    public TimeSpan TimePerText { get; }

    /// <summary>texts[<paramref name="i"/>], for messages.</summary>
    public string Text(int i) => texts[i];

    /// <summary>Each text's token count (special tokens included, after truncation when asked for).</summary>
    public int[] Lengths { get; }

    /// <summary>
    /// Tokenizes every text (with its pair) as <see cref="ITextClassifier.Encode(IReadOnlyList{string}, bool, IReadOnlyList{string}?, TruncationStrategy)"/>
    /// will, checking each text here so an error names its index in <paramref name="texts"/> rather than in a batch.
    /// </summary>
    /// <exception cref="ArgumentException">A text is empty or whitespace, or longer than the model accepts without <paramref name="truncate"/>.</exception>
    public static TokenizedTexts Of(ITextClassifier model, IReadOnlyList<string> texts, bool truncate,
        IReadOnlyList<string>? pairs = null, TruncationStrategy strategy = TruncationStrategy.LongestFirst)
    {
        ArgumentNullException.ThrowIfNull(texts);
        TextPairs.Check(texts, pairs);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var encodings = new Encoding[texts.Count];
        for (var i = 0; i < texts.Count; i++)
        {
            encodings[i] = model.Tokenizer.Encode(CheckedText(texts, i), pairs?[i], truncate ? model.MaxLength : null, TruncationSide.Right, strategy);
            CheckLength(model, pairs, i, encodings[i].Length, truncate);
        }

        return new TokenizedTexts(model, texts, pairs, encodings, truncate, strategy, clock.Elapsed);
    }

    /// <summary>texts[<paramref name="i"/>], or a typed error naming it when it is null, empty or whitespace.</summary>
    internal static string CheckedText(IReadOnlyList<string> texts, int i)
    {
        var text = texts[i] ?? throw new ArgumentNullException(nameof(texts), $"texts[{i}] is null");
        return string.IsNullOrWhiteSpace(text)
            ? throw new ArgumentException($"texts[{i}] is empty or whitespace: there is nothing to classify or explain", nameof(texts))
            : text;
    }

    /// <summary>Throws naming texts[<paramref name="i"/>] when, untruncated, its <paramref name="length"/> tokens exceed the model's limit.</summary>
    internal static void CheckLength(ITextClassifier model, IReadOnlyList<string>? pairs, int i, int length, bool truncate)
    {
        if (!truncate && model.MaxLength is { } max && length > max)
        {
            throw new ArgumentException(
                $"texts[{i}]{(pairs is null ? string.Empty : " with its pair")} has {length} tokens but {model.Name} accepts at most {max}: shorten it, or ask for truncation (truncate: true / --truncate), which the result then reports",
                nameof(texts));
        }
    }

    /// <summary>
    /// Indices of the texts, sorted by token count and cut into chunks of at most <paramref name="size"/> texts and
    /// <paramref name="tokenBudget"/> padded tokens (texts × the longest; a longer text goes alone). For a wrapped model
    /// that takes no attention mask (<see cref="TextClassifier.FromTorchSharp(TorchSharp.torch.nn.Module{TorchSharp.torch.Tensor, TorchSharp.torch.Tensor}, ITokenizer, string, IReadOnlyList{string}, int?, string?, bool, OutputHead?)"/>)
    /// a chunk never mixes token counts, so such a model never sees padding.
    /// </summary>
    public IEnumerable<int[]> Chunks(int size, int tokenBudget = int.MaxValue)
    {
        if (size < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "batch size must be at least 1");
        }

        if (model.Module is TorchSharpAdapter { TakesMask: false })
        {
            // One length per group, so the budget allows budget / length texts (at least one).
            return Enumerable.Range(0, texts.Count).GroupBy(i => Lengths[i]).OrderBy(g => g.Key)
                .SelectMany(g => g.Chunk(Math.Clamp(tokenBudget / Math.Max(1, g.Key), 1, size)));
        }

        return TokenBudgetBatches.Chunk(Lengths, tokenBudget, size);
    }

    /// <summary>
    /// Refuses a text (or a pair's text) whose encoding has no token but the special ones: the tokenizer dropped
    /// every one of its characters (zero-width and format characters such as U+200B, U+00AD), so nothing of it reaches
    /// the model and there is nothing to attribute. Explaining it would give an empty result and no error.
    /// </summary>
    /// <exception cref="ArgumentException">The first such text, named by index, its characters shown as code points.</exception>
    public void RequireTokens()
    {
        for (var i = 0; i < encodings.Length; i++)
        {
            RequireTokens(texts[i], pairs?[i], i, encodings[i]);
        }
    }

    /// <inheritdoc cref="RequireTokens()"/>
    /// <param name="text">The text.</param>
    /// <param name="pair">Its pair's second text, or null.</param>
    /// <param name="i">Its index in the caller's list, for the message.</param>
    /// <param name="encoding">Its encoding (with the pair's).</param>
    /// <param name="name">How the message names the text, for a caller whose argument is not a list named texts; null for <c>texts[i]</c>.</param>
    /// <param name="parameter">The parameter the refusal of the text names.</param>
    internal static void RequireTokens(string text, string? pair, int i, Encoding encoding, string? name = null, string parameter = "texts")
    {
        // Each text of a pair is checked on its own where the tokenizer says which tokens are whose (SequenceIds).
        var segments = pair is not null && encoding.SequenceIds is not null ? 2 : 1;
        for (var segment = 0; segment < segments; segment++)
        {
            if (Enumerable.Range(0, encoding.Length).Any(t => !encoding.SpecialTokensMask[t] && (segments == 1 || encoding.SequenceOf(t) == segment)))
            {
                continue;
            }

            var shown = Shown(segment == 0 ? text : pair!);
            throw new ArgumentException(
                $"{(segment == 0 ? name ?? $"texts[{i}]" : $"pairs[{i}]")} (\"{shown}\") has no token but the special ones: the tokenizer drops every one of its characters " +
                "(zero-width or format characters), so nothing of it reaches the model and there is nothing to attribute; give a text with visible characters",
                segment == 0 ? parameter : "pairs");
        }
    }

    /// <summary>
    /// A text as a message shows it: its first 20 characters, control, format and space-separator characters (which a
    /// tokenizer drops, and a reader cannot see) written as <c>\uXXXX</c>, and "…" when it is longer.
    /// </summary>
    internal static string Shown(string given) =>
        string.Concat(given.Take(20).Select(c => char.IsControl(c) || char.GetUnicodeCategory(c) is System.Globalization.UnicodeCategory.Format or System.Globalization.UnicodeCategory.SpaceSeparator
            ? $"\\u{(int)c:X4}" : c.ToString())) + (given.Length > 20 ? "…" : string.Empty);

    /// <summary>The texts at <paramref name="chunk"/> as one padded batch, built from their encodings (a model other than <see cref="TextClassifier"/> encodes them itself).</summary>
    public EncodedBatch Batch(int[] chunk)
    {
        var chunkTexts = chunk.Select(i => texts[i]).ToArray();
        var chunkPairs = pairs is null ? null : chunk.Select(i => pairs[i]).ToArray();
        return model is TextClassifier classifier
            ? classifier.Encode(chunkTexts, chunkPairs, chunk.Select(i => encodings[i]).ToArray(), truncate)
            : model.Encode(chunkTexts, truncate, chunkPairs, strategy);
    }
}
