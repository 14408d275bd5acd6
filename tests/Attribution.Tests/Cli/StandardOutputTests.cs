using System.IO.Pipes;
using System.Runtime.InteropServices;
using Attribution.Cli;

namespace Attribution.Tests.Cli;

/// <summary>
/// Standard output writes where the descriptor's shared offset is (as the shell's <c>&gt;</c> and other writers on
/// the same open file expect) and reports a closed pipe instead of dropping the results.
/// </summary>
public sealed class StandardOutputTests
{
    [SkippableFact]
    public void Two_writers_on_one_open_file_append_instead_of_overwriting_each_other()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "write(2) on a descriptor is used on Linux");
        var path = Path.Combine(Path.GetTempPath(), $"stdout-{Guid.NewGuid():N}.txt");
        try
        {
            using (var handle = File.OpenHandle(path, FileMode.Create, FileAccess.Write))
            {
                var descriptor = (int)handle.DangerousGetHandle();
                using var first = new StandardOutput.DescriptorStream(descriptor);
                using var second = new StandardOutput.DescriptorStream(descriptor);
                first.Write("results\n"u8);
                second.Write("note\n"u8);
                first.Write("more results\n"u8);
            }

            File.ReadAllText(path).Should().Be("results\nnote\nmore results\n", "each write lands at the file's shared offset, after the other writer's");
            using var output = (StreamWriter)StandardOutput.Open();
            output.BaseStream.Should().BeOfType<StandardOutput.DescriptorStream>("the tool's standard output is such a stream");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [SkippableFact]
    public void A_pipe_closed_by_its_reader_fails_the_write_with_the_reason()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "write(2) on a descriptor is used on Linux");
        using var server = new AnonymousPipeServerStream(PipeDirection.Out);
        using (var reader = new AnonymousPipeClientStream(PipeDirection.In, server.ClientSafePipeHandle))
        {
        }

        server.DisposeLocalCopyOfClientHandle();
        using var stream = new StandardOutput.DescriptorStream((int)server.SafePipeHandle.DangerousGetHandle());
        var write = () => stream.Write("lost\n"u8);
        write.Should().Throw<IOException>().WithMessage("*Broken pipe*");
    }

    /// <summary>
    /// A descriptor another process made non-blocking (a shared pipe): a write larger than the pipe's buffer waits for
    /// room instead of failing with EAGAIN halfway (a 64 KiB cut-off before).
    /// </summary>
    [SkippableFact]
    public void A_non_blocking_pipe_receives_everything_written()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "write(2) on a descriptor is used on Linux");
        using var server = new AnonymousPipeServerStream(PipeDirection.Out);
        using var reader = new AnonymousPipeClientStream(PipeDirection.In, server.ClientSafePipeHandle);
        var descriptor = (int)server.SafePipeHandle.DangerousGetHandle();
        fcntl(descriptor, SetFlags, fcntl(descriptor, GetFlags, 0) | NonBlocking).Should().Be(0);
        var payload = Enumerable.Range(0, 300_000).Select(i => (byte)(i % 251)).ToArray();
        var received = new MemoryStream();
        var reading = Task.Run(() =>
        {
            Thread.Sleep(200); // let the writer fill the pipe first
            reader.CopyTo(received);
        });

        using (var stream = new StandardOutput.DescriptorStream(descriptor))
        {
            stream.Write(payload);
        }

        server.Dispose();
        reading.Wait(TimeSpan.FromMinutes(1)).Should().BeTrue();
        received.ToArray().Should().Equal(payload);
    }

    private const int GetFlags = 3; // F_GETFL
    private const int SetFlags = 4; // F_SETFL
    private const int NonBlocking = 0x800; // O_NONBLOCK on Linux

#pragma warning disable SA1300, IDE1006, SYSLIB1054 // The C name.
    [DllImport("libc.so.6", SetLastError = true)]
    private static extern int fcntl(int fd, int command, int argument);
#pragma warning restore SA1300, IDE1006, SYSLIB1054
}
