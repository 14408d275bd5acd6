// The C# blocks of README.md, compiled with the tests so that an API change breaks the build. DocSnippetTests checks
// that each block between the doc-snippet markers is the markdown's text, line for line, and runs what can run here.
namespace Attribution.Tests.Docs.Snippets.Readme
{
    // doc-snippet: README.md#1
    using Attribution.Methods;
    using Attribution.Pipeline;
    using Attribution.Models;

    // end doc-snippet

    internal static class UsingTheLibrary
    {
        /// <summary>The block as written: compiled, not run (the folder is the reader's).</summary>
        public static Explanation Load()
        {
            // doc-snippet: README.md#1
            using var model = ClassifierLoader.Load("path/to/hf-model");          // BERT / DistilBERT / RoBERTa folder
            // end doc-snippet
            return Explain(model);
        }

        /// <summary>The rest of the block, run on any classifier; returns the explanation it printed.</summary>
        public static Explanation Explain(TextClassifier model)
        {
            // doc-snippet: README.md#1
            var ig = new IntegratedGradients();             // adaptive: refines each text until |delta| and the scores settle within 1%
            var explanation = ig.Explain(model, "a sometimes tedious film");
            foreach (var word in explanation.Words)
                Console.WriteLine($"{word.Text,-12} {word.Score:+0.000;-0.000;0.000}");
            Console.WriteLine($"delta = {explanation.ConvergenceDelta}, steps used = {explanation.Setting("steps-used")}");
            // new IntegratedGradients { Steps = 50 } reproduces Captum's LayerIntegratedGradients defaults exactly.
            // end doc-snippet
            return explanation;
        }
    }
}
