using Attribution.Models;

namespace Attribution.Methods.Internal;

/// <summary>The one check of the texts every method is given (at least one, none null, none empty or whitespace), and of a list of methods (none null; none needing gradients from a model without them).</summary>
internal static class TextArguments
{
    /// <summary>
    /// The check of one text given as <paramref name="parameter"/> (not a list): an <see cref="ArgumentNullException"/>
    /// or <see cref="ArgumentException"/> naming that parameter, where <see cref="Check"/> would name <c>texts</c>.
    /// </summary>
    public static void CheckOne(string? text, string parameter, string fix)
    {
        ArgumentNullException.ThrowIfNull(text, parameter);
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new ArgumentException($"{parameter} is empty or whitespace: {fix}", parameter);
        }
    }

    /// <summary>
    /// Throws an <see cref="ArgumentException"/> naming <paramref name="parameter"/> at the first null method of a list
    /// (found otherwise as a NullReferenceException once the methods run).
    /// </summary>
    public static void CheckMethods(IReadOnlyList<IAttributor> methods, string parameter)
    {
        for (var m = 0; m < methods.Count; m++)
        {
            if (methods[m] is null)
            {
                throw new ArgumentException($"{parameter}[{m}] is null: give each method as an attributor", parameter);
            }
        }
    }

    /// <summary>
    /// The one decision behind the refusal of a gradient method on a model without gradients, for a list of methods
    /// checked before any runs (Scorecard.Run throws an <see cref="ArgumentException"/>, the CLI a usage error): the first
    /// method that is not an <see cref="IPerturbationAttributor"/> when <paramref name="model"/> is not an
    /// <see cref="ITextClassifier"/>; null when every method can explain the model.
    /// </summary>
    public static IAttributor? FirstNeedingGradients(ITextPredictor model, IReadOnlyList<IAttributor> methods) =>
        model is ITextClassifier ? null : methods.FirstOrDefault(method => method is not IPerturbationAttributor);

    /// <summary>Throws an <see cref="ArgumentException"/> (parameter <c>texts</c>) naming the first bad text.</summary>
    public static void Check(IReadOnlyList<string>? texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (texts.Count == 0)
        {
            throw new ArgumentException("no texts to explain", nameof(texts));
        }

        for (var i = 0; i < texts.Count; i++)
        {
            if (texts[i] is null)
            {
                throw new ArgumentNullException(nameof(texts), $"texts[{i}] is null");
            }

            if (string.IsNullOrWhiteSpace(texts[i]))
            {
                throw new ArgumentException($"texts[{i}] is empty or whitespace: there is nothing to explain", nameof(texts));
            }
        }
    }
}
