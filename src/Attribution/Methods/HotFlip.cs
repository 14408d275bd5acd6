using Attribution.Engine;
using Attribution.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods;

/// <summary>One token swapped by <see cref="HotFlip"/>.</summary>
/// <param name="Position">The token's index in the encoding (special tokens included).</param>
/// <param name="From">The token replaced.</param>
/// <param name="To">The vocabulary token put in its place.</param>
/// <param name="Estimate">The first-order change of the predicted class's logit, (e_to − e_from) · ∂logit/∂e (negative lowers it).</param>
public sealed record TokenFlip(int Position, string From, string To, double Estimate);

/// <summary>An edit proposed by <see cref="HotFlip"/>, checked with a real forward pass.</summary>
/// <param name="Text">The edited text.</param>
/// <param name="Flips">The swaps, in text order.</param>
/// <param name="Prediction">The model's prediction for the edited text.</param>
/// <param name="Flipped">Whether the predicted label changed.</param>
/// <param name="LogitChange">The change of the originally predicted class's logit (negative: the model believes it less).</param>
public sealed record HotFlipEdit(string Text, IReadOnlyList<TokenFlip> Flips, Prediction Prediction, bool Flipped, double LogitChange);

/// <summary>
/// HotFlip (Ebrahimi et al. 2018; LIT's counterfactual generator): first-order token substitutions from the gradient
/// of the predicted class's logit at the word embeddings. For each position, the vocabulary tokens v whose embedding
/// difference e_v − e_x has the most negative dot product with the gradient (the largest first-order drop of the
/// prediction) are candidates; the best candidates are then run through the model, and the edits that flip the
/// prediction (or, failing that, lower it most) are returned with their real predictions.
/// </summary>
/// <remarks>
/// Positions are whole-word tokens (a word that is one token); the tokenizer's special tokens, subword pieces
/// (<c>##…</c>) and <see cref="ExcludedTokens"/> are never proposed. The edited text replaces the token's span, and is
/// re-tokenized for the check, so an edit is what a user would type. Needs an nn.Embedding
/// (<see cref="TorchSharp.Modules.Embedding"/>) at the model's word-embedding path.
/// </remarks>
public sealed class HotFlip
{
    /// <summary>
    /// The most positions an edit changes (default 1, at least 1): every single flip is tried, and above 1 also the best
    /// flips of up to this many positions (those whose best estimate drops most) combined.
    /// </summary>
    public int Positions { get; init; } = 1;

    /// <summary>Candidates per position evaluated with a real forward pass (default 10; 1 to 1,000).</summary>
    public int CandidatesPerPosition { get; init; } = 10;

    /// <summary>The most candidates per position: each is a text run through the model for every whole-word position.</summary>
    internal const int MaxCandidatesPerPosition = 1_000;

    /// <summary>Vocabulary tokens never proposed (besides special tokens and subword pieces).</summary>
    public IReadOnlyCollection<string> ExcludedTokens { get; init; } = [];

