using System.Runtime.InteropServices;

namespace Attribution.Engine.Loading;

/// <summary>What <see cref="NativeHeap"/> did to this process's C heap.</summary>
public enum NativeHeapMode
{
    /// <summary>Nothing was attempted yet.</summary>
    NotAttempted,

    /// <summary>glibc's thresholds are set to <see cref="NativeHeap.MmapThreshold"/> and <see cref="NativeHeap.TrimThreshold"/>.</summary>
    Tuned,

    /// <summary>The process's environment already sets glibc's malloc thresholds; they are left as they are.</summary>
    UserSettings,

    /// <summary>Turned off by <see cref="NativeHeap.ModeVariable"/>: glibc's defaults are left as they are.</summary>
    Off,

    /// <summary>Not Linux with glibc: nothing to tune.</summary>
    NotApplicable,

    /// <summary>The setting is not valid or glibc refused a threshold; <see cref="NativeHeap.Failure"/> says which.</summary>
    Failed,
}

/// <summary>
/// Lets libtorch's large CPU tensors reuse freed memory instead of being mapped fresh from the system. glibc's
/// <c>malloc</c> maps every block above its mmap threshold (128 KiB at first, rising with what is freed, at most
/// 32 MiB) afresh and unmaps it on free, and returns a freed heap top above its trim threshold to the system. A
/// batched forward pass allocates and frees hundreds of MiB of activations, so each pass touches all of it anew:
/// LIME on the BERT-base shape (256 samples, 64 tokens) took about a million page faults and a third of its time
/// for it (benchmarks/results/2026-12-04-speed/native-heap.md). With the mmap threshold at 32 MiB and the trim
/// threshold at 1 GiB the blocks are reused: about two thousand faults, the same peak memory, and up to 1 GiB of
/// freed heap kept by the process for the next pass. PyTorch users reach for jemalloc or tcmalloc for the same reason.
/// </summary>
/// <remarks>
/// Applied once, from the same module initializers as <see cref="TorchSharpLoader"/>, with <c>mallopt</c> (which
/// affects the whole process's C heap; the .NET heap is not <c>malloc</c>'s). Left alone where the environment
/// already sets <c>MALLOC_MMAP_THRESHOLD_</c>, <c>MALLOC_TRIM_THRESHOLD_</c> or a malloc threshold in
/// <c>GLIBC_TUNABLES</c>, and where <c>ATTRIBUTION_NATIVE_HEAP=off</c>. It changes speed and retained memory, never a result.
/// </remarks>
public static class NativeHeap
{
    /// <summary>The environment variable that controls the tuning: unset or <c>tuned</c>, or <c>off</c>.</summary>
    public const string ModeVariable = "ATTRIBUTION_NATIVE_HEAP";

    /// <summary>glibc's <c>M_MMAP_THRESHOLD</c> set here: 32 MiB, the largest glibc accepts on 64-bit systems.</summary>
    public const int MmapThreshold = 32 * 1024 * 1024;

    /// <summary>glibc's <c>M_TRIM_THRESHOLD</c> set here: up to 1 GiB of freed heap top is kept for reuse.</summary>
    public const int TrimThreshold = 1024 * 1024 * 1024;

    // mallopt's parameter numbers (malloc.h).
    private const int MallocTrimThresholdParameter = -1;
    private const int MallocMmapThresholdParameter = -3;

    private static readonly Lock Gate = new();

    /// <summary>What was done (after the first use of the library in this process).</summary>
    public static NativeHeapMode Mode { get; private set; } = NativeHeapMode.NotAttempted;

    /// <summary>Why, when <see cref="Mode"/> is <see cref="NativeHeapMode.Failed"/> or <see cref="NativeHeapMode.UserSettings"/>.</summary>
    public static string? Failure { get; private set; }

