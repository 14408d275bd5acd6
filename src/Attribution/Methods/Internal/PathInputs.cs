using Attribution.Engine;
using Attribution.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods.Internal;

/// <summary>
/// The two ends of an integration path at one layer: the input's activation and the baseline's, with the scored
/// outputs F(input) and F(baseline) that the convergence delta compares against. Computed as Captum does: token
/// baselines run the model on the baseline ids; activation baselines run it on the input ids with the layer's
/// output replaced.
/// </summary>
internal sealed record PathInputs(Tensor Input, Tensor Baseline, double[] InputScores, double[] BaselineScores)
{
    // setting: the method's setting that holds the baseline, for errors (Baseline, or Gradient SHAP's Baselines).
    public static PathInputs Compute(AttributionContext context, nn.Module layer, LayerSide side, int index, Baseline baseline, Func<Tensor, Tensor>? perturbInput = null,
        string setting = "Baseline")
    {
        if (context.SharedTexts is { } sharing)
        {
            // Rows that repeat a text for other classes: the ends are the text's, computed once (a perturbation draws
            // what a call for one class draws); the scores are each row's class's.
            var texts = context.Subset(sharing.Representatives);
            var (input, baselineActivation, inputLogits, baselineLogits) = Ends(texts, layer, side, index, baseline, perturbInput, setting);
            using var noGrad = no_grad();
            using var rows = tensor(sharing.TextOfRow.Select(t => (long)t).ToArray());
            return new PathInputs(input.index_select(0, rows), baselineActivation.index_select(0, rows),
                context.ScoreValues(inputLogits.index_select(0, rows)), context.ScoreValues(baselineLogits.index_select(0, rows)));
        }

        var ends = Ends(context, layer, side, index, baseline, perturbInput, setting);
        return new PathInputs(ends.Input, ends.Baseline, context.ScoreValues(ends.InputLogits), context.ScoreValues(ends.BaselineLogits));
    }

    private static (Tensor Input, Tensor Baseline, Tensor InputLogits, Tensor BaselineLogits) Ends(
        AttributionContext context, nn.Module layer, LayerSide side, int index, Baseline baseline, Func<Tensor, Tensor>? perturbInput, string setting)
    {
        // Each end may be a forward pass of its own (the input's unless the batch keeps it, the baseline's unless the
        // call's cache holds it): a cancelled call runs neither. Before, the integration loop was the first check, so up
        // to two passes per path (three for Gradient SHAP's two baselines) ran after the token was cancelled.
        context.Options.Cancellation.ThrowIfCancellationRequested();
        using var noGrad = no_grad();
        var site = new LayerSite(layer, side, index);
        // With a perturbation, the path ends at the perturbed activation, so completeness is measured against F there
        // (as Captum's NoiseTunnel does, running IG on each noisy input), not against F at the clean input, which no
        // noisy copy's integral approaches: adaptive integration would refine every copy to its step cap. One pass
        // gives both: the activation is perturbed where it is captured.
        Tensor inputLogits;
        var input = perturbInput is null
            ? context.PathStart(site, out inputLogits)
            : Capture(context, layer, side, index, context.Batch.Input, out inputLogits, perturbInput);

        // Before the baseline's pass and the path's: a layer without a token axis gives no per-token scores.
        PathPass.RequireTokenAxis(context, site, input, context.Size);

        context.Options.Cancellation.ThrowIfCancellationRequested();
        Tensor baselineActivation;
        Tensor baselineLogits;
        if (baseline.Token is not null || baseline.Ids is not null)
        {
            var ids = BaselineIds(context, baseline, setting);
            baselineActivation = context.Baselines is { } cache
                ? cache.Capture(context, site, ids, out baselineLogits)
                : Capture(context, layer, side, index, context.WithIds(ids), out baselineLogits);
        }
        else
        {
            baselineActivation = baseline.Activation is null ? zeros_like(input) : Expand(baseline.Activation, input, setting);
            using var tap = new LayerTap(layer, side, index, _ => baselineActivation);
            baselineLogits = context.Model.Module.call(context.ForPassTappedAt(context.Batch.Input, site));
        }

        return (input, baselineActivation, inputLogits, baselineLogits);
    }

    /// <summary>
    /// F at the path's start: the input's own forward pass with <paramref name="site"/>'s tensor replaced by the baseline
    /// activation, which the integral of the gradients along the path actually measures from. It differs from
    /// <see cref="BaselineScores"/> (the model run on the baseline ids, as Captum's delta takes it) where the baseline ids
    /// change more than that tensor: RoBERTa's position ids count the non-pad tokens, so pad ids move them too.
    /// </summary>
    public double[] StartScores(AttributionContext context, LayerSite site)
    {
        // Adaptive integration asks for it after a level's points, so at the last level it is the call's last pass:
        // unchecked, a call cancelled during those points ran it and returned a result.
        context.Options.Cancellation.ThrowIfCancellationRequested();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var tap = new LayerTap(site.Module, site.Side, site.Index, _ => Baseline);
        var logits = context.Model.Module.call(context.ForPassTappedAt(context.Batch.Input, site));
        EnsureRanOnce(tap, context);
        return context.ScoreValues(logits);
    }