    /// <summary>
    /// Edits of <paramref name="text"/> that flip or most lower the model's prediction, best first: those that flip the
    /// label (by the largest drop), then the others (by drop).
    /// </summary>
    /// <param name="model">A classifier with an embedding table at its word-embedding path.</param>
    /// <param name="text">A non-empty text.</param>
    /// <param name="maxEdits">The most edits returned (default 5, at least 1).</param>
    /// <exception cref="ArgumentNullException"><paramref name="model"/>, <paramref name="text"/> or <see cref="ExcludedTokens"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="text"/> is empty or whitespace, or has no whole-word token to
    /// flip; the model has no nn.Embedding at its word-embedding path (<paramref name="model"/>); or the text is longer
    /// than the model accepts (refused as by <see cref="Gradient"/>).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="Positions"/>, <see cref="CandidatesPerPosition"/> or
    /// <paramref name="maxEdits"/> is below 1, or <see cref="CandidatesPerPosition"/> is above 1,000 (the parameter named
    /// is the setting).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellation"/> was cancelled (checked before the
    /// prediction, the gradient's pass and each batch of the edits' predictions).</exception>
    /// <param name="cancellation">Stops the call before its next model call.</param>
    public IReadOnlyList<HotFlipEdit> Generate(ITextClassifier model, string text, int maxEdits = 5, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        // One lease for the gradient passes and the edits' predictions (ModelLease).
        using var lease = ModelLease.Enter(model);
        Internal.TextArguments.CheckOne(text, nameof(text), "there is nothing to edit");
        foreach (var (name, value) in new[] { (nameof(Positions), Positions), (nameof(CandidatesPerPosition), CandidatesPerPosition), (nameof(maxEdits), maxEdits) })
        {
            if (value < 1)
            {
                throw new ArgumentOutOfRangeException(name, value,
                    $"positions ({Positions}), candidates per position ({CandidatesPerPosition}) and maxEdits ({maxEdits}) must be at least 1: set {name} to 1 or more");
            }
        }

        if (ExcludedTokens is null)
        {
            // It failed with a NullReferenceException where the candidates were listed, after a forward and a backward pass.
            throw new ArgumentNullException(nameof(ExcludedTokens), "ExcludedTokens is null: leave it unset (no token excluded) or give a collection, [] for none");
        }

        if (CandidatesPerPosition > MaxCandidatesPerPosition)
        {
            throw new ArgumentOutOfRangeException(nameof(CandidatesPerPosition), CandidatesPerPosition,
                $"at most {MaxCandidatesPerPosition} candidates per position, got {CandidatesPerPosition}: each is one edited text run through the model for every whole-word position of the text; set CandidatesPerPosition to {MaxCandidatesPerPosition} or fewer");
        }

        if (model.Module.Submodule(model.WordEmbeddingPath) is not TorchSharp.Modules.Embedding embedding)
        {
            throw new ArgumentException($"HotFlip needs an nn.Embedding at '{model.WordEmbeddingPath}' of {model.Name} to score substitutions", nameof(model));
        }

        // Before the prediction's forward pass: a text of special tokens or zero-width characters was refused only by the
        // gradient's tokenization after it, naming "texts", no parameter of this method.
        var encoding = model.Tokenizer.Encode(text);
        var positions = WholeWordPositions(model, encoding);
        if (positions.Count == 0)
        {
            throw new ArgumentException("the text has no whole-word token to flip (only special tokens or subword pieces)", nameof(text));
        }

        var original = Predict(model, [text], cancellation)[0];
        var label = original.Label;
        var gradient = new Gradient().Attribute(model, [text], new AttributionOptions { Target = Target.Class(label), KeepRawAttributions = true, Cancellation = cancellation })[0];

        var allowed = AllowedIds(model);

        // Byte-level BPE marks a word after a space with Ġ: a candidate must start a word as the token it replaces
        // does, or the edited text would tokenize to other tokens than the flip scored ("hello traged world" for
        // "Ġbig" → "traged"). WordPiece has no such mark: every allowed token qualifies.
        var byWordStart = allowed.ToLookup(v => model.Tokenizer.IdToToken(v)!.StartsWith('Ġ'));
        var perPosition = new List<List<TokenFlip>>();
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            var table = embedding.weight!.detach().to(ScalarType.Float64);
            foreach (var t in positions)
            {
                var g = tensor(gradient.RawAttributions![t].Select(v => (double)v).ToArray());
                var dots = table.matmul(g).data<double>().ToArray();
                var own = dots[encoding.Ids[t]];
                perPosition.Add(byWordStart[encoding.Tokens[t].StartsWith('Ġ')].Where(v => v != encoding.Ids[t])
                    .Select(v => (Id: v, Estimate: dots[v] - own))
                    .OrderBy(x => x.Estimate).ThenBy(x => x.Id)
                    .Take(CandidatesPerPosition)
                    .Select(x => new TokenFlip(t, encoding.Tokens[t], model.Tokenizer.IdToToken(x.Id)!, x.Estimate))
                    .ToList());
            }
        }

