using System.Globalization;

namespace Attribution.Benchmarks;

/// <summary>A benchmark command's argument that cannot be used: Program prints its message instead of a stack trace.</summary>
internal sealed class BenchmarkArgumentException(string message, string paramName) : ArgumentException(message, paramName);

/// <summary>
/// The benchmark program's command names and the parsing of their positional arguments, kept free of models so the
/// test project can compile this file by link.
/// </summary>
internal static class BenchmarkArguments
{
    /// <summary>The commands Program runs itself; anything else not starting with '-' is refused (options go to BenchmarkDotNet).</summary>
    public static readonly string[] Commands =
    [
        "compare-methods", "conv-nan", "perturbation-cost", "soak", "ig-roofline", "speed-report", "adaptive-steps",
        "adaptive-report", "gemm-shapes", "native-heap", "native-heap-child", "logits-only", "path-peak", "path-passes",
        "method-throughput", "method-throughput-bert", "method-one-text", "lime-budget", "tokenize-throughput", "black-box-calls",
        "thread-scaling",
    ];

    /// <summary>
    /// The message for a first argument that is neither a command nor a BenchmarkDotNet option (those start with '-'),
    /// or null when there is none.
    /// </summary>
    public static string? UnknownCommand(IReadOnlyList<string> args) =>
        args.Count > 0 && !args[0].StartsWith('-') && !Commands.Contains(args[0], StringComparer.Ordinal)
            ? $"error: unknown command '{args[0]}': use one of {string.Join(", ", Commands)}, or BenchmarkDotNet options such as --filter '*MatMul*'"
            : null;

    /// <summary>
    /// The whole number at <paramref name="index"/> (0-based, after the command), or <paramref name="fallback"/> when
    /// it is not given (null: it must be). Refuses text that is not a whole number and values below
    /// <paramref name="min"/>, naming the argument, its position and value.
    /// </summary>
    public static int Int(IReadOnlyList<string> args, int index, string name, int? fallback, int min = 1)
    {
        if (index >= args.Count)
        {
            return fallback ?? throw new BenchmarkArgumentException(
                $"{name} (argument {index + 1}) is missing: give a whole number of at least {min}", name);
        }

        var text = args[index];
        var example = fallback ?? min;
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            throw new BenchmarkArgumentException(
                $"{name} (argument {index + 1}) must be a whole number, got '{text}': e.g. {example.ToString(CultureInfo.InvariantCulture)}", name);
        }

        if (value < min)
        {
            throw new BenchmarkArgumentException(
                $"{name} (argument {index + 1}) must be at least {min.ToString(CultureInfo.InvariantCulture)}, got {text}: e.g. {example.ToString(CultureInfo.InvariantCulture)}", name);
        }

        return value;
    }
}
