using Attribution.Methods;
using Attribution.Methods.Internal;
using Attribution.Models;
using Attribution.Pipeline;
using static TorchSharp.torch;

namespace Attribution.Tests.Methods;

/// <summary>
/// What the speed report's floor for adaptive Integrated Gradients and conductance counts beside the path points
/// (benchmarks/Attribution.Benchmarks/SpeedReport.cs): two forward passes, the prediction's, which on a BERT model also
/// keeps the path's input end, and the baseline's. The report's text said "+ 3 forwards", as if the input end ran a
/// pass of its own. Checked without hooks: a hook of the test's own on the model would make the tapped pass differ from
/// the prediction's (logits only or not) and so give the input end a pass of its own, which is not what runs unhooked.
/// </summary>
[Collection(LiveTensorCollection.Name)]
public sealed class AdaptivePathPassesTests
{
    [SkippableFact]
    public void On_bert_the_prediction_pass_keeps_the_input_end_of_ig_and_conductance()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/sst2-bert-tiny"));
        PathMethod[] methods = [new IntegratedGradients(), new LayerConductance { Layer = "bert.encoder.layer.0" }];
        foreach (var method in methods)
        {
            using var scope = NewDisposeScope();
            using var starts = new PathStarts();
            var site = method.SharedFirstPass(model).Should().BeOfType<FirstPass.PathStart>().Subject.Site;
            var tokenized = TokenizedTexts.Of(model, ["a gorgeous , witty , seductive movie ."], truncate: false);
            var context = new AttributionContext(model, tokenized.Batch([0]), new ExplainOptions(), method.SharedFirstPass(model), pathStarts: starts);

            starts.Counts.Should().Be((1, 0), $"{method.Name}: the prediction's pass kept the input end");
            context.PathStart(site, out _);
            starts.Counts.Should().Be((1, 1), $"{method.Name}: the path reuses it and runs no pass for it");
        }
    }
}
