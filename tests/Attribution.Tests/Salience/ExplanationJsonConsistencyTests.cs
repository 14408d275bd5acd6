using System.Text.Json;
using System.Text.Json.Nodes;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Salience;

namespace Attribution.Tests.Salience;

/// <summary>
/// What the JSON format cannot hold although each field alone is well formed: results whose outputs disagree with the
/// document's labels, probabilities no head gives, a negative duration. The writer refuses them (an
/// <see cref="ArgumentException"/> naming the field and the parameter) and the reader too (a <see cref="JsonException"/>
/// with the path).
/// </summary>
public sealed class ExplanationJsonConsistencyTests
{
    private static string Write(Explanation e, IReadOnlyList<string>? labels = null) =>
        ExplanationJson.Serialize(ExplanationDocument.For([e], labels ?? SalienceSamples.Labels));

    /// <summary>"good film" of the two-class sample model, labels negative/positive, target 1 ("positive").</summary>
    private static JsonNode Node() => JsonNode.Parse(Write(SalienceSamples.Make("good film")))!;

    private static Func<ExplanationDocument> Read(JsonNode node) => () => ExplanationJson.Parse(node.ToJsonString());

    [Fact]
    public void A_result_with_another_number_of_outputs_than_labels_is_neither_written_nor_read()
    {
        // Three logits under two labels: the document is of one model, whose labels name its outputs one by one.
        var three = SalienceSamples.Make("good film", logits: [-1.25, 2.5, 0.5]);
        FluentActions.Invoking(() => Write(three)).Should().Throw<ArgumentException>()
            .Where(e => e.ParamName == "document")
            .WithMessage("results[0].logits: 3 outputs, but the document's labels name 2 (negative, positive)*");

        // The overload that takes the parts names the part.
        using var writer = new StringWriter();
        FluentActions.Invoking(() => ExplanationJson.Write(writer, three.Model, three.Method, three.Settings, [three], SalienceSamples.Labels))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "results").WithMessage("results[0].logits: 3 outputs*");
        writer.ToString().Should().BeEmpty("nothing is written");

        var node = Node();
        node["labels"] = new JsonArray("negative", "positive", "neutral");
        Read(node).Should().Throw<JsonException>()
            .Where(e => e.Path == "$.results[0].logits")
            .WithMessage("invalid explanation document at $.results[0].logits: 2 outputs, but the document's labels name 3*");

