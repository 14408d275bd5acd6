using System.Text.Json;
using Attribution.Methods.Lrp;
using Attribution.Models;
using Attribution.Text.Tokenizers;
using Attribution.Engine;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Attribution.Tests.Methods.Lrp;

/// <summary>Models and data the LRP tests share: the golden random BERT, small text classifiers built in the tests.</summary>
internal static class LrpTestModels
{
    /// <summary>The 2-layer random BERT of ../shared/golden (bert.safetensors + bert.config.json), in eval mode.</summary>
    public static TransformerClassifier GoldenBert()
    {
        var weights = SharedData.Require("golden/bert.safetensors");
        var config = SharedData.Require("golden/bert.config.json");
        var dir = Path.Combine(Path.GetTempPath(), "attribution-lrp-bert-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            File.Copy(config, Path.Combine(dir, "config.json"));
            File.Copy(weights, Path.Combine(dir, "model.safetensors"));
            return TransformerLoader.Load(dir);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>(ids, target) of every case in bert_golden.json.</summary>
    public static (long[] Ids, int Target)[] GoldenBertCases()
    {
        using var golden = JsonDocument.Parse(File.ReadAllText(SharedData.Require("golden/bert_golden.json")));
        return golden.RootElement.GetProperty("cases").EnumerateArray()
            .Select(c => (c.GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt64()).ToArray(), c.GetProperty("target").GetInt32()))
            .ToArray();
    }

    /// <summary>Sets every Linear and LayerNorm bias of <paramref name="model"/> to zero.</summary>
    public static void ZeroBiases(nn.Module model)
    {
        using var noGrad = no_grad();
        foreach (var bias in Biases(model))
        {
            bias.zero_();
        }
    }

    /// <summary>Every Linear, Conv1d (library or window form) and LayerNorm bias of <paramref name="model"/>.</summary>
    public static IEnumerable<Tensor> Biases(nn.Module model) =>
        model.SelfAndDescendants().Select(m => m.Module switch
        {
            Linear l => l.bias,
            Conv1d c => c.bias,
            WindowConv1d w => w.Bias,
            LayerNorm n => n.bias,
            _ => null,
        }).OfType<Tensor>();

    /// <summary>The bert-base-uncased WordPiece tokenizer of sst2-bert-tiny.</summary>
    public static ITokenizer BertTokenizer() => TokenizerLoader.FromDirectory(SharedData.Require("models/sst2-bert-tiny"));

    /// <summary>Random values from a private generator (tests run in parallel; the global one is shared).</summary>
    public static void Randomize(nn.Module model, ulong seed, double scale = 0.5)
    {
        using var generator = new Generator(seed);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var (_, p) in model.named_parameters())
        {
            p.copy_(randn(p.shape, p.dtype, generator: generator).Times(scale));
        }
    }
}

/// <summary>
/// A small convolutional text classifier made of library layers: embedding → Conv1d → ReLU → MaxPool1d → max over
/// time → Linear. It declares itself a container (<see cref="ILrpRuleProvider"/>): its own code only transposes and
/// takes a maximum (winner takes all), which need no rule.
/// </summary>
internal sealed class TinyTextCnn : nn.Module<ModelInput, Tensor>, ILrpRuleProvider
{
    private readonly Embedding embeddings;
    // WindowConv1d, not nn.Conv1d: libtorch 2.10's CPU Conv1d backward returns NaN input gradients now and then
    // (docs/architecture.md; benchmark conv-nan), which made this test fail at random.
    private readonly WindowConv1d conv;
    private readonly ReLU activation = nn.ReLU();
    private readonly MaxPool1d pool = nn.MaxPool1d(2);
    private readonly Linear classifier;

    public TinyTextCnn(long vocabulary, bool biases, ulong seed)
        : base(nameof(TinyTextCnn))
    {
        using var generator = new Generator(seed);
        embeddings = nn.Embedding(vocabulary, 8);
        conv = new WindowConv1d(8, 6, 3, padding: 1);
        classifier = nn.Linear(6, 2, hasBias: biases);
        RegisterComponents();
        ParameterInit.Reset(this, generator, null);
        if (!biases)
        {
            using var noGrad = no_grad();
            conv.Bias.zero_();
        }

        eval();
    }

    public ILrpRule LrpRule => LrpRules.Composite;

    public override Tensor forward(ModelInput input)
    {
        var embedded = embeddings.call(input.InputIds);
        var maps = pool.call(activation.call(conv.call(embedded.transpose(1, 2))));
        return classifier.call(maps.amax([-1]));
    }
}

/// <summary>An LSTM text classifier (embedding → LSTM → last output → Linear); LRP has no rule for the LSTM.</summary>
internal sealed class TinyTextLstm : nn.Module<ModelInput, Tensor>, ILrpRuleProvider
{
    private readonly Embedding embeddings;
    private readonly LSTM lstm;
    private readonly Linear classifier;

    public TinyTextLstm(long vocabulary)
        : base(nameof(TinyTextLstm))
    {
        embeddings = nn.Embedding(vocabulary, 8);
        lstm = nn.LSTM(8, 5, batchFirst: true);
        classifier = nn.Linear(5, 2);
        RegisterComponents();
        eval();
    }

    public ILrpRule LrpRule => LrpRules.Composite;

    public override Tensor forward(ModelInput input)
    {
        var (output, _, _) = lstm.call(embeddings.call(input.InputIds));
        return classifier.call(output.select(1, -1));
    }
}
