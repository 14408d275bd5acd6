using Attribution.Torch.Native;

namespace Attribution.Torch;

// Views, reshapes and indexing.
public sealed partial class Tensor
{
    private unsafe Tensor ShapeOp(int kind, long[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        fixed (long* p = values)
        {
            return From(NativeMethods.ath_shape_op(kind, Handle, p, values.Length, out var r), r);
        }
    }

    private Tensor DimOp(int kind, long a, long b) => From(NativeMethods.ath_dim_op(kind, Handle, a, b, out var r), r);

    /// <summary>Same data, new shape (one entry may be −1); copies only if needed.</summary>
    public Tensor reshape(params long[] shape) => ShapeOp(0, shape);
    /// <summary>Same data, new shape; needs compatible strides.</summary>
    public Tensor view(params long[] shape) => ShapeOp(1, shape);
    /// <summary>Reorders dimensions.</summary>
    public Tensor permute(params long[] dims) => ShapeOp(2, dims);
    /// <summary>Broadcasts size-1 dimensions to the given sizes without copying (−1 keeps a size).</summary>
    public Tensor expand(params long[] sizes) => ShapeOp(3, sizes);
    /// <summary>Tiles the tensor the given number of times along each dimension.</summary>
    public Tensor repeat(params long[] repeats) => ShapeOp(4, repeats);
    /// <summary>Swaps two dimensions.</summary>
    public Tensor transpose(long dim0, long dim1) => DimOp(0, dim0, dim1);
    /// <summary>Transpose of a 2-D tensor.</summary>
    public Tensor t() => DimOp(0, 0, 1);
    /// <summary>Removes every size-1 dimension.</summary>
    public Tensor squeeze() => DimOp(1, 0, 1);
    /// <summary>Removes one dimension if its size is 1.</summary>
    public Tensor squeeze(long dim) => DimOp(1, dim, 0);
    /// <summary>Inserts a size-1 dimension.</summary>
    public Tensor unsqueeze(long dim) => DimOp(2, dim, 0);
    /// <summary>The slice at <paramref name="index"/> along <paramref name="dim"/> (that dimension removed).</summary>
    public Tensor select(long dim, long index) => DimOp(3, dim, index);
    /// <summary>Flattens dimensions start..end into one.</summary>
    public Tensor flatten(long startDim = 0, long endDim = -1) => DimOp(4, startDim, endDim);
    /// <summary>Repeats each element <paramref name="repeats"/> times along a dimension.</summary>
    public Tensor repeat_interleave(long repeats, long dim) => DimOp(5, repeats, dim);
    /// <summary>Moves one dimension to another position.</summary>
    public Tensor movedim(long source, long destination) => DimOp(6, source, destination);

    /// <summary>Elements start, start+step, … before end along a dimension (a view).</summary>
    public Tensor slice(long dim, long start, long end, long step = 1) =>
        From(NativeMethods.ath_slice(Handle, dim, start, end, step, out var r), r);

    /// <summary><paramref name="length"/> elements from <paramref name="start"/> along a dimension (a view).</summary>
    public Tensor narrow(long dim, long start, long length) =>
        From(NativeMethods.ath_narrow(Handle, dim, start, length, out var r), r);

    private Tensor IndexOp(int kind, long dim, Tensor index, Tensor? extra = null)
    {
        ArgumentNullException.ThrowIfNull(index);
        var result = From(NativeMethods.ath_index_op(kind, Handle, dim, index.Handle, extra?.RawHandle ?? IntPtr.Zero, out var r), r);
        GC.KeepAlive(extra);
        return result;
    }

    /// <summary>Rows (along <paramref name="dim"/>) picked by an int64 index vector.</summary>
    public Tensor index_select(long dim, Tensor index) => IndexOp(0, dim, index);
    /// <summary>Gathers values along a dimension by an int64 index tensor.</summary>
    public Tensor gather(long dim, Tensor index) => IndexOp(1, dim, index);
    /// <summary>Repeats element i of a dimension repeats[i] times.</summary>
    public Tensor repeat_interleave(Tensor repeats, long dim) => IndexOp(2, dim, repeats);
    /// <summary>Out-of-place scatter-add of <paramref name="source"/> at <paramref name="index"/> along a dimension.</summary>
    public Tensor scatter_add(long dim, Tensor index, Tensor source) => IndexOp(3, dim, index, source ?? throw new ArgumentNullException(nameof(source)));
    /// <summary>Out-of-place index-add: rows of <paramref name="source"/> added at the rows named by <paramref name="index"/>.</summary>
    public Tensor index_add(long dim, Tensor index, Tensor source) => IndexOp(4, dim, index, source ?? throw new ArgumentNullException(nameof(source)));

    /// <summary>The elements where a bool mask is true, as a vector.</summary>
    public Tensor masked_select(Tensor mask)
    {
        ArgumentNullException.ThrowIfNull(mask);
        return From(NativeMethods.ath_masked_select(Handle, mask.Handle, out var r), r);
    }

    /// <summary>Successive <see cref="select"/> along the first dimensions (negative indices count from the end).</summary>
    public Tensor this[params long[] indices]
    {
        get
        {
            ArgumentNullException.ThrowIfNull(indices);
            if (indices.Length == 0)
            {
                return alias();
            }

            var result = select(0, indices[0]);
            for (var i = 1; i < indices.Length; i++)
            {
                var next = result.select(0, indices[i]);
                result.Dispose();
                result = next;
            }

            return result;
        }
    }
}
