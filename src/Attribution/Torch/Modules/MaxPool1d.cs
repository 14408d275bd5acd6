namespace Attribution.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>
        /// 1-D max pooling over (batch, channels, length) or (channels, length). Padding is with −∞, so padded
        /// positions never win. Parameter-free.
        /// </summary>
        public sealed class MaxPool1d : Module<Tensor, Tensor>
        {
            /// <summary>Creates the layer.</summary>
            /// <param name="kernelSize">Width of the window (at least 1).</param>
            /// <param name="stride">Step between windows (at least 1); defaults to <paramref name="kernelSize"/>.</param>
            /// <param name="padding">Implicit −∞ padding at both ends (non-negative, at most half the kernel size).</param>
            /// <param name="dilation">Spacing between window taps (at least 1).</param>
            /// <param name="ceilMode">Round the output length up rather than down (a last partial window is kept when it starts inside the input or left padding).</param>
            public MaxPool1d(long kernelSize, long? stride = null, long padding = 0, long dilation = 1, bool ceilMode = false)
                : base(nameof(MaxPool1d))
            {
                if (kernelSize < 1)
                {
                    throw new ArgumentOutOfRangeException(nameof(kernelSize), kernelSize, "MaxPool1d: kernel_size must be at least 1");
                }

                if (stride is < 1)
                {
                    throw new ArgumentOutOfRangeException(nameof(stride), stride, "MaxPool1d: stride must be at least 1 (or null for kernel_size)");
                }

                if (padding < 0 || padding > kernelSize / 2)
                {
                    throw new ArgumentOutOfRangeException(nameof(padding), padding,
                        $"MaxPool1d: padding must be between 0 and half the kernel size ({kernelSize / 2})");
                }

                if (dilation < 1)
                {
                    throw new ArgumentOutOfRangeException(nameof(dilation), dilation, "MaxPool1d: dilation must be at least 1");
                }

                KernelSize = kernelSize;
                Stride = stride ?? kernelSize;
                Padding = padding;
                Dilation = dilation;
                CeilMode = ceilMode;
            }

            /// <summary>Width of the window.</summary>
            public long KernelSize { get; }

            /// <summary>Step between windows.</summary>
            public long Stride { get; }

            /// <summary>Implicit −∞ padding at both ends.</summary>
            public long Padding { get; }

            /// <summary>Spacing between window taps.</summary>
            public long Dilation { get; }

            /// <summary>Whether the output length is rounded up.</summary>
            public bool CeilMode { get; }

            /// <inheritdoc />
            protected override Tensor forward(Tensor input)
            {
                ArgumentNullException.ThrowIfNull(input);
                if (input.dim() is not (2 or 3))
                {
                    throw new ArgumentException(
                        $"MaxPool1d expects (batch, channels, length) or (channels, length), got [{string.Join(", ", input.shape)}]", nameof(input));
                }

                return functional.max_pool1d(input, KernelSize, Stride, Padding, Dilation, CeilMode);
            }
        }
    }
}
