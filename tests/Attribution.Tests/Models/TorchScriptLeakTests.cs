using Attribution.Engine;
using Attribution.Models;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Attribution.Tests.Models;

/// <summary>
/// <see cref="TextClassifier.FromTorchScript"/> refusing a file, an embedding matrix, labels or a head after it has
/// loaded the script and copied the matrix: what it created is disposed on every error path (TorchSharp's count of
/// live tensors is back where it was, counted with the garbage collector held off so a forgotten tensor shows).
/// </summary>
[Collection(LiveTensorCollection.Name)]
public sealed class TorchScriptLeakTests(ITestOutputHelper output) : IDisposable
{
    private readonly TorchScriptClassifierTests kit = new(output);

    public void Dispose() => kit.Dispose();

    /// <summary>The live tensors left after <paramref name="load"/> failed with <typeparamref name="TException"/>.</summary>
    private static long Residue<TException>(Func<TextClassifier> load)
        where TException : Exception
    {
        TException? error = null;
        var (_, residue) = LiveTensors.Footprint(() =>
        {
            try
            {
                load().Dispose();
            }
            catch (TException e)
            {
                error = e;
            }

            return new Nothing();
        });
        error.Should().NotBeNull($"the load must fail with {typeof(TException).Name}");
        return residue;
    }

    private sealed class Nothing : IDisposable
    {
        public void Dispose()
        {
        }
    }

    [Fact]
    public void Every_refused_load_disposes_what_it_created()
    {
        var w = TorchScriptClassifierTests.MakeWeights();
        var path = kit.WriteScript(w);
        var tokenizer = kit.Tokenizer();
        var labels = TorchScriptClassifierTests.LabelNames;
        var embeddings = ScriptEmbeddings.Parameter("embeddings.weight");
        var narrow = Path.Combine(kit.root, "narrow.safetensors");
        using (var matrix = rand(21, 4))
        {
            SafeTensors.Save(narrow, new Dictionary<string, Tensor> { ["w"] = matrix });
        }

        var softmax = kit.WriteScript(w, "softmax.pt", TorchScriptClassifierTests.Source.Replace(
            "return (self.output).forward(hidden, )", "return torch.softmax((self.output).forward(hidden, ), -1)", StringComparison.Ordinal));

        // A successful load and dispose first: TorchSharp's own first-use allocations are not the loader's.
        TextClassifier.FromTorchScript(path, tokenizer, labels, embeddings).Dispose();

        // TorchSharp's own: a script loaded and disposed leaves wrappers of its tensors counted (measured: 10 for this
        // file); every load that got as far as loading the script is judged against that, exactly.
        var (_, scriptAlone) = LiveTensors.Footprint(() => jit.load<Tensor, Tensor, Tensor>(path));
        var (_, loadedAndDisposed) = LiveTensors.Footprint(() => TextClassifier.FromTorchScript(path, tokenizer, labels, embeddings));
        output.WriteLine($"script loaded and disposed: {scriptAlone}; classifier loaded and disposed: {loadedAndDisposed}");
        loadedAndDisposed.Should().Be(scriptAlone, "a classifier that loaded and was disposed leaves only what its script leaves");

        var residues = new Dictionary<string, long>
        {
            ["not TorchScript"] = Residue<ModelLoadException>(() => TextClassifier.FromTorchScript(Path.Combine(kit.root, "vocab.txt"), tokenizer, labels, embeddings)),
            ["no such parameter"] = Residue<ArgumentException>(() => TextClassifier.FromTorchScript(path, tokenizer, labels, ScriptEmbeddings.Parameter("nope"))),
            ["too few rows"] = Residue<ArgumentException>(() => TextClassifier.FromTorchScript(path, tokenizer, labels, ScriptEmbeddings.Parameter("hidden.weight"))),
            ["no such tensor"] = Residue<ModelLoadException>(() => TextClassifier.FromTorchScript(path, tokenizer, labels, ScriptEmbeddings.SafeTensors(narrow, "nope"))),
            ["wrong labels"] = Residue<InvalidOperationException>(() => TextClassifier.FromTorchScript(path, tokenizer, ["a", "b", "c"], embeddings)),
            ["wrong width"] = Residue<InvalidOperationException>(() => TextClassifier.FromTorchScript(path, tokenizer, labels, ScriptEmbeddings.SafeTensors(narrow, "w"))),
            ["probabilities"] = Residue<ModelLoadException>(() => TextClassifier.FromTorchScript(softmax, tokenizer, labels, embeddings)),
            // Refused by the classifier's constructor, after the adapter (which owns the script and the embedding copy) exists.
            ["unknown head"] = Residue<ArgumentOutOfRangeException>(() => TextClassifier.FromTorchScript(path, tokenizer, labels, embeddings, head: (OutputHead)42)),
        };

        foreach (var (name, residue) in residues)
        {
            output.WriteLine($"{name}: {residue} live tensors left");
        }

        residues["not TorchScript"].Should().Be(0, "nothing was loaded");
        residues.Where(r => r.Key != "not TorchScript").Should().AllSatisfy(r => r.Value.Should().Be(scriptAlone, "the refused load '{0}' disposes what it created", r.Key));
    }
}
