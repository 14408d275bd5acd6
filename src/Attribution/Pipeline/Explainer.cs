using Attribution.Methods;
using Attribution.Models;
using Attribution.Salience;

namespace Attribution.Pipeline;

/// <summary>
/// Options for a finished explanation: everything a method needs (<see cref="AttributionOptions"/>) plus the salience
/// post-processing (special tokens, word aggregation, normalization) the pipeline applies to its token scores.
/// </summary>
public sealed record ExplainOptions : AttributionOptions
{
    /// <summary>Post-processing applied to every result (special tokens, normalization, word aggregation).</summary>
    public SalienceOptions Salience { get; init; } = new();
}

/// <summary>
/// The library's front door: runs methods (their token-level attributions, <see cref="IAttributor.Attribute"/>) and
/// composes them with the salience layer (words, special tokens, normalization). Methods never call the salience
/// layer themselves; this floor sits above both.
/// </summary>
public static class Explainer
{
    /// <summary>Explains every text with every method, sharing encoding and forward passes; result [m][t] is method m on text t.</summary>
    /// <param name="model">The classifier.</param>
    /// <param name="texts">Non-empty texts.</param>
    /// <param name="attributors">The methods, built-in or user-written.</param>
    /// <param name="options">Target, scored output, batching and post-processing; defaults when null.</param>
    /// <exception cref="ArgumentException">As for <see cref="MethodRunner.AttributeAll"/>, or the post-processing is refused
    /// (min-max normalization of signed scores, a non-finite score to normalize).</exception>
    /// <exception cref="ArgumentOutOfRangeException">As for <see cref="MethodRunner.AttributeAll"/>.</exception>
    /// <exception cref="OperationCanceledException"><see cref="AttributionOptions.Cancellation"/> was cancelled.</exception>
    public static IReadOnlyList<IReadOnlyList<Explanation>> ExplainAll(
        ITextClassifier model, IReadOnlyList<string> texts, IReadOnlyList<IAttributor> attributors, ExplainOptions? options = null)
    {
        options = Checked(options);
        var raw = MethodRunner.AttributeAll(model, texts, attributors, options);
        return raw.Select(results => (IReadOnlyList<Explanation>)Finish(results, options)).ToArray();
    }

    /// <summary>
    /// Explains every text with every method for several labels at once ("which alternative labels were close"): result
    /// [m][t] lists method m's explanations of text t, one per label, ordered by the label's probability for that text
    /// (highest first; for a regression head there is one output). The encoding and forward pass are shared across
    /// methods and labels; Integrated Gradients, layer and neuron conductance, GradientSHAP and noise tunnels run each path point (or
    /// noisy copy) forward once for all labels, and LIME and the perturbation methods send each perturbed input to the
    /// model once, so a label costs a backward pass or a fit rather than a whole run.
    /// </summary>
    /// <param name="model">The classifier.</param>
    /// <param name="texts">Non-empty texts.</param>
    /// <param name="attributors">The methods.</param>
    /// <param name="classes">Label indices to explain, or null for every label.</param>
    /// <param name="options">Scored output, batching, pairs and post-processing (its target is ignored).</param>
    /// <exception cref="ArgumentException">As for <see cref="MethodRunner.AttributeClasses"/> (a class given twice, or none),
    /// or the post-processing is refused.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A class is not one of the model's (<paramref name="classes"/>), or as
    /// for <see cref="MethodRunner.AttributeClasses"/>.</exception>
    /// <exception cref="OperationCanceledException"><see cref="AttributionOptions.Cancellation"/> was cancelled.</exception>
    public static IReadOnlyList<IReadOnlyList<IReadOnlyList<Explanation>>> ExplainClasses(
        ITextClassifier model, IReadOnlyList<string> texts, IReadOnlyList<IAttributor> attributors, IReadOnlyList<int>? classes = null, ExplainOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options = Checked(options);
        classes ??= Enumerable.Range(0, model.Labels.Count).ToArray();
        var raw = MethodRunner.AttributeClasses(model, texts, attributors, classes, options);
        return raw.Select(perText => (IReadOnlyList<IReadOnlyList<Explanation>>)perText
            .Select(perClass => (IReadOnlyList<Explanation>)Finish(perClass, options)
                .OrderByDescending(e => e.Probabilities.Length > e.Target ? e.Probabilities[e.Target] : e.Logits[e.Target]).ToArray())
            .ToArray()).ToArray();
    }

