using Attribution.Salience;

namespace Attribution.Cli;

/// <summary>The <c>attribution</c> tool's entry point: the console, Ctrl-C, and <see cref="CliApp"/>.</summary>
internal static class Program
{
    private static int Main(string[] args)
    {
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
            Out = Console.Out,
            Error = error,
            In = Console.In,
            OutputColor = ConsoleRenderer.DetectColorMode(),
            ErrorIsTerminal = !Console.IsErrorRedirected,
            Cancellation = cancellation.Token,
        };
        return CliApp.Run(args, context);
    }
}
