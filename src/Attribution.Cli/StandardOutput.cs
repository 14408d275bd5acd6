using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Attribution.Cli;

/// <summary>
/// Standard output as a stream that reports failures. .NET's <see cref="Console.Out"/> drops a write to a closed pipe
/// without a word (EPIPE is ignored on Unix), so <c>attribution … | head -c 0</c> exited 0 with its results lost; a
/// closed descriptor 1 surfaced as "access denied" with no path. Writing through a <see cref="FileStream"/> on
/// descriptor 1 turns both into an <see cref="IOException"/> that <see cref="Output.Write"/> reports.
/// </summary>
internal static class StandardOutput
{
    /// <summary>A writer on descriptor 1, or one that fails with a clear message when descriptor 1 cannot be written.</summary>
    public static TextWriter Open()
    {
        if (OperatingSystem.IsWindows())
        {
            return Console.Out;
        }

        try
        {
            var stream = new FileStream(new SafeFileHandle(1, ownsHandle: false), FileAccess.Write, bufferSize: 0);
            return new StreamWriter(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), bufferSize: 1 << 16);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return new ClosedWriter(e.Message);
        }
    }

    /// <summary>Standard output that was closed before the program started: every write fails, saying so.</summary>
    private sealed class ClosedWriter(string reason) : TextWriter
    {
        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value) => throw Closed();

        public override void Write(string? value) => throw Closed();

        public override void Write(char[] buffer, int index, int count) => throw Closed();

        private IOException Closed() => new($"standard output is closed ({reason.TrimEnd('.')})");
    }
}
