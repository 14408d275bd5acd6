namespace Attribution.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>A parameter-free elementwise layer.</summary>
        public abstract class ElementwiseModule : Module<Tensor, Tensor>
        {
            /// <summary>Creates the layer.</summary>
            protected ElementwiseModule(string name)
                : base(name)
            {
            }
        }

        /// <summary>max(0, x).</summary>
        public sealed class ReLU() : ElementwiseModule(nameof(ReLU))
        {
            /// <inheritdoc />
            protected override Tensor forward(Tensor input) => input.relu();
        }

        /// <summary>Hyperbolic tangent.</summary>
        public sealed class Tanh() : ElementwiseModule(nameof(Tanh))
        {
            /// <inheritdoc />
            protected override Tensor forward(Tensor input) => input.tanh();
        }

        /// <summary>Logistic sigmoid.</summary>
        public sealed class Sigmoid() : ElementwiseModule(nameof(Sigmoid))
        {
            /// <inheritdoc />
            protected override Tensor forward(Tensor input) => input.sigmoid();
        }

        /// <summary>GELU: exact (erf) by default, or the tanh approximation ("gelu_new").</summary>
        public sealed class GELU : ElementwiseModule
        {
            /// <summary>Creates the layer; <paramref name="approximate"/> is "none" or "tanh".</summary>
            public GELU(string approximate = "none")
                : base(nameof(GELU))
            {
                if (approximate is not ("none" or "tanh"))
                {
                    throw new ArgumentException($"approximate must be 'none' or 'tanh', got '{approximate}'", nameof(approximate));
                }

                Approximate = approximate;
            }

            /// <summary>"none" (exact) or "tanh".</summary>
            public string Approximate { get; }

            /// <inheritdoc />
            protected override Tensor forward(Tensor input) => input.gelu(Approximate);
        }

        /// <summary>Softplus log(1 + e^(βx))/β, linear above the threshold.</summary>
        public sealed class Softplus(double beta = 1, double threshold = 20) : ElementwiseModule(nameof(Softplus))
        {
            /// <summary>β.</summary>
            public double Beta { get; } = beta;

            /// <summary>Above threshold/β the layer is the identity.</summary>
            public double Threshold { get; } = threshold;

            /// <inheritdoc />
            protected override Tensor forward(Tensor input) => input.softplus(Beta, Threshold);
        }

        /// <summary>Passes the input through unchanged.</summary>
        public sealed class Identity() : ElementwiseModule(nameof(Identity))
        {
            /// <inheritdoc />
            protected override Tensor forward(Tensor input) => input.alias();
        }

        /// <summary>Zeroes elements with probability p while training (rescaling by 1/(1−p)); the identity in eval mode.</summary>
        public sealed class Dropout : ElementwiseModule
        {
            /// <summary>Creates the layer.</summary>
            public Dropout(double p = 0.5)
                : base(nameof(Dropout))
            {
                if (p is < 0 or > 1 || double.IsNaN(p))
                {
                    throw new ArgumentOutOfRangeException(nameof(p), p, "dropout probability must be in [0, 1]");
                }

                P = p;
            }

            /// <summary>Probability of zeroing an element.</summary>
            public double P { get; }

            /// <inheritdoc />
            protected override Tensor forward(Tensor input) => functional.dropout(input, P, training);
        }
    }
}
