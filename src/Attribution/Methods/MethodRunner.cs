using System.Diagnostics;
using Attribution.Engine;
using Attribution.Methods.Internal;
using Attribution.Models;

using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Methods;

/// <summary>
/// Runs several methods over the same texts with shared work: each batch is encoded and run forward once for
/// all of them, and methods that need the same gradients (Gradient and Gradient × Input at the same layer) share one
/// forward/backward pass, and path methods reuse the baseline's forward pass for every text of the same padded
/// length (<see cref="BaselineCache"/>). Every <see cref="TextAttributor"/> (built-in or user-written) takes part in the sharing;
/// other attributors run on their own.
/// </summary>
public static class MethodRunner
{
    /// <summary>Token-level attributions of every text by every method; result [m][t] is method m on text t.</summary>
    /// <exception cref="ArgumentException">A null method (<paramref name="attributors"/>); no text, a null, empty or whitespace text, <see cref="AttributionOptions.Pairs"/>
    /// without one entry per text, a target the model does not have, a text longer than the model accepts without
    /// <see cref="AttributionOptions.Truncate"/>, or settings of a method that do not fit the model.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="AttributionOptions.BatchSize"/> or
    /// <see cref="AttributionOptions.TokenBudget"/> is out of its range, or a target index is not a class of the model.</exception>
    /// <exception cref="OperationCanceledException"><see cref="AttributionOptions.Cancellation"/> was cancelled.</exception>
    public static IReadOnlyList<IReadOnlyList<Explanation>> AttributeAll(
        ITextClassifier model, IReadOnlyList<string> texts, IReadOnlyList<IAttributor> attributors, AttributionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(attributors);
        // A null method failed as a NullReferenceException once the methods ran (after the model lease and the texts' checks).
        TextArguments.CheckMethods(attributors, nameof(attributors));
        // One lease for the whole call (every method's forward and backward passes): a TextClassifier disposed by another
        // thread meanwhile keeps its module until the call returns, and one disposed before is refused here.
        using var lease = ModelLease.Enter(model);
        options ??= new AttributionOptions();
        options.Validate(model.Labels);
        TextArguments.Check(texts);
        TextPairs.Check(texts, options.Pairs, nameof(AttributionOptions.Pairs));

        var results = attributors.Select(_ => new Explanation[texts.Count]).ToArray();
        var gradientBased = Checked(model, attributors, options);
        var tokenized = Tokenize(model, texts, options, gradientBased);
        for (var m = 0; m < attributors.Count; m++)
        {
            if (attributors[m] is not TextAttributor)
            {
                var own = attributors[m].Attribute(model, texts, options);
                own.ToArray().CopyTo(results[m], 0);
            }
        }

        ForEachBatch(model, tokenized, options, gradientBased, classes: 1, (chunk, context) =>
        {
            foreach (var (m, attributor) in gradientBased)
            {
                var explanations = attributor.ExplainBatch(context);
                for (var row = 0; row < chunk.Length; row++)
                {
                    results[m][chunk[row]] = explanations[row];
                }
            }
        });

        return results;
    }

