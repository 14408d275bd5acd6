using System.CommandLine;
using System.Reflection;
using Attribution.Engine.Loading;

namespace Attribution.Cli;

/// <summary>
/// <c>attribution engine</c>: which TorchSharp and libtorch this tool runs on, how many intra-op threads libtorch
/// uses, how the compatibility loader made TorchSharp's native library available (stock, patched copy and where), and
/// whether the C heap is tuned for large tensors (<see cref="NativeHeap"/>).
/// </summary>
internal static class EngineCommand
{
    /// <summary>The command, bound to <paramref name="context"/>.</summary>
    public static Command Create(CliContext context)
    {
        var options = new CliOptions();
        var command = new Command("engine", "Show the TorchSharp and libtorch versions, the thread count, how TorchSharp's native library was loaded and whether the C heap is tuned for large tensors.")
        {
            options.Verbose,
        };
        command.SetAction(_ => Execute(context));
        return command;
    }

    private static int Execute(CliContext context)
    {
        // CliApp has already called TorchSharpLoader.EnsureLoaded(): a failure never reaches here.
        var assembly = typeof(TorchSharp.torch).Assembly;
        var torchSharp = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
            ?? assembly.GetName().Version?.ToString() ?? "unknown";
        var setting = Environment.GetEnvironmentVariable(TorchSharpLoader.ModeVariable);
        context.Out.WriteLine($"TorchSharp: {torchSharp}");
        context.Out.WriteLine($"libtorch: {TorchSharp.torch.__version__}");
        context.Out.WriteLine($"threads: {TorchSharp.torch.get_num_threads()}");
        context.Out.WriteLine($"loader: {TorchSharpLoader.Mode} ({TorchSharpLoader.ModeVariable}={(string.IsNullOrEmpty(setting) ? "auto" : setting)})");
        context.Out.WriteLine($"patched library: {TorchSharpLoader.PatchedLibraryPath ?? "none"}");
        var heap = Environment.GetEnvironmentVariable(NativeHeap.ModeVariable);
        var heapDetail = NativeHeap.Mode == NativeHeapMode.Tuned
            ? $"M_MMAP_THRESHOLD={NativeHeap.MmapThreshold}, M_TRIM_THRESHOLD={NativeHeap.TrimThreshold}; "
            : NativeHeap.Failure is { } why ? $"{why}; " : string.Empty;
        context.Out.WriteLine($"native heap: {NativeHeap.Mode} ({heapDetail}{NativeHeap.ModeVariable}={(string.IsNullOrEmpty(heap) ? "tuned" : heap)})");
        return ExitCodes.Ok;
    }
}
