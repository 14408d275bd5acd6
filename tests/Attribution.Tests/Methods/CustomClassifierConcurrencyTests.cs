using Attribution.Methods;
using Attribution.Models;
using Attribution.Tests.Models;
using Attribution.Text.Tokenizers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Attribution.Tests.Methods;

/// <summary>
/// A classifier of the user's own (an <see cref="ITextClassifier"/> that is not a <see cref="TextClassifier"/>, so
/// nothing prepared its modules when it was built) shared between threads: every explanation installs the hook
/// dispatchers of the whole model before its first forward pass (ModuleHooks' contract), so a second thread that hooks
/// a layer never writes to a module the first thread is running.
/// </summary>
public sealed class CustomClassifierConcurrencyTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("attribution-custom-classifier-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    /// <summary>
    /// Thread A's Gradient explanation is held inside its forward pass, in the middle of TorchSharp's loop over the
    /// pre-hooks of layer <c>mix</c> (a hook registered directly with TorchSharp waits there). Meanwhile this thread
    /// explains with conductance at <c>mix</c>, which hooks it. Had A's explanation not prepared the model, conductance
    /// would install mix's dispatcher now, adding to the dictionary A is enumerating: A fails with "Collection was
    /// modified". Deterministic: the two threads meet at events, not by chance.
    /// </summary>
    [Fact]
    public void A_layer_hooked_by_one_thread_is_never_first_written_while_another_runs_it() =>
        HoldFirstInsideMixThenRunSecond(classifier => new Gradient().Explain(classifier, "a dull film"));

    /// <summary>The same for attention maps, which hook the attention modules in a forward pass of their own.</summary>
    [Fact]
    public void Attention_maps_prepare_the_model_before_their_forward_pass() =>
        HoldFirstInsideMixThenRunSecond(classifier => Attribution.Methods.Attention.AttentionMaps.Of(classifier, "a dull film"));

    /// <summary>
    /// Runs <paramref name="first"/> on a thread, holds it inside TorchSharp's loop over the pre-hooks of layer
    /// <c>mix</c> (a hook registered directly with TorchSharp waits there), explains with conductance at <c>mix</c> on
    /// this thread meanwhile, then lets the first go on: it must finish without error.
    /// </summary>
    private void HoldFirstInsideMixThenRunSecond(Action<ITextClassifier> first)
    {
        var vocab = Path.Combine(root, "vocab.txt");
        File.WriteAllLines(vocab, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "dull", "film", "superb", "cast"]);
        var tokenizer = TokenizerLoader.FromWordPieceVocab(vocab);
        using var encoder = TextClassifier.FromTorchSharp(
            new MaskedMeanModel(tokenizer.VocabularySize, 4, 3, 2, callsForward: false), tokenizer, "embedding", ["negative", "positive"], ownsModel: true);
        using var module = new OwnModule(tokenizer.VocabularySize);
        var classifier = new OwnClassifier(encoder, module);

        using var holding = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        Thread? held = null;
        var waited = 0;
        var gate = module.mix.register_forward_pre_hook((_, input) =>
        {
            if (Thread.CurrentThread == held && Interlocked.Exchange(ref waited, 1) == 0)
            {
                holding.Set();
                release.Wait(TimeSpan.FromSeconds(30));
            }

            return input;
        });

        Exception? failure = null;
        held = new Thread(() =>
        {
            try
            {
                first(classifier);
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        held.Start();
        holding.Wait(TimeSpan.FromSeconds(30)).Should().BeTrue("the first thread reaches the layer's hooks");
        var second = new LayerConductance { Layer = "mix", Steps = 2 }.Explain(classifier, "a superb cast");
        release.Set();
        held.Join();
        gate.remove();

        failure.Should().BeNull();
        second.Scores.Should().NotBeEmpty();
    }

    /// <summary>
    /// ids → embedding → Linear (mix) → one head of attention over the mixed tokens (an <see cref="AttentionSoftmax"/>)
    /// → mean over real tokens → Linear: a ModelInput module of the user's own.
    /// </summary>
    private sealed class OwnModule : nn.Module<ModelInput, Tensor>
    {
        public readonly Embedding embedding;
        public readonly Linear mix;
        public readonly AttentionSoftmax attention;
        public readonly Linear output;

        public OwnModule(long vocabulary)
            : base(nameof(OwnModule))
        {
            embedding = nn.Embedding(vocabulary, 4);
            mix = nn.Linear(4, 3);
            attention = new AttentionSoftmax();
            output = nn.Linear(3, 2);
            RegisterComponents();
            eval();
        }

        public override Tensor forward(ModelInput input)
        {
            var hidden = mix.call(embedding.call(input.InputIds!));
            var probabilities = attention.call(hidden.matmul(hidden.transpose(1, 2)).unsqueeze(1));
            var attended = probabilities.squeeze(1).matmul(hidden);
            var weights = input.AttentionMask!.to(hidden.dtype).unsqueeze(-1);
            return output.call((attended * weights).sum(1) / weights.sum(1));
        }
    }

    /// <summary>An <see cref="ITextClassifier"/> written by a user: tokenizing borrowed from a library classifier, the module its own.</summary>
    private sealed class OwnClassifier(TextClassifier encoder, OwnModule module) : ITextClassifier
    {
        public string Name => "own";

        public ITokenizer Tokenizer => encoder.Tokenizer;

        public int? MaxLength => null;

        public bool UsesTokenTypes => false;

        public IReadOnlyList<string> Labels => encoder.Labels;

        public nn.Module<ModelInput, Tensor> Module => module;

        public string WordEmbeddingPath => "embedding";

        public EncodedBatch Encode(IReadOnlyList<string> texts, bool truncate, IReadOnlyList<string>? pairs, TruncationStrategy strategy = TruncationStrategy.LongestFirst) =>
            encoder.Encode(texts, truncate, pairs, strategy);

        public double[][] PredictProbabilities(IReadOnlyList<string> texts) => throw new NotSupportedException("not needed here");
    }
}
