using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Engine;

/// <summary>
/// Tensor arithmetic whose number operands stay alive until libtorch has used them. TorchSharp turns every number in
/// an arithmetic operation, and the implicit α = 1 of <c>a + b</c> and <c>a.add_(b)</c>, into a temporary
/// <see cref="Scalar"/> whose only reference is dropped once its native handle is read; libtorch then reads the
/// native scalar (by reference) during the whole operation. If a garbage collection runs meanwhile (another thread
/// allocating is enough) and the finalizer frees that scalar, the operation reads freed memory: measured with two
/// threads explaining at once, a crash in <c>add</c> ("Expected false to be true" from <c>c10::Scalar::toFloat</c>).
/// Single-threaded code is all but immune (the collector runs only when the calling thread itself allocates, which
/// it cannot do inside a native call). Each method here computes exactly what the operator does (same libtorch
/// call, same scalar type), holding the scalar until the call returns.
/// </summary>
internal static class KeptScalars
{
    /// <summary>α = 1 for additions, as TorchSharp's <c>add(Tensor)</c> passes it (an integer scalar); never disposed.</summary>
    private static readonly Scalar One = 1.ToScalar();

    /// <summary><c>a + b</c>.</summary>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);

    /// <summary><c>a.add_(b)</c>.</summary>
    public static Tensor PlusInPlace(this Tensor a, Tensor b) => a.add_(b, One);

    /// <summary><c>a + b</c> for a number.</summary>
    public static Tensor Plus(this Tensor a, double b)
    {
        using var scalar = b.ToScalar();
        return a.add(scalar, One);
    }

    /// <summary><c>a + b</c> for an integer (integer tensors stay integer).</summary>
    public static Tensor Plus(this Tensor a, long b)
    {
        using var scalar = b.ToScalar();
        return a.add(scalar, One);
    }

    /// <summary><c>a − b</c> for a number.</summary>
    public static Tensor Minus(this Tensor a, double b)
    {
        using var scalar = b.ToScalar();
        return a.sub(scalar);
    }

    /// <summary><c>b − a</c> for a number, computed as TorchSharp's operator does: (−a) + b.</summary>
    public static Tensor SubtractedFrom(this Tensor a, double b)
    {
        using var scalar = b.ToScalar();
        using var negative = a.negative();
        return negative.add(scalar, One);
    }

    /// <summary><c>a × b</c> for a number.</summary>
    public static Tensor Times(this Tensor a, double b)
    {
        using var scalar = b.ToScalar();
        return a.mul(scalar);
    }

    /// <summary><c>a ÷ b</c> for a number.</summary>
    public static Tensor DividedBy(this Tensor a, double b)
    {
        using var scalar = b.ToScalar();
        return a.div(scalar);
    }

    /// <summary><c>a.masked_fill(mask, value)</c>.</summary>
    public static Tensor MaskedFill(this Tensor a, Tensor mask, double value)
    {
        using var scalar = value.ToScalar();
        return a.masked_fill(mask, scalar);
    }

    /// <summary><c>a.eq(value)</c>.</summary>
    public static Tensor EqualTo(this Tensor a, long value)
    {
        using var scalar = value.ToScalar();
        return a.eq(scalar);
    }

    /// <summary><c>a.ne(value)</c>.</summary>
    public static Tensor NotEqualTo(this Tensor a, long value)
    {
        using var scalar = value.ToScalar();
        return a.ne(scalar);
    }

    /// <summary><c>a.ge(value)</c>.</summary>
    public static Tensor AtLeast(this Tensor a, long value)
    {
        using var scalar = value.ToScalar();
        return a.ge(scalar);
    }

    /// <summary><c>a.pow(exponent)</c> for an integer exponent (kept an integer scalar, as the operator passes it).</summary>
    public static Tensor Power(this Tensor a, int exponent)
    {
        using var scalar = exponent.ToScalar();
        return a.pow(scalar);
    }

    /// <summary><c>a.square()</c>, which TorchSharp computes as <c>pow(2)</c> with a temporary integer scalar.</summary>
    public static Tensor Squared(this Tensor a) => a.Power(2);

    /// <summary>
    /// A one-element tensor's value as a double, as TorchSharp's <c>ToDouble()</c> reads it: that one makes the Scalar
    /// (<c>ToScalar()</c>) and reads it natively without keeping it, so a collection meanwhile could free it and the read
    /// return whatever the freed memory held.
    /// </summary>
    public static double ItemAsDouble(this Tensor a)
    {
        using var scalar = a.ToScalar();
        return scalar.ToDouble();
    }

    /// <summary>A one-element tensor's value as an integer (see <see cref="ItemAsDouble"/>).</summary>
    public static long ItemAsInt64(this Tensor a)
    {
        using var scalar = a.ToScalar();
        return scalar.ToInt64();
    }

    /// <summary>A one-element tensor's value as a boolean (see <see cref="ItemAsDouble"/>).</summary>
    public static bool ItemAsBoolean(this Tensor a)
    {
        using var scalar = a.ToScalar();
        return scalar.ToBoolean();
    }

    /// <summary>
    /// <c>nn.functional.softplus(a, beta, threshold)</c> by its definition (libtorch's): a where βa &gt; threshold, else
    /// log(1 + e^{βa})/β. TorchSharp's softplus turns β and the threshold into Scalars it does not keep. The exponent is
    /// capped at the threshold, so the branch not taken stays finite and its gradient (multiplied by 0) is no NaN.
    /// </summary>
    public static Tensor Softplus(this Tensor a, double beta, double threshold = 20)
    {
        using var z = a.Times(beta);
        using var limit = threshold.ToScalar();
        using var linear = z.gt(limit);
        using var capped = z.clamp_max(limit);
        using var exponential = capped.exp();
        using var logarithm = exponential.log1p();
        using var smooth = logarithm.DividedBy(beta);
        return where(linear, a, smooth);
    }

    /// <summary><c>torch.arange(length)</c>: 0, 1, …, length − 1 as int64.</summary>
    public static Tensor Range(long length)
    {
        using var start = 0.ToScalar();
        using var stop = length.ToScalar();
        using var step = 1.ToScalar();
        return arange(start, stop, step);
    }
}
