using System.Runtime.InteropServices;

namespace Attribution.Torch.Native;

/// <summary>P/Invoke declarations for the shim (src/Native). Every call returns a status; see <see cref="NativeStatus"/>.</summary>
internal static unsafe class NativeMethods
{
    internal const string Library = "attribution_native";

    /// <summary>The ABI version this assembly was compiled against (ATH_ABI_VERSION in shim.h).</summary>
    internal const int ExpectedAbiVersion = 1;

    static NativeMethods()
    {
        NativeLibraryLoader.EnsureRegistered();

        // libtorch's default intra-op thread count is kept unless ATTRIBUTION_NUM_THREADS says otherwise. Measured on a
        // 2-core machine, setting it to every core made BERT-base attribution 2-3x slower: OpenBLAS already runs the
        // matrix products on every core with its own threads, and libtorch's OpenMP threads then compete with them.
        var configured = Environment.GetEnvironmentVariable("ATTRIBUTION_NUM_THREADS");
        if (int.TryParse(configured, out var threads) && threads > 0)
        {
            ath_set_num_threads(threads);
        }
    }

    [DllImport(Library)] internal static extern IntPtr ath_last_error();
    [DllImport(Library)] internal static extern int ath_abi_version();
    [DllImport(Library)] internal static extern IntPtr ath_torch_version();
    [DllImport(Library)] internal static extern long ath_live_tensors();
    [DllImport(Library)] internal static extern void ath_free(IntPtr h);
    [DllImport(Library)] internal static extern int ath_set_num_threads(int n);
    [DllImport(Library)] internal static extern int ath_get_num_threads();
    [DllImport(Library)] internal static extern int ath_set_grad_enabled(int enabled);
    [DllImport(Library)] internal static extern int ath_is_grad_enabled();
    [DllImport(Library)] internal static extern int ath_manual_seed(ulong seed);
    [DllImport(Library)] internal static extern int ath_cuda_device_count(out int count);
    [DllImport(Library)] internal static extern int ath_generator_new(ulong seed, out IntPtr gen);
    [DllImport(Library)] internal static extern void ath_generator_free(IntPtr gen);
    [DllImport(Library)] internal static extern int ath_string_free(IntPtr s);

