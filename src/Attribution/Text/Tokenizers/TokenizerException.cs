namespace Attribution.Text.Tokenizers;

/// <summary>
/// A tokenizer could not be loaded: a file is missing, malformed, or describes a tokenizer this library does not
/// implement. The message names the file, what is wrong with it and how to fix it.
/// </summary>
public sealed class TokenizerException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="path">The file or directory at fault.</param>
    /// <param name="message">What is wrong and how to fix it.</param>
    /// <param name="inner">The underlying failure (I/O, JSON), if any.</param>
    public TokenizerException(string path, string message, Exception? inner = null)
        : base($"{path}: {message}", inner)
    {
        Path = path;
    }

    /// <summary>The file or directory at fault.</summary>
    public string Path { get; }
}
