using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests;

/// <summary>
/// What the tests need beyond the library's KeptScalars (src/Attribution/Engine/KeptScalars.cs): the same operations
/// with the scalar kept alive until libtorch has used it, for the cases the library itself has no use for. Each
/// computes exactly what the TorchSharp call it replaces computes (same libtorch call, same scalar type).
/// </summary>
internal static class TestScalars
{
    /// <summary>A one-element tensor's value as a float, as TorchSharp's <c>ToSingle()</c> reads it (through a Scalar, here kept).</summary>
    public static float ItemAsSingle(this Tensor a)
    {
        using var scalar = a.ToScalar();
        return scalar.ToSingle();
    }

    /// <summary><c>a * b</c> for an integer, an integer scalar as the operator passes it (integer tensors stay integer).</summary>
    public static Tensor TimesInteger(this Tensor a, long b)
    {
        using var scalar = b.ToScalar();
        return a.mul(scalar);
    }

    /// <summary>
    /// <c>torch.arange(length, dtype)</c>: 0, 1, …, length − 1 of the given type, from integer start, stop and step as
    /// TorchSharp's <c>arange(stop, dtype)</c> passes them (KeptScalars.Range is the int64 one).
    /// </summary>
    public static Tensor Range(long length, ScalarType dtype)
    {
        using var start = 0.ToScalar();
        using var stop = length.ToScalar();
        using var step = 1.ToScalar();
        return arange(start, stop, step, dtype);
    }
}
