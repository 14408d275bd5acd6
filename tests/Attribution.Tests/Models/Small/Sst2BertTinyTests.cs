using System.Text.Json;
using Attribution.Data;
using Attribution.Models;
using Xunit.Abstractions;

namespace Attribution.Tests.Models.Small;

/// <summary>shared/models/sst2-bert-tiny on the SST-2 development set: the recorded accuracy, and batching that changes nothing.</summary>
public sealed class Sst2BertTinyTests(ITestOutputHelper output)
{
    [SkippableFact]
    public void Its_dev_accuracy_equals_the_figure_in_training_json_and_batching_changes_nothing()
    {
        var dir = SharedData.Require("models/sst2-bert-tiny");
        var devPath = SharedData.Require("data/sst2/dev.tsv");
        using var training = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "training.json")));
        var recorded = training.RootElement.GetProperty("dev_accuracy").GetDouble();

        var dev = LabeledText.ReadTsv(devPath);
        dev.Should().HaveCount(872);
        using var classifier = ClassifierLoader.Load(dir);
        var texts = dev.Select(e => e.Text).ToArray();
        var batched = classifier.Predict(texts);
        var accuracy = batched.Zip(dev, (p, e) => p.Label == e.Label ? 1.0 : 0.0).Average();
        output.WriteLine($"sst2-bert-tiny: dev accuracy {accuracy:P2} ({batched.Zip(dev).Count(x => x.First.Label == x.Second.Label)}/872), training.json {recorded:P2}");
        // Within 0.1 percentage point: one sentence of 872 is 0.115 points, so the same number of correct sentences.
        (100 * Math.Abs(accuracy - recorded)).Should().BeLessThanOrEqualTo(0.1);

        var worst = 0.0;
        for (var i = 0; i < texts.Length; i++)
        {
            var alone = classifier.Predict([texts[i]])[0];
            alone.Label.Should().Be(batched[i].Label, texts[i]);
            worst = Math.Max(worst, SmallModelKit.MaxAbsDifference(alone.Logits, batched[i].Logits));
        }

        output.WriteLine($"largest logit difference, batched vs one at a time: {worst:E2}");
        worst.Should().BeLessThan(1e-5);
    }
}
