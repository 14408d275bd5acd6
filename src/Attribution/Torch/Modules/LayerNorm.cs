namespace Attribution.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>Layer normalization over the trailing dimensions, with elementwise affine weight (1) and bias (0).</summary>
        public sealed class LayerNorm : Module<Tensor, Tensor>
        {
            private Tensor? weight_;
            private Tensor? bias_;

            /// <summary>Normalizes over the trailing <paramref name="normalizedShape"/> dimensions.</summary>
            public LayerNorm(long[] normalizedShape, double eps = 1e-5, bool elementwiseAffine = true)
                : base(nameof(LayerNorm))
            {
                ArgumentNullException.ThrowIfNull(normalizedShape);
                if (normalizedShape.Length == 0 || normalizedShape.Any(s => s < 1))
                {
                    throw new ArgumentException("normalized shape must be non-empty with positive sizes", nameof(normalizedShape));
                }

                if (eps < 0)
                {
                    throw new ArgumentOutOfRangeException(nameof(eps), eps, "eps must be non-negative");
                }

                NormalizedShape = normalizedShape;
                Eps = eps;
                if (elementwiseAffine)
                {
                    weight_ = ones(normalizedShape).requires_grad_();
                    bias_ = zeros(normalizedShape).requires_grad_();
                }

                RegisterComponents();
            }

            /// <summary>Normalizes over the last dimension of size <paramref name="size"/>.</summary>
            public LayerNorm(long size, double eps = 1e-5)
                : this([size], eps)
            {
            }

            /// <summary>The trailing dimensions normalized over.</summary>
            public long[] NormalizedShape { get; }

            /// <summary>Added to the variance for stability.</summary>
            public double Eps { get; }

            /// <summary>Scale (or null without affine).</summary>
            public Tensor? weight => weight_;

            /// <summary>Shift (or null without affine).</summary>
            public Tensor? bias => bias_;

            /// <inheritdoc />
            protected override Tensor forward(Tensor input) => functional.layer_norm(input, NormalizedShape, weight_, bias_, Eps);
        }
    }
}
