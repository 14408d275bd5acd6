using System.Text.Json;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Salience;
using Attribution.Text.Tokenizers;

namespace Attribution.Tests.Salience;

/// <summary>
/// Real LIME and LRP-ε results (surrogate, relevance shares) through the JSON format: written as version 2, valid
/// against docs/json-schema.json, read back identical, and written again byte for byte.
/// </summary>
public sealed class ExplanationJsonMethodTests
{
    private static readonly string[] Texts = ["a gripping , beautifully acted film", "the plot is tedious and the jokes fall flat"];

    private static readonly Lazy<JsonSchemaSubset> Schema = new(() =>
        new JsonSchemaSubset(JsonDocument.Parse(File.ReadAllText(ExplanationJsonTests.RepositoryFile("docs/json-schema.json"))).RootElement.Clone()));

    [SkippableFact]
    public void Lime_and_lrp_results_of_sst2_bert_tiny_round_trip_and_validate()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/sst2-bert-tiny"));
        Check(model);
    }

    /// <summary>The same on a random one-layer BERT built here, so the check runs without ../shared.</summary>
    [Fact]
    public void Lime_and_lrp_results_of_a_random_bert_round_trip_and_validate()
    {
        using var model = RandomBert();
        Check(model);
    }

    private static void Check(TextClassifier model)
    {
        var lime = new Lime { Samples = 32 }.Explain(model, Texts);
        var lrp = new LrpEpsilon().Explain(model, Texts);
        foreach (var e in lime)
        {
            e.Surrogate.Should().NotBeNull();
            e.Surrogate!.Samples.Should().Be(33, "32 samples and, in the LIT preset, the unperturbed text");
            e.Surrogate.Coefficients.Should().HaveSameCount(e.Surrogate.Features);
            e.RelevanceShares.Should().BeNull();
        }

        foreach (var e in lrp)
        {
            e.RelevanceShares.Should().NotBeNullOrEmpty();
            e.RelevanceShares!.Keys.Should().Contain(model.WordEmbeddingPath);
            e.Surrogate.Should().BeNull();
        }

        var documents = new[]
        {
            ExplanationDocument.For(lime, model.Labels),
            ExplanationDocument.For(lrp, model.Labels),
            ExplanationDocument.Comparison(model.Name, [lime, lrp], model.Labels),
        };
        foreach (var document in documents)
        {
            foreach (var indented in new[] { true, false })
            {
                var json = ExplanationJson.Serialize(document, indented);
                using (var parsed = JsonDocument.Parse(json))
                {
                    parsed.RootElement.GetProperty("version").GetInt32().Should().Be(4, "the results carry their kind (lime, lrp-epsilon)");
                    Schema.Value.Validate(parsed.RootElement).Should().BeEmpty();
                }

                var back = ExplanationJson.Parse(json);
                back.Version.Should().Be(4);
                back.Results.Should().HaveSameCount(document.Results);
                for (var i = 0; i < document.Results.Count; i++)
                {
                    ExplanationJsonTests.AssertIdentical(back.Results[i], document.Results[i]);
                }

                ExplanationJson.Serialize(back, indented).Should().Be(json);
            }
        }
    }

    private static TextClassifier RandomBert()
    {
        var folder = Directory.CreateTempSubdirectory("json-method-tests-").FullName;
        try
        {
            string[] vocab =
            [
                "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "gripping", ",", "beautifully", "acted", "film", "the", "plot",
                "is", "tedious", "and", "jokes", "fall", "flat",
            ];
            File.WriteAllLines(Path.Combine(folder, "vocab.txt"), vocab);
            var tokenizer = TokenizerLoader.FromWordPieceVocab(Path.Combine(folder, "vocab.txt"));
            var config = new TransformerConfig
            {
                ModelType = "bert", VocabSize = vocab.Length, HiddenSize = 16, NumHiddenLayers = 1, NumAttentionHeads = 2,
                IntermediateSize = 32, MaxPositionEmbeddings = 32,
            };
            var module = new BertForSequenceClassification(config);
            return new TextClassifier("random-tiny-bert", tokenizer, module, ["negative", "positive"], module.WordEmbeddingPath, 32, usesTokenTypes: true);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
