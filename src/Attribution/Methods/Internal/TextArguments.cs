namespace Attribution.Methods.Internal;

/// <summary>The one check of the texts every method is given: at least one, none null, none empty or whitespace.</summary>
internal static class TextArguments
{
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
