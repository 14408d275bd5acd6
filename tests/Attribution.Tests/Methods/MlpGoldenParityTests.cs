using System.Text.Json;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Engine;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Attribution.Tests.Methods;

/// <summary>
/// Parity with Captum 0.8 (InputXGradient, Saliency(abs), IntegratedGradients with a zero baseline) on the MLP of
/// ../shared/golden/mlp_golden.json. The MLP takes a float vector, so the test wraps it as a one-token "text"
/// classifier whose embedding table holds the recorded inputs: attributions at the embedding output are then
/// attributions to the input vector, per dimension (raw attributions). Tolerance: relative L2 ≤ 1e-4 per case.
/// </summary>
public sealed class MlpGoldenParityTests
{
    private sealed class VectorClassifier : nn.Module<ModelInput, Tensor>
    {
        private readonly Embedding inputs;
        private readonly Sequential mlp;

        public VectorClassifier(Tensor x, Sequential mlp)
            : base(nameof(VectorClassifier))
        {
            inputs = nn.Embedding(x.size(0), x.size(1));
            using (no_grad())
            {
                inputs.weight!.copy_(x);
            }

            this.mlp = mlp;
            RegisterComponents();
        }

        public override Tensor forward(ModelInput input) => mlp.call(inputs.call(input.InputIds).squeeze(1));
    }

    [SkippableFact]
    public void Gradient_methods_match_captum_on_the_mlp()
    {
        using var golden = JsonDocument.Parse(File.ReadAllText(SharedData.Require("golden/mlp_golden.json")));
        var weights = SharedData.Require("golden/mlp.safetensors");
        using var scope = NewDisposeScope();
        var rows = golden.RootElement.GetProperty("x").EnumerateArray().Select(Golden.Doubles).ToArray();
        var x = tensor(rows.SelectMany(r => r.Select(v => (float)v)).ToArray(), [rows.Length, rows[0].Length]);
        var mlp = nn.Sequential(nn.Linear(48, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 3));
        var state = SafeTensors.Load(weights);
        mlp.load_state_dict(state);
        using var classifier = new TextClassifier("mlp", new IdsTokenizer(-1, -2, 0, rows.Length), new VectorClassifier(x, mlp), ["0", "1", "2"],
            "inputs", maxLength: null, usesTokenTypes: false);

        var texts = Enumerable.Range(0, rows.Length).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var options = new ExplainOptions { KeepRawAttributions = true, Salience = new() { KeepSpecialTokens = true } };
        var gradient = new Gradient().Explain(classifier, texts, options);
        var inputXGradient = new GradientXInput().Explain(classifier, texts, options);
        var ig = new IntegratedGradients { Baseline = Baseline.Zero }.Explain(classifier, texts, options);

        var cases = golden.RootElement.GetProperty("cases").EnumerateArray().ToArray();
        for (var i = 0; i < cases.Length; i++)
        {
            gradient[i].Target.Should().Be(cases[i].GetProperty("target").GetInt32());
            Golden.RelativeL2(Raw(gradient[i]).Select(Math.Abs).ToArray(), Golden.Doubles(cases[i].GetProperty("saliency_abs"))).Should().BeLessThanOrEqualTo(1e-4);
            Golden.RelativeL2(Raw(inputXGradient[i]), Golden.Doubles(cases[i].GetProperty("input_x_gradient"))).Should().BeLessThanOrEqualTo(1e-4);
            Golden.RelativeL2(Raw(ig[i]), Golden.Doubles(cases[i].GetProperty("ig_zero_baseline_gl50").GetProperty("attr"))).Should().BeLessThanOrEqualTo(1e-4);
        }
    }

    private static double[] Raw(Explanation e) => e.RawAttributions!.Single().Select(v => (double)v).ToArray();
}
