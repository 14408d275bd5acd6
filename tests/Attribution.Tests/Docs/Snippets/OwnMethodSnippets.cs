// The C# blocks of docs/own-method.md, compiled with the tests (see ReadmeSnippets.cs).
namespace Attribution.Tests.Docs.Snippets.OwnMethod
{
    // doc-snippet: docs/own-method.md#1
    using Attribution.Methods;
    using Attribution.Models;
    using TorchSharp;
    using static TorchSharp.torch;

    public sealed class EmbeddingTaylor : TextAttributor, INoiseTunnelable
    {
        public bool PadBaseline { get; init; } = true;
        public override string Name => "embedding-taylor";
        public override Signedness Signedness => Signedness.Signed;
        public override HiddenReduction Reduction => HiddenReduction.Sum;

        protected override IEnumerable<KeyValuePair<string, string>> DescribeSettings()
        {
            yield return new("baseline", PadBaseline ? "pad-embedding" : "zero");
        }

        protected override MethodOutput Attribute(AttributionContext context) =>
            new(Taylor(context, context.GradientAt(context.Site(null))), PerDimension: true);

        public Tensor AttributeWithNoise(AttributionContext context, Func<Tensor, Tensor> perturb) =>
            Taylor(context, context.GradientAt(context.Site(null), perturb));

        private Tensor Taylor(AttributionContext context, LayerGradient pass)   // gradient × (activation − pad row)
        {
            if (!PadBaseline)
            {
                return pass.Gradient * pass.Activation;
            }

            var embedding = (TorchSharp.Modules.Embedding)context.Layer(null);
            using var noGrad = no_grad();
            var pad = embedding.weight![context.Model.Tokenizer.PadId].detach();
            return pass.Gradient * (pass.Activation - pad);
        }
    }
    // end doc-snippet
}

namespace Attribution.Tests.Docs.Snippets.OwnMethod.Use
{
    // doc-snippet: docs/own-method.md#2
    using Attribution.Methods;
    using Attribution.Pipeline;

    // end doc-snippet
    using Attribution.Evaluation;
    using Attribution.Models;

    internal static class UseIt
    {
        /// <summary>The block (a fragment: the model and texts are the reader's); returns what it computed.</summary>
        public static (IReadOnlyList<IReadOnlyList<Explanation>> Results, ScorecardReport Card) Run(ITextClassifier model, string[] texts)
        {
            // doc-snippet: docs/own-method.md#2
            var results = Explainer.ExplainAll(model, texts, [new GradientXInput(), new EmbeddingTaylor(), new NoiseTunnel(new EmbeddingTaylor())]);
            var card = Attribution.Evaluation.Scorecard.Run(model, texts, [new GradientXInput(), new EmbeddingTaylor()]);
            // end doc-snippet
            return (results, card);
        }
    }
}
