using Attribution.Torch.Native;

namespace Attribution.Torch;

// Elementwise arithmetic, comparisons, activations and products.
public sealed partial class Tensor
{
    // Op codes mirror ath_unary / ath_binary in src/Native/shim_ops.cpp.
    internal enum Unary
    {
        Neg, Abs, Sqrt, Exp, Log, Sign, Relu, Tanh, Sigmoid, Erf, Gelu, GeluTanh, Softplus, Rsqrt, Sin, Cos, Square,
        Log1p, Floor, Ceil, Round, LogicalNot, IsNan, IsFinite, Reciprocal, SignBit,
    }

    internal enum Binary
    {
        Add, Sub, Mul, Div, Pow, Eq, Ne, Lt, Le, Gt, Ge, Maximum, Minimum, LogicalAnd, LogicalOr, Matmul, Mm, Bmm,
        Outer, Remainder, Atan2, RSub, RDiv, RPow,
    }

    internal Tensor Apply(Unary op) => From(NativeMethods.ath_unary((int)op, Handle, out var r), r);

    internal Tensor Apply(Binary op, Tensor other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return From(NativeMethods.ath_binary((int)op, Handle, other.Handle, out var r), r);
    }

    internal Tensor Apply(Binary op, double scalar) => From(NativeMethods.ath_binary_scalar((int)op, Handle, scalar, out var r), r);

    /// <summary>this + other (broadcasting).</summary>
    public Tensor add(Tensor other) => Apply(Binary.Add, other);
    /// <summary>this + scalar.</summary>
    public Tensor add(double scalar) => Apply(Binary.Add, scalar);
    /// <summary>this − other.</summary>
    public Tensor sub(Tensor other) => Apply(Binary.Sub, other);
    /// <summary>this − scalar.</summary>
    public Tensor sub(double scalar) => Apply(Binary.Sub, scalar);
    /// <summary>this × other, elementwise.</summary>
    public Tensor mul(Tensor other) => Apply(Binary.Mul, other);
    /// <summary>this × scalar.</summary>
    public Tensor mul(double scalar) => Apply(Binary.Mul, scalar);
    /// <summary>this ÷ other, elementwise (true division).</summary>
    public Tensor div(Tensor other) => Apply(Binary.Div, other);
    /// <summary>this ÷ scalar.</summary>
    public Tensor div(double scalar) => Apply(Binary.Div, scalar);
    /// <summary>this ^ exponent, elementwise.</summary>
    public Tensor pow(Tensor exponent) => Apply(Binary.Pow, exponent);
    /// <summary>this ^ exponent.</summary>
    public Tensor pow(double exponent) => Apply(Binary.Pow, exponent);
    /// <summary>Elementwise remainder (sign of the divisor, as Python's %).</summary>
    public Tensor remainder(double divisor) => Apply(Binary.Remainder, divisor);
    /// <summary>Elementwise maximum of two tensors.</summary>
    public Tensor maximum(Tensor other) => Apply(Binary.Maximum, other);
    /// <summary>Elementwise minimum of two tensors.</summary>
    public Tensor minimum(Tensor other) => Apply(Binary.Minimum, other);
    /// <summary>Elementwise atan2(this, other).</summary>
    public Tensor atan2(Tensor other) => Apply(Binary.Atan2, other);

    /// <summary>this == other (bool tensor).</summary>
    public Tensor eq(Tensor other) => Apply(Binary.Eq, other);
    /// <summary>this == scalar (bool tensor).</summary>
    public Tensor eq(double scalar) => Apply(Binary.Eq, scalar);
    /// <summary>this != other.</summary>
    public Tensor ne(Tensor other) => Apply(Binary.Ne, other);
    /// <summary>this != scalar.</summary>
    public Tensor ne(double scalar) => Apply(Binary.Ne, scalar);
    /// <summary>this &lt; other.</summary>
    public Tensor lt(Tensor other) => Apply(Binary.Lt, other);
    /// <summary>this &lt; scalar.</summary>
    public Tensor lt(double scalar) => Apply(Binary.Lt, scalar);
    /// <summary>this ≤ other.</summary>
    public Tensor le(Tensor other) => Apply(Binary.Le, other);
    /// <summary>this ≤ scalar.</summary>
    public Tensor le(double scalar) => Apply(Binary.Le, scalar);
    /// <summary>this &gt; other.</summary>
    public Tensor gt(Tensor other) => Apply(Binary.Gt, other);
    /// <summary>this &gt; scalar.</summary>
    public Tensor gt(double scalar) => Apply(Binary.Gt, scalar);
    /// <summary>this ≥ other.</summary>
    public Tensor ge(Tensor other) => Apply(Binary.Ge, other);
    /// <summary>this ≥ scalar.</summary>
    public Tensor ge(double scalar) => Apply(Binary.Ge, scalar);
    /// <summary>Logical and of two bool tensors.</summary>
    public Tensor logical_and(Tensor other) => Apply(Binary.LogicalAnd, other);
    /// <summary>Logical or of two bool tensors.</summary>
    public Tensor logical_or(Tensor other) => Apply(Binary.LogicalOr, other);
    /// <summary>Logical not.</summary>
    public Tensor logical_not() => Apply(Unary.LogicalNot);
    /// <summary>True where the value is NaN.</summary>
    public Tensor isnan() => Apply(Unary.IsNan);
    /// <summary>True where the value is finite.</summary>
    public Tensor isfinite() => Apply(Unary.IsFinite);

