using Attribution.Torch.Native;

namespace Attribution.Torch;

// Reductions, normalizing functions and sorting.
public sealed partial class Tensor
{
    internal enum Reduction { Sum, Mean, Prod, Amax, Amin, LogSumExp, Any, All, Std, Var }

    internal unsafe Tensor Reduce(Reduction op, long[]? dims, bool keepdim)
    {
        dims ??= [];
        fixed (long* p = dims)
        {
            return From(NativeMethods.ath_reduce((int)op, Handle, p, dims.Length, keepdim ? 1 : 0, out var r), r);
        }
    }

    /// <summary>Sum of all elements.</summary>
    public Tensor sum() => Reduce(Reduction.Sum, null, false);
    /// <summary>Sum over one dimension.</summary>
    public Tensor sum(long dim, bool keepdim = false) => Reduce(Reduction.Sum, [dim], keepdim);
    /// <summary>Sum over several dimensions.</summary>
    public Tensor sum(long[] dims, bool keepdim = false) => Reduce(Reduction.Sum, dims, keepdim);
    /// <summary>Mean of all elements.</summary>
    public Tensor mean() => Reduce(Reduction.Mean, null, false);
    /// <summary>Mean over one dimension.</summary>
    public Tensor mean(long dim, bool keepdim = false) => Reduce(Reduction.Mean, [dim], keepdim);
    /// <summary>Mean over several dimensions.</summary>
    public Tensor mean(long[] dims, bool keepdim = false) => Reduce(Reduction.Mean, dims, keepdim);
    /// <summary>Product of all elements.</summary>
    public Tensor prod() => Reduce(Reduction.Prod, null, false);
    /// <summary>Product over one dimension.</summary>
    public Tensor prod(long dim, bool keepdim = false) => Reduce(Reduction.Prod, [dim], keepdim);
    /// <summary>Maximum over dimensions (values only).</summary>
    public Tensor amax(long[] dims, bool keepdim = false) => Reduce(Reduction.Amax, dims, keepdim);
    /// <summary>Minimum over dimensions (values only).</summary>
    public Tensor amin(long[] dims, bool keepdim = false) => Reduce(Reduction.Amin, dims, keepdim);
    /// <summary>log Σ exp over a dimension, computed stably.</summary>
    public Tensor logsumexp(long dim, bool keepdim = false) => Reduce(Reduction.LogSumExp, [dim], keepdim);
    /// <summary>True if any element is non-zero.</summary>
    public Tensor any() => Reduce(Reduction.Any, null, false);
    /// <summary>True if every element is non-zero.</summary>
    public Tensor all() => Reduce(Reduction.All, null, false);
    /// <summary>Sample standard deviation (unbiased) of all elements.</summary>
    public Tensor std() => Reduce(Reduction.Std, null, false);
    /// <summary>Sample standard deviation (unbiased) over one dimension.</summary>
    public Tensor std(long dim, bool keepdim = false) => Reduce(Reduction.Std, [dim], keepdim);
    /// <summary>Sample variance (unbiased) over one dimension.</summary>
    public Tensor var(long dim, bool keepdim = false) => Reduce(Reduction.Var, [dim], keepdim);

    /// <summary>Largest element.</summary>
    public Tensor max() => Reduce(Reduction.Amax, null, false);
    /// <summary>Smallest element.</summary>
    public Tensor min() => Reduce(Reduction.Amin, null, false);

    private (Tensor values, Tensor indices) ValuesIndices(int kind, long dim, long k, bool flag)
    {
        NativeStatus.Check(NativeMethods.ath_values_indices(kind, Handle, dim, k, flag ? 1 : 0, out var v, out var i));
        return (new Tensor(v), new Tensor(i));
    }

    /// <summary>Maximum over a dimension with the indices where it occurs.</summary>
    public (Tensor values, Tensor indices) max(long dim, bool keepdim = false) => ValuesIndices(0, dim, 0, keepdim);
    /// <summary>Minimum over a dimension with the indices where it occurs.</summary>
    public (Tensor values, Tensor indices) min(long dim, bool keepdim = false) => ValuesIndices(1, dim, 0, keepdim);
    /// <summary>Sorts along a dimension (stable), returning values and the permutation.</summary>
    public (Tensor values, Tensor indices) sort(long dim = -1, bool descending = false) => ValuesIndices(2, dim, 0, descending);
    /// <summary>The k largest (or smallest) elements along a dimension, sorted.</summary>
    public (Tensor values, Tensor indices) topk(long k, long dim = -1, bool largest = true) => ValuesIndices(3, dim, k, largest);

    /// <summary>Index of the largest element of the flattened tensor.</summary>
    public Tensor argmax() => From(NativeMethods.ath_arg(0, Handle, 0, 0, 0, out var r), r);
    /// <summary>Indices of the largest elements along a dimension.</summary>
    public Tensor argmax(long dim, bool keepdim = false) => From(NativeMethods.ath_arg(0, Handle, dim, 1, keepdim ? 1 : 0, out var r), r);
    /// <summary>Index of the smallest element of the flattened tensor.</summary>
    public Tensor argmin() => From(NativeMethods.ath_arg(1, Handle, 0, 0, 0, out var r), r);
    /// <summary>Indices of the smallest elements along a dimension.</summary>
    public Tensor argmin(long dim, bool keepdim = false) => From(NativeMethods.ath_arg(1, Handle, dim, 1, keepdim ? 1 : 0, out var r), r);

    /// <summary>p-norm of all elements (p = 2 by default; ∞ allowed).</summary>
    public Tensor norm(double p = 2) => Norm(p, null, false);
    /// <summary>p-norm over one dimension. The order comes first so that <c>x.norm(1)</c> means p = 1, as in PyTorch.</summary>
    public Tensor norm(double p, long dim, bool keepdim = false) => Norm(p, [dim], keepdim);
    /// <summary>p-norm over several dimensions.</summary>
    public Tensor norm(double p, long[] dims, bool keepdim = false) => Norm(p, dims, keepdim);

    private unsafe Tensor Norm(double p, long[]? dims, bool keepdim)
    {
        dims ??= [];
        fixed (long* d = dims)
        {
            return From(NativeMethods.ath_norm(Handle, p, d, dims.Length, keepdim ? 1 : 0, out var r), r);
        }
    }

    /// <summary>Cumulative sum along a dimension.</summary>
    public Tensor cumsum(long dim) => From(NativeMethods.ath_along_dim(0, Handle, dim, out var r), r);
    /// <summary>Softmax along a dimension.</summary>
    public Tensor softmax(long dim) => From(NativeMethods.ath_along_dim(1, Handle, dim, out var r), r);
    /// <summary>Log-softmax along a dimension (stable).</summary>
    public Tensor log_softmax(long dim) => From(NativeMethods.ath_along_dim(2, Handle, dim, out var r), r);
    /// <summary>Reverses the order along a dimension.</summary>
    public Tensor flip(long dim) => From(NativeMethods.ath_along_dim(3, Handle, dim, out var r), r);
}
