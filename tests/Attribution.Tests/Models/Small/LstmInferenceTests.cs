using Attribution.Engine;
using Attribution.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Models.Small;

/// <summary>
/// libtorch 2.10's CPU LSTM gives wrong float32 outputs when gradients are off (another kernel); the LSTM classifier
/// must predict what the same weights give in float64, with and without gradients. Tolerance 1e-4 (float32 sums).
/// </summary>
public sealed class LstmInferenceTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("attribution-lstm-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Fact]
    public void Libtorch_float32_lstm_without_gradients_is_the_defect_worked_around()
    {
        // The defect itself, so that this test says when a libtorch update fixes it (then the workaround can go).
        // Weights and input from a generator of this test's own, as PyTorch's LSTM draws them (uniform in ±1/√hidden):
        // after manual_seed(5), the global generator is shared with the tests running at the same time, and a draw of
        // theirs in between gave this test other weights (and the defect another size) from run to run.
        using var generator = new Generator(5);
        using var lstm = nn.LSTM(12, 10, batchFirst: true, bidirectional: true);
        using (no_grad())
        {
            var bound = 1.0 / Math.Sqrt(10);
            foreach (var (_, p) in lstm.named_parameters())
            {
                using var draw = rand(p.shape, generator: generator);
                using var stretched = draw.Times(2 * bound);
                using var scaled = stretched.Minus(bound);
                p.copy_(scaled);
            }
        }

        lstm.eval();
        using var input = randn([1, 6, 12], generator: generator);
        double Sum(bool gradients)
        {
            using var mode = gradients ? enable_grad() : no_grad();
            using var output = lstm.call(input).Item1;
            return output.sum().ItemAsDouble();
        }

        using var reference = nn.LSTM(12, 10, batchFirst: true, bidirectional: true);
        using (no_grad())
        {
            foreach (var (name, p) in lstm.named_parameters())
            {
                reference.get_parameter(name)!.copy_(p);
            }
        }

        reference.to(ScalarType.Float64).eval();
        double exact;
        using (no_grad())
        {
            exact = reference.call(input.to(ScalarType.Float64)).Item1.sum().ItemAsDouble();
        }

        output.WriteLine($"sum of a bidirectional LSTM's outputs: float32 without gradients {Sum(gradients: false):F4}, with gradients {Sum(gradients: true):F4}, float64 {exact:F4}");
        Sum(gradients: true).Should().BeApproximately(exact, 1e-4, "the regular kernel is right");
        Math.Abs(Sum(gradients: false) - exact).Should().BeGreaterThan(1e-3, "libtorch 2.10's no-gradient float32 kernel is wrong (if this fails, the defect is gone)");
    }

    [Fact]
    public void The_classifier_predicts_the_same_with_and_without_gradients()
    {
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.LstmType, seed: 21);
        var texts = SmallModelKit.Texts;
        var predicted = model.Predict(texts).Select(p => p.Logits).ToArray();
        using var batch = NewDisposeScope();
        var encoded = model.Encode(texts);
        Tensor withGradients;
        using (enable_grad())
        {
            withGradients = model.Module.call(encoded.Input).detach().to(ScalarType.Float64);
        }

        var rows = withGradients.data<double>().ToArray();
        for (var t = 0; t < texts.Length; t++)
        {
            predicted[t].Should().Equal(rows.Skip(t * 2).Take(2), (a, b) => Math.Abs(a - b) < 1e-5, texts[t]);
        }
    }
}