    /// <summary>−this.</summary>
    public Tensor neg() => Apply(Unary.Neg);
    /// <summary>|this|.</summary>
    public Tensor abs() => Apply(Unary.Abs);
    /// <summary>√this.</summary>
    public Tensor sqrt() => Apply(Unary.Sqrt);
    /// <summary>1/√this.</summary>
    public Tensor rsqrt() => Apply(Unary.Rsqrt);
    /// <summary>e^this.</summary>
    public Tensor exp() => Apply(Unary.Exp);
    /// <summary>Natural logarithm.</summary>
    public Tensor log() => Apply(Unary.Log);
    /// <summary>log(1 + this).</summary>
    public Tensor log1p() => Apply(Unary.Log1p);
    /// <summary>Sign: −1, 0 or +1.</summary>
    public Tensor sign() => Apply(Unary.Sign);
    /// <summary>True where the sign bit is set (negative numbers and −0).</summary>
    public Tensor signbit() => Apply(Unary.SignBit);
    /// <summary>this².</summary>
    public Tensor square() => Apply(Unary.Square);
    /// <summary>1/this.</summary>
    public Tensor reciprocal() => Apply(Unary.Reciprocal);
    /// <summary>Sine.</summary>
    public Tensor sin() => Apply(Unary.Sin);
    /// <summary>Cosine.</summary>
    public Tensor cos() => Apply(Unary.Cos);
    /// <summary>Round down.</summary>
    public Tensor floor() => Apply(Unary.Floor);
    /// <summary>Round up.</summary>
    public Tensor ceil() => Apply(Unary.Ceil);
    /// <summary>Round half to even.</summary>
    public Tensor round() => Apply(Unary.Round);
    /// <summary>max(0, this).</summary>
    public Tensor relu() => Apply(Unary.Relu);
    /// <summary>Hyperbolic tangent.</summary>
    public Tensor tanh() => Apply(Unary.Tanh);
    /// <summary>Logistic sigmoid.</summary>
    public Tensor sigmoid() => Apply(Unary.Sigmoid);
    /// <summary>Gauss error function.</summary>
    public Tensor erf() => Apply(Unary.Erf);

    /// <summary>GELU; <paramref name="approximate"/> "none" (exact, erf) or "tanh".</summary>
    public Tensor gelu(string approximate = "none") => approximate switch
    {
        "none" => Apply(Unary.Gelu),
        "tanh" => Apply(Unary.GeluTanh),
        _ => throw new ArgumentException($"gelu approximate must be 'none' or 'tanh', got '{approximate}'", nameof(approximate)),
    };

    /// <summary>Softplus: log(1 + e^(βx))/β, linear above <paramref name="threshold"/>.</summary>
    public Tensor softplus(double beta = 1, double threshold = 20) =>
        From(NativeMethods.ath_softplus(Handle, beta, threshold, out var r), r);

    /// <summary>Clamps into [min, max]; either bound may be null.</summary>
    public Tensor clamp(double? min = null, double? max = null)
    {
        if (min is null && max is null)
        {
            throw new ArgumentException("clamp needs at least one of min and max");
        }

        return From(NativeMethods.ath_clamp(Handle, min ?? 0, min is null ? 0 : 1, max ?? 0, max is null ? 0 : 1, out var r), r);
    }

    /// <summary>max(this, min).</summary>
    public Tensor clamp_min(double min) => clamp(min: min);

    /// <summary>min(this, max).</summary>
    public Tensor clamp_max(double max) => clamp(max: max);

    /// <summary>Replaces elements where <paramref name="mask"/> is true by <paramref name="value"/>.</summary>
    public Tensor masked_fill(Tensor mask, double value)
    {
        ArgumentNullException.ThrowIfNull(mask);
        return From(NativeMethods.ath_masked_fill(Handle, mask.Handle, value, out var r), r);
    }

    /// <summary>Matrix product with NumPy broadcasting rules (torch.matmul).</summary>
    public Tensor matmul(Tensor other) => Apply(Binary.Matmul, other);
    /// <summary>2-D matrix product.</summary>
    public Tensor mm(Tensor other) => Apply(Binary.Mm, other);
    /// <summary>Batched 3-D matrix product.</summary>
    public Tensor bmm(Tensor other) => Apply(Binary.Bmm, other);
    /// <summary>Outer product of two vectors.</summary>
    public Tensor outer(Tensor other) => Apply(Binary.Outer, other);

