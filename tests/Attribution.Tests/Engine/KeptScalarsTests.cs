using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Engine;

/// <summary>The kept-scalar helpers compute what the TorchSharp calls they replace compute.</summary>
public sealed class KeptScalarsTests
{
    [Theory]
    [InlineData(1.0)]
    [InlineData(4.0)]
    [InlineData(0.25)]
    public void Softplus_is_log_one_plus_e_to_the_beta_x_over_beta_and_x_past_the_threshold(double beta)
    {
        // Expected values from the definition in double precision: x where βx > 20, else log(1 + e^{βx})/β, the log taken
        // by its series where e^{βx} < 1e-5 (1 + e would round the small values away). The tensor is float64: 1e-12
        // relative leaves room for exp/log1p rounding only.
        double[] xs = [-300, -30, -2.5, -1e-3, 0, 1e-3, 0.7, 4.9, 5.1, 19.9 / beta, 20.1 / beta, 80, 1e4];
        using var x = tensor(xs, dtype: ScalarType.Float64);
        using var y = x.Softplus(beta);
        var got = y.data<double>().ToArray();
        for (var i = 0; i < xs.Length; i++)
        {
            var e = Math.Exp(beta * xs[i]);
            var expected = beta * xs[i] > 20 ? xs[i] : (e < 1e-5 ? e - (e * e / 2) + (e * e * e / 3) : Math.Log(1 + e)) / beta;
            got[i].Should().BeApproximately(expected, 1e-12 * Math.Abs(expected), $"x = {xs[i]}");
        }

        // libtorch's own softplus agrees to float64 rounding. TorchSharp's public call (nn.functional.softplus(x, β), the
        // one replaced) makes the scalars it reads without keeping them; it hands them, β and the default threshold 20 as
        // double scalars, to the private Tensor.softplus1(Scalar, Scalar), which makes the native call. Called here with
        // both scalars kept: the same libtorch computation.
        using var betaScalar = beta.ToScalar();
        using var threshold = 20.0.ToScalar();
        var native = typeof(Tensor).GetMethod("softplus1", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance, [typeof(Scalar), typeof(Scalar)]);
        native.Should().NotBeNull("TorchSharp 0.107's Tensor.softplus(double, double) calls softplus1(Scalar, Scalar)");
        using var libtorch = (Tensor)native!.Invoke(x, [betaScalar, threshold])!;
        got.Should().Equal(libtorch.data<double>().ToArray(), (a, e) => Math.Abs(a - e) <= 1e-15 * Math.Max(1, Math.Abs(e)));
    }

    [Fact]
    public void Softplus_gradient_is_the_logistic_of_beta_x_and_one_past_the_threshold_never_nan()
    {
        // d/dx log(1 + e^{βx})/β = 1/(1 + e^{−βx}); 1 where βx > 20 (the linear branch). The capped exponent keeps the
        // branch not taken finite at x = 1e4 (e^{2e4} overflows), so its zero weight cannot make a NaN.
        const double beta = 2.0;
        double[] xs = [-50, -1, 0, 0.3, 9.9, 10.1, 1e4];
        using var x = tensor(xs, dtype: ScalarType.Float64, requires_grad: true);
        using var y = x.Softplus(beta);
        using var total = y.sum();
        total.backward();
        using var grad = x.grad!;
        var got = grad.data<double>().ToArray();
        for (var i = 0; i < xs.Length; i++)
        {
            var expected = beta * xs[i] > 20 ? 1.0 : 1 / (1 + Math.Exp(-beta * xs[i]));
            got[i].Should().BeApproximately(expected, 1e-12, $"x = {xs[i]}");
        }
    }

    [Fact]
    public void Item_helpers_read_a_one_element_tensor_of_any_type()
    {
        using var half = tensor(0.5f);
        half.ItemAsDouble().Should().Be(0.5);
        using var big = tensor(1L << 40);
        big.ItemAsInt64().Should().Be(1L << 40);
        using var no = tensor(false);
        no.ItemAsBoolean().Should().BeFalse();
        using var yes = tensor(true);
        yes.ItemAsBoolean().Should().BeTrue();
    }
}
