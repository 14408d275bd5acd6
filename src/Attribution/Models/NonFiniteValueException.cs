namespace Attribution.Models;

/// <summary>Where a non-finite number (NaN or ±∞) appeared.</summary>
public enum NonFiniteSource
{
    /// <summary>The model's logits (or a black box's probabilities).</summary>
    ModelOutput,

    /// <summary>An attribution method's result.</summary>
    Attribution,
}

/// <summary>
/// A NaN or infinite value where a number is needed: a result built on it would look like an answer and mean nothing,
/// so the call fails instead. The message says where it appeared and the likely cause.
/// </summary>
public sealed class NonFiniteValueException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="source">Where the value appeared.</param>
    /// <param name="message">What was non-finite, for which text, and the likely cause.</param>
    public NonFiniteValueException(NonFiniteSource source, string message)
        : base(message)
    {
        Source = source;
    }

    /// <summary>Where the value appeared.</summary>
    public new NonFiniteSource Source { get; }

    /// <summary>Throws when a row of logits has a NaN or infinite value.</summary>
    /// <param name="model">The model's name.</param>
    /// <param name="logits">One row per text.</param>
    /// <param name="texts">The texts, for the message (may be null).</param>
    public static void CheckLogits(string model, IReadOnlyList<double[]> logits, IReadOnlyList<string>? texts = null)
    {
        ArgumentNullException.ThrowIfNull(logits);
        for (var i = 0; i < logits.Count; i++)
        {
            if (logits[i].Any(v => !double.IsFinite(v)))
            {
                var text = texts is not null && i < texts.Count ? $" for \"{Shorten(texts[i])}\"" : $" for input {i}";
                throw new NonFiniteValueException(NonFiniteSource.ModelOutput,
                    $"{model} returned non-finite logits{text} ([{string.Join(", ", logits[i].Select(v => v.ToString("G4", System.Globalization.CultureInfo.InvariantCulture)))}]): " +
                    "its weights probably contain NaN or infinite values, or values so large (about 1e38) that the computation overflows; check the weights file");
            }
        }
    }

    internal static string Shorten(string text) => text.Length <= 40 ? text : text[..37] + "...";
}
