using System.Text.Json;
using Attribution.Engine;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Attribution.Tests.Engine.Modules;

/// <summary>
/// shared/golden/mlp.safetensors: <c>Sequential(Linear(48,32), ReLU, Linear(32,16), ReLU, Linear(16,3))</c> saved by
/// PyTorch 1.13.1; mlp_golden.json holds the inputs <c>x</c> and per case the logits PyTorch computed. 1e-5 absolute:
/// float32 on both sides, logits of order 1 through three small layers, so only summation orders differ.
/// </summary>
public class MlpGoldenTests
{
    [SkippableFact]
    public void Logits_match_pytorch()
    {
        var weightsPath = SharedData.Require("golden/mlp.safetensors");
        var goldenPath = SharedData.Require("golden/mlp_golden.json");
        using var golden = JsonDocument.Parse(File.ReadAllText(goldenPath));
        var rows = golden.RootElement.GetProperty("x").EnumerateArray()
            .Select(r => r.EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToArray();
        var cases = golden.RootElement.GetProperty("cases").EnumerateArray().ToArray();
        cases.Should().HaveCount(rows.Length);

        using var scope = NewDisposeScope();
        using var model = nn.Sequential(
            nn.Linear(48, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 3));
        model.eval();
        var weights = SafeTensors.Load(weightsPath);
        weights.Keys.Should().BeEquivalentTo("0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias");
        model.load_state_dict(weights, strict: true);

        var x = tensor(rows.SelectMany(r => r).ToArray(), [rows.Length, 48]);
        var logits = model.call(x);
        logits.shape.Should().Equal(rows.Length, 3);
        var actual = logits.data<float>().ToArray();
        for (var i = 0; i < cases.Length; i++)
        {
            var expected = cases[i].GetProperty("logits").EnumerateArray().Select(v => v.GetDouble()).ToArray();
            for (var j = 0; j < 3; j++)
            {
                actual[(i * 3) + j].Should().BeApproximately((float)expected[j], 1e-5f, $"case {i}, logit {j}");
            }

            var argmax = Array.IndexOf(expected, expected.Max());
            cases[i].GetProperty("target").GetInt32().Should().Be(argmax);

            // One row at a time gives the same logits.
            var single = model.call(x[i].unsqueeze(0)).data<float>().ToArray();
            single.Zip(actual.Skip(i * 3).Take(3), (a, b) => Math.Abs(a - b)).Max().Should().BeLessThan(1e-6f);
        }
    }
}
