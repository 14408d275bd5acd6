// The C# blocks of docs/own-model.md, compiled with the tests (see ReadmeSnippets.cs).
namespace Attribution.Tests.Docs.Snippets.OwnModel
{
    // doc-snippet: docs/own-model.md#1
    using Attribution.Methods;
    using Attribution.Pipeline;
    using Attribution.Methods.Lrp;
    using Attribution.Models;
    using Attribution.Text.Tokenizers;
    using TorchSharp;
    using TorchSharp.Modules;
    using static TorchSharp.torch;

    // end doc-snippet

    internal static class WrapYourModel
    {
        /// <summary>The block's first lines as written: compiled, not run (the vocabulary is the reader's).</summary>
        public static (Explanation IG, Explanation Lime, Explanation Lrp) Load()
        {
            // doc-snippet: docs/own-model.md#1
            // Program.cs: top-level statements come before the type declarations.
            var tokenizer = TokenizerLoader.FromWordPieceVocab("my-model/vocab.txt");
            // end doc-snippet
            return Explain(tokenizer);
        }

        /// <summary>The rest of the block's statements, run with any WordPiece tokenizer; returns the three explanations.</summary>
        public static (Explanation IG, Explanation Lime, Explanation Lrp) Explain(ITokenizer tokenizer)
        {
            // doc-snippet: docs/own-model.md#1
            var module = new MeanModel(tokenizer.VocabularySize);       // ... load or train its weights
            using var model = TextClassifier.FromTorchSharp(module, tokenizer, "embedding", ["negative", "positive"], maxLength: 128);

            var ig = new IntegratedGradients().Explain(model, "a sometimes tedious film");
            var lime = new Lime().Explain(model, "a sometimes tedious film");
            var lrp = new LrpEpsilon { Rules = LrpRuleSet.Default.With<MeanModel>(LrpRules.Composite) }
                .Explain(model, "a sometimes tedious film");

            // end doc-snippet
            return (ig, lime, lrp);
        }
    }

    // doc-snippet: docs/own-model.md#1
    // (ids, mask) → logits: Embedding → mean over the real tokens → Linear → Tanh → Linear.
    public sealed class MeanModel : nn.Module<Tensor, Tensor, Tensor>
    {
        private readonly Embedding embedding;   // field names are the module paths
        private readonly Linear hidden, output;
        private readonly Tanh act = nn.Tanh();

        public MeanModel(long vocabulary) : base(nameof(MeanModel))
        {
            embedding = nn.Embedding(vocabulary, 64);
            hidden = nn.Linear(64, 32);
            output = nn.Linear(32, 2);
            RegisterComponents();
        }

        public override Tensor forward(Tensor ids, Tensor mask)
        {
            var e = embedding.call(ids);                          // .call, never .forward (see below)
            var w = mask.to(e.dtype).unsqueeze(-1);
            var mean = (e * w).sum(1) / w.sum(1);
            return output.call(act.call(hidden.call(mean)));
        }
    }
    // end doc-snippet
}

namespace Attribution.Tests.Docs.Snippets.OwnModel.TorchScript
{
    using Attribution.Methods;
    using Attribution.Models;
    using Attribution.Text.Tokenizers;

    internal static class LoadTorchScript
    {
        /// <summary>The block as written (a fragment: its usings are those of the first block); compiled, not run (the files are the reader's).</summary>
        public static (Explanation IG, Explanation Lime) Load()
        {
            // doc-snippet: docs/own-model.md#2
            var tokenizer = TokenizerLoader.FromDirectory("tokenizer");
            using var model = TextClassifier.FromTorchScript("model.pt", tokenizer, ["negative", "positive"],
                ScriptEmbeddings.Parameter("model.bert.embeddings.word_embeddings.weight"), maxLength: 512);
            // or: ScriptEmbeddings.SafeTensors("embeddings.safetensors", "word_embeddings")

            // end doc-snippet
            return Explain(model);
        }

        /// <summary>The rest of the block, run on any classifier.</summary>
        public static (Explanation IG, Explanation Lime) Explain(TextClassifier model)
        {
            // doc-snippet: docs/own-model.md#2
            var ig = new IntegratedGradients().Explain(model, "a sometimes tedious film");
            var lime = new Lime().Explain(model, "a sometimes tedious film");
            // end doc-snippet
            return (ig, lime);
        }
    }
}

namespace Attribution.Tests.Docs.Snippets.OwnModel.Onnx
{
    // doc-snippet: docs/own-model.md#3
    using Attribution.Methods;
    using Attribution.Pipeline;
    using Attribution.Onnx;

    // end doc-snippet
    using Attribution.Models;

    internal static class LoadOnnx
    {
        /// <summary>The block as written: compiled, not run (the folder is the reader's).</summary>
        public static (Explanation Lime, IReadOnlyList<Prediction> Predictions) Load()
        {
            // doc-snippet: docs/own-model.md#3
            using var model = OnnxTextClassifier.Load("my-model-onnx",
                new OnnxSessionSettings { IntraOpThreads = 4, GraphOptimization = OnnxGraphOptimization.All, BatchSize = 32 });
            // end doc-snippet
            return Explain(model);
        }

        /// <summary>The rest of the block, run on any ONNX classifier.</summary>
        public static (Explanation Lime, IReadOnlyList<Prediction> Predictions) Explain(OnnxTextClassifier model)
        {
            // doc-snippet: docs/own-model.md#3
            var predictions = model.Predict(["a sometimes tedious film"]);     // logits, softmax probabilities, label
            var lime = new Lime { Seed = 1 }.Explain(model, "a sometimes tedious film");
            // end doc-snippet
            return (lime, predictions);
        }
    }
}
