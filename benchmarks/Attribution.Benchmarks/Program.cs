using BenchmarkDotNet.Running;

namespace Attribution.Benchmarks;

/// <summary>
/// Runs the BenchmarkDotNet suites chosen on the command line (e.g. <c>--filter *MatMul*</c>), or the
/// method-comparison runner (<c>compare-methods [texts] [output.md]</c>), or the Conv1d gradient check
/// (<c>conv-nan [calls]</c>), the IG-versus-matmul-speed check (<c>ig-roofline [threads]</c>), or throughput with 1, 2 and 4 caller
/// threads on one model (<c>thread-scaling [texts] [output.md] [base]</c>).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "compare-methods")
        {
            return MethodComparison.Run(args[1..]);
        }

        if (args.Length > 0 && args[0] == "conv-nan")
        {
            return ConvGradientCheck.Run(args[1..]);
        }

        if (args.Length > 0 && args[0] == "ig-roofline")
        {
            return IntegratedGradientsRoofline.Run(args[1..]);
        }

        if (args.Length > 0 && args[0] == "thread-scaling")
        {
            return ThreadScaling.Run(args[1..]);
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
