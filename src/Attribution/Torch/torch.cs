using System.Runtime.InteropServices;
using Attribution.Torch.Native;

namespace Attribution.Torch;

/// <summary>
/// The binding's entry point, named as PyTorch's <c>torch</c> module: tensor creation, settings,
/// grad-mode scopes, dispose scopes and free functions. Write <c>using static Attribution.Torch.torch;</c>
/// to read code as PyTorch.
/// </summary>
public static partial class torch
{
    /// <summary>float32.</summary>
    public const ScalarType float32 = ScalarType.Float32;
    /// <summary>float64.</summary>
    public const ScalarType float64 = ScalarType.Float64;
    /// <summary>float16.</summary>
    public const ScalarType float16 = ScalarType.Float16;
    /// <summary>bfloat16.</summary>
    public const ScalarType bfloat16 = ScalarType.BFloat16;
    /// <summary>int64.</summary>
    public const ScalarType int64 = ScalarType.Int64;
    /// <summary>int32.</summary>
    public const ScalarType int32 = ScalarType.Int32;
    /// <summary>bool.</summary>
    public const ScalarType @bool = ScalarType.Bool;

    /// <summary>The CPU device.</summary>
    public static readonly Device CPU = new(DeviceType.CPU);

    /// <summary>The default CUDA device.</summary>
    public static readonly Device CUDA = new(DeviceType.CUDA);

    /// <summary>The libtorch version the native shim was built against (e.g. "1.13.0").</summary>
    public static string __version__ => Marshal.PtrToStringUTF8(NativeMethods.ath_torch_version()) ?? "unknown";

    /// <summary>Native tensors currently alive (created by the binding and not yet freed), a leak detector.</summary>
    public static long LiveTensorCount => NativeMethods.ath_live_tensors();

    /// <summary>
    /// Threads libtorch uses for intra-op parallelism: libtorch's default (one per physical core as it counts them) or
    /// ATTRIBUTION_NUM_THREADS. Matrix products run on OpenBLAS's own threads, which use every core regardless.
    /// </summary>
    public static int get_num_threads() => NativeMethods.ath_get_num_threads();

    /// <summary>Sets the intra-op thread count (at least 1).</summary>
    public static void set_num_threads(int threads)
    {
        if (threads < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(threads), threads, "thread count must be at least 1");
        }

        NativeStatus.Check(NativeMethods.ath_set_num_threads(threads));
    }

    /// <summary>Seeds the global random generator.</summary>
    public static void manual_seed(ulong seed) => NativeStatus.Check(NativeMethods.ath_manual_seed(seed));

    /// <summary>Opens a dispose scope on this thread; every tensor created until it is disposed is freed with it.</summary>
    public static DisposeScope NewDisposeScope() => new();

    // ---- grad mode ----

    /// <summary>Whether autograd records operations on this thread.</summary>
    public static bool is_grad_enabled() => NativeMethods.ath_is_grad_enabled() != 0;

    /// <summary>Disables gradient recording until the returned guard is disposed (then restores the previous mode).</summary>
    public static IDisposable no_grad() => new GradModeGuard(false);

    /// <summary>Enables gradient recording until the returned guard is disposed (then restores the previous mode).</summary>
    public static IDisposable enable_grad() => new GradModeGuard(true);

    /// <summary>Sets gradient recording until the returned guard is disposed.</summary>
    public static IDisposable set_grad_enabled(bool enabled) => new GradModeGuard(enabled);

    private sealed class GradModeGuard : IDisposable
    {
        private readonly bool previous;
        private bool disposed;

        public GradModeGuard(bool enabled)
        {
            previous = is_grad_enabled();
            NativeStatus.Check(NativeMethods.ath_set_grad_enabled(enabled ? 1 : 0));
        }

        public void Dispose()
        {
            if (!disposed)
            {
                disposed = true;
                NativeStatus.Check(NativeMethods.ath_set_grad_enabled(previous ? 1 : 0));
            }
        }
    }

    /// <summary>CUDA queries (a CPU-only libtorch reports no devices).</summary>
    public static class cuda
    {
        /// <summary>Number of CUDA devices the loaded libtorch can use.</summary>
        public static int device_count()
        {
            NativeStatus.Check(NativeMethods.ath_cuda_device_count(out var n));
            return n;
        }

        /// <summary>True when at least one CUDA device is usable.</summary>
        public static bool is_available() => device_count() > 0;
    }
}
