namespace Attribution.Models;

/// <summary>
/// Where a TorchScript classifier's word-embedding matrix [vocabulary, width] comes from (see
/// <see cref="TextClassifier.FromTorchScript"/>): a parameter of the TorchScript file itself, or a tensor of a
/// safetensors file. The library looks the token ids up in it, in .NET, and hands the embeddings to the script.
/// </summary>
public sealed class ScriptEmbeddings
{
    private ScriptEmbeddings(string name, string? safetensorsPath)
    {
        Name = name;
        SafeTensorsPath = safetensorsPath;
    }

    /// <summary>The parameter (or safetensors tensor) name, e.g. <c>bert.embeddings.word_embeddings.weight</c>.</summary>
    public string Name { get; }

    /// <summary>The safetensors file holding the matrix, or null when it is a parameter of the TorchScript file.</summary>
    public string? SafeTensorsPath { get; }

    /// <summary>The matrix is the TorchScript module's parameter <paramref name="name"/> (a dotted name, as <c>named_parameters()</c> gives it).</summary>
    /// <exception cref="ArgumentException">The name is null or empty.</exception>
    public static ScriptEmbeddings Parameter(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return new ScriptEmbeddings(name, null);
    }

    /// <summary>The matrix is the tensor <paramref name="tensorName"/> of the safetensors file <paramref name="path"/>.</summary>
    /// <exception cref="ArgumentException">An argument is null or empty.</exception>
    public static ScriptEmbeddings SafeTensors(string path, string tensorName)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentException.ThrowIfNullOrEmpty(tensorName);
        return new ScriptEmbeddings(tensorName, path);
    }

    /// <inheritdoc />
    public override string ToString() => SafeTensorsPath is null ? $"parameter '{Name}'" : $"tensor '{Name}' of {SafeTensorsPath}";
}