    /// <summary>Tunes the heap once (idempotent, thread-safe) and never throws; returns the mode.</summary>
    internal static NativeHeapMode TryTune()
    {
        lock (Gate)
        {
            if (Mode != NativeHeapMode.NotAttempted)
            {
                return Mode;
            }

            try
            {
                Mode = Decide(Environment.GetEnvironmentVariable(ModeVariable), Environment.GetEnvironmentVariable, IsGlibc(), out var reason);
                Failure = reason;
                if (Mode == NativeHeapMode.Tuned)
                {
                    Mode = Apply(out reason);
                    Failure = reason;
                }
            }
#pragma warning disable CA1031 // Called from module initializers, which must not throw; the reason is kept.
            catch (Exception e)
#pragma warning restore CA1031
            {
                Failure = e.Message;
                Mode = NativeHeapMode.Failed;
            }

            return Mode;
        }
    }

    /// <summary>Throws <see cref="InvalidOperationException"/> when <see cref="ModeVariable"/> holds a value that is not a setting.</summary>
    public static void EnsureValidSetting()
    {
        var setting = Environment.GetEnvironmentVariable(ModeVariable);
        if (Parse(setting) is null)
        {
            throw new InvalidOperationException(InvalidSetting(setting));
        }
    }

    /// <summary>
    /// What to do, from the setting, the environment and the C library; Tuned means "apply the thresholds".
    /// <paramref name="reason"/> says why for Failed and UserSettings.
    /// </summary>
    internal static NativeHeapMode Decide(string? setting, Func<string, string?> environment, bool glibc, out string? reason)
    {
        reason = null;
        var on = Parse(setting);
        if (on is null)
        {
            reason = InvalidSetting(setting);
            return NativeHeapMode.Failed;
        }

        if (on == false)
        {
            return NativeHeapMode.Off;
        }

        if (!glibc)
        {
            return NativeHeapMode.NotApplicable;
        }

        var own = new List<string>();
        foreach (var variable in new[] { "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_" })
        {
            if (!string.IsNullOrEmpty(environment(variable)))
            {
                own.Add(variable);
            }
        }

        var tunables = environment("GLIBC_TUNABLES") ?? string.Empty;
        if (tunables.Contains("glibc.malloc.mmap_threshold", StringComparison.Ordinal) || tunables.Contains("glibc.malloc.trim_threshold", StringComparison.Ordinal))
        {
            own.Add("GLIBC_TUNABLES");
        }

        if (own.Count > 0)
        {
            reason = $"the environment sets malloc's thresholds ({string.Join(", ", own)}); they are kept";
            return NativeHeapMode.UserSettings;
        }

        return NativeHeapMode.Tuned;
    }

    private static bool? Parse(string? setting) => (setting ?? string.Empty).Trim().ToLowerInvariant() switch
    {
        "" or "tuned" or "on" or "1" => true,
        "off" or "0" or "false" => false,
        _ => null,
    };

    private static string InvalidSetting(string? setting) =>
        $"{ModeVariable}='{setting}' is not a setting of the native heap tuning; use tuned (the default) or off";

    /// <summary>Sets both thresholds (the same values again, when called after the module initializer).</summary>
    internal static NativeHeapMode Apply(out string? reason)
    {
        // Order matters: setting a threshold turns glibc's dynamic thresholds off, so both are set.
        if (mallopt(MallocMmapThresholdParameter, MmapThreshold) != 1)
        {
            reason = $"glibc refused M_MMAP_THRESHOLD={MmapThreshold}";
            return NativeHeapMode.Failed;
        }

        if (mallopt(MallocTrimThresholdParameter, TrimThreshold) != 1)
        {
            reason = $"glibc refused M_TRIM_THRESHOLD={TrimThreshold}";
            return NativeHeapMode.Failed;
        }

        reason = null;
        return NativeHeapMode.Tuned;
    }

    /// <summary>Whether this process runs on glibc (Linux, and <c>gnu_get_libc_version</c> resolves).</summary>
    internal static bool IsGlibc()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        try
        {
            return gnu_get_libc_version() != IntPtr.Zero;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // musl and other C libraries have neither the function nor glibc's mallopt parameters.
            return false;
        }
    }

#pragma warning disable SA1300, IDE1006 // C names.
    [DllImport("libc.so.6", CallingConvention = CallingConvention.Cdecl)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int mallopt(int parameter, int value);

    [DllImport("libc.so.6", CallingConvention = CallingConvention.Cdecl)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern IntPtr gnu_get_libc_version();
#pragma warning restore SA1300, IDE1006
}
