namespace Attribution.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>
        /// Flattens dimensions <see cref="StartDim"/> through <see cref="EndDim"/> into one (by default every dimension
        /// but the batch), for example between a pooling layer and a <see cref="Linear"/> head in a <see cref="Sequential"/>.
        /// </summary>
        public sealed class Flatten : Module<Tensor, Tensor>
        {
            /// <summary>Creates the layer; negative dimensions count from the end.</summary>
            /// <param name="startDim">First dimension flattened.</param>
            /// <param name="endDim">Last dimension flattened.</param>
            public Flatten(long startDim = 1, long endDim = -1)
                : base(nameof(Flatten))
            {
                if (startDim >= 0 && endDim >= 0 && startDim > endDim)
                {
                    throw new ArgumentOutOfRangeException(nameof(startDim), startDim, $"Flatten: start_dim ({startDim}) must not come after end_dim ({endDim})");
                }

                if (startDim < 0 && endDim < 0 && startDim > endDim)
                {
                    throw new ArgumentOutOfRangeException(nameof(startDim), startDim, $"Flatten: start_dim ({startDim}) must not come after end_dim ({endDim})");
                }

                StartDim = startDim;
                EndDim = endDim;
            }

            /// <summary>First dimension flattened.</summary>
            public long StartDim { get; }

            /// <summary>Last dimension flattened.</summary>
            public long EndDim { get; }

            /// <inheritdoc />
            protected override Tensor forward(Tensor input)
            {
                ArgumentNullException.ThrowIfNull(input);
                return input.flatten(StartDim, EndDim);
            }
        }
    }
}
