namespace Attribution.Torch;

/// <summary>
/// Collects every tensor created on this thread while it is the innermost open scope and disposes them
/// when the scope is disposed (TorchSharp's pattern). Keep a result with
/// <see cref="Tensor.MoveToOuterDisposeScope"/> or <see cref="Tensor.DetachFromDisposeScope"/>.
/// </summary>
public sealed class DisposeScope : IDisposable
{
    [ThreadStatic] private static DisposeScope? current;

    private readonly HashSet<Tensor> tensors = new(ReferenceEqualityComparer.Instance);
    private bool disposed;

    internal DisposeScope()
    {
        Outer = current;
        current = this;
    }

    /// <summary>The innermost open scope on this thread, or null.</summary>
    public static DisposeScope? Current
    {
        get
        {
            var scope = current;
            while (scope is { disposed: true })
            {
                scope = scope.Outer;
            }

            return scope;
        }
    }

    /// <summary>The scope this one was opened inside, or null.</summary>
    public DisposeScope? Outer { get; }

    /// <summary>How many tensors this scope will dispose.</summary>
    public int Count => tensors.Count;

    internal void Add(Tensor tensor) => tensors.Add(tensor);

    internal bool Remove(Tensor tensor) => tensors.Remove(tensor);

    /// <summary>Hands the tensors to the enclosing scope (or to no scope), so they survive this one.</summary>
    public void MoveToOuter(params Tensor[] keep)
    {
        ArgumentNullException.ThrowIfNull(keep);
        foreach (var t in keep)
        {
            t.MoveToOuterDisposeScope();
        }
    }

    /// <summary>Disposes every tensor still registered and closes the scope.</summary>
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        foreach (var t in tensors)
        {
            t.DisposeFromScope();
        }

        tensors.Clear();

        // Scopes close innermost first; an out-of-order dispose still restores a consistent chain.
        if (ReferenceEquals(current, this))
        {
            current = Current;
        }
    }
}
