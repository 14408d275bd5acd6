namespace Attribution.Models;

/// <summary>
/// A model folder, its <c>config.json</c> or its weights cannot be turned into a model. The message
/// names the file, the offending field or tensor names, and what to do about it.
/// </summary>
public sealed class ModelLoadException : Exception
{
    internal ModelLoadException(string? filePath, string? field, string message, Exception? inner = null)
        : base(message, inner)
    {
        FilePath = filePath;
        Field = field;
    }

    /// <summary>The file (or folder) that could not be used, when there is one.</summary>
    public string? FilePath { get; }

    /// <summary>The configuration field or tensor name at fault, when there is a single one.</summary>
    public string? Field { get; }
}
