namespace Attribution.Torch;

/// <summary>
/// An operation failed inside libtorch (bad shapes, dtypes, indices, autograd misuse, ...).
/// The process keeps running: the native shim catches every C++ exception and reports it here.
/// </summary>
public sealed class TorchException : Exception
{
    /// <summary>Creates the exception for a failed operation.</summary>
    /// <param name="operation">The libtorch operation that failed, e.g. <c>matmul</c>.</param>
    /// <param name="detail">libtorch's own explanation (shapes, dtypes, indices).</param>
    /// <param name="inner">A managed exception that caused the failure, if any.</param>
    public TorchException(string operation, string detail, Exception? inner = null)
        : base($"{operation} failed: {detail}", inner)
    {
        Operation = operation;
        Detail = detail;
    }

    /// <summary>The libtorch operation that failed.</summary>
    public string Operation { get; }

    /// <summary>libtorch's message, without the operation prefix.</summary>
    public string Detail { get; }
}