    /// <summary>
    /// Explains each text with one method. Gradient methods need an <see cref="ITextClassifier"/>; perturbation methods
    /// (<see cref="IPerturbationAttributor"/>) also explain any <see cref="ITokenClassifier"/> (an ONNX model) and
    /// black-box <see cref="ITextPredictor"/>s (whose results' tokens are the features).
    /// </summary>
    /// <param name="attributor">The method.</param>
    /// <param name="model">The classifier.</param>
    /// <param name="texts">Non-empty texts.</param>
    /// <param name="options">Target, scored output, batching and post-processing; defaults when null.</param>
    /// <exception cref="ArgumentException"><paramref name="model"/> is not an <see cref="ITextClassifier"/> and the method
    /// needs gradients (not an <see cref="IPerturbationAttributor"/>); the texts, options or target are refused (as for
    /// <see cref="MethodRunner.AttributeAll"/>); or the post-processing is refused.</exception>
    /// <exception cref="OperationCanceledException"><see cref="AttributionOptions.Cancellation"/> was cancelled.</exception>
    public static IReadOnlyList<Explanation> Explain(this IAttributor attributor, ITextPredictor model, IReadOnlyList<string> texts, ExplainOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(attributor);
        ArgumentNullException.ThrowIfNull(model);
        // One lease for the method's whole call, a user's method with several model calls included (ModelLease).
        using var lease = ModelLease.Enter(model);
        options = Checked(options);
        var raw = model switch
        {
            ITextClassifier full => attributor.Attribute(full, texts, options),
            _ when attributor is IPerturbationAttributor perturbation => perturbation.Attribute(model, texts, options),
            _ => throw new ArgumentException(
                $"{attributor.Name} needs gradients, but the model is known only by its outputs (an {model.GetType().Name}); " +
                "use a perturbation method (lime, occlusion, shapley, shapley-sampling, kernel-shap) or load the model as a TorchSharp classifier",
                nameof(model)),
        };
        return Finish(raw, options);
    }

    /// <summary>Explains one text with one method.</summary>
    /// <param name="attributor">The method.</param>
    /// <param name="model">The classifier.</param>
    /// <param name="text">A non-empty text.</param>
    /// <param name="options">Target, scored output, batching and post-processing; defaults when null.</param>
    /// <exception cref="ArgumentException">As for <see cref="Explain(IAttributor, ITextPredictor, IReadOnlyList{string}, ExplainOptions)"/>.</exception>
    public static Explanation Explain(this IAttributor attributor, ITextPredictor model, string text, ExplainOptions? options = null) =>
        attributor.Explain(model, [text], options)[0];

    // The post-processing settings are checked before any model call: they were read only when the results were
    // finished, so a null Salience or an undefined normalization failed after every forward pass, naming an internal
    // parameter.
    private static ExplainOptions Checked(ExplainOptions? options)
    {
        options ??= new ExplainOptions();
        if (options.Salience is null)
        {
            throw new ArgumentNullException(nameof(ExplainOptions.Salience), "ExplainOptions.Salience is null: leave it unset for the defaults, or give a SalienceOptions");
        }

        options.Salience.Validate();
        return options;
    }

    private static Explanation[] Finish(IReadOnlyList<Explanation> results, ExplainOptions options) =>
        results.Select(e => SalienceLayer.Apply(e, options.Salience)).ToArray();
}