        // Single flips at every position; with Positions > 1 also the best flips of the positions whose best estimate
        // drops most, combined (the k-th candidate at the best position with the best ones elsewhere).
        var edits = perPosition.SelectMany(c => c.Select(f => (IReadOnlyList<TokenFlip>)[f])).ToList();
        if (Positions > 1)
        {
            // A position without candidates (no other vocabulary word fits there) has nothing to combine.
            var best = perPosition.Where(c => c.Count > 0).OrderBy(c => c[0].Estimate).Take(Positions).ToList();
            for (var k = 0; k < (best.Count == 0 ? 0 : best[0].Count); k++)
            {
                edits.Add([best[0][k], .. best.Skip(1).Select(c => c[0])]);
            }
        }

        var texts = edits.Select(flips => Apply(text, encoding, flips)).ToArray();
        var predictions = Predict(model, texts, cancellation);
        return edits.Select((flips, i) => new HotFlipEdit(
                texts[i], flips.OrderBy(f => f.Position).ToArray(), predictions[i], predictions[i].Label != label,
                predictions[i].Logits[label] - original.Logits[label]))
            .DistinctBy(e => e.Text)
            .OrderByDescending(e => e.Flipped).ThenBy(e => e.LogitChange)
            .Take(maxEdits)
            .ToList();
    }

    /// <summary>Tokens that are a whole word: not special, not a subword piece, not followed by one.</summary>
    private static List<int> WholeWordPositions(ITextClassifier model, Text.Tokenizers.Encoding encoding)
    {
        var positions = new List<int>();
        for (var t = 0; t < encoding.Length; t++)
        {
            var continued = t + 1 < encoding.Length && encoding.WordIds[t + 1] is { } next && next == encoding.WordIds[t];
            if (!encoding.SpecialTokensMask[t] && encoding.Offsets[t] is { } o && o.End > o.Start && !IsPiece(encoding.Tokens[t]) && !continued)
            {
                positions.Add(t);
            }
        }

        return positions;
    }

    private List<long> AllowedIds(ITextClassifier model)
    {
        var tokenizer = model.Tokenizer;
        long[] special = [tokenizer.ClsId, tokenizer.SepId, tokenizer.PadId, tokenizer.UnkId ?? -1, tokenizer.MaskId ?? -1];
        var excluded = new HashSet<string>(ExcludedTokens, StringComparer.Ordinal);
        var allowed = new List<long>();
        for (long v = 0; v < tokenizer.VocabularySize; v++)
        {
            var token = tokenizer.IdToToken(v);
            if (token is null || special.Contains(v) || IsPiece(token) || excluded.Contains(token) || token.Length == 0 ||
                (token.StartsWith('[') && token.EndsWith(']')) || (token.StartsWith('<') && token.EndsWith('>')))
            {
                continue;
            }

            allowed.Add(v);
        }

        return allowed;
    }

    // The edits are many texts (positions × candidates), so several batches: the token is checked before each.
    private static IReadOnlyList<Prediction> Predict(ITokenClassifier model, IReadOnlyList<string> texts, CancellationToken cancellation)
    {
        var sequences = texts.Select(t => model.Tokenizer.Encode(t)).Select(e => new TokenSequence(e.Ids, e.TypeIds)).ToArray();
        return TokenBatches.PredictLogits(model, sequences, cancellation).Select((logits, i) => LogitMath.Predict(texts[i], logits, model.Labels, model.Head)).ToArray();
    }

    private static bool IsPiece(string token) => token.StartsWith("##", StringComparison.Ordinal);

    /// <summary>The text with each flipped token's span replaced by the new token (byte-level BPE's Ġ read as a space).</summary>
    private static string Apply(string text, Text.Tokenizers.Encoding encoding, IReadOnlyList<TokenFlip> flips)
    {
        var result = text;
        foreach (var flip in flips.OrderByDescending(f => f.Position))
        {
            var (start, end) = encoding.Offsets[flip.Position]!.Value;

            // Without trim_offsets a byte-level token's span starts at the space before its word: keep that space.
            while (start < end && char.IsWhiteSpace(text[start]))
            {
                start++;
            }

            result = result[..start] + flip.To.TrimStart('Ġ') + result[end..];
        }

        return result;
    }
}