    /// <summary>Convergence deltas: Σ attributions of each text − (F(input) − F(baseline)), signed, as Captum defines them.</summary>
    public double[] Deltas(Tensor attributions)
    {
        using var scope = NewDisposeScope();
        var sums = attributions.to(ScalarType.Float64).flatten(1).sum(1).data<double>().ToArray();
        return sums.Select((s, b) => s - (InputScores[b] - BaselineScores[b])).ToArray();
    }

    /// <summary>
    /// The path points a′ + α (a − a′) for each α, stacked alpha-major ([α·batch, …]), computed as Captum does
    /// (float32 tensor times the double α, plus the baseline) and outside autograd.
    /// </summary>
    public static Tensor Interpolate(Tensor baseline, Tensor difference, ReadOnlySpan<double> alphas)
    {
        using var noGrad = no_grad();
        var points = new List<Tensor>(alphas.Length);
        foreach (var alpha in alphas)
        {
            using var step = difference.Times(alpha);
            points.Add(baseline.Plus(step));
        }

        return points.Count == 1 ? points[0] : cat(points);
    }

    /// <summary>
    /// total += Σ_k w_k · gradients[k-th block of <paramref name="batch"/> rows], one step at a time in order (so the
    /// sum does not depend on how the steps were split into passes), with the weights rounded to float32 as Captum
    /// multiplies by <c>torch.tensor(step_sizes)</c>.
    /// </summary>
    public static void AddWeighted(Tensor total, Tensor gradients, int batch, ReadOnlySpan<double> stepSizes)
    {
        using var noGrad = no_grad();
        for (var k = 0; k < stepSizes.Length; k++)
        {
            using var block = gradients.narrow(0, k * batch, batch);
            using var weighted = block.Times((double)(float)stepSizes[k]);
            total.PlusInPlace(weighted);
        }
    }

    /// <summary>
    /// The layer's tensor for a forward pass on <paramref name="input"/>; the logits of that pass come back too. With
    /// <paramref name="replace"/>, the tensor is replaced by what it returns, which is captured and flows on.
    /// </summary>
    public static Tensor Capture(AttributionContext context, nn.Module layer, LayerSide side, int index, Models.ModelInput input, out Tensor logits, Func<Tensor, Tensor>? replace = null)
    {
        var captured = TryCapture(context, new LayerSite(layer, side, index), input, out logits, out var calls, replace);
        EnsureRanOnce(layer, calls, context);
        return captured!;
    }

    /// <summary>
    /// <see cref="Capture"/>, or null where the layer did not run exactly once in the pass (<paramref name="calls"/>
    /// says how often it ran; the logits are the pass's either way).
    /// </summary>
    public static Tensor? TryCapture(AttributionContext context, LayerSite site, Models.ModelInput input, out Tensor logits, out int calls, Func<Tensor, Tensor>? replace = null)
    {
        Tensor? captured = null;
        using (var tap = new LayerTap(site.Module, site.Side, site.Index, value =>
               {
                   captured = replace is null ? value.detach() : replace(value.detach());
                   return replace is null ? null : captured;
               }))
        {
            logits = context.Model.Module.call(context.ForPassTappedAt(input, site));
            calls = tap.Calls;
        }

        return calls == 1 ? captured : null;
    }

    public static void EnsureRanOnce(LayerTap tap, AttributionContext context) => EnsureRanOnce(tap.Module, tap.Calls, context);

    private static void EnsureRanOnce(nn.Module layer, int calls, AttributionContext context)
    {
        if (calls != 1)
        {
            throw new InvalidOperationException(
                calls == 0
                    ? LayerTap.DidNotRun(context.Model.Name, context.Model.Module, layer)
                    : $"the attributed layer {LayerTap.Describe(context.Model.Module, layer)} ran {calls} times in one forward pass of {context.Model.Name}; choose a layer that runs once (or a module wrapping its uses)");
        }
    }

    /// <summary>
    /// Refuses, before any forward pass, a baseline the model cannot give: none, an unk / mask baseline whose
    /// tokenizer has no such token, custom ids outside the tokenizer's vocabulary, or a custom activation whose tensor was
    /// disposed (found otherwise only after the batch's first pass, and after other methods' work).
    /// </summary>
    public static void CheckBaseline(ITextClassifier model, Baseline? baseline, string argumentName)
    {
        if (baseline is null)
        {
            throw new ArgumentNullException(argumentName, "give a baseline (e.g. Baseline.Pad, the default, or Baseline.Zero)");
        }

        if (baseline.Token is { } token)
        {
            ReplacementId(model, token, argumentName);
        }

        // The baseline keeps a reference to the caller's tensor, read at every call: disposed before one, it failed at the
        // baseline's pass (after the input's) as TorchSharp's "Tensor invalid -- empty handle", naming no baseline.
        if (baseline.Activation is { IsInvalid: true })
        {
            throw new ArgumentException(
                "the custom baseline activation (Baseline.FromActivation) was disposed before this call: the baseline keeps a reference to the tensor, " +
                "so keep it undisposed until the explanations that use it have returned (or make the baseline again from a live tensor)", argumentName);
        }

        // Baseline.FromIds refuses negative ids; an id past the vocabulary is known only here, with the model. Refused
        // before any forward pass, naming the baseline, rather than by the model's embedding at the baseline's pass.
        if (baseline.Ids is { } ids)
        {
            var vocabulary = model.Tokenizer.VocabularySize;
            var beyond = Array.FindIndex(ids, id => id >= vocabulary);
            if (beyond >= 0)
            {
                throw new ArgumentOutOfRangeException(argumentName, ids[beyond],
                    $"the custom baseline's id {beyond} is {ids[beyond]}, outside {model.Name}'s vocabulary of {vocabulary} ids (0 to {vocabulary - 1}); " +
                    $"give Baseline.FromIds the tokenizer's ids (e.g. its pad id, {model.Tokenizer.PadId})");
            }
        }
    }

