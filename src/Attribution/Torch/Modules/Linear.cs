namespace Attribution.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>y = x Wᵀ + b. Weight (out, in); initialized as PyTorch does, U(−1/√in, 1/√in).</summary>
        public sealed class Linear : Module<Tensor, Tensor>
        {
            private Tensor weight_;
            private Tensor? bias_;

            /// <summary>Creates a layer mapping <paramref name="inFeatures"/> to <paramref name="outFeatures"/>.</summary>
            public Linear(long inFeatures, long outFeatures, bool hasBias = true, Generator? generator = null)
                : base(nameof(Linear))
            {
                if (inFeatures < 1 || outFeatures < 1)
                {
                    throw new ArgumentOutOfRangeException(nameof(inFeatures), $"Linear({inFeatures}, {outFeatures}): both sizes must be at least 1");
                }

                InFeatures = inFeatures;
                OutFeatures = outFeatures;
                var bound = 1.0 / Math.Sqrt(inFeatures);
                using (no_grad())
                {
                    weight_ = empty([outFeatures, inFeatures]).uniform_(-bound, bound, generator).requires_grad_();
                    bias_ = hasBias ? empty([outFeatures]).uniform_(-bound, bound, generator).requires_grad_() : null;
                }

                RegisterComponents();
            }

            /// <summary>Input size.</summary>
            public long InFeatures { get; }

            /// <summary>Output size.</summary>
            public long OutFeatures { get; }

            /// <summary>Weight (out, in).</summary>
            public Tensor weight => weight_;

            /// <summary>Bias (out), or null.</summary>
            public Tensor? bias => bias_;

            /// <inheritdoc />
            protected override Tensor forward(Tensor input) => functional.linear(input, weight_, bias_);
        }
    }
}