    /// <summary>
    /// Token-level attributions of every text by every method for several classes at once: result [m][t][c] is method m
    /// on text t for <paramref name="classes"/>[c]. Each batch is encoded and run forward once for all methods and
    /// classes; each gradient method then runs its own passes per class, except that the first forward pass also
    /// serves one method's (Gradient's and Gradient × Input's alike, or LRP's) with one backward per class, that the
    /// other of these methods run their pass once, for the first class, and keep it for the others' backwards, and that
    /// Integrated Gradients, layer and neuron conductance, GradientSHAP and noise tunnels run each path point (or noisy
    /// copy) forward once for every class, with a backward per class.
    /// </summary>
    /// <param name="model">The classifier.</param>
    /// <param name="texts">Non-empty texts.</param>
    /// <param name="attributors">The methods.</param>
    /// <param name="classes">The classes (indices into the model's labels), each once.</param>
    /// <param name="options">Scored output, batching, pairs; its target is ignored.</param>
    /// <exception cref="ArgumentException">No class, or a class given twice (<paramref name="classes"/>); a null method
    /// (<paramref name="attributors"/>); no text, a null,
    /// empty or whitespace text, <see cref="AttributionOptions.Pairs"/> without one entry per text, a text longer than the
    /// model accepts without <see cref="AttributionOptions.Truncate"/>, or settings of a method that do not fit the model.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A class is not one of the model's (<paramref name="classes"/>), or
    /// <see cref="AttributionOptions.BatchSize"/> or <see cref="AttributionOptions.TokenBudget"/> is out of its range.</exception>
    /// <exception cref="OperationCanceledException"><see cref="AttributionOptions.Cancellation"/> was cancelled.</exception>
    public static IReadOnlyList<IReadOnlyList<IReadOnlyList<Explanation>>> AttributeClasses(
        ITextClassifier model, IReadOnlyList<string> texts, IReadOnlyList<IAttributor> attributors, IReadOnlyList<int> classes, AttributionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(attributors);
        ArgumentNullException.ThrowIfNull(classes);
        TextArguments.CheckMethods(attributors, nameof(attributors));
        using var lease = ModelLease.Enter(model);
        options ??= new AttributionOptions();
        options.Validate();
        TextArguments.Check(texts);
        TextPairs.Check(texts, options.Pairs, nameof(AttributionOptions.Pairs));
        if (classes.Count == 0 || classes.Distinct().Count() != classes.Count)
        {
            throw new ArgumentException($"give each class once and at least one (got [{string.Join(", ", classes)}])", nameof(classes));
        }

        foreach (var k in classes)
        {
            // Target.Resolve would refuse it naming "Target", which is no argument of this method.
            if (k < 0 || k >= model.Labels.Count)
            {
                throw new ArgumentOutOfRangeException(nameof(classes), k,
                    $"classes holds {k}, which is not a class of the model: it has {model.Labels.Count} (0..{model.Labels.Count - 1}: {string.Join(", ", model.Labels)})");
            }
        }

        var results = attributors.Select(_ => texts.Select(_ => new Explanation[classes.Count]).ToArray()).ToArray();
        var gradientBased = Checked(model, attributors, options);
        var tokenized = Tokenize(model, texts, options, gradientBased);
        for (var m = 0; m < attributors.Count; m++)
        {
            if (attributors[m] is TextAttributor)
            {
                continue;
            }

            if (classes.Count > 1 && attributors[m] is IEveryClassAttributor everyClass)
            {
                var byText = everyClass.AttributeClasses(model, texts, classes, options);
                for (var t = 0; t < texts.Count; t++)
                {
                    byText[t].CopyTo(results[m][t], 0);
                }

                continue;
            }

            for (var c = 0; c < classes.Count; c++)
            {
                var own = attributors[m].Attribute(model, texts, options with { Target = Target.Class(classes[c]) });
                for (var t = 0; t < texts.Count; t++)
                {
                    results[m][t][c] = own[t];
                }
            }
        }

        // The first pass's graph serves one backward per class; path methods run each text's path once for all classes.
        var everyClassAtOnce = gradientBased.Where(g => classes.Count > 1 && g.Attributor.SharesPathsAcrossClasses).ToArray();
        var perClass = gradientBased.Except(everyClassAtOnce).ToArray();
        ForEachBatch(model, tokenized, options with { Target = Target.Class(classes[0]) }, gradientBased, classes.Count, (chunk, shared) =>
        {
            if (everyClassAtOnce.Length > 0)
            {
                var repeated = shared.ForClasses(classes);
                foreach (var (m, attributor) in everyClassAtOnce)
                {
                    var explanations = attributor.ExplainBatch(repeated);
                    for (var row = 0; row < explanations.Length; row++)
                    {
                        results[m][chunk[row / classes.Count]][row % classes.Count] = explanations[row];
                    }
                }
            }

            for (var c = 0; c < classes.Count; c++)
            {
                var context = c == 0 ? shared : shared.ForClass(classes[c]);
                foreach (var (m, attributor) in perClass)
                {
                    var explanations = attributor.ExplainBatch(context);
                    for (var row = 0; row < chunk.Length; row++)
                    {
                        results[m][chunk[row]][c] = explanations[row];
                    }
                }
            }
        });

        return results.Select(perText => (IReadOnlyList<IReadOnlyList<Explanation>>)perText.Select(r => (IReadOnlyList<Explanation>)r).ToArray()).ToArray();
    }