    /// <summary>
    /// Refuses, once the call's texts are tokenized and before any forward pass, custom baseline ids whose count is not
    /// some text's token count (found otherwise at the batch's baseline pass, after the first forward pass and other
    /// methods' work).
    /// </summary>
    public static void CheckBaselineLength(Baseline baseline, TokenizedTexts texts, string setting)
    {
        if (baseline.Ids is not { } ids)
        {
            return;
        }

        var lengths = texts.Lengths;
        var other = Array.FindIndex(lengths, n => n != ids.Length);
        if (other >= 0)
        {
            throw new ArgumentException(LengthMismatch(ids.Length, $"texts[{other}] (\"{NonFiniteValueException.Shorten(texts.Text(other))}\")", lengths[other]), setting);
        }
    }

    private static string LengthMismatch(int ids, string text, int tokens) =>
        $"the custom baseline has {ids} ids (Baseline.FromIds) but {text} has {tokens} tokens, special tokens included: give one id per token of the text " +
        $"(explain texts of {ids} tokens with this baseline, or make a baseline of {tokens} ids for this one)";

    /// <summary>The id a token baseline puts in place of every token the tokenizer did not add; refused where the vocabulary has no such token.</summary>
    private static long ReplacementId(ITextClassifier model, BaselineToken token, string argumentName)
    {
        ArgumentException Missing(string what) => new(
            $"{model.Name}'s vocabulary has no {what}: use the pad or zero baseline (Baseline.Pad, Baseline.Zero) or give ids (Baseline.FromIds)",
            argumentName);
        return token switch
        {
            BaselineToken.Pad => model.Tokenizer.PadId,
            BaselineToken.Unk => model.Tokenizer.UnkId ?? throw Missing("unknown token, which an unk baseline needs"),
            BaselineToken.Mask => model.Tokenizer.MaskId ?? throw Missing("mask token, which a mask baseline needs"),
            _ => throw new ArgumentOutOfRangeException(argumentName, token, "not a baseline token"),
        };
    }

    /// <summary>Baseline token ids: every token the tokenizer did not add becomes the baseline token; custom ids are checked and padded.</summary>
    public static Tensor BaselineIds(AttributionContext context, Baseline baseline, string setting = "Baseline")
    {
        var batch = context.Batch;
        var tokenizer = context.Model.Tokenizer;
        var length = (int)context.Length;
        var ids = new long[context.Size * length];
        for (var b = 0; b < context.Size; b++)
        {
            var encoding = batch.Encodings[b];
            if (baseline.Ids is { } custom)
            {
                if (custom.Length != batch.Lengths[b])
                {
                    throw new ArgumentException(LengthMismatch(custom.Length, $"\"{NonFiniteValueException.Shorten(batch.Texts[b])}\"", batch.Lengths[b]), setting);
                }

                for (var t = 0; t < length; t++)
                {
                    ids[(b * length) + t] = t < custom.Length ? custom[t] : tokenizer.PadId;
                }

                continue;
            }

            var replacement = baseline.Token is { } token
                ? ReplacementId(context.Model, token, setting)
                : throw new ArgumentOutOfRangeException(setting, baseline.Name, "neither ids nor a baseline token");
            for (var t = 0; t < length; t++)
            {
                ids[(b * length) + t] = encoding.SpecialTokensMask[t] ? encoding.Ids[t] : replacement;
            }
        }

        return tensor(ids, [context.Size, length]);
    }

    private static Tensor Expand(Tensor activation, Tensor like, string setting)
    {
        var perText = like.shape[1..];
        if (activation.shape.SequenceEqual(like.shape))
        {
            return activation.to(like.dtype);
        }

        if (activation.shape.SequenceEqual(perText))
        {
            return activation.to(like.dtype).unsqueeze(0).expand(like.shape).contiguous();
        }

        throw new ArgumentException(
            $"the custom baseline activation (Baseline.FromActivation) has shape [{string.Join(", ", activation.shape)}] but the layer's activation for this batch is [{string.Join(", ", like.shape)}] (per text [{string.Join(", ", perText)}]); " +
            "give the layer's activation for one text (or for the whole batch), or explain texts of the baseline's length",
            setting);
    }
}