    /// <summary>Elementwise sum.</summary>
    public static Tensor operator +(Tensor a, Tensor b) => a.add(b);
    /// <summary>Adds a scalar.</summary>
    public static Tensor operator +(Tensor a, double b) => a.add(b);
    /// <summary>Adds a scalar.</summary>
    public static Tensor operator +(double a, Tensor b) => b.add(a);
    /// <summary>Elementwise difference.</summary>
    public static Tensor operator -(Tensor a, Tensor b) => a.sub(b);
    /// <summary>Subtracts a scalar.</summary>
    public static Tensor operator -(Tensor a, double b) => a.sub(b);
    /// <summary>scalar − tensor.</summary>
    public static Tensor operator -(double a, Tensor b) => b.Apply(Binary.RSub, a);
    /// <summary>Elementwise product.</summary>
    public static Tensor operator *(Tensor a, Tensor b) => a.mul(b);
    /// <summary>Multiplies by a scalar.</summary>
    public static Tensor operator *(Tensor a, double b) => a.mul(b);
    /// <summary>Multiplies by a scalar.</summary>
    public static Tensor operator *(double a, Tensor b) => b.mul(a);
    /// <summary>Elementwise quotient.</summary>
    public static Tensor operator /(Tensor a, Tensor b) => a.div(b);
    /// <summary>Divides by a scalar.</summary>
    public static Tensor operator /(Tensor a, double b) => a.div(b);
    /// <summary>scalar ÷ tensor.</summary>
    public static Tensor operator /(double a, Tensor b) => b.Apply(Binary.RDiv, a);
    /// <summary>Negation.</summary>
    public static Tensor operator -(Tensor a) => a.neg();

    // ---- in place (used by optimizers and buffers; no autograd on leaves that require grad) ----

    /// <summary>this += alpha × other, in place.</summary>
    public Tensor add_(Tensor other, double alpha = 1)
    {
        ArgumentNullException.ThrowIfNull(other);
        NativeStatus.Check(NativeMethods.ath_inplace(0, Handle, other.Handle, alpha));
        return this;
    }

    /// <summary>this −= alpha × other, in place.</summary>
    public Tensor sub_(Tensor other, double alpha = 1)
    {
        ArgumentNullException.ThrowIfNull(other);
        NativeStatus.Check(NativeMethods.ath_inplace(1, Handle, other.Handle, alpha));
        return this;
    }

    /// <summary>this ×= other, in place.</summary>
    public Tensor mul_(Tensor other)
    {
        ArgumentNullException.ThrowIfNull(other);
        NativeStatus.Check(NativeMethods.ath_inplace(2, Handle, other.Handle, 1));
        return this;
    }

    /// <summary>this ÷= other, in place.</summary>
    public Tensor div_(Tensor other)
    {
        ArgumentNullException.ThrowIfNull(other);
        NativeStatus.Check(NativeMethods.ath_inplace(3, Handle, other.Handle, 1));
        return this;
    }

    private Tensor InPlace(int op, double value)
    {
        NativeStatus.Check(NativeMethods.ath_inplace_scalar(op, Handle, value));
        return this;
    }

    /// <summary>this += value, in place.</summary>
    public Tensor add_(double value) => InPlace(0, value);
    /// <summary>this −= value, in place.</summary>
    public Tensor sub_(double value) => InPlace(1, value);
    /// <summary>this ×= value, in place.</summary>
    public Tensor mul_(double value) => InPlace(2, value);
    /// <summary>this ÷= value, in place.</summary>
    public Tensor div_(double value) => InPlace(3, value);
    /// <summary>Sets every element to value, in place.</summary>
    public Tensor fill_(double value) => InPlace(4, value);
    /// <summary>Sets every element to zero, in place.</summary>
    public Tensor zero_() => InPlace(5, 0);
    /// <summary>this ^= value, in place.</summary>
    public Tensor pow_(double value) => InPlace(6, value);

    /// <summary>this += value × t1 × t2, in place.</summary>
    public Tensor addcmul_(Tensor t1, Tensor t2, double value = 1)
    {
        ArgumentNullException.ThrowIfNull(t1);
        ArgumentNullException.ThrowIfNull(t2);
        NativeStatus.Check(NativeMethods.ath_addc_(0, Handle, t1.Handle, t2.Handle, value));
        return this;
    }

    /// <summary>this += value × t1 ÷ t2, in place.</summary>
    public Tensor addcdiv_(Tensor t1, Tensor t2, double value = 1)
    {
        ArgumentNullException.ThrowIfNull(t1);
        ArgumentNullException.ThrowIfNull(t2);
        NativeStatus.Check(NativeMethods.ath_addc_(1, Handle, t1.Handle, t2.Handle, value));
        return this;
    }

    /// <summary>Fills in place with N(mean, std²) draws.</summary>
    public Tensor normal_(double mean = 0, double std = 1, Generator? generator = null)
    {
        NativeStatus.Check(NativeMethods.ath_fill_random_(Handle, 0, mean, std, Generator.HandleOf(generator)));
        return this;
    }

    /// <summary>Fills in place with U(from, to) draws.</summary>
    public Tensor uniform_(double from = 0, double to = 1, Generator? generator = null)
    {
        NativeStatus.Check(NativeMethods.ath_fill_random_(Handle, 1, from, to, Generator.HandleOf(generator)));
        return this;
    }
}