        // Without labels nothing is compared.
        ExplanationJson.Parse(ExplanationJson.Serialize(ExplanationDocument.For([three]))).Results[0].Logits.Should().HaveCount(3);
    }

    [Fact]
    public void A_target_label_that_is_not_the_label_of_the_target_is_neither_written_nor_read()
    {
        var e = SalienceSamples.Make("good film") with { TargetLabel = "negative" };
        FluentActions.Invoking(() => Write(e)).Should().Throw<ArgumentException>()
            .Where(x => x.ParamName == "document")
            .WithMessage("results[0].target_label: 'negative' is not the name labels[1] gives class 1 ('positive')*");

        var node = Node();
        node["results"]![0]!["target_label"] = "pos";
        Read(node).Should().Throw<JsonException>()
            .Where(x => x.Path == "$.results[0].target_label")
            .WithMessage("invalid explanation document at $.results[0].target_label: 'pos' is not the name labels[1] gives class 1 ('positive')*");
    }

    [Fact]
    public void Repeated_label_names_are_kept_since_the_target_index_says_which_class()
    {
        // A Hugging Face id2label may repeat a name, and TransformerConfig keeps such a model (the lower index wins by
        // name); its explanations must still be written. target 1 names the second "same".
        string[] labels = ["same", "same"];
        var e = SalienceSamples.Make("good film") with { TargetLabel = "same" };
        var back = ExplanationJson.Parse(Write(e, labels));
        back.Labels.Should().Equal("same", "same");
        back.Results[0].Target.Should().Be(1);
    }

    [Theory]
    [InlineData(-0.25, 1.25, "[0]: -0.25 is not a probability (0 to 1)")]
    [InlineData(0.5, 1.5, "[1]: 1.5 is not a probability (0 to 1)")]
    [InlineData(0.25, 0.5, ": the probabilities sum to 0.75, not 1 (within 0.02)*")]
    [InlineData(0.75, 0.75, ": the probabilities sum to 1.5, not 1 (within 0.02)*")]
    public void Probabilities_a_softmax_cannot_give_are_neither_written_nor_read(double p0, double p1, string message)
    {
        // Sums by hand: 0.25 + 0.5 = 0.75 and 0.75 + 0.75 = 1.5, exact in binary.
        var e = SalienceSamples.Make("good film") with { Probabilities = [p0, p1] };
        FluentActions.Invoking(() => Write(e)).Should().Throw<ArgumentException>()
            .Where(x => x.ParamName == "document").WithMessage($"results[0].probabilities{message}*");

        var node = Node();
        node["results"]![0]!["probabilities"] = new JsonArray(p0, p1);
        Read(node).Should().Throw<JsonException>().WithMessage($"invalid explanation document at $.results[0].probabilities{message}");
    }

    [Fact]
    public void Rounded_softmax_probabilities_and_independent_sigmoids_are_kept()
    {
        // A black box's probabilities rounded to two decimals (BlackBoxClassifier accepts a sum within 0.02): 0.99.
        // Its logits are their logs (as LIME records for a black box), whose softmax is [1/3, 2/3]: within 0.02 of them.
        var rounded = SalienceSamples.Make("good film", logits: [Math.Log(0.33), Math.Log(0.66)]) with { Probabilities = [0.33, 0.66] };
        ExplanationJson.Parse(Write(rounded)).Results[0].Probabilities.Should().Equal(0.33, 0.66);

        // A multi-label head's sigmoids are independent: 0.9 + 0.8 = 1.7 is fine, each is a probability.
        // σ(ln 9) = 0.9, σ(ln 4) = 0.8.
        var multi = SalienceSamples.Make("good film", logits: [Math.Log(9), Math.Log(4)]) with { Head = OutputHead.MultiLabel, Probabilities = [0.9, 0.8] };
        ExplanationJson.Parse(Write(multi)).Results[0].Probabilities.Should().Equal(0.9, 0.8);
        var node = JsonNode.Parse(Write(multi))!;
        node["results"]![0]!["probabilities"] = new JsonArray(0.9, 1.25);
        Read(node).Should().Throw<JsonException>()
            .WithMessage("invalid explanation document at $.results[0].probabilities[1]: 1.25 is not a probability (0 to 1)");
    }

    [Fact]
    public void Probabilities_that_are_not_the_heads_function_of_the_logits_are_neither_written_nor_read()
    {
        // Logits [-1.25, 2.5]: softmax = [1, e^3.75] / (1 + e^3.75) = [0.02298, 0.97702] (e^3.75 = 42.521). Swapped, they
        // still sum to 1 but belong to another prediction.
        var e = SalienceSamples.Make("good film", logits: [-1.25, 2.5]) with { Probabilities = [0.97702, 0.02298] };
        FluentActions.Invoking(() => Write(e)).Should().Throw<ArgumentException>().Where(x => x.ParamName == "document")
            .WithMessage("results[0].probabilities[0]: 0.97702 differs from the softmax of the logits, 0.0229773*, by more than 0.02 (single_label_classification head)*same prediction*");

        var node = JsonNode.Parse(Write(SalienceSamples.Make("good film", logits: [-1.25, 2.5])))!;
        node["results"]![0]!["probabilities"] = new JsonArray(0.97702, 0.02298);
        Read(node).Should().Throw<JsonException>().WithMessage("invalid explanation document at $.results[0].probabilities[0]: 0.97702 differs from the softmax*");

        // Off by 0.03 (more than the 0.02 a black box's rounding gets) and by 0.015 (less).
        node["results"]![0]!["probabilities"] = new JsonArray(0.05298, 0.94702);
        Read(node).Should().Throw<JsonException>().WithMessage("*probabilities[0]: 0.05298 differs*");
        node["results"]![0]!["probabilities"] = new JsonArray(0.03798, 0.96202);
        ExplanationJson.Parse(node.ToJsonString()).Results[0].Probabilities.Should().Equal(0.03798, 0.96202);

        // A multi-label head: σ(ln 9) = 0.9, not 0.1.
        var multi = JsonNode.Parse(Write(SalienceSamples.Make("good film", logits: [Math.Log(9), Math.Log(4)]) with { Head = OutputHead.MultiLabel, Probabilities = [0.9, 0.8] }))!;
        multi["results"]![0]!["probabilities"] = new JsonArray(0.1, 0.8);
        Read(multi).Should().Throw<JsonException>().WithMessage("*probabilities[0]: 0.1 differs from the sigmoid of its logit, 0.8999999999999999, by more than 0.02 (multi_label_classification head)*");
    }

    [Fact]
    public void A_negative_elapsed_time_is_neither_written_nor_read()
    {
        var e = SalienceSamples.Make("good film") with { Elapsed = TimeSpan.FromMilliseconds(-2) };
        FluentActions.Invoking(() => Write(e)).Should().Throw<ArgumentException>()
            .Where(x => x.ParamName == "document").WithMessage("results[0].elapsed_ms: -2 ms is negative*");

        var node = Node();
        node["results"]![0]!["elapsed_ms"] = -0.5;
        Read(node).Should().Throw<JsonException>().WithMessage("invalid explanation document at $.results[0].elapsed_ms: -0.5 is negative*");

        // Zero (a result of no measurable time), negative zero included, is a duration.
        node["results"]![0]!["elapsed_ms"] = JsonNode.Parse("-0");
        ExplanationJson.Parse(node.ToJsonString()).Results[0].Elapsed.Should().Be(TimeSpan.Zero);
    }

    [Fact]
    public void Every_refusal_of_the_writer_names_its_parameter()
    {
        // These had no parameter name: a caller could not tell which argument was wrong without parsing the message.
        var e = SalienceSamples.Make("good film");
        Explanation[] broken =
        [
            e with { Scores = [0, double.NaN, 0, 0] },
            e with { Target = 5 },
            e with { Logits = [], Probabilities = [] },
            e with { Tokens = ["[CLS]", "good", "film"] },
            e with { Notes = ["\ud800"] },
            e with { Words = [e.Words[1], e.Words[0]] },
            e with { Surrogate = new SurrogateModel([new TextFeature("good", 0, 4)], [1.0, 2.0], 0, 1, 1, 3) },
        ];
        foreach (var result in broken)
        {
            FluentActions.Invoking(() => ExplanationJson.Serialize(ExplanationDocument.For([result])))
                .Should().Throw<ArgumentException>().Where(x => x.ParamName == "document");
            using var stream = new MemoryStream();
            FluentActions.Invoking(() => ExplanationJson.Write(stream, result.Model, result.Method, result.Settings, [result]))
                .Should().Throw<ArgumentException>().Where(x => x.ParamName == "results");
        }

        using var other = new MemoryStream();
        FluentActions.Invoking(() => ExplanationJson.Write(other, e.Model, e.Method, [new("k", "1"), new("k", "2")], [e with { Settings = [new("k", "1"), new("k", "2")] }]))
            .Should().Throw<ArgumentException>().Where(x => x.ParamName == "settings");
        FluentActions.Invoking(() => ExplanationJson.Write(other, e.Model, e.Method, e.Settings, [e], ["negative", "\udc00"]))
            .Should().Throw<ArgumentException>().Where(x => x.ParamName == "labels");
    }
}
