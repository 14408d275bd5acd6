using System.Text.Json;
using Attribution.Engine;
using Attribution.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Attribution.Tests.Methods;

/// <summary>
/// The MLP of ../shared/golden (Sequential(Linear(48,32), ReLU, Linear(32,16), ReLU, Linear(16,3))) wrapped as a
/// one-token "text" classifier whose embedding table holds the recorded inputs: attributions at the embedding output
/// are attributions to the input vector, per dimension. Text i is case i. Tensors live in the caller's dispose scope.
/// </summary>
internal sealed class GoldenMlp : IDisposable
{
    private GoldenMlp(JsonDocument golden, Dictionary<string, Tensor> state, double[][] rows, TextClassifier classifier)
    {
        Golden = golden;
        State = state;
        Rows = rows;
        Classifier = classifier;
        Texts = Enumerable.Range(0, rows.Length).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
    }

    /// <summary>mlp_golden.json.</summary>
    public JsonDocument Golden { get; }

    /// <summary>The weights as stored (keys <c>0.weight</c>, <c>0.bias</c>, <c>2.…</c>, <c>4.…</c>).</summary>
    public Dictionary<string, Tensor> State { get; }

    /// <summary>The recorded inputs, one per case.</summary>
    public double[][] Rows { get; }

    /// <summary>The wrapped classifier (its word-embedding path is <c>inputs</c>).</summary>
    public TextClassifier Classifier { get; }

    /// <summary>"0", "1", …: the texts naming each case.</summary>
    public string[] Texts { get; }

    /// <summary>Loads the model and the golden file (skips the test when ../shared is absent).</summary>
    public static GoldenMlp Load()
    {
        var golden = JsonDocument.Parse(File.ReadAllText(SharedData.Require("golden/mlp_golden.json")));
        var state = SafeTensors.Load(SharedData.Require("golden/mlp.safetensors"));
        var rows = golden.RootElement.GetProperty("x").EnumerateArray().Select(Tests.Methods.Golden.Doubles).ToArray();
        var x = tensor(rows.SelectMany(r => r.Select(v => (float)v)).ToArray(), [rows.Length, rows[0].Length]);
        var mlp = nn.Sequential(nn.Linear(48, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 3));
        mlp.load_state_dict(state);
        var classifier = new TextClassifier("mlp", new IdsTokenizer(-1, -2, 0, rows.Length), new VectorClassifier(x, mlp), ["0", "1", "2"],
            "inputs", maxLength: null, usesTokenTypes: false);
        return new GoldenMlp(golden, state, rows, classifier);
    }

    public void Dispose()
    {
        Classifier.Dispose();
        Golden.Dispose();
    }

    /// <summary>The module the classifier wraps: the input vectors as an embedding table, then the MLP.</summary>
    public sealed class VectorClassifier : nn.Module<ModelInput, Tensor>
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
}
