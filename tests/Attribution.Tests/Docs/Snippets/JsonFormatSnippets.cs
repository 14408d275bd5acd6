// The C# block of docs/json-format.md, compiled with the tests (see ReadmeSnippets.cs).
namespace Attribution.Tests.Docs.Snippets.JsonFormat
{
    using Attribution.Methods;
    using Attribution.Models;
    using Attribution.Salience;

    internal static class Writing
    {
        /// <summary>The block's writing statements (a fragment: every variable is the reader's); returns the JSON of its last line.</summary>
        public static string Write(
            Stream stream, TextClassifier model, IAttributor attributor, IReadOnlyList<Explanation> results,
            string[] texts, IReadOnlyList<IAttributor> attributors, ExplainOptions options)
        {
            // doc-snippet: docs/json-format.md#1
            // One method: the document names it once. Pass results[0].Settings, not attributor.Settings: a result's settings add
            // the call's (score), and results whose settings differ from the document's each repeat their own.
            ExplanationJson.Write(stream, model.Name, attributor.Name, results[0].Settings, results, model.Labels);

            // Several methods (Explainer.ExplainAll returns [method][text]):
            var all = Explainer.ExplainAll(model, texts, attributors, options);
            ExplanationJson.Write(stream, ExplanationDocument.Comparison(model.Name, all, model.Labels));

            // Whatever the results are: one method and settings gives a single-method document, several a comparison.
            string json = ExplanationJson.Serialize(ExplanationDocument.For(results, model.Labels), indented: true);

            // end doc-snippet
            return json;
        }

        /// <summary>The block's last lines as written: compiled, not run (the file is the reader's).</summary>
        public static ExplanationDocument Read()
        {
            // doc-snippet: docs/json-format.md#1
            // Reading back.
            using var file = File.OpenRead("explanations.json");
            ExplanationDocument document = ExplanationJson.Read(file);
            // end doc-snippet
            return document;
        }
    }
}
