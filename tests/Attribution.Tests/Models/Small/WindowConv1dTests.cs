using Attribution.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Models.Small;

/// <summary>WindowConv1d against the definition of a padded 1-d cross-correlation, written out with loops here.</summary>
public sealed class WindowConv1dTests
{
    /// <summary>
    /// y[b, o, t] = bias[o] + Σ_c Σ_j w[o, c, j] · x̃[b, c, t + j], x̃ = x with p zeros on both sides; and the input
    /// gradient of Σ y·g is ∂/∂x[b, c, s] = Σ_o Σ_j w[o, c, j] · g[b, o, s + p − j]. Float64, so 1e-12 covers rounding.
    /// </summary>
    [Theory]
    [InlineData(1, 0)]
    [InlineData(3, 0)]
    [InlineData(3, 2)]
    [InlineData(5, 4)]
    public void Output_and_input_gradient_follow_the_definition(int k, int p)
    {
        using var scope = NewDisposeScope();
        const int B = 2, C = 3, O = 4, L = 6;
        using var conv = new WindowConv1d(C, O, k, padding: p);
        conv.to(ScalarType.Float64);
        using var generator = new Generator(5);
        var x = randn([B, C, L], ScalarType.Float64, generator: generator).requires_grad_();
        var g = randn([B, O, L + (2 * p) - k + 1], ScalarType.Float64, generator: generator);
        var y = conv.call(x);
        var gradient = autograd.grad([y], [x], [g])[0].data<double>().ToArray();

        var w = conv.Weight.detach().data<double>().ToArray();
        var bias = conv.Bias.detach().data<double>().ToArray();
        var xs = x.detach().data<double>().ToArray();
        var gs = g.data<double>().ToArray();
        var outLength = L + (2 * p) - k + 1;
        y.shape.Should().Equal(B, O, outLength);
        var ys = y.detach().data<double>().ToArray();
        double X(int b, int c, int t) => t < p || t >= p + L ? 0 : xs[(((b * C) + c) * L) + t - p];
        for (var b = 0; b < B; b++)
        {
            for (var o = 0; o < O; o++)
            {
                for (var t = 0; t < outLength; t++)
                {
                    var expected = bias[o];
                    for (var c = 0; c < C; c++)
                    {
                        for (var j = 0; j < k; j++)
                        {
                            expected += w[(((o * C) + c) * k) + j] * X(b, c, t + j);
                        }
                    }

                    ys[(((b * O) + o) * outLength) + t].Should().BeApproximately(expected, 1e-12);
                }
            }

            for (var c = 0; c < C; c++)
            {
                for (var s = 0; s < L; s++)
                {
                    var expected = 0.0;
                    for (var o = 0; o < O; o++)
                    {
                        for (var j = 0; j < k; j++)
                        {
                            var t = s + p - j;
                            if (t >= 0 && t < outLength)
                            {
                                expected += w[(((o * C) + c) * k) + j] * gs[(((b * O) + o) * outLength) + t];
                            }
                        }
                    }

                    gradient[(((b * C) + c) * L) + s].Should().BeApproximately(expected, 1e-12);
                }
            }
        }
    }

    [Fact]
    public void Has_conv1d_parameter_names_and_shapes()
    {
        using var conv = new WindowConv1d(8, 6, 3, padding: 2);
        conv.named_parameters().Select(p => (p.name, string.Join("x", p.parameter.shape)))
            .Should().Equal(("weight", "6x8x3"), ("bias", "6"));
    }

    [Fact]
    public void Bad_sizes_are_refused()
    {
        var zeroKernel = () => new WindowConv1d(2, 2, 0);
        zeroKernel.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("kernelSize");
        var negativePadding = () => new WindowConv1d(2, 2, 3, padding: -1);
        negativePadding.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("padding");
    }
}