    /// <summary>
    /// The gradient methods (<see cref="TextAttributor"/>s) with their index, each validated against the model and
    /// options: all of them before any method runs, so a method late in the list that does not fit the model is refused
    /// before the others' work (a method that is not a <see cref="TextAttributor"/> runs its whole call at once; its own
    /// settings, where it can check them alone (<see cref="ISettingsCheck"/>: LIME, the perturbation methods), are checked here too).
    /// </summary>
    internal static List<(int Index, TextAttributor Attributor)> Checked(ITextClassifier model, IReadOnlyList<IAttributor> attributors, AttributionOptions options)
    {
        var gradientBased = new List<(int Index, TextAttributor Attributor)>();
        for (var m = 0; m < attributors.Count; m++)
        {
            if (attributors[m] is TextAttributor t)
            {
                t.ValidateFor(model, options);
                gradientBased.Add((m, t));
            }
            else if (attributors[m] is ISettingsCheck own)
            {
                // LIME's and the perturbation methods' own settings were checked only when each ran: after the methods
                // before it in the list, and after Counterfactuals.Compare's predictions.
                own.CheckSettings();
            }
        }

        return gradientBased;
    }

    /// <summary>
    /// Every text tokenized once for the gradient methods (null when there are none), and each method's check of the
    /// tokenized texts (a custom baseline's length) done, before any method runs.
    /// </summary>
    private static TokenizedTexts? Tokenize(ITextClassifier model, IReadOnlyList<string> texts, AttributionOptions options,
        IReadOnlyList<(int Index, TextAttributor Attributor)> methods) =>
        methods.Count == 0 ? null : Tokenized(model, texts, options, methods.Select(m => m.Attributor));

    /// <summary>
    /// <paramref name="texts"/> tokenized as the call's options say (each with a token besides the special ones), and
    /// each method's check of the tokenized texts (a custom baseline's length) done: what runs before any forward pass,
    /// here and in the metrics that build their own attribution context.
    /// </summary>
    internal static TokenizedTexts Tokenized(ITextClassifier model, IReadOnlyList<string> texts, AttributionOptions options, IEnumerable<TextAttributor> methods)
    {
        var tokenized = TokenizedTexts.Of(model, texts, options.Truncate, options.Pairs, options.TruncationStrategy);
        tokenized.RequireTokens();
        foreach (var method in methods)
        {
            method.CheckTokenized(tokenized);
        }

        return tokenized;
    }

    /// <summary>
    /// Calls <paramref name="explain"/> on each batch of <paramref name="tokenized"/> for the gradient methods (nothing when
    /// there are none): length-sorted batches within the batch size and token budget, each encoded and run forward once
    /// inside a dispose scope of its own, the first method that can (Gradient and Gradient × Input alike, or LRP) taking
    /// that pass, and baseline passes cached across the call.
    /// </summary>
    private static void ForEachBatch(ITextClassifier model, TokenizedTexts? tokenized, AttributionOptions options,
        IReadOnlyList<(int Index, TextAttributor Attributor)> methods, int classes, Action<int[], AttributionContext> explain)
    {
        if (tokenized is null)
        {
            return;
        }

        var firstPass = FirstPass.ForAll(methods.Select(g => g.Attributor.SharedFirstPass(model)));
        using var baselines = new BaselineCache();
        foreach (var chunk in tokenized.Chunks(options.BatchSize, options.TokenBudget))
        {
            options.Cancellation.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            using var pathStarts = new PathStarts();
            var clock = Stopwatch.StartNew();
            var context = new AttributionContext(model, tokenized.Batch(chunk), options, firstPass, classes, pathStarts) { Baselines = baselines };
            context.SharedTime = clock.Elapsed + tokenized.TimePerText * chunk.Length;
            explain(chunk, context);
        }
    }
}

/// <summary>
/// A method that explains a text for several classes more cheaply at once than with a call per class, with the same
/// results (a perturbation method sends each perturbed input to the model once, whatever the classes).
/// </summary>
internal interface IEveryClassAttributor
{
    /// <summary>Result [t][c]: text t explained for <paramref name="classes"/>[c].</summary>
    IReadOnlyList<Explanation[]> AttributeClasses(ITextClassifier model, IReadOnlyList<string> texts, IReadOnlyList<int> classes, AttributionOptions options);
}
