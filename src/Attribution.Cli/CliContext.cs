using Attribution.Training;
using Attribution.Salience;

namespace Attribution.Cli;

/// <summary>
/// Where a command line run reads and writes, and what it knows about the terminal: the process's console in
/// <see cref="Program"/>, string writers in tests.
/// </summary>
internal sealed record CliContext
{
    /// <summary>Standard output (results).</summary>
    public required TextWriter Out { get; init; }

    /// <summary>Standard error (progress, notes, errors).</summary>
    public required TextWriter Error { get; init; }

    /// <summary>Standard input (<c>--input -</c>) as text, read when <see cref="InputBytes"/> is null.</summary>
    public TextReader In { get; init; } = TextReader.Null;

    /// <summary>
    /// Standard input's bytes (<c>--input -</c>), decoded as strictly as an input file (bytes that are not UTF-8 are
    /// refused naming the line); null: <see cref="In"/> is read instead.
    /// </summary>
    public Stream? InputBytes { get; init; }

    /// <summary>Colours for the table format when it goes to <see cref="Out"/>.</summary>
    public ColorMode OutputColor { get; init; } = ColorMode.Plain;

    /// <summary>Whether <see cref="Error"/> is a terminal (progress is then shown even for one chunk).</summary>
    public bool ErrorIsTerminal { get; init; }

    /// <summary>Cancelled by Ctrl-C; long runs stop between chunks.</summary>
    public CancellationToken Cancellation { get; init; }

    /// <summary>The cache root of the default model (null: <see cref="Training.DefaultModel.DefaultCacheDirectory"/>).</summary>
    public string? DefaultModelCache { get; init; }

    /// <summary>The working directory relative paths are resolved against (null: the process's).</summary>
    public string? WorkingDirectory { get; init; }

    private IReadOnlyList<string>? standardInput;

    /// <summary>
    /// The lines of <see cref="In"/>, read on first use and kept for this run: standard input can be read once, and
    /// a command may need the same <c>--input -</c> twice (evaluate and scorecard: the texts, then a TSV's
    /// highlight column).
    /// </summary>
    public IReadOnlyList<string> StandardInputLines()
    {
        if (standardInput is null && InputBytes is not null)
        {
            using var buffer = new MemoryStream();
            InputBytes.CopyTo(buffer);
            standardInput = TextInputs.DecodeLines(buffer.ToArray(), "-");
        }
        else if (standardInput is null)
        {
            var all = new List<string>();
            while (In.ReadLine() is { } line)
            {
                all.Add(line);
            }

            standardInput = all;
        }

        return standardInput;
    }

    /// <summary>A path given on the command line, made absolute against <see cref="WorkingDirectory"/>.</summary>
    public string Resolve(string path) =>
        WorkingDirectory is null ? Path.GetFullPath(path) : Path.GetFullPath(path, WorkingDirectory);
}

/// <summary>
/// Bad usage found after parsing (an option's value is invalid for the model or method, texts missing, an option
/// that does not apply): exit code 2, the message names the option.
/// </summary>
internal sealed class UsageException : Exception
{
    /// <summary>Creates the exception; the message starts with the option's name when there is one.</summary>
    /// <param name="option">The option at fault (e.g. <c>--steps</c>), or null.</param>
    /// <param name="message">What is wrong and how to fix it.</param>
    /// <param name="inner">The failure behind it (shown by --verbose), if any.</param>
    public UsageException(string? option, string message, Exception? inner = null)
        : base(option is null ? message : $"{option}: {message}", inner)
    {
        Option = option;
    }

    /// <summary>The option at fault, or null.</summary>
    public string? Option { get; }
}

/// <summary>The process exit codes of the command line.</summary>
internal static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>A runtime failure (the default model, libtorch, I/O, non-finite outputs).</summary>
    public const int Failure = 1;

    /// <summary>Bad usage: an unknown option, a bad value, a missing input, a --model folder that does not load.</summary>
    public const int Usage = 2;

    /// <summary>Interrupted by Ctrl-C (128 + SIGINT).</summary>
    public const int Cancelled = 130;
}
