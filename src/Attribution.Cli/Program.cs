using Attribution.Salience;

namespace Attribution.Cli;

/// <summary>The <c>attribution</c> tool's entry point: the console, Ctrl-C, and <see cref="CliApp"/>.</summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        // First, before the program opens any file that could take descriptor 1's number if it was closed.
        using var output = StandardOutput.Open();
        using var cancellation = new CancellationTokenSource();
        var error = Console.Error;
        Console.CancelKeyPress += (_, e) =>
        {
            if (cancellation.IsCancellationRequested)
            {
                // A second Ctrl-C: stop now.
                return;
            }

            e.Cancel = true;
            cancellation.Cancel();
            error.WriteLine("stopping after the current batch (Ctrl-C again to stop at once)...");
        };

        var context = new CliContext
        {
            Out = output,
            Error = error,
            // Bytes, not Console.In: the console's decoder turns bytes that are not UTF-8 into U+FFFD silently.
            InputBytes = Console.OpenStandardInput(),
            OutputColor = ConsoleRenderer.DetectColorMode(),
            ErrorIsTerminal = !Console.IsErrorRedirected,
            Cancellation = cancellation.Token,
        };
        var code = CliApp.Run(args, context);
        try
        {
            output.Flush();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Help or version text that did not fit in the pipe: the run itself succeeded or failed on its own.
            error.WriteLine($"error: cannot write to standard output ({e.Message.TrimEnd('.')})");
            return code == ExitCodes.Ok ? ExitCodes.Failure : code;
        }

        return code;
    }
}
