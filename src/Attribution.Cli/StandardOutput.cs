using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Attribution.Cli;

/// <summary>
/// Standard output as a stream that reports failures. .NET's <see cref="Console.Out"/> drops a write to a closed pipe
/// without a word (EPIPE is ignored on Unix), so <c>attribution … | head -c 0</c> exited 0 with its results lost; a
/// closed descriptor 1 surfaced as "access denied" with no path. Writing with write(2) on descriptor 1 turns both into
/// an <see cref="IOException"/> that <see cref="Output.Write"/> reports, and writes where the descriptor's shared offset
/// is, as every Unix tool does: a <see cref="FileStream"/> on a regular file writes at a position of its own, so
/// <c>(echo a; attribution …; echo b) &gt; file</c> lost lines to overwriting, and so did notes on standard error with <c>2&gt;&amp;1</c>.
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
            // Fails now, with the reason, when descriptor 1 is closed or not writable.
            var stream = new FileStream(new SafeFileHandle(1, ownsHandle: false), FileAccess.Write, bufferSize: 0);
            Stream writer = stream;
            if (OperatingSystem.IsLinux())
            {
                stream.Dispose();
                writer = new DescriptorStream(1);
            }

            return new StreamWriter(writer, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), bufferSize: 1 << 16);
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

    /// <summary>
    /// A write-only stream on a descriptor, writing with write(2) at its shared offset and failing with errno's message
    /// (Linux; elsewhere a <see cref="FileStream"/> keeps the failures reported, at its own position).
    /// </summary>
    internal sealed class DescriptorStream(int descriptor) : Stream
    {
        private const int Interrupted = 4; // EINTR
        private const int WouldBlock = 11; // EAGAIN (EWOULDBLOCK) on Linux

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            while (!buffer.IsEmpty)
            {
                var written = write(descriptor, ref MemoryMarshal.GetReference(buffer), buffer.Length);
                if (written < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == Interrupted)
                    {
                        continue;
                    }

                    if (errno == WouldBlock)
                    {
                        // A descriptor another process made non-blocking (a shared pipe or terminal): wait for room.
                        Thread.Sleep(1);
                        continue;
                    }

                    throw new IOException($"writing to descriptor {descriptor} failed: {Marshal.GetPInvokeErrorMessage(errno)}");
                }

                buffer = buffer[(int)written..];
            }
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

#pragma warning disable SA1300, IDE1006, CA2101, SYSLIB1054 // The C name; a plain byte buffer needs no marshalling.
        [DllImport("libc.so.6", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        private static extern nint write(int fd, ref byte buffer, nint count);
#pragma warning restore SA1300, IDE1006, CA2101, SYSLIB1054
    }
}