    [DllImport(Library)] internal static extern int ath_from_data(void* data, long nbytes, long* shape, int ndim, int dtype, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_copy_to(TensorHandle h, void* dst, long nbytes);
    [DllImport(Library)] internal static extern int ath_new(int kind, long* shape, int ndim, double value, int dtype, int deviceType, int deviceIndex, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_arange(double start, double end, double step, int dtype, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_linspace(double start, double end, long steps, int dtype, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_eye(long n, int dtype, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_random(int kind, long* shape, int ndim, int dtype, IntPtr gen, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_randint(long low, long high, long* shape, int ndim, IntPtr gen, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_randperm(long n, IntPtr gen, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_bernoulli(TensorHandle probs, IntPtr gen, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_fill_random_(TensorHandle h, int kind, double a, double b, IntPtr gen);

    [DllImport(Library)] internal static extern int ath_dim(TensorHandle h, out int dim);
    [DllImport(Library)] internal static extern int ath_shape(TensorHandle h, long* shape, int capacity);
    [DllImport(Library)] internal static extern int ath_dtype(TensorHandle h, out int dtype);
    [DllImport(Library)] internal static extern int ath_device(TensorHandle h, out int type, out int index);
    [DllImport(Library)] internal static extern int ath_numel(TensorHandle h, out long numel);
    [DllImport(Library)] internal static extern int ath_item(TensorHandle h, out double value);
    [DllImport(Library)] internal static extern int ath_item_long(TensorHandle h, out long value);
    [DllImport(Library)] internal static extern int ath_to_string(TensorHandle h, out IntPtr text);
    [DllImport(Library)] internal static extern int ath_to(TensorHandle h, int dtype, int deviceType, int deviceIndex, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_copy_kind(TensorHandle h, int kind, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_copy_(TensorHandle dst, TensorHandle src);
    [DllImport(Library)] internal static extern int ath_is_same(TensorHandle a, TensorHandle b, out int same);

    [DllImport(Library)] internal static extern int ath_unary(int op, TensorHandle h, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_softplus(TensorHandle h, double beta, double threshold, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_binary(int op, TensorHandle a, TensorHandle b, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_binary_scalar(int op, TensorHandle a, double s, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_inplace(int op, TensorHandle self, TensorHandle other, double alpha);
    [DllImport(Library)] internal static extern int ath_inplace_scalar(int op, TensorHandle self, double value);
    [DllImport(Library)] internal static extern int ath_addc_(int kind, TensorHandle self, TensorHandle t1, TensorHandle t2, double value);
    [DllImport(Library)] internal static extern int ath_clamp(TensorHandle h, double min, int hasMin, double max, int hasMax, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_where(TensorHandle cond, TensorHandle a, TensorHandle b, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_masked_fill(TensorHandle h, TensorHandle mask, double value, out IntPtr result);

    [DllImport(Library)] internal static extern int ath_reduce(int op, TensorHandle h, long* dims, int ndims, int keepdim, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_values_indices(int kind, TensorHandle h, long dim, long k, int flag, out IntPtr values, out IntPtr indices);
    [DllImport(Library)] internal static extern int ath_arg(int kind, TensorHandle h, long dim, int hasDim, int keepdim, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_norm(TensorHandle h, double p, long* dims, int ndims, int keepdim, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_along_dim(int kind, TensorHandle h, long dim, out IntPtr result);

    [DllImport(Library)] internal static extern int ath_shape_op(int kind, TensorHandle h, long* values, int n, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_dim_op(int kind, TensorHandle h, long a, long b, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_slice(TensorHandle h, long dim, long start, long end, long step, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_narrow(TensorHandle h, long dim, long start, long length, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_index_op(int kind, TensorHandle h, long dim, TensorHandle index, IntPtr extra, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_masked_select(TensorHandle h, TensorHandle mask, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_join(int kind, IntPtr* handles, int n, long dim, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_einsum([MarshalAs(UnmanagedType.LPUTF8Str)] string equation, IntPtr* handles, int n, out IntPtr result);

    [DllImport(Library)] internal static extern int ath_linear(TensorHandle x, TensorHandle w, IntPtr b, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_layer_norm(TensorHandle x, long* shape, int n, IntPtr w, IntPtr b, double eps, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_embedding(TensorHandle weight, TensorHandle indices, long paddingIdx, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_dropout(TensorHandle x, double p, int train, IntPtr gen, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_conv1d(TensorHandle x, TensorHandle w, IntPtr b, long stride, long padding, long dilation, long groups, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_max_pool1d(TensorHandle x, long kernel, long stride, long padding, long dilation, int ceilMode, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_lstm(TensorHandle input, TensorHandle h0, TensorHandle c0, IntPtr* parameters, int nparams, int hasBiases, long numLayers, double dropout, int train, int bidirectional, int batchFirst, out IntPtr output, out IntPtr hn, out IntPtr cn);
    [DllImport(Library)] internal static extern int ath_cross_entropy(TensorHandle logits, TensorHandle target, IntPtr weight, int reduction, long ignoreIndex, double labelSmoothing, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_linalg2(int kind, TensorHandle a, TensorHandle b, int upper, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_linalg1(int kind, TensorHandle a, int upper, out IntPtr result);

    [DllImport(Library)] internal static extern int ath_requires_grad(TensorHandle h, out int value);
    [DllImport(Library)] internal static extern int ath_set_requires_grad(TensorHandle h, int value);
    [DllImport(Library)] internal static extern int ath_is_leaf(TensorHandle h, out int value);
    [DllImport(Library)] internal static extern int ath_grad(TensorHandle h, out IntPtr result);
    [DllImport(Library)] internal static extern int ath_set_grad(TensorHandle h, IntPtr value);
    [DllImport(Library)] internal static extern int ath_retain_grad(TensorHandle h);
    [DllImport(Library)] internal static extern int ath_backward(TensorHandle h, IntPtr gradient, int retainGraph, int createGraph);
    [DllImport(Library)] internal static extern int ath_autograd_grad(IntPtr* outputs, int nOut, IntPtr* inputs, int nIn, IntPtr* gradOutputs, int retainGraph, int createGraph, int allowUnused, IntPtr* results);
    [DllImport(Library)] internal static extern int ath_register_hook(TensorHandle h, IntPtr fn, long context, out long hookId);
    [DllImport(Library)] internal static extern int ath_remove_hook(TensorHandle h, long hookId);
}
