namespace Attribution.Tests.Cli;

/// <summary>A writer (the CLI's standard error) that cancels a token when a given text is written to it: Ctrl-C at a known point of a run.</summary>
internal sealed class CancelOnWrite(string trigger, CancellationTokenSource source) : StringWriter
{
    public override void WriteLine(string? value)
    {
        base.WriteLine(value);
        if (value is not null && value.Contains(trigger, StringComparison.Ordinal))
        {
            source.Cancel();
        }
    }
}
