using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Attribution.Methods;
using Attribution.Models;

namespace Attribution.Salience;

/// <summary>
/// Writes and reads explanations as one JSON document (the format of <c>docs/json-format.md</c>, schema
/// <c>docs/json-schema.json</c>). Numbers are written with round-trip precision (the shortest text that parses back to
/// the same <see cref="double"/>, or <see cref="float"/> for raw attributions), so reading a written document gives back
/// every field of every <see cref="Explanation"/> exactly, <see cref="Explanation.Kind"/> included (written as
/// <c>kind</c> from version 4 on, the attention rollout kinds from version 5 on; a result without it, as in every older
/// document, reads as <see cref="MethodKind.Custom"/>, an attention rollout result of an older document included). JSON has no NaN or infinity: writing a non-finite number is
/// an error naming the field. Reading validates the document and fails with a <see cref="JsonException"/> that names
/// the offending path.
/// </summary>
public static class ExplanationJson
{
    private static readonly JavaScriptEncoder Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;

    private static readonly string[] DocumentProperties = ["version", "model", "labels", "method", "settings", "results"];

    private static readonly string[] ResultProperties =
    [
        "text", "text_pair", "method", "kind", "settings", "tokens", "token_ids", "token_type_ids", "segments", "offsets", "is_special", "scores", "raw_attributions", "target",
        "target_label", "logits", "probabilities", "head", "score_output", "signed", "reduction", "normalization", "word_aggregation",
        "special_tokens_kept", "convergence_delta", "relevance_shares", "surrogate", "words", "notes", "elapsed_ms",
    ];

    private static readonly string[] WordProperties = ["text", "segment", "offsets", "score", "token_indices"];

    // A word's score is the aggregate of its tokens' scores: a word of no token has a score made of nothing, and words
    // are only made for the spans that have tokens (SalienceLayer.AggregateWords).
    private const string NoTokens = "a word covers at least one token; leave out a word that has none";

    private static readonly string[] SurrogateProperties =
    [
        "features", "coefficients", "intercept", "r_squared", "unweighted_r_squared", "samples", "local_prediction",
    ];

    private static readonly string[] FeatureProperties = ["text", "segment", "offsets"];

    /// <summary>Parses <c>logit</c>, <c>probability</c> or <c>log-probability</c>.</summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not one of the three (the message lists them).</exception>
    public static ScoreOutput ParseScoreOutput(string name) => ResultNames.ParseScoreOutput(name);

    /// <summary>Writes a single-method document (or, with <paramref name="method"/> = <c>compare</c>, a comparison document).</summary>
    /// <param name="stream">Receives UTF-8 JSON (nothing is written when the document is invalid).</param>
    /// <param name="model">The model's name; every result must be from it.</param>
    /// <param name="method">The method of every result, or <see cref="ExplanationDocument.CompareMethod"/>.</param>
    /// <param name="settings">The method's settings (unique keys).</param>
    /// <param name="results">The explanations.</param>
    /// <param name="labels">The model's class names, when known (one per output of the model, in order).</param>
    /// <exception cref="ArgumentException">As for <see cref="Write(Stream, ExplanationDocument, bool)"/>; the parameter
    /// named is the part at fault (<paramref name="results"/>, <paramref name="labels"/>, ...).</exception>
    public static void Write(
        Stream stream, string model, string method, IReadOnlyList<KeyValuePair<string, string>> settings,
        IReadOnlyList<Explanation> results, IReadOnlyList<string>? labels = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var document = new ExplanationDocument { Model = model, Method = method, Settings = settings, Results = results, Labels = labels };
        stream.Write(ToUtf8(document, indented: true, fromParts: true));
    }

    /// <summary>Writes a single-method document (or, with <paramref name="method"/> = <c>compare</c>, a comparison document).</summary>
    /// <param name="writer">Receives the JSON text (nothing is written when the document is invalid).</param>
    /// <param name="model">The model's name; every result must be from it.</param>
    /// <param name="method">The method of every result, or <see cref="ExplanationDocument.CompareMethod"/>.</param>
    /// <param name="settings">The method's settings (unique keys).</param>
    /// <param name="results">The explanations.</param>
    /// <param name="labels">The model's class names, when known (one per output of the model, in order).</param>
    /// <exception cref="ArgumentException">As for <see cref="Write(Stream, ExplanationDocument, bool)"/>; the parameter
    /// named is the part at fault (<paramref name="results"/>, <paramref name="labels"/>, ...).</exception>
    public static void Write(
        TextWriter writer, string model, string method, IReadOnlyList<KeyValuePair<string, string>> settings,
        IReadOnlyList<Explanation> results, IReadOnlyList<string>? labels = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var document = new ExplanationDocument { Model = model, Method = method, Settings = settings, Results = results, Labels = labels };
        writer.Write(Encoding.UTF8.GetString(ToUtf8(document, indented: true, fromParts: true)));
    }

