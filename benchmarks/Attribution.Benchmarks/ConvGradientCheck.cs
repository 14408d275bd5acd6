using System.Globalization;
using Attribution.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Benchmarks;

/// <summary>
/// Counts input gradients with NaN from libtorch's Conv1d backward and from <see cref="WindowConv1d"/> on the same
/// random float32 inputs (<c>conv-nan [calls]</c>): the measurement behind the CNN's window convolution.
/// </summary>
public static class ConvGradientCheck
{
    public static int Run(string[] args)
    {
        var calls = BenchmarkArguments.Int(args, 0, "calls", 200);
        using var conv = nn.Conv1d(12, 6, 5, padding: 4);
        using var window = new WindowConv1d(12, 6, 5, padding: 4);
        int convNaN = 0, windowNaN = 0;
        for (var i = 0; i < calls; i++)
        {
            using var scope = NewDisposeScope();
            var x = randn(2, 12, 6).requires_grad_();
            if (autograd.grad([conv.call(x).sum()], [x])[0].isnan().any().ToBoolean())
            {
                convNaN++;
            }

            if (autograd.grad([window.call(x).sum()], [x])[0].isnan().any().ToBoolean())
            {
                windowNaN++;
            }
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{calls} backward passes on [2, 12, 6] float32, kernel 5, padding 4 (libtorch {__version__}, {get_num_threads()} threads): nn.Conv1d {convNaN} with NaN, WindowConv1d {windowNaN}"));
        return 0;
    }
}
