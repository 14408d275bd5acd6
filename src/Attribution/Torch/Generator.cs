using Attribution.Torch.Native;

namespace Attribution.Torch;

/// <summary>
/// An independent, seeded random stream (libtorch's CPU generator). Methods that take a seed use one
/// of these, so their results never depend on, or disturb, the global generator.
/// </summary>
public sealed class Generator : IDisposable
{
    private IntPtr handle;

    /// <summary>Creates a generator seeded with <paramref name="seed"/>.</summary>
    public Generator(ulong seed)
    {
        NativeStatus.Check(NativeMethods.ath_generator_new(seed, out handle));
        Seed = seed;
    }

    /// <summary>The seed it was created with.</summary>
    public ulong Seed { get; }

    internal static IntPtr HandleOf(Generator? generator)
    {
        if (generator is null)
        {
            return IntPtr.Zero;
        }

        ObjectDisposedException.ThrowIf(generator.handle == IntPtr.Zero, generator);
        return generator.handle;
    }

    /// <summary>Frees the native generator.</summary>
    public void Dispose()
    {
        var h = Interlocked.Exchange(ref handle, IntPtr.Zero);
        if (h != IntPtr.Zero)
        {
            NativeMethods.ath_generator_free(h);
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the native generator if it was not disposed.</summary>
    ~Generator()
    {
        var h = Interlocked.Exchange(ref handle, IntPtr.Zero);
        if (h != IntPtr.Zero)
        {
            NativeMethods.ath_generator_free(h);
        }
    }
}