    /// <summary>Writes a document as UTF-8 JSON (without a byte-order mark).</summary>
    /// <param name="stream">Receives the JSON (nothing is written when the document is invalid).</param>
    /// <param name="document">The document.</param>
    /// <param name="indented">Indent objects (arrays of numbers and strings stay on one line).</param>
    /// <exception cref="ArgumentException">The document cannot be written: a non-finite number, a result from another
    /// model or (outside a comparison document) another method, duplicate setting keys, inconsistent lengths, logits or a
    /// target label that disagree with the labels, probabilities outside [0, 1] (or a softmax's not summing to 1), a
    /// negative elapsed time, or text that is not valid UTF-16. The message names the field; the parameter is
    /// <paramref name="document"/> (in the overloads that take the document's parts, the part: <c>results</c>,
    /// <c>labels</c>, ...).</exception>
    public static void Write(Stream stream, ExplanationDocument document, bool indented = true)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var bytes = ToUtf8(document, indented);
        stream.Write(bytes);
    }

    /// <summary>Writes a document as JSON text.</summary>
    /// <param name="writer">Receives the JSON (nothing is written when the document is invalid).</param>
    /// <param name="document">The document.</param>
    /// <param name="indented">Indent objects (arrays of numbers and strings stay on one line).</param>
    /// <exception cref="ArgumentException">As for <see cref="Write(Stream, ExplanationDocument, bool)"/>.</exception>
    public static void Write(TextWriter writer, ExplanationDocument document, bool indented = true)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(Serialize(document, indented));
    }

    /// <summary>The document as JSON text.</summary>
    /// <param name="document">The document.</param>
    /// <param name="indented">Indent objects (arrays of numbers and strings stay on one line).</param>
    /// <exception cref="ArgumentException">As for <see cref="Write(Stream, ExplanationDocument, bool)"/>.</exception>
    public static string Serialize(ExplanationDocument document, bool indented = true) =>
        Encoding.UTF8.GetString(ToUtf8(document, indented));

    /// <summary>Reads a document from UTF-8 JSON (one leading UTF-8 byte-order mark is skipped, as System.Text.Json skips it).</summary>
    /// <exception cref="JsonException">The text is not JSON or not a valid document; the message names the path.</exception>
    public static ExplanationDocument Read(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var json = JsonDocument.Parse(stream, ParseOptions);
        return new DocumentReader().Document(json.RootElement);
    }

    /// <summary>Reads a document from JSON text (one leading byte-order mark, U+FEFF, is skipped).</summary>
    /// <exception cref="JsonException">The text is not JSON or not a valid document; the message names the path.</exception>
    public static ExplanationDocument Read(TextReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return Parse(reader.ReadToEnd());
    }

    /// <summary>Reads a document from a JSON string (one leading byte-order mark, U+FEFF, is skipped).</summary>
    /// <exception cref="JsonException">The text is not JSON or not a valid document; the message names the path.</exception>
    public static ExplanationDocument Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);

        // A file saved with a byte-order mark, read as text (File.ReadAllText keeps it when the encoding given is not
        // the file's, a StringReader always): Read(Stream) skips one UTF-8 mark, so one leading U+FEFF is skipped here
        // too. Only one, as for the stream: a second is a character before the JSON value, refused by the parser.
        if (json.StartsWith('\uFEFF'))
        {
            json = json[1..];
        }

        if (UnpairedSurrogate(json) is { } index)
        {
            // System.Text.Json refused it with an ArgumentException that names no place ("Cannot transcode invalid
            // UTF-16 string"); a UTF-8 stream with the same fault is a JsonException.
            throw new JsonException(
                $"invalid explanation document: the text has an unpaired surrogate (U+{(int)json[index]:X4}) at character {index}: it is not valid UTF-16, so not JSON text", null, null, null);
        }

        using var document = JsonDocument.Parse(json, ParseOptions);
        return new DocumentReader().Document(document.RootElement);
    }

    private static JsonDocumentOptions ParseOptions => new() { MaxDepth = 16 };

    // fromParts: the caller gave the document's parts (model, method, settings, results, labels), which errors then name.
    private static byte[] ToUtf8(ExplanationDocument document, bool indented, bool fromParts = false)
    {
        ArgumentNullException.ThrowIfNull(document);
        Check(document, fromParts);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented, Encoder = Encoder }))
        {
            new DocumentWriter(writer, indented).Document(document);
        }

        return buffer.ToArray();
    }

    // ---------------------------------------------------------------- writing

    private static void Check(ExplanationDocument document, bool fromParts)
    {
        // The parameter an error names: the document, or the part of it the caller passed.
        string Param(string part) => fromParts ? part : nameof(document);
        if (document.Version < ExplanationDocument.FirstVersion || document.Version > ExplanationDocument.CurrentVersion)
        {
            throw new ArgumentException(
                $"this library writes format versions {ExplanationDocument.FirstVersion} to {ExplanationDocument.CurrentVersion}, not {document.Version}", nameof(document));
        }

        ArgumentNullException.ThrowIfNull(document.Model, "document.Model");
        ArgumentNullException.ThrowIfNull(document.Method, "document.Method");
        ArgumentNullException.ThrowIfNull(document.Settings, "document.Settings");
        ArgumentNullException.ThrowIfNull(document.Results, "document.Results");
        CheckText(document.Model, "model", Param("model"));
        CheckText(document.Method, "method", Param("method"));
        CheckSettings(document.Settings, "settings", Param("settings"));
        if (document.Labels is { } labels)
        {
            for (var i = 0; i < labels.Count; i++)
            {
                CheckText(labels[i] ?? throw new ArgumentException($"labels[{i}] is null", Param("labels")), $"labels[{i}]", Param("labels"));
            }
        }

        var results = Param("results");
        for (var r = 0; r < document.Results.Count; r++)
        {
            var e = document.Results[r] ?? throw new ArgumentException($"results[{r}] is null", results);
            var at = $"results[{r}]";
            if (e.Model != document.Model)
            {
                throw new ArgumentException($"{at} is from model '{e.Model}' but the document is for model '{document.Model}': write one document per model", results);
            }

            if (document.IsComparison)
            {
                if (e.Method == ExplanationDocument.CompareMethod)
                {
                    throw new ArgumentException($"{at}: '{ExplanationDocument.CompareMethod}' is not a method name", results);
                }
            }
            else if (e.Method != document.Method)
            {
                throw new ArgumentException(
                    $"{at} is from method '{e.Method}' but the document is for method '{document.Method}': use method '{ExplanationDocument.CompareMethod}' for results of several methods",
                    results);
            }

            CheckResult(e, at, results);
            if (document.Labels is { } names && LabelMismatch(e.Logits.Length, e.Target, e.TargetLabel, names) is { } mismatch)
            {
                throw new ArgumentException($"{at}.{mismatch.Field}: {mismatch.Message}", results);
            }
        }
    }

    /// <summary>
    /// Why a result's outputs disagree with the document's labels (one name per output of the one model, in order), as
    /// the field (<c>logits</c> or <c>target_label</c>) and the reason; null when they agree. Names may repeat: Hugging
    /// Face's <c>id2label</c> allows it and the loader keeps such models, and <c>target</c> still says which class it is.
    /// </summary>
    private static (string Field, string Message)? LabelMismatch(int logits, int target, string targetLabel, IReadOnlyList<string> labels) =>
        logits != labels.Count
            ? ("logits", $"{logits} outputs, but the document's labels name {labels.Count} ({string.Join(", ", labels)}): a document holds one model's results, one label per output; give that model's labels, or none")
            : targetLabel != labels[target]
                ? ("target_label", $"'{targetLabel}' is not the name labels[{target}] gives class {target} ('{labels[target]}'): the target label is the label of the target class")
                : null;

    /// <summary>
    /// Why a result's probabilities are not what its head gives, or null: each in [0, 1] (softmax and sigmoid alike;
    /// a regression head has none), and a softmax's summing to 1 within <see cref="BlackBoxClassifier.SumTolerance"/>
    /// (a black box's probabilities, which LIME results carry, may be rounded that far; a model's softmax is exact to
    /// about 1e-15). A multi-label head's sigmoids are independent and need not sum to 1.
    /// </summary>
    private static (int? Index, string Message)? ImplausibleProbabilities(IReadOnlyList<double> probabilities, IReadOnlyList<double> logits, OutputHead head)
    {
        for (var i = 0; i < probabilities.Count; i++)
        {
            if (!(probabilities[i] >= 0 && probabilities[i] <= 1))
            {
                return (i, $"{probabilities[i].ToString("R", CultureInfo.InvariantCulture)} is not a probability (0 to 1)");
            }
        }

        var sum = probabilities.Sum();
        if (head == OutputHead.SingleLabel && probabilities.Count > 0 && !(Math.Abs(sum - 1) <= BlackBoxClassifier.SumTolerance))
        {
            return (null, $"the probabilities sum to {sum.ToString("R", CultureInfo.InvariantCulture)}, not 1 (within {BlackBoxClassifier.SumTolerance.ToString(CultureInfo.InvariantCulture)}): " +
                $"a {OutputHead.SingleLabel.Name()} head's probabilities are the softmax of its logits (independent sigmoids are a {OutputHead.MultiLabel.Name()} head's)");
        }

        // The probabilities are the head's function of the logits. A black box's logits are the logs of its
        // probabilities, whose softmax renormalizes them: within the same 0.02 as their sum; a model's are computed
        // from the logits in float64 and agree to rounding.
        if (probabilities.Count > 0 && probabilities.Count == logits.Count && logits.All(double.IsFinite))
        {
            var expected = head.Probabilities(logits);
            for (var i = 0; i < probabilities.Count; i++)
            {
                if (!(Math.Abs(probabilities[i] - expected[i]) <= BlackBoxClassifier.SumTolerance))
                {
                    var function = head == OutputHead.MultiLabel ? "the sigmoid of its logit" : "the softmax of the logits";
                    return (i, $"{probabilities[i].ToString("R", CultureInfo.InvariantCulture)} differs from {function}, {expected[i].ToString("R", CultureInfo.InvariantCulture)}, " +
                        $"by more than {BlackBoxClassifier.SumTolerance.ToString(CultureInfo.InvariantCulture)} ({head.Name()} head): the logits and probabilities must come from the same prediction");
                }
            }
        }

        return null;
    }

    private static void CheckResult(Explanation e, string at, string param)
    {
        CheckText(e.Text, $"{at}.text", param);
        if (e.TextPair is not null)
        {
            CheckText(e.TextPair, $"{at}.text_pair", param);
        }

        CheckText(e.Method, $"{at}.method", param);
        CheckSettings(e.Settings, $"{at}.settings", param);
        CheckPresent(e.Tokens, $"{at}.tokens", param);
        CheckPresent(e.TokenIds, $"{at}.token_ids", param);
        CheckPresent(e.Offsets, $"{at}.offsets", param);
        CheckPresent(e.IsSpecial, $"{at}.is_special", param);
        CheckPresent(e.Scores, $"{at}.scores", param);
        CheckPresent(e.Logits, $"{at}.logits", param);
        CheckPresent(e.Probabilities, $"{at}.probabilities", param);
        var n = e.Tokens.Length;
        CheckLength(e.TokenIds.Length, n, $"{at}.token_ids", param);
        CheckLength(e.Offsets.Length, n, $"{at}.offsets", param);
        CheckLength(e.IsSpecial.Length, n, $"{at}.is_special", param);
        CheckLength(e.Scores.Length, n, $"{at}.scores", param);
        if (!e.Segments.IsDefaultOrEmpty)
        {
            CheckLength(e.Segments.Length, n, $"{at}.segments", param);
        }
        else if (e.TextPair is not null)
        {
            // Without segments every token would be read as the first text's: the pair's words would vanish.
            throw new ArgumentException($"{at} has a text_pair but no segments: give each token its segment (0 for the text, 1 for text_pair, null for special tokens)", param);
        }

        if (!e.TokenTypeIds.IsDefaultOrEmpty)
        {
            CheckLength(e.TokenTypeIds.Length, n, $"{at}.token_type_ids", param);
        }

        for (var i = 0; i < n; i++)
        {
            CheckText(e.Tokens[i], $"{at}.tokens[{i}]", param);

            // As the reader and the schema check: a token type id indexes the model's token type embeddings.
            if (!e.TokenTypeIds.IsDefaultOrEmpty && e.TokenTypeIds[i] < 0)
            {
                throw new ArgumentException($"{at}.token_type_ids[{i}] is {e.TokenTypeIds[i]}: a token type id is 0 or more", param);
            }

            // As the reader checks every entry, a special token's (no offset) included.
            if (!e.Segments.IsDefaultOrEmpty && e.Segments[i] is { } declared && (declared is not (0 or 1) || (declared == 1 && e.TextPair is null)))
            {
                throw new ArgumentException($"{at}.segments[{i}] is {declared}: 0 (the text) or, for a pair, 1 (text_pair)", param);
            }

            // As the reader checks: a token's span lies within the text it came from (text_pair for segment 1).
            if (e.Offsets[i] is { } span)
            {
                var source = e.SegmentOf(i) == 1 ? e.TextPair! : e.Text;
                if (span.Start < 0 || span.Start > span.End || span.End > source.Length)
                {
                    throw new ArgumentException($"{at}.offsets[{i}]: [{span.Start}, {span.End}] is not a span of the {source.Length}-character text", param);
                }
            }
        }

        CheckFinite(e.Scores, $"{at}.scores", param);
        if (e.RawAttributions is { } raw)
        {
            CheckLength(raw.Count, n, $"{at}.raw_attributions", param);
            for (var i = 0; i < raw.Count; i++)
            {
                for (var j = 0; j < raw[i].Length; j++)
                {
                    if (!float.IsFinite(raw[i][j]))
                    {
                        throw NonFinite($"{at}.raw_attributions[{i}][{j}]", raw[i][j], param);
                    }
                }
            }
        }

        CheckText(e.TargetLabel, $"{at}.target_label", param);
        CheckFinite(e.Logits, $"{at}.logits", param);
        CheckFinite(e.Probabilities, $"{at}.probabilities", param);
        _ = e.Head.Name();
        if (e.Probabilities.Length != (e.Head == OutputHead.Regression ? 0 : e.Logits.Length))
        {
            throw new ArgumentException($"{at}: {e.Logits.Length} logits but {e.Probabilities.Length} probabilities for a {e.Head.Name()} head (regression has none, the others one per logit)", param);
        }

        if (e.Logits.Length == 0)
        {
            // The reader and the schema require at least one (the target indexes them).
            throw new ArgumentException($"{at}.logits is empty: a result carries the model's outputs for its text, at least one", param);
        }

        if (e.Target < 0 || e.Target >= e.Logits.Length)
        {
            throw new ArgumentException($"{at}.target: class {e.Target} is out of range for {e.Logits.Length} logits", param);
        }

        // As the reader checks: probabilities a head cannot give.
        if (ImplausibleProbabilities(e.Probabilities, e.Logits, e.Head) is { } implausible)
        {
            throw new ArgumentException($"{at}.probabilities{(implausible.Index is { } i ? $"[{i}]" : string.Empty)}: {implausible.Message}", param);
        }

        if (e.Elapsed < TimeSpan.Zero)
        {
            throw new ArgumentException($"{at}.elapsed_ms: {e.Elapsed.TotalMilliseconds.ToString("R", CultureInfo.InvariantCulture)} ms is negative: a duration is 0 or more", param);
        }

        _ = e.Kind.Name();
        _ = e.Reduction.Name();
        _ = e.Normalization.Name();
        _ = e.WordAggregation.Name();
        if (e.Signedness is not (Signedness.Signed or Signedness.Unsigned))
        {
            throw new ArgumentException($"{at}.signed: {e.Signedness} is not a signedness", param);
        }
        if (e.ConvergenceDelta is { } delta && !double.IsFinite(delta))
        {
            throw NonFinite($"{at}.convergence_delta", delta, param);
        }

        if (e.RelevanceShares is { } shares)
        {
            foreach (var (name, share) in shares)
            {
                CheckText(name, $"{at}.relevance_shares key", param);
                if (!double.IsFinite(share))
                {
                    throw NonFinite($"{at}.relevance_shares.{name}", share, param);
                }
            }
        }

        if (e.Surrogate is { } surrogate)
        {
            CheckSurrogate(surrogate, e.Text, e.TextPair, $"{at}.surrogate", param);
        }

        for (var w = 0; w < e.Words.Count; w++)
        {
            var word = e.Words[w];
            CheckText(word.Text, $"{at}.words[{w}].text", param);
            if (!double.IsFinite(word.Score))
            {
                throw NonFinite($"{at}.words[{w}].score", word.Score, param);
            }

            // What the reader checks, checked before writing: a document this writes, it reads back.
            if (word.Segment is not (0 or 1) || (word.Segment == 1 && e.TextPair is null))
            {
                throw new ArgumentException($"{at}.words[{w}].segment is {word.Segment}: 0 (the text) or, for a pair, 1 (text_pair)", param);
            }

            var source = word.Segment == 1 ? e.TextPair! : e.Text;
            if (word.Start < 0 || word.Start > word.End || word.End > source.Length)
            {
                throw new ArgumentException($"{at}.words[{w}]: [{word.Start}, {word.End}] is not a span of the {source.Length}-character text", param);
            }

            if (WordMismatch(word.Text, source, word.Start, word.End) is { } mismatch)
            {
                throw new ArgumentException($"{at}.words[{w}]: {mismatch}", param);
            }

            if (NotWholeWord(source, word.Start, word.End) is { } part)
            {
                throw new ArgumentException($"{at}.words[{w}]: {part}", param);
            }

            if (w > 0 && WordOrder(e.Words[w - 1], word) is { } order)
            {
                throw new ArgumentException($"{at}.words[{w}]: {order}", param);
            }

            CheckPresent(word.TokenIndices, $"{at}.words[{w}].token_indices", param);
            if (word.TokenIndices.IsEmpty)
            {
                throw new ArgumentException($"{at}.words[{w}].token_indices is empty: {NoTokens}", param);
            }

            var previous = -1;
            foreach (var i in word.TokenIndices)
            {
                if (i < 0 || i >= n)
                {
                    throw new ArgumentException($"{at}.words[{w}].token_indices: token {i} is out of range for {n} tokens", param);
                }

                if (i <= previous)
                {
                    throw new ArgumentException($"{at}.words[{w}].token_indices: token {i} follows token {previous}: {IndexOrder}", param);
                }

                previous = i;

                if (!e.Segments.IsDefaultOrEmpty && e.Segments[i] is { } tokenSegment && tokenSegment != word.Segment)
                {
                    throw new ArgumentException($"{at}.words[{w}].token_indices: token {i} is in segment {tokenSegment}, but the word is in segment {word.Segment}", param);
                }

                if (TokenOutsideWord(i, e.Offsets[i], e.SegmentOf(i), word.Segment, source, word.Start, word.End) is { } outside)
                {
                    throw new ArgumentException($"{at}.words[{w}].token_indices: {outside}", param);
                }

                // A special token that carries an offset (Hugging Face's [CLS] at [0, 0)) is in no word either.
                if (e.IsSpecial[i])
                {
                    throw new ArgumentException($"{at}.words[{w}].token_indices: token {i} is a special token, which belongs to no word", param);
                }
            }
        }

        for (var i = 0; i < e.Notes.Count; i++)
        {
            CheckText(e.Notes[i], $"{at}.notes[{i}]", param);
        }
    }

    /// <summary>
    /// Why token <paramref name="token"/> cannot be one of the tokens of the word at [<paramref name="start"/>,
    /// <paramref name="end"/>) of <paramref name="text"/> (the word's segment's text), or null when it can. It is the rule
    /// <see cref="SalienceLayer.AggregateWords"/> puts tokens into words by (<see cref="Text.WordSpans.OfToken"/>): a
    /// token with an offset in the word's text that starts inside the word, or that starts in the whitespace just before
    /// it and reaches into it (byte-level BPE without <c>trim_offsets</c>: <c>Ġbig</c>). Byte-level pieces of one
    /// character share its offset and so its word; a special token (no offset) and a token of the other text of a pair
    /// are in no word of this text.
    /// </summary>
    /// <remarks><paramref name="tokenSegment"/> is the text the token's offset indexes (<see cref="Explanation.SegmentOf"/>).</remarks>
    private static string? TokenOutsideWord(int token, (int Start, int End)? offset, int? tokenSegment, int wordSegment, string text, int start, int end)
    {
        if (offset is not { } span)
        {
            return $"token {token} has no offsets (a special token), so it lies in no word";
        }

        if (tokenSegment != wordSegment)
        {
            return $"token {token} (offsets [{span.Start}, {span.End}]) is in segment {tokenSegment}, but the word is in segment {wordSegment}";
        }

        // The word alone as the span list: the token starts in it, or before it and ends past its start; and when it
        // starts before, only whitespace lies between (else the writer gave it to the word it starts in, or to none).
        var reaches = Text.WordSpans.OfToken([(start, end)], span) == 0
            && (span.Start >= start || text.AsSpan(span.Start, start - span.Start).IsWhiteSpace());
        return reaches
            ? null
            : $"token {token}'s offsets [{span.Start}, {span.End}] lie outside the word's [{start}, {end}] ('{text[start..end]}'): "
                + "a word's tokens start inside it, or in the whitespace just before it and reach into it";
    }

    private const string IndexOrder = "a word lists each of its tokens once, in increasing order";

    /// <summary>
    /// Why [<paramref name="start"/>, <paramref name="end"/>) is not one word of <paramref name="text"/> (a maximal run
    /// of non-whitespace characters, <see cref="Text.WordSpans.Of"/>), or null when it is.
    /// </summary>
    private static string? NotWholeWord(string text, int start, int end) =>
        start < end && (start == 0 || char.IsWhiteSpace(text[start - 1])) && (end == text.Length || char.IsWhiteSpace(text[end]))
            && !HasWhiteSpace(text.AsSpan(start, end - start))
            ? null
            : $"[{start}, {end}] ('{text[start..end]}') is not a word of its text: a word is a whole run of non-whitespace characters";

    /// <summary>Whether <paramref name="text"/> holds a character <see cref="char.IsWhiteSpace(char)"/> (which WordSpans splits on).</summary>
    private static bool HasWhiteSpace(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Why <paramref name="word"/> cannot follow <paramref name="previous"/> (words are in text order, the pair's second text after the first, each once), or null.</summary>
    private static string? WordOrder(WordScore previous, WordScore word) =>
        (word.Segment, word.Start).CompareTo((previous.Segment, previous.Start)) > 0
            ? null
            : $"the word '{word.Text}' at [{word.Start}, {word.End}] of segment {word.Segment} comes after '{previous.Text}' at [{previous.Start}, {previous.End}] of segment {previous.Segment}: words are in text order, each once";

    /// <summary>Why a word's text is not the text at its offsets, or null when it is.</summary>
    private static string? WordMismatch(string word, string text, int start, int end) =>
        text.AsSpan(start, end - start).SequenceEqual(word)
            ? null
            : $"the text '{word}' is not what its offsets [{start}, {end}] hold in the text ('{text[start..end]}')";

    // pair: the result's text_pair, which features of segment 1 are spans of; null for a single text.
    private static void CheckSurrogate(SurrogateModel surrogate, string text, string? pair, string at, string param)
    {
        var features = surrogate.Features ?? throw new ArgumentException($"{at}.features is null", param);
        var coefficients = surrogate.Coefficients.IsDefault ? throw new ArgumentException($"{at}.coefficients is not set", param) : surrogate.Coefficients;
        for (var i = 0; i < features.Count; i++)
        {
            var feature = features[i] ?? throw new ArgumentException($"{at}.features[{i}] is null", param);
            CheckText(feature.Text, $"{at}.features[{i}].text", param);
            if (feature.Segment is not (0 or 1) || (feature.Segment == 1 && pair is null))
            {
                // As for words: segment 1 (the pair's text) needs a text_pair; written, any other would not read back.
                throw new ArgumentException($"{at}.features[{i}] is in segment {feature.Segment}: 0 (the text) or, for a pair, 1 (text_pair)", param);
            }

            var source = feature.Segment == 1 ? pair! : text;
            if (feature.Start < 0 || feature.Start > feature.End || feature.End > source.Length)
            {
                throw new ArgumentException($"{at}.features[{i}]: [{feature.Start}, {feature.End}] is not a span of the {source.Length}-character {(feature.Segment == 1 ? "text_pair" : "text")}", param);
            }

            // As the reader checks (and as for words): a feature's text is what its offsets hold.
            if (WordMismatch(feature.Text, source, feature.Start, feature.End) is { } mismatch)
            {
                throw new ArgumentException($"{at}.features[{i}]: {mismatch}", param);
            }
        }

        if (coefficients.Length != features.Count)
        {
            throw new ArgumentException($"{at}.coefficients has {coefficients.Length} entries but there are {features.Count} features", param);
        }

        CheckFinite(coefficients, $"{at}.coefficients", param);
        foreach (var (name, value) in new[]
                 {
                     ("intercept", surrogate.Intercept), ("r_squared", surrogate.RSquared),
                     ("unweighted_r_squared", surrogate.UnweightedRSquared), ("local_prediction", surrogate.LocalPrediction),
                 })
        {
            if (!double.IsFinite(value))
            {
                throw NonFinite($"{at}.{name}", value, param);
            }
        }

        if (surrogate.Samples < 0)
        {
            throw new ArgumentException($"{at}.samples is {surrogate.Samples}; a fit uses no fewer than 0 samples", param);
        }
    }

    private static void CheckLength(int actual, int expected, string at, string param)
    {
        if (actual != expected)
        {
            throw new ArgumentException($"{at} has {actual} entries but there are {expected} tokens", param);
        }
    }

    private static void CheckPresent<T>(ImmutableArray<T> values, string at, string param)
    {
        if (values.IsDefault)
        {
            throw new ArgumentException($"{at} is not set (a default ImmutableArray)", param);
        }
    }

    private static void CheckFinite(IReadOnlyList<double> values, string at, string param)
    {
        for (var i = 0; i < values.Count; i++)
        {
            if (!double.IsFinite(values[i]))
            {
                throw NonFinite($"{at}[{i}]", values[i], param);
            }
        }
    }

    private static ArgumentException NonFinite(string at, double value, string param) =>
        new($"{at} is {value.ToString(CultureInfo.InvariantCulture)}, which JSON cannot represent; the document is not written (fix the model or method that produced it)", param);

    private static void CheckSettings(IReadOnlyList<KeyValuePair<string, string>> settings, string at, string param)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, value) in settings)
        {
            CheckText(key, $"{at} key", param);
            CheckText(value, $"{at}.{key}", param);
            if (!seen.Add(key))
            {
                throw new ArgumentException($"{at}: the key '{key}' appears twice; a JSON object holds each key once", param);
            }
        }
    }

    private static void CheckText(string? text, string at, string param)
    {
        if (text is null)
        {
            throw new ArgumentException($"{at} is null", param);
        }

        if (UnpairedSurrogate(text) is { } i)
        {
            throw new ArgumentException($"{at} has an unpaired surrogate (U+{(int)text[i]:X4}) at index {i}: it is not valid UTF-16, and JSON text cannot carry it", param);
        }
    }

    /// <summary>The index of the first surrogate of <paramref name="text"/> that is not half of a pair, or null.</summary>
    private static int? UnpairedSurrogate(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return i;
            }
        }

        return null;
    }

    private sealed class DocumentWriter(Utf8JsonWriter writer, bool indented)
    {
        private readonly string separator = indented ? ", " : ",";

        public void Document(ExplanationDocument document)
        {
            writer.WriteStartObject();
            writer.WriteNumber("version", document.RequiredVersion);
            writer.WriteString("model", document.Model);
            if (document.Labels is { } labels)
            {
                writer.WritePropertyName("labels");
                writer.WriteRawValue(Strings(labels));
            }

            writer.WriteString("method", document.Method);
            writer.WritePropertyName("settings");
            Settings(document.Settings);
            writer.WriteStartArray("results");
            foreach (var result in document.Results)
            {
                Result(result, document);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        private void Settings(IReadOnlyList<KeyValuePair<string, string>> settings)
        {
            writer.WriteStartObject();
            foreach (var (key, value) in settings)
            {
                writer.WriteString(key, value);
            }

            writer.WriteEndObject();
        }

        private void Result(Explanation e, ExplanationDocument document)
        {
            writer.WriteStartObject();
            writer.WriteString("text", e.Text);
            if (e.TextPair is { } pair)
            {
                writer.WriteString("text_pair", pair);
            }

            if (document.IsComparison)
            {
                writer.WriteString("method", e.Method);
            }

            if (e.Kind != MethodKind.Custom)
            {
                writer.WriteString("kind", e.Kind.Name());
            }

            if (document.IsComparison || !e.Settings.SequenceEqual(document.Settings))
            {
                writer.WritePropertyName("settings");
                Settings(e.Settings);
            }

            Raw("tokens", Strings(e.Tokens));
            Raw("token_ids", Join(e.TokenIds.Select(id => id.ToString(CultureInfo.InvariantCulture))));
            if (!e.TokenTypeIds.IsDefaultOrEmpty)
            {
                Raw("token_type_ids", Join(e.TokenTypeIds.Select(id => id.ToString(CultureInfo.InvariantCulture))));
            }

            if (!e.Segments.IsDefaultOrEmpty)
            {
                Raw("segments", Join(e.Segments.Select(x => x is { } v ? v.ToString(CultureInfo.InvariantCulture) : "null")));
            }
            Raw("offsets", Join(e.Offsets.Select(o => o is { } span ? Span(span.Start, span.End) : "null")));
            Raw("is_special", Join(e.IsSpecial.Select(b => b ? "true" : "false")));
            Raw("scores", Numbers(e.Scores));
            if (e.RawAttributions is { } raw)
            {
                Raw("raw_attributions", Lines(raw.Select(row => Join(row.Select(Number)))));
            }

            writer.WriteNumber("target", e.Target);
            writer.WriteString("target_label", e.TargetLabel);
            Raw("logits", Numbers(e.Logits));
            Raw("probabilities", Numbers(e.Probabilities));
            if (e.Head != OutputHead.SingleLabel)
            {
                writer.WriteString("head", e.Head.Name());
            }

            writer.WriteString("score_output", e.ScoreOutput.Name());
            writer.WriteBoolean("signed", e.Signed);
            writer.WriteString("reduction", e.Reduction.Name());
            writer.WriteString("normalization", e.Normalization.Name());
            writer.WriteString("word_aggregation", e.WordAggregation.Name());
            writer.WriteBoolean("special_tokens_kept", e.SpecialTokensKept);
            if (e.ConvergenceDelta is { } delta)
            {
                writer.WritePropertyName("convergence_delta");
                writer.WriteRawValue(Number(delta));
            }
            else
            {
                writer.WriteNull("convergence_delta");
            }

            if (e.RelevanceShares is { } shares)
            {
                writer.WriteStartObject("relevance_shares");
                foreach (var (name, share) in shares)
                {
                    Raw(name, Number(share));
                }

                writer.WriteEndObject();
            }

            var colon = indented ? ": " : ":";
            if (e.Surrogate is { } surrogate)
            {
                writer.WriteStartObject("surrogate");
                Raw("features", Lines(
                    surrogate.Features.Select(f => $"{{\"text\"{colon}{Quote(f.Text)}{separator}" + (e.TextPair is null ? string.Empty : $"\"segment\"{colon}{f.Segment}{separator}") +
                        $"\"offsets\"{colon}{Span(f.Start, f.End)}}}"),
                    depth: 1));
                Raw("coefficients", Numbers(surrogate.Coefficients));
                Raw("intercept", Number(surrogate.Intercept));
                Raw("r_squared", Number(surrogate.RSquared));
                Raw("unweighted_r_squared", Number(surrogate.UnweightedRSquared));
                writer.WriteNumber("samples", surrogate.Samples);
                Raw("local_prediction", Number(surrogate.LocalPrediction));
                writer.WriteEndObject();
            }

            Raw("words", Lines(e.Words.Select(word =>
                $"{{\"text\"{colon}{Quote(word.Text)}{separator}" + (e.TextPair is null ? string.Empty : $"\"segment\"{colon}{word.Segment}{separator}") +
                $"\"offsets\"{colon}{Span(word.Start, word.End)}{separator}" +
                $"\"score\"{colon}{Number(word.Score)}{separator}\"token_indices\"{colon}{Join(word.TokenIndices.Select(i => i.ToString(CultureInfo.InvariantCulture)))}}}")));
            writer.WriteStartArray("notes");
            foreach (var note in e.Notes)
            {
                writer.WriteStringValue(note);
            }

            writer.WriteEndArray();
            writer.WritePropertyName("elapsed_ms");
            writer.WriteRawValue(Number(e.Elapsed.Ticks / (double)TimeSpan.TicksPerMillisecond));
            writer.WriteEndObject();
        }

        private void Raw(string name, string json)
        {
            writer.WritePropertyName(name);
            writer.WriteRawValue(json);
        }

        private string Span(int start, int end) =>
            $"[{start.ToString(CultureInfo.InvariantCulture)}{separator}{end.ToString(CultureInfo.InvariantCulture)}]";

        private string Numbers(IEnumerable<double> values) => Join(values.Select(Number));

        private string Strings(IEnumerable<string> values) => Join(values.Select(Quote));

        private string Join(IEnumerable<string> items) => "[" + string.Join(separator, items) + "]";

        /// <summary>
        /// An array of one-line items; indented, one item per line, for the value of a result's property
        /// (<paramref name="depth"/> 0) or of a property of an object in a result (depth 1).
        /// </summary>
        private string Lines(IEnumerable<string> items, int depth = 0)
        {
            var list = items.ToList();
            if (!indented || list.Count == 0)
            {
                return "[" + string.Join(",", list) + "]";
            }

            var close = "\n" + new string(' ', 6 + (2 * depth));
            var item = close + "  ";
            return "[" + item + string.Join("," + item, list) + close + "]";
        }

        private static string Quote(string text) => "\"" + JsonEncodedText.Encode(text, Encoder).ToString() + "\"";

        // Found by the property tests among every power of two ± 2 ulps (none of 2 million random doubles, no float).
        private static string Number(double value) => Text.RoundTripNumber.Format(value);

        private static string Number(float value) => value.ToString("R", CultureInfo.InvariantCulture);
    }

    // ---------------------------------------------------------------- reading

    private sealed class DocumentReader
    {
        public ExplanationDocument Document(JsonElement root)
        {
            const string at = "$";
            Expect(root, JsonValueKind.Object, at, "an object");

            // Looking a property up reads every name before it: a name that is not valid text fails here, named.
            foreach (var property in root.EnumerateObject())
            {
                _ = PropertyName(property, at);
            }

            // The version before the properties: a newer format may add a property, and "update the library" is the
            // fix, not "unknown property".
            var version = Int(Required(root, "version", at), "$.version");
            if (version < ExplanationDocument.FirstVersion || version > ExplanationDocument.CurrentVersion)
            {
                throw Fail("$.version", version > ExplanationDocument.CurrentVersion
                    ? $"format version {version} is newer than this library reads ({ExplanationDocument.CurrentVersion}); update the library"
                    : $"unknown format version {version}");
            }

            CheckProperties(root, at, DocumentProperties);

            var model = String(Required(root, "model", at), "$.model");
            var method = String(Required(root, "method", at), "$.method");
            var settings = Settings(Required(root, "settings", at), "$.settings");
            IReadOnlyList<string>? labels = root.TryGetProperty("labels", out var labelsElement)
                ? Array(labelsElement, "$.labels", String)
                : null;
            var document = new ExplanationDocument { Version = version, Model = model, Method = method, Settings = settings, Labels = labels, Results = [] };
            var results = Array(Required(root, "results", at), "$.results", (element, path) => Result(element, path, document));
            return document with { Results = results };
        }

        private static Explanation Result(JsonElement element, string at, ExplanationDocument document)
        {
            Expect(element, JsonValueKind.Object, at, "an object");
            CheckProperties(element, at, ResultProperties);
            var text = String(Required(element, "text", at), $"{at}.text");
            string? textPair = null;
            if (element.TryGetProperty("text_pair", out var pairElement))
            {
                NeedsVersion(document, ExplanationDocument.HeadVersion, $"{at}.text_pair");
                textPair = String(pairElement, $"{at}.text_pair");
            }

            string method;
            if (element.TryGetProperty("method", out var methodElement))
            {
                method = String(methodElement, $"{at}.method");
                if (!document.IsComparison && method != document.Method)
                {
                    throw Fail($"{at}.method", $"'{method}' differs from the document's method '{document.Method}' (only a '{ExplanationDocument.CompareMethod}' document mixes methods)");
                }

                if (method == ExplanationDocument.CompareMethod)
                {
                    throw Fail($"{at}.method", $"'{ExplanationDocument.CompareMethod}' is not a method name");
                }
            }
            else if (document.IsComparison)
            {
                throw Fail(at, "a result of a 'compare' document names its method");
            }
            else
            {
                method = document.Method;
            }

            // Absent in a result of a method written outside the library, and in every document before version 4.
            var kind = MethodKind.Custom;
            if (element.TryGetProperty("kind", out var kindElement))
            {
                NeedsVersion(document, ExplanationDocument.KindVersion, $"{at}.kind");
                kind = Name(kindElement, $"{at}.kind", ResultNames.ParseMethodKind);
                if (kind == MethodKind.Custom)
                {
                    // The writer leaves kind out for such a result and the schema's enum has no "custom": read, the
                    // document would be written back without it (and in a lower version).
                    throw Fail($"{at}.kind", $"'{kind.Name()}' is not written: leave kind out for a method written outside the library");
                }
                if (ExplanationDocument.NeedsRolloutKindVersion(kind) && document.Version < ExplanationDocument.RolloutKindVersion)
                {
                    // A version 4 reader would refuse the kind: a version 4 document never held it.
                    throw Fail($"{at}.kind", $"the kind '{kind.Name()}' needs format version {ExplanationDocument.RolloutKindVersion} or later, but the document is version {document.Version}");
                }
            }

            IReadOnlyList<KeyValuePair<string, string>> settings;
            if (element.TryGetProperty("settings", out var settingsElement))
            {
                settings = Settings(settingsElement, $"{at}.settings");
            }
            else if (document.IsComparison)
            {
                throw Fail(at, "a result of a 'compare' document carries its method's settings");
            }
            else
            {
                settings = document.Settings;
            }

            var tokens = Array(Required(element, "tokens", at), $"{at}.tokens", String);
            var n = tokens.Length;
            var ids = Array(Required(element, "token_ids", at), $"{at}.token_ids", Long);
            long[] types = [];
            if (element.TryGetProperty("token_type_ids", out var typesElement))
            {
                NeedsVersion(document, ExplanationDocument.HeadVersion, $"{at}.token_type_ids");
                types = Array(typesElement, $"{at}.token_type_ids", Long);
                SameLength(types.Length, n, $"{at}.token_type_ids");
                for (var i = 0; i < types.Length; i++)
                {
                    if (types[i] < 0)
                    {
                        throw Fail($"{at}.token_type_ids[{i}]", $"{types[i]} is negative: a token type id is 0 or more");
                    }
                }
            }

            int?[] segments = [];
            if (element.TryGetProperty("segments", out var segmentsElement))
            {
                NeedsVersion(document, ExplanationDocument.HeadVersion, $"{at}.segments");
                segments = Array(segmentsElement, $"{at}.segments", (e, p) => e.ValueKind == JsonValueKind.Null ? null : (int?)Segment(e, p, textPair));
                SameLength(segments.Length, n, $"{at}.segments");
            }
            else if (textPair is not null)
            {
                // Without segments every token would be read as the first text's: the pair's words would vanish.
                throw Fail(at, "has a text_pair but no segments: each token's segment (0, 1 or null) says which text its offsets index");
            }

            string TextOf(int token) => segments.Length > 0 && segments[token] == 1 ? textPair! : text;
            var offsetsElement = Required(element, "offsets", at);
            if (offsetsElement.ValueKind == JsonValueKind.Array)
            {
                // Before the spans are read: each is checked against the text its token's segment names.
                SameLength(offsetsElement.GetArrayLength(), n, $"{at}.offsets");
            }

            var offsets = Array(offsetsElement, $"{at}.offsets", (e, p) =>
                e.ValueKind == JsonValueKind.Null ? null : ((int, int)?)Span(e, p, TextOf(int.Parse(p[(p.LastIndexOf('[') + 1)..^1], CultureInfo.InvariantCulture))));
            var special = Array(Required(element, "is_special", at), $"{at}.is_special", Bool);
            var scores = Array(Required(element, "scores", at), $"{at}.scores", Double);
            SameLength(ids.Length, n, $"{at}.token_ids");
            SameLength(special.Length, n, $"{at}.is_special");
            SameLength(scores.Length, n, $"{at}.scores");
            float[][]? raw = null;
            if (element.TryGetProperty("raw_attributions", out var rawElement))
            {
                raw = Array(rawElement, $"{at}.raw_attributions", (e, p) => Array(e, p, Single));
                SameLength(raw.Length, n, $"{at}.raw_attributions");
            }

            var logits = Array(Required(element, "logits", at), $"{at}.logits", Double);
            var probabilities = Array(Required(element, "probabilities", at), $"{at}.probabilities", Double);
            if (logits.Length == 0)
            {
                throw Fail($"{at}.logits", "no logits");
            }

            var head = OutputHead.SingleLabel;
            if (element.TryGetProperty("head", out var headElement))
            {
                NeedsVersion(document, ExplanationDocument.HeadVersion, $"{at}.head");
                head = Name(headElement, $"{at}.head", name => OutputHeads.FromProblemType(name, logits.Length));
            }

            if (probabilities.Length != (head == OutputHead.Regression ? 0 : logits.Length))
            {
                throw Fail($"{at}.probabilities", $"{probabilities.Length} probabilities for {logits.Length} logits of a {head.Name()} head (regression has none, the others one per logit)");
            }

            var target = Int(Required(element, "target", at), $"{at}.target");
            if (target < 0 || target >= logits.Length)
            {
                throw Fail($"{at}.target", $"class {target} is out of range for {logits.Length} logits");
            }

            if (ImplausibleProbabilities(probabilities, logits, head) is { } implausible)
            {
                throw Fail($"{at}.probabilities{(implausible.Index is { } i ? $"[{i}]" : string.Empty)}", implausible.Message);
            }

            var targetLabel = String(Required(element, "target_label", at), $"{at}.target_label");
            if (document.Labels is { } labels && LabelMismatch(logits.Length, target, targetLabel, labels) is { } mismatch)
            {
                throw Fail($"{at}.{mismatch.Field}", mismatch.Message);
            }

            var scoreOutput = Name(Required(element, "score_output", at), $"{at}.score_output", ParseScoreOutput);
            var normalization = Name(Required(element, "normalization", at), $"{at}.normalization", ResultNames.ParseNormalization);
            var aggregation = Name(Required(element, "word_aggregation", at), $"{at}.word_aggregation", ResultNames.ParseWordAggregation);
            var reduction = Name(Required(element, "reduction", at), $"{at}.reduction", ResultNames.ParseScoreReduction);
            var deltaElement = Required(element, "convergence_delta", at);
            double? delta = deltaElement.ValueKind == JsonValueKind.Null ? null : Double(deltaElement, $"{at}.convergence_delta");
            IReadOnlyDictionary<string, double>? shares = null;
            if (element.TryGetProperty("relevance_shares", out var sharesElement))
            {
                NeedsVersion(document, ExplanationDocument.SharesAndSurrogateVersion, $"{at}.relevance_shares");
                shares = Shares(sharesElement, $"{at}.relevance_shares");
            }

            SurrogateModel? surrogate = null;
            if (element.TryGetProperty("surrogate", out var surrogateElement))
            {
                NeedsVersion(document, ExplanationDocument.SharesAndSurrogateVersion, $"{at}.surrogate");
                surrogate = Surrogate(surrogateElement, $"{at}.surrogate", document, text, textPair);
            }
            var words = Array(Required(element, "words", at), $"{at}.words", (e, p) => Word(e, p, document, text, textPair, segments, offsets, special));
            for (var w = 1; w < words.Length; w++)
            {
                if (WordOrder(words[w - 1], words[w]) is { } order)
                {
                    throw Fail($"{at}.words[{w}].offsets", order);
                }
            }

            var elapsedMs = Double(Required(element, "elapsed_ms", at), $"{at}.elapsed_ms");
            if (elapsedMs < 0)
            {
                throw Fail($"{at}.elapsed_ms", $"{elapsedMs.ToString("R", CultureInfo.InvariantCulture)} is negative: a duration is 0 or more");
            }
            var ticks = Math.Round(elapsedMs * TimeSpan.TicksPerMillisecond);
            if (ticks < TimeSpan.MinValue.Ticks || ticks > TimeSpan.MaxValue.Ticks)
            {
                throw Fail($"{at}.elapsed_ms", "out of range");
            }

            return new Explanation
            {
                Text = text,
                TextPair = textPair,
                TokenTypeIds = [.. types],
                Segments = [.. segments],
                Model = document.Model,
                Method = method,
                Kind = kind,
                Settings = settings,
                Tokens = [.. tokens],
                TokenIds = [.. ids],
                Offsets = [.. offsets],
                IsSpecial = [.. special],
                Scores = [.. scores],
                RawAttributions = raw?.Select(ImmutableArray.Create).ToArray(),
                Target = target,
                TargetLabel = targetLabel,
                Logits = [.. logits],
                Probabilities = [.. probabilities],
                ScoreOutput = scoreOutput,
                Head = head,
                Signedness = Bool(Required(element, "signed", at), $"{at}.signed") ? Signedness.Signed : Signedness.Unsigned,
                Reduction = reduction,
                Normalization = normalization,
                WordAggregation = aggregation,
                SpecialTokensKept = Bool(Required(element, "special_tokens_kept", at), $"{at}.special_tokens_kept"),
                ConvergenceDelta = delta,
                RelevanceShares = shares,
                Surrogate = surrogate,
                Words = words,
                Notes = Array(Required(element, "notes", at), $"{at}.notes", String),
                Elapsed = TimeSpan.FromTicks((long)ticks),
            };
        }

        // segments: each token's segment (empty for a single text, whose tokens are all the text's).
        // offsets: each token's offset (null for a special token), in the text its segment names.
        private static WordScore Word(JsonElement element, string at, ExplanationDocument document, string text, string? textPair, int?[] segments, (int Start, int End)?[] offsets, bool[] special)
        {
            Expect(element, JsonValueKind.Object, at, "an object");
            CheckProperties(element, at, WordProperties);
            var segment = 0;
            if (element.TryGetProperty("segment", out var segmentElement))
            {
                // A word's segment came with pairs in version 3; a version 1 or 2 reader refuses it as unknown.
                NeedsVersion(document, ExplanationDocument.HeadVersion, $"{at}.segment");
                segment = Segment(segmentElement, $"{at}.segment", textPair);
            }

            var (start, end) = Span(Required(element, "offsets", at), $"{at}.offsets", segment == 1 ? textPair! : text);
            var indices = Array(Required(element, "token_indices", at), $"{at}.token_indices", Int);
            if (indices.Length == 0)
            {
                throw Fail($"{at}.token_indices", $"the list is empty: {NoTokens}");
            }

            for (var i = 0; i < indices.Length; i++)
            {
                if (indices[i] < 0 || indices[i] >= offsets.Length)
                {
                    throw Fail($"{at}.token_indices[{i}]", $"token {indices[i]} is out of range for {offsets.Length} tokens");
                }

                if (i > 0 && indices[i] <= indices[i - 1])
                {
                    throw Fail($"{at}.token_indices[{i}]", $"token {indices[i]} follows token {indices[i - 1]}: {IndexOrder}");
                }

                // A word of one text made of the other text's tokens would mix the two texts' scores.
                if (segments.Length > 0 && segments[indices[i]] is { } tokenSegment && tokenSegment != segment)
                {
                    throw Fail($"{at}.token_indices[{i}]", $"token {indices[i]} is in segment {tokenSegment}, but the word is in segment {segment}");
                }

                // A word made of tokens that lie elsewhere would score text it does not hold (and a writer never makes one).
                var offset = offsets[indices[i]];
                int? effectiveSegment = offset is null ? null : segments.Length > 0 ? segments[indices[i]] ?? 0 : 0;
                if (TokenOutsideWord(indices[i], offset, effectiveSegment, segment, segment == 1 ? textPair! : text, start, end) is { } outside)
                {
                    throw Fail($"{at}.token_indices[{i}]", outside);
                }

                // A special token that carries an offset (Hugging Face's [CLS] at [0, 0)) is in no word either.
                if (special[indices[i]])
                {
                    throw Fail($"{at}.token_indices[{i}]", $"token {indices[i]} is a special token, which belongs to no word");
                }
            }

            var word = String(Required(element, "text", at), $"{at}.text");
            if (WordMismatch(word, segment == 1 ? textPair! : text, start, end) is { } mismatch)
            {
                throw Fail($"{at}.text", mismatch);
            }

            if (NotWholeWord(segment == 1 ? textPair! : text, start, end) is { } part)
            {
                throw Fail($"{at}.offsets", part);
            }

            return new WordScore(word, start, end, Double(Required(element, "score", at), $"{at}.score"), [.. indices])
            {
                Segment = segment,
            };
        }

        /// <summary>0 (the text) or 1 (the pair's second text, which must be there).</summary>
        private static int Segment(JsonElement element, string at, string? textPair)
        {
            var segment = Int(element, at);
            if (segment is not (0 or 1) || (segment == 1 && textPair is null))
            {
                throw Fail(at, textPair is null ? $"segment {segment} without a text_pair (only 0 is possible)" : $"segment {segment} is neither 0 (the text) nor 1 (text_pair)");
            }

            return segment;
        }

        private static void NeedsVersion(ExplanationDocument document, int version, string at)
        {
            if (document.Version < version)
            {
                throw Fail(at, $"this property needs format version {version} or later, but the document is version {document.Version}");
            }
        }

        private static Dictionary<string, double> Shares(JsonElement element, string at)
        {
            Expect(element, JsonValueKind.Object, at, "an object of numbers");
            var shares = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var property in element.EnumerateObject())
            {
                var name = PropertyName(property, at);
                if (!shares.TryAdd(name, Double(property.Value, $"{at}.{name}")))
                {
                    throw Fail($"{at}.{name}", "the key appears twice");
                }
            }

            return shares;
        }

        private static SurrogateModel Surrogate(JsonElement element, string at, ExplanationDocument document, string text, string? textPair)
        {
            Expect(element, JsonValueKind.Object, at, "an object");
            CheckProperties(element, at, SurrogateProperties);
            var features = Array(Required(element, "features", at), $"{at}.features", (e, p) => Feature(e, p, document, text, textPair));
            var coefficients = Array(Required(element, "coefficients", at), $"{at}.coefficients", Double);
            if (coefficients.Length != features.Length)
            {
                throw Fail($"{at}.coefficients", $"{coefficients.Length} coefficients for {features.Length} features");
            }

            var samples = Int(Required(element, "samples", at), $"{at}.samples");
            if (samples < 0)
            {
                throw Fail($"{at}.samples", $"{samples} samples");
            }

            var surrogate = new SurrogateModel(
                features,
                [.. coefficients],
                Double(Required(element, "intercept", at), $"{at}.intercept"),
                Double(Required(element, "r_squared", at), $"{at}.r_squared"),
                Double(Required(element, "unweighted_r_squared", at), $"{at}.unweighted_r_squared"),
                samples);
            if (!double.IsFinite(surrogate.LocalPrediction))
            {
                // The writer writes local_prediction always and refuses a non-finite one: read, the document could not be
                // written again.
                throw Fail($"{at}.coefficients", $"intercept + Σ coefficients is {surrogate.LocalPrediction.ToString(CultureInfo.InvariantCulture)} in double precision: the surrogate's local prediction is not a number JSON can carry");
            }

            if (element.TryGetProperty("local_prediction", out var localElement))
            {
                // Derived (intercept + Σ coefficients): checked, not stored; summing in another order may differ in the last bits.
                var local = Double(localElement, $"{at}.local_prediction");
                var computed = surrogate.LocalPrediction;
                // Σ |coefficients| may overflow where Σ coefficients does not (1e308, -1e308, 1e308): an infinite
                // tolerance took any local_prediction; the largest double stands in for the overflowed magnitude.
                var magnitude = 1 + Math.Abs(surrogate.Intercept) + coefficients.Sum(Math.Abs);
                var tolerance = 1e-9 * (double.IsFinite(magnitude) ? magnitude : double.MaxValue);
                if (!double.IsFinite(computed) || Math.Abs(local - computed) > tolerance)
                {
                    throw Fail($"{at}.local_prediction", $"{Describe(localElement)} is not intercept + Σ coefficients ({computed.ToString("R", CultureInfo.InvariantCulture)})");
                }
            }

            return surrogate;
        }

        private static TextFeature Feature(JsonElement element, string at, ExplanationDocument document, string text, string? textPair)
        {
            Expect(element, JsonValueKind.Object, at, "an object");
            CheckProperties(element, at, FeatureProperties);
            var segment = 0;
            if (element.TryGetProperty("segment", out var segmentElement))
            {
                // As a word's: a feature's segment came with pairs in version 3.
                NeedsVersion(document, ExplanationDocument.HeadVersion, $"{at}.segment");
                segment = Segment(segmentElement, $"{at}.segment", textPair);
            }

            var source = segment == 1 ? textPair! : text;
            var (start, end) = Span(Required(element, "offsets", at), $"{at}.offsets", source);
            var feature = String(Required(element, "text", at), $"{at}.text");
            if (WordMismatch(feature, source, start, end) is { } mismatch)
            {
                throw Fail($"{at}.text", mismatch);
            }

            return new TextFeature(feature, start, end) { Segment = segment };
        }

        private static (int Start, int End) Span(JsonElement element, string at, string text)
        {
            var pair = Array(element, at, Int);
            if (pair.Length != 2)
            {
                throw Fail(at, $"expected [start, end], found {pair.Length} numbers");
            }

            if (pair[0] < 0 || pair[0] > pair[1] || pair[1] > text.Length)
            {
                throw Fail(at, $"[{pair[0]}, {pair[1]}] is not a span of the {text.Length}-character text");
            }

            return (pair[0], pair[1]);
        }

        private static IReadOnlyList<KeyValuePair<string, string>> Settings(JsonElement element, string at)
        {
            Expect(element, JsonValueKind.Object, at, "an object of strings");
            var settings = new List<KeyValuePair<string, string>>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in element.EnumerateObject())
            {
                var name = PropertyName(property, at);
                if (!seen.Add(name))
                {
                    throw Fail($"{at}.{name}", "the key appears twice");
                }

                settings.Add(new(name, String(property.Value, $"{at}.{name}")));
            }

            return settings;
        }

        private static void CheckProperties(JsonElement element, string at, string[] allowed)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in element.EnumerateObject())
            {
                var name = PropertyName(property, at);
                if (System.Array.IndexOf(allowed, name) < 0)
                {
                    throw Fail($"{at}.{name}", $"unknown property (expected {string.Join(", ", allowed)})");
                }

                if (!seen.Add(name))
                {
                    throw Fail($"{at}.{name}", "the property appears twice");
                }
            }
        }

        private static JsonElement Required(JsonElement element, string name, string at) =>
            element.TryGetProperty(name, out var value) ? value : throw Fail(at, $"the required property '{name}' is missing");

        private static T[] Array<T>(JsonElement element, string at, Func<JsonElement, string, T> item)
        {
            Expect(element, JsonValueKind.Array, at, "an array");
            var values = new T[element.GetArrayLength()];
            var i = 0;
            foreach (var child in element.EnumerateArray())
            {
                values[i] = item(child, $"{at}[{i}]");
                i++;
            }

            return values;
        }

        private static T Name<T>(JsonElement element, string at, Func<string, T> parse)
        {
            var name = String(element, at);
            try
            {
                return parse(name);
            }
            catch (ArgumentException e)
            {
                throw Fail(at, e.Message.Split(" (Parameter", 2)[0]);
            }
        }

        private static string String(JsonElement element, string at)
        {
            Expect(element, JsonValueKind.String, at, "a string");
            try
            {
                return element.GetString()!;
            }
            catch (InvalidOperationException e)
            {
                // An escaped unpaired surrogate ("\ud800") or bytes that are not UTF-8: System.Text.Json parses them and
                // only fails when the string is read, with an InvalidOperationException that names no place.
                throw Fail(at, $"the string is not valid Unicode text ({e.Message}); a string holds whole characters, as the writer writes them");
            }
        }

        /// <summary>The name of <paramref name="property"/> of the object at <paramref name="at"/> (refused as <see cref="String"/> refuses a value).</summary>
        private static string PropertyName(JsonProperty property, string at)
        {
            try
            {
                return property.Name;
            }
            catch (InvalidOperationException e)
            {
                throw Fail(at, $"a property name is not valid Unicode text ({e.Message}); a name holds whole characters, as the writer writes them");
            }
        }

        private static bool Bool(JsonElement element, string at) => element.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Fail(at, $"expected true or false, found {Describe(element)}"),
        };

        private static double Double(JsonElement element, string at)
        {
            Expect(element, JsonValueKind.Number, at, "a number");
            var value = element.GetDouble();
            return double.IsFinite(value) ? value : throw Fail(at, "the number is out of the range of a double");
        }

        private static float Single(JsonElement element, string at)
        {
            Expect(element, JsonValueKind.Number, at, "a number");
            var value = element.GetSingle();
            return float.IsFinite(value) ? value : throw Fail(at, "the number is out of the range of a float");
        }

        private static int Int(JsonElement element, string at)
        {
            Expect(element, JsonValueKind.Number, at, "an integer");
            return element.TryGetInt32(out var value) ? value : throw Fail(at, $"expected a 32-bit integer, found {element.GetRawText()}");
        }

        private static long Long(JsonElement element, string at)
        {
            Expect(element, JsonValueKind.Number, at, "an integer");
            return element.TryGetInt64(out var value) ? value : throw Fail(at, $"expected a 64-bit integer, found {element.GetRawText()}");
        }

        private static void SameLength(int actual, int tokens, string at)
        {
            if (actual != tokens)
            {
                throw Fail(at, $"{actual} entries for {tokens} tokens");
            }
        }

        private static void Expect(JsonElement element, JsonValueKind kind, string at, string what)
        {
            if (element.ValueKind != kind)
            {
                throw Fail(at, $"expected {what}, found {Describe(element)}");
            }
        }

        private static string Describe(JsonElement element) => element.ValueKind switch
        {
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "an array",
            JsonValueKind.String => "a string",
            JsonValueKind.Number => $"the number {element.GetRawText()}",
            JsonValueKind.True or JsonValueKind.False => element.GetRawText(),
            JsonValueKind.Null => "null",
            _ => element.ValueKind.ToString(),
        };

        private static JsonException Fail(string at, string message) =>
            new($"invalid explanation document at {at}: {message}", at, null, null);
    }
}
