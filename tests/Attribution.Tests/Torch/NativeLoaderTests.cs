using Attribution.Torch.Native;

namespace Attribution.Tests.Torch;

public class NativeLoaderTests
{
    /// <summary>A failed load names every path tried with its reason and the command that installs libtorch.</summary>
    [SkippableFact]
    public void Failure_lists_every_path_with_its_reason_and_the_fix()
    {
        const string missing = "/nonexistent/libattribution_native.so";
        const string notTheShim = "/usr/lib/x86_64-linux-gnu/libz.so.1";
        Skip.IfNot(File.Exists(notTheShim), "libz.so.1 is not where Debian puts it");
        var act = () => NativeLibraryLoader.Load([missing, notTheShim]);
        var message = act.Should().Throw<DllNotFoundException>().Which.Message;
        message.Should().Contain($"{missing}: no such file")
            .And.Contain($"{notTheShim}: not the Attribution shim")
            .And.Contain("apt-get install -y libtorch-dev libopenblas0-pthread");
    }

    /// <summary>The shim next to the test assembly loads and passes the ABI check.</summary>
    [Fact]
    public void The_built_shim_loads()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "libattribution_native.so");
        NativeLibraryLoader.Load([path]).Should().NotBe(IntPtr.Zero);
    }
}
