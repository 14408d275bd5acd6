namespace Attribution.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>
        /// 1-D convolution over (batch, in_channels, length), or unbatched (in_channels, length), with zero padding.
        /// Weight (out_channels, in_channels / groups, kernel_size). Initialized as PyTorch does: Kaiming-uniform with
        /// a = √5, so weight and bias are U(−1/√fan_in, 1/√fan_in) with fan_in = in_channels / groups · kernel_size.
        /// </summary>
        public sealed class Conv1d : Module<Tensor, Tensor>
        {
            private Tensor weight_;
            private Tensor? bias_;

            /// <summary>Creates a layer mapping <paramref name="inChannels"/> to <paramref name="outChannels"/> channels.</summary>
            /// <param name="inChannels">Channels of the input (at least 1, divisible by <paramref name="groups"/>).</param>
            /// <param name="outChannels">Channels of the output (at least 1, divisible by <paramref name="groups"/>).</param>
            /// <param name="kernelSize">Width of the kernel (at least 1).</param>
            /// <param name="stride">Step between windows (at least 1).</param>
            /// <param name="padding">Zeros added at both ends of the length dimension (non-negative).</param>
            /// <param name="dilation">Spacing between kernel taps (at least 1).</param>
            /// <param name="groups">Blocked connections from input to output channels (at least 1).</param>
            /// <param name="hasBias">Whether to add a learnable bias per output channel.</param>
            /// <param name="generator">Random stream for the initialization (the global one when null).</param>
            public Conv1d(long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0, long dilation = 1,
                long groups = 1, bool hasBias = true, Generator? generator = null)
                : base(nameof(Conv1d))
            {
                if (inChannels < 1)
                {
                    throw new ArgumentOutOfRangeException(nameof(inChannels), inChannels, "Conv1d: in_channels must be at least 1");
                }

                if (outChannels < 1)
                {
                    throw new ArgumentOutOfRangeException(nameof(outChannels), outChannels, "Conv1d: out_channels must be at least 1");
                }

                if (kernelSize < 1)
                {
                    throw new ArgumentOutOfRangeException(nameof(kernelSize), kernelSize, "Conv1d: kernel_size must be at least 1");
                }

                if (stride < 1)
                {
                    throw new ArgumentOutOfRangeException(nameof(stride), stride, "Conv1d: stride must be at least 1");
                }

                if (padding < 0)
                {
                    throw new ArgumentOutOfRangeException(nameof(padding), padding, "Conv1d: padding must be non-negative");
                }

                if (dilation < 1)
                {
                    throw new ArgumentOutOfRangeException(nameof(dilation), dilation, "Conv1d: dilation must be at least 1");
                }

                if (groups < 1)
                {
                    throw new ArgumentOutOfRangeException(nameof(groups), groups, "Conv1d: groups must be at least 1");
                }

                if (inChannels % groups != 0 || outChannels % groups != 0)
                {
                    throw new ArgumentOutOfRangeException(nameof(groups), groups,
                        $"Conv1d: in_channels ({inChannels}) and out_channels ({outChannels}) must both be divisible by groups ({groups})");
                }

                InChannels = inChannels;
                OutChannels = outChannels;
                KernelSize = kernelSize;
                Stride = stride;
                Padding = padding;
                Dilation = dilation;
                Groups = groups;
                var fanIn = inChannels / groups * kernelSize;
                var bound = 1.0 / Math.Sqrt(fanIn);
                using (no_grad())
                {
                    weight_ = empty([outChannels, inChannels / groups, kernelSize]).uniform_(-bound, bound, generator).requires_grad_();
                    bias_ = hasBias ? empty([outChannels]).uniform_(-bound, bound, generator).requires_grad_() : null;
                }

                RegisterComponents();
            }

            /// <summary>Channels of the input.</summary>
            public long InChannels { get; }

            /// <summary>Channels of the output.</summary>
            public long OutChannels { get; }

            /// <summary>Width of the kernel.</summary>
            public long KernelSize { get; }

            /// <summary>Step between windows.</summary>
            public long Stride { get; }

            /// <summary>Zeros added at both ends of the length dimension.</summary>
            public long Padding { get; }

            /// <summary>Spacing between kernel taps.</summary>
            public long Dilation { get; }

            /// <summary>Blocked connections from input to output channels.</summary>
            public long Groups { get; }

            /// <summary>Weight (out_channels, in_channels / groups, kernel_size).</summary>
            public Tensor weight => weight_;

            /// <summary>Bias (out_channels), or null.</summary>
            public Tensor? bias => bias_;

            /// <summary>
            /// Output length for an input of length <paramref name="length"/>:
            /// ⌊(length + 2·padding − dilation·(kernel_size − 1) − 1) / stride⌋ + 1, or 0 when the padded input is
            /// shorter than the dilated kernel (the forward pass then throws).
            /// </summary>
            public long OutputLength(long length)
            {
                var span = length + (2 * Padding) - (Dilation * (KernelSize - 1)) - 1;
                return span < 0 ? 0 : (span / Stride) + 1;
            }

            /// <inheritdoc />
            protected override Tensor forward(Tensor input)
            {
                ArgumentNullException.ThrowIfNull(input);
                var dims = input.dim();
                if (dims is not (2 or 3) || input.size(dims - 2) != InChannels)
                {
                    throw new ArgumentException(
                        $"Conv1d({InChannels}, {OutChannels}) expects (batch, {InChannels}, length) or ({InChannels}, length), got [{string.Join(", ", input.shape)}]",
                        nameof(input));
                }

                return functional.conv1d(input, weight_, bias_, Stride, Padding, Dilation, Groups);
            }
        }
    }
}
