using System.IO.Pipes;
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
}
