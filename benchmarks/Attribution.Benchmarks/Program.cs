using BenchmarkDotNet.Running;

namespace Attribution.Benchmarks;

/// <summary>
/// Runs the BenchmarkDotNet suites chosen on the command line (e.g. <c>--filter *MatMul*</c>), or the
/// method-comparison runner (<c>compare-methods [texts] [output.md]</c>), or the Conv1d gradient check
/// (<c>conv-nan [calls]</c>), the IG-versus-matmul-speed check (<c>ig-roofline [threads]</c>), the perturbation methods' cost
/// (<c>perturbation-cost [texts] [output.md]</c>), the soak run (<c>soak [explanations] [output.md]</c>), or throughput with
/// 1, 2 and 4 caller threads on one model (<c>thread-scaling [texts] [output.md] [base]</c>), or adaptive against fixed-step integration
/// (<c>adaptive-report [texts] [output.md] [bert-base texts]</c>), or the side-by-side speed report (<c>speed-report [tiny texts] [output.md]</c>), or path passes' time and memory by token budget
/// (<c>path-passes [output.md] [rounds]</c>), or logits-only forward passes against full ones (<c>logits-only [output.md] [rounds]</c>), or the C heap's tuning against glibc's
/// defaults (<c>native-heap [output.md] [rounds]</c>), or the matrix products of one text's gradient pass at their own shapes
/// (<c>gemm-shapes [output.md] [rounds]</c>), or one method's speed for comparing builds (<c>method-throughput &lt;method&gt; [texts] [rounds]</c>,
/// <c>method-one-text &lt;method&gt; [rounds]</c>, <c>method-throughput-bert &lt;method&gt; [texts] [rounds]</c>), or a black box's
/// model calls per method (<c>black-box-calls [texts] [output.md]</c>).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        // A mistyped command would otherwise reach BenchmarkDotNet, and a bad number a stack trace from int.Parse.
        if (BenchmarkArguments.UnknownCommand(args) is { } unknown)
        {
            Console.Error.WriteLine(unknown);
            return 2;
        }

        try
        {
            return Run(args);
        }
        catch (BenchmarkArgumentException e)
        {
            Console.Error.WriteLine($"error: {args[0]}: {e.Message}");
            return 2;
        }
    }

    private static int Run(string[] args)
    {
        if (args.Length > 0 && args[0] == "compare-methods")
        {
            return MethodComparison.Run(args[1..]);
        }

        if (args.Length > 0 && args[0] == "conv-nan")
        {
            return ConvGradientCheck.Run(args[1..]);
        }

        if (args.Length > 0 && args[0] == "perturbation-cost")
        {
            // ONNX Runtime rows beside the TorchSharp ones: PyTorch's export of sst2-bert-tiny and this library's own
            // export of the BERT-base-shaped model (written to a temporary folder, checked against TorchSharp's logits).
            using var exports = new Onnx.OnnxBenchmarkExports();
            PerturbationCost.Extra.AddRange(exports.ForPerturbationCost());
            return PerturbationCost.Run(args[1..]);
        }

        if (args.Length > 0 && args[0] == "soak")
        {
            return Soak.Run(args[1..]);
        }

        if (args.Length > 0 && args[0] == "ig-roofline")
        {
            return IntegratedGradientsRoofline.Run(args[1..]);
        }

        if (args.Length > 0 && args[0] == "speed-report")
        {
            return SpeedReport.Run(args[1..]);
        }

        if (args.Length > 0 && args[0] == "adaptive-steps")
        {
            return AdaptiveReport.Steps(args[1..]);
        }

        if (args.Length > 0 && args[0] == "adaptive-report")
        {
            return AdaptiveReport.Run(args[1..]);
        }

        if (args.Length > 0 && args[0] == "gemm-shapes")
        {
            return GemmShapes.Run(args[1..]);
        }

        if (args.Length > 0 && args[0] == "native-heap")
        {
            return NativeHeapCost.Run(args[1..]);
        }

        if (args.Length > 0 && args[0] == "native-heap-child")
        {
            return NativeHeapCost.RunChild(args[1..]);
        }

        if (args.Length > 0 && args[0] == "logits-only")
        {
            return LogitsOnlyCost.Run(args[1..]);
        }

        if (args.Length > 0 && args[0] == "path-peak")
        {
            return PathMemory.Peak(args[1..]);
        }

        if (args.Length > 0 && args[0] == "path-passes")
        {
            return PathMemory.Run(args[1..]);
        }

        if (args.Length > 0 && args[0] == "method-throughput")
        {
            return MethodThroughput.Run(args[1..]);
        }

        if (args.Length > 0 && args[0] == "method-throughput-bert")
        {
            return MethodThroughput.OnBertBase(args[1..]);
        }

        if (args.Length > 0 && args[0] == "lime-budget")
        {
            return LimeTokenBudget.Run(args[1..]);
        }

        if (args.Length > 0 && args[0] == "method-one-text")
        {
            return MethodThroughput.OneText(args[1..]);
        }

        if (args.Length > 0 && args[0] == "tokenize-throughput")
        {
            return TokenizerThroughput.Run(args[1..]);
        }

        if (args.Length > 0 && args[0] == "black-box-calls")
        {
            return BlackBoxCalls.Run(args[1..]);
        }

        if (args.Length > 0 && args[0] == "thread-scaling")
        {
            return ThreadScaling.Run(args[1..]);
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
