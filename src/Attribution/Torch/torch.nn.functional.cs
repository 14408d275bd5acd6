using Attribution.Torch.Native;

namespace Attribution.Torch;

public static partial class torch
{
    /// <summary>Neural-network building blocks (torch.nn).</summary>
    public static partial class nn
    {
        /// <summary>Stateless layer functions (torch.nn.functional).</summary>
        public static class functional
        {
            /// <summary>x Wᵀ + b.</summary>
            public static Tensor linear(Tensor input, Tensor weight, Tensor? bias = null)
            {
                ArgumentNullException.ThrowIfNull(input);
                ArgumentNullException.ThrowIfNull(weight);
                var result = Tensor.From(NativeMethods.ath_linear(input.Handle, weight.Handle, bias?.RawHandle ?? IntPtr.Zero, out var r), r);
                GC.KeepAlive(bias);
                return result;
            }

            /// <summary>Layer normalization over the trailing <paramref name="normalized_shape"/> dimensions.</summary>
            public static unsafe Tensor layer_norm(Tensor input, long[] normalized_shape, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
            {
                ArgumentNullException.ThrowIfNull(input);
                ArgumentNullException.ThrowIfNull(normalized_shape);
                fixed (long* s = normalized_shape)
                {
                    var result = Tensor.From(NativeMethods.ath_layer_norm(input.Handle, s, normalized_shape.Length, weight?.RawHandle ?? IntPtr.Zero, bias?.RawHandle ?? IntPtr.Zero, eps, out var r), r);
                    GC.KeepAlive(weight);
                    GC.KeepAlive(bias);
                    return result;
                }
            }

            /// <summary>Looks up rows of <paramref name="weight"/> by int64 <paramref name="input"/> ids.</summary>
            public static Tensor embedding(Tensor input, Tensor weight, long padding_idx = -1)
            {
                ArgumentNullException.ThrowIfNull(input);
                ArgumentNullException.ThrowIfNull(weight);
                return Tensor.From(NativeMethods.ath_embedding(weight.Handle, input.Handle, padding_idx, out var r), r);
            }

            /// <summary>Zeroes elements with probability p and rescales by 1/(1−p) when training; identity otherwise.</summary>
            public static Tensor dropout(Tensor input, double p = 0.5, bool training = true, Generator? generator = null)
            {
                ArgumentNullException.ThrowIfNull(input);
                return Tensor.From(NativeMethods.ath_dropout(input.Handle, p, training ? 1 : 0, Generator.HandleOf(generator), out var r), r);
            }

            /// <summary>1-D convolution over (batch, channels, length).</summary>
            public static Tensor conv1d(Tensor input, Tensor weight, Tensor? bias = null, long stride = 1, long padding = 0, long dilation = 1, long groups = 1)
            {
                ArgumentNullException.ThrowIfNull(input);
                ArgumentNullException.ThrowIfNull(weight);
                var result = Tensor.From(NativeMethods.ath_conv1d(input.Handle, weight.Handle, bias?.RawHandle ?? IntPtr.Zero, stride, padding, dilation, groups, out var r), r);
                GC.KeepAlive(bias);
                return result;
            }

            /// <summary>1-D max pooling over (batch, channels, length); stride defaults to the kernel size.</summary>
            public static Tensor max_pool1d(Tensor input, long kernel_size, long? stride = null, long padding = 0, long dilation = 1, bool ceil_mode = false)
            {
                ArgumentNullException.ThrowIfNull(input);
                return Tensor.From(NativeMethods.ath_max_pool1d(input.Handle, kernel_size, stride ?? kernel_size, padding, dilation, ceil_mode ? 1 : 0, out var r), r);
            }

            /// <summary>
            /// libtorch's multi-layer LSTM. <paramref name="parameters"/> holds, per layer and direction,
            /// w_ih, w_hh and (with biases) b_ih, b_hh; h0/c0 are (layers·directions, batch, hidden).
            /// </summary>
            public static unsafe (Tensor output, Tensor h_n, Tensor c_n) lstm(
                Tensor input, Tensor h0, Tensor c0, IReadOnlyList<Tensor> parameters, bool has_biases, long num_layers,
                double dropout, bool train, bool bidirectional, bool batch_first)
            {
                ArgumentNullException.ThrowIfNull(input);
                ArgumentNullException.ThrowIfNull(h0);
                ArgumentNullException.ThrowIfNull(c0);
                ArgumentNullException.ThrowIfNull(parameters);
                var handles = parameters.Select(p => p.RawHandle).ToArray();
                fixed (IntPtr* p = handles)
                {
                    NativeStatus.Check(NativeMethods.ath_lstm(input.Handle, h0.Handle, c0.Handle, p, handles.Length, has_biases ? 1 : 0, num_layers, dropout, train ? 1 : 0, bidirectional ? 1 : 0, batch_first ? 1 : 0, out var o, out var h, out var c));
                    GC.KeepAlive(parameters);
                    return (new Tensor(o), new Tensor(h), new Tensor(c));
                }
            }

            /// <summary>Cross-entropy of logits against int64 class targets; reduction "mean", "sum" or "none".</summary>
            public static Tensor cross_entropy(Tensor input, Tensor target, Tensor? weight = null, string reduction = "mean", long ignore_index = -100, double label_smoothing = 0)
            {
                ArgumentNullException.ThrowIfNull(input);
                ArgumentNullException.ThrowIfNull(target);
                var code = reduction switch
                {
                    "none" => 0,
                    "mean" => 1,
                    "sum" => 2,
                    _ => throw new ArgumentException($"reduction must be none, mean or sum, got '{reduction}'", nameof(reduction)),
                };
                var result = Tensor.From(NativeMethods.ath_cross_entropy(input.Handle, target.Handle, weight?.RawHandle ?? IntPtr.Zero, code, ignore_index, label_smoothing, out var r), r);
                GC.KeepAlive(weight);
                return result;
            }

            /// <summary>Softmax along a dimension.</summary>
            public static Tensor softmax(Tensor input, long dim) => input.softmax(dim);
            /// <summary>Log-softmax along a dimension.</summary>
            public static Tensor log_softmax(Tensor input, long dim) => input.log_softmax(dim);
            /// <summary>max(0, x).</summary>
            public static Tensor relu(Tensor input) => input.relu();
            /// <summary>GELU (exact unless approximate = "tanh").</summary>
            public static Tensor gelu(Tensor input, string approximate = "none") => input.gelu(approximate);
            /// <summary>Softplus.</summary>
            public static Tensor softplus(Tensor input, double beta = 1, double threshold = 20) => input.softplus(beta, threshold);
        }
    }
}
