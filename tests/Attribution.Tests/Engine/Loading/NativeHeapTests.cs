using System.Runtime.InteropServices;
using Attribution.Engine.Loading;
using Attribution.Tests.Cli;

namespace Attribution.Tests.Engine.Loading;

/// <summary>
/// <see cref="NativeHeap"/>: the decision from the setting and the environment (by hand, every case), the tuning in
/// this process read back from glibc's own chunk headers, and <c>attribution engine</c> in child processes.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class NativeHeapTests
{
    // glibc's chunk header: the size word just before the block, whose bit 1 says the block was mapped on its own.
    private const long IsMmappedBit = 2;

    [Theory]
    [InlineData(null, NativeHeapMode.Tuned)]
    [InlineData("", NativeHeapMode.Tuned)]
    [InlineData("tuned", NativeHeapMode.Tuned)]
    [InlineData(" On ", NativeHeapMode.Tuned)]
    [InlineData("1", NativeHeapMode.Tuned)]
    [InlineData("off", NativeHeapMode.Off)]
    [InlineData("OFF", NativeHeapMode.Off)]
    [InlineData("0", NativeHeapMode.Off)]
    [InlineData("false", NativeHeapMode.Off)]
    public void Setting_decides_on_glibc_without_thresholds_of_its_own(string? setting, NativeHeapMode expected)
    {
        NativeHeap.Decide(setting, _ => null, glibc: true, out var reason).Should().Be(expected);
        reason.Should().BeNull();
    }

    [Theory]
    [InlineData("sometimes")]
    [InlineData("default")]
    [InlineData("yes please")]
    public void Unknown_setting_fails_naming_the_variable_the_value_and_the_choices(string setting)
    {
        NativeHeap.Decide(setting, _ => null, glibc: true, out var reason).Should().Be(NativeHeapMode.Failed);
        reason.Should().Be($"ATTRIBUTION_NATIVE_HEAP='{setting}' is not a setting of the native heap tuning; use tuned (the default) or off");
    }

    [Theory]
    [InlineData("MALLOC_MMAP_THRESHOLD_", "65536", "MALLOC_MMAP_THRESHOLD_")]
    [InlineData("MALLOC_TRIM_THRESHOLD_", "1", "MALLOC_TRIM_THRESHOLD_")]
    [InlineData("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=1", "GLIBC_TUNABLES")]
    [InlineData("GLIBC_TUNABLES", "glibc.cpu.hwcaps=-AVX2:glibc.malloc.mmap_threshold=4096", "GLIBC_TUNABLES")]
    public void Thresholds_the_environment_sets_are_kept(string variable, string value, string named)
    {
        NativeHeap.Decide(null, name => name == variable ? value : null, glibc: true, out var reason).Should().Be(NativeHeapMode.UserSettings);
        reason.Should().Be($"the environment sets malloc's thresholds ({named}); they are kept");
    }

    [Fact]
    public void Every_threshold_the_environment_sets_is_named()
    {
        NativeHeap.Decide(null, name => name.StartsWith("MALLOC_", StringComparison.Ordinal) || name == "GLIBC_TUNABLES" ? "glibc.malloc.mmap_threshold=1" : null, glibc: true, out var reason)
            .Should().Be(NativeHeapMode.UserSettings);
        reason.Should().Be("the environment sets malloc's thresholds (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_, GLIBC_TUNABLES); they are kept");
    }

    [Fact]
    public void Glibc_is_recognised_as_the_process_maps_show_it_and_accepts_both_thresholds()
    {
        NativeHeap.IsGlibc().Should().Be(IsGlibc(), "/proc/self/maps lists libc.so.6 exactly where glibc is loaded");
        if (IsGlibc())
        {
            // The same values again: nothing in this process changes.
            NativeHeap.Apply(out var reason).Should().Be(NativeHeapMode.Tuned);
            reason.Should().BeNull();
        }
    }

    [Fact]
    public void Other_tunables_do_not_stop_the_tuning()
    {
        NativeHeap.Decide(null, name => name == "GLIBC_TUNABLES" ? "glibc.malloc.arena_max=2" : null, glibc: true, out _)
            .Should().Be(NativeHeapMode.Tuned);
    }

    [Fact]
    public void Off_wins_over_the_environment_and_nothing_is_tuned_without_glibc()
    {
        NativeHeap.Decide("off", _ => "1", glibc: true, out _).Should().Be(NativeHeapMode.Off);
        NativeHeap.Decide(null, _ => null, glibc: false, out var reason).Should().Be(NativeHeapMode.NotApplicable);
        reason.Should().BeNull();
        NativeHeap.Decide("bad", _ => null, glibc: false, out _).Should().Be(NativeHeapMode.Failed, "a bad setting is reported everywhere");
    }

    [SkippableFact]
    public void This_process_serves_blocks_below_32_MiB_from_the_heap_and_larger_ones_from_their_own_mappings()
    {
        RequireTunedProcess();

        // Without the tuning, glibc maps a 31 MiB block on its own unless an earlier free of a block that large raised
        // its dynamic threshold; with it, the block comes from the heap and is reused after free.
        IsMmapped(31L * 1024 * 1024).Should().BeFalse("blocks up to M_MMAP_THRESHOLD (32 MiB) come from the heap");

        // Control for the header reading: a block larger than any heap top the trim threshold lets glibc keep is mapped.
        IsMmapped(NativeHeap.TrimThreshold + (256L * 1024 * 1024)).Should().BeTrue("a block above every threshold is mapped on its own");
        IsMmapped(1024).Should().BeFalse();
    }

    [Fact]
    public void Engine_command_reports_this_process_s_heap()
    {
        var run = CliHarness.Run("engine");

        run.Code.Should().Be(0, run.ToString());
        var heap = TorchSharpLoaderTests.Fields(run.Out)["native heap"];
        heap.Should().StartWith(NativeHeap.Mode.ToString());
        if (NativeHeap.Mode == NativeHeapMode.Tuned && string.IsNullOrEmpty(Environment.GetEnvironmentVariable(NativeHeap.ModeVariable)))
        {
            heap.Should().Be("Tuned (M_MMAP_THRESHOLD=33554432, M_TRIM_THRESHOLD=1073741824; ATTRIBUTION_NATIVE_HEAP=tuned)");
        }
    }

    [SkippableFact]
    public void Child_processes_report_off_user_settings_and_a_bad_setting()
    {
        NativeLibraryFiles.RequireLibrary();
        Skip.IfNot(IsGlibc(), "glibc's malloc is what is tuned");
        using var work = new TorchSharpLoaderTests.TempFolder();
        var cache = Path.Combine(work.Path, "cache");
        CliResult Run(params (string Name, string Value)[] environment) => TorchSharpLoaderTests.Engine(
            TorchSharpLoaderTests.TestOutput, work, cache, mode: null, environment.ToDictionary(e => e.Name, e => e.Value), "engine");

        var tuned = Run();
        tuned.Code.Should().Be(0, tuned.ToString());
        TorchSharpLoaderTests.Fields(tuned.Out)["native heap"].Should().Be("Tuned (M_MMAP_THRESHOLD=33554432, M_TRIM_THRESHOLD=1073741824; ATTRIBUTION_NATIVE_HEAP=tuned)");

        var off = Run(("ATTRIBUTION_NATIVE_HEAP", "off"));
        off.Code.Should().Be(0, off.ToString());
        TorchSharpLoaderTests.Fields(off.Out)["native heap"].Should().Be("Off (ATTRIBUTION_NATIVE_HEAP=off)");

        var own = Run(("MALLOC_TRIM_THRESHOLD_", "131072"));
        own.Code.Should().Be(0, own.ToString());
        TorchSharpLoaderTests.Fields(own.Out)["native heap"].Should().Be(
            "UserSettings (the environment sets malloc's thresholds (MALLOC_TRIM_THRESHOLD_); they are kept; ATTRIBUTION_NATIVE_HEAP=tuned)");

        var bad = Run(("ATTRIBUTION_NATIVE_HEAP", "sometimes"));
        bad.Code.Should().Be(1, bad.ToString());
        bad.Error.Split('\n')[0].Should().Be(
            "error: ATTRIBUTION_NATIVE_HEAP='sometimes' is not a setting of the native heap tuning; use tuned (the default) or off");
    }

    private static void RequireTunedProcess()
    {
        Skip.IfNot(IsGlibc(), "glibc's malloc is what is tuned");
        Skip.If(NativeHeap.Mode is NativeHeapMode.Off or NativeHeapMode.UserSettings,
            $"this test process runs with the tuning {NativeHeap.Mode} by its environment ({NativeHeap.Failure ?? NativeHeap.ModeVariable + "=off"})");
        NativeHeap.Mode.Should().Be(NativeHeapMode.Tuned, NativeHeap.Failure);
    }

    private static bool IsMmapped(long bytes)
    {
        var block = Marshal.AllocHGlobal(checked((nint)bytes));
        try
        {
            return (Marshal.ReadInt64(block, -8) & IsMmappedBit) != 0;
        }
        finally
        {
            Marshal.FreeHGlobal(block);
        }
    }

    private static bool IsGlibc() => OperatingSystem.IsLinux() && File.Exists("/proc/self/maps") &&
        File.ReadAllText("/proc/self/maps").Contains("libc.so.6", StringComparison.Ordinal);
}
