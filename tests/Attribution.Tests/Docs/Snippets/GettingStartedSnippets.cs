// The C# blocks of docs/getting-started.md, compiled with the tests (see ReadmeSnippets.cs).
namespace Attribution.Tests.Docs.Snippets.GettingStarted
{
    // doc-snippet: docs/getting-started.md#1
    using Attribution.Methods;
    using Attribution.Pipeline;
    using Attribution.Models;
    using Attribution.Salience;

    // end doc-snippet

    internal static class ExplainASentence
    {
        /// <summary>The block as written: compiled, not run (the folder is the reader's).</summary>
        public static Explanation Load()
        {
            // doc-snippet: docs/getting-started.md#1
            using var model = ClassifierLoader.Load("models/my-bert");   // config.json, model.safetensors, vocab.txt or tokenizer.json
            // end doc-snippet
            return Explain(model);
        }

        /// <summary>The rest of the block, run on any classifier; returns the explanation it printed.</summary>
        public static Explanation Explain(TextClassifier model)
        {
            // doc-snippet: docs/getting-started.md#1

            // Integrated Gradients (adaptive steps; Steps = 50 is Captum's default), words normalized so |scores| sum to 1
            // (LIT's convention).
            var options = new ExplainOptions { Salience = new SalienceOptions { Normalization = Normalization.L1 } };
            var e = new IntegratedGradients().Explain(model, "a sometimes tedious film", options);

            Console.WriteLine($"{e.TargetLabel} ({e.Probabilities[e.Target]:P1}), delta {e.ConvergenceDelta:E2}");
            foreach (var w in e.Words)
                Console.WriteLine($"{w.Text,-10} {w.Score:+0.000;-0.000;0.000}");
            // end doc-snippet
            return e;
        }

        /// <summary>Several methods at once (a fragment: the model and texts are the reader's).</summary>
        public static IReadOnlyList<IReadOnlyList<Explanation>> ExplainSeveral(TextClassifier model, string[] texts)
        {
            // doc-snippet: docs/getting-started.md#2
            var results = Explainer.ExplainAll(model, texts,
                [new Gradient(), new GradientXInput(), new IntegratedGradients { Steps = 16 }]);
            // end doc-snippet
            return results;
        }

        /// <summary>A black-box model (a fragment: the service is the reader's).</summary>
        public static BlackBoxClassifier WrapBlackBox(IScoringService myService)
        {
            // doc-snippet: docs/getting-started.md#3
            var blackBox = new BlackBoxClassifier(texts => myService.Score(texts), ["negative", "positive"]);
            // end doc-snippet
            return blackBox;
        }
    }

    /// <summary>What the black-box block assumes of the reader's service: one probability row per text.</summary>
    internal interface IScoringService
    {
        double[][] Score(IReadOnlyList<string> texts);
    }
}
