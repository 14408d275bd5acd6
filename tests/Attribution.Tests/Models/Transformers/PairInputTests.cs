using Attribution.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Models;

/// <summary>
/// Text pairs end to end on the shared random DistilBERT and RoBERTa, which have no token types to speak of (DistilBERT
/// none, RoBERTa type_vocab_size 1). As in transformers, whose DistilBERT and RoBERTa tokenizers do not return
/// token_type_ids (model_input_names = input_ids, attention_mask) and whose DistilBERT forward takes none:
/// <c>[CLS] a [SEP] b [SEP]</c> / <c>&lt;s&gt; a &lt;/s&gt;&lt;/s&gt; b &lt;/s&gt;</c> reach the model without types
/// (the WordPiece tokenizer's types 0/1 are left out for DistilBERT; RoBERTa's are all 0), and give the logits of the
/// module on those ids, the module matching the recorded Hugging Face logits. A type the model cannot embed, given to
/// the module directly, is refused naming TokenTypeIds and the fix.
/// </summary>
public sealed class PairInputTests
{
    /// <summary>
    /// Expected ids built by hand from the two texts' recorded ids (golden/*.captum.json: Hugging Face's tokenizers),
    /// expected logits from the module on those ids; 1e-5 absolute for the module against the recorded single-text logits
    /// (float32 on both sides, as in TransformerGoldenTests), 1e-6 for the pair (the same module and ids: only batching
    /// could differ).
    /// </summary>
    [SkippableTheory]
    [InlineData("distilbert-random")]
    [InlineData("roberta-random")]
    public void A_pair_through_the_models_own_tokenizer_reaches_the_model_without_types_as_in_hugging_face(string name)
    {
        using var classifier = ClassifierLoader.Load(SharedData.Require("models/" + name));
        using var golden = TransformerTestKit.ReadJson(SharedData.Require($"golden/{name}.captum.json"));
        var cases = golden.RootElement.GetProperty("cases");
        var (a, b) = (cases[0], cases[1]);
        var (idsA, idsB) = (TransformerTestKit.Longs(a.GetProperty("input_ids")), TransformerTestKit.Longs(b.GetProperty("input_ids")));
        var roberta = name.StartsWith("roberta", StringComparison.Ordinal);

        // [CLS] a [SEP] + b [SEP], or <s> a </s> + </s> + b </s>.
        long[] expectedIds = roberta ? [.. idsA, idsA[^1], .. idsB[1..]] : [.. idsA, .. idsB[1..]];

        var module = (TransformerClassifier)classifier.Module;
        using var scope = NewDisposeScope();
        var single = module.call(new ModelInput(tensor(idsA, [1, idsA.Length]))).data<float>().ToArray();
        TransformerTestKit.MaxAbsDiff(single, TransformerTestKit.Doubles(a.GetProperty("logits"))).Should().BeLessThan(1e-5);
        var expected = module.call(new ModelInput(tensor(expectedIds, [1, expectedIds.Length]))).data<float>().ToArray();

        var batch = classifier.Encode([a.GetProperty("text").GetString()!], truncate: false, [b.GetProperty("text").GetString()!]);
        batch.Input.InputIds.data<long>().ToArray().Should().Equal(expectedIds);
        batch.Input.TokenTypeIds.Should().BeNull("neither model takes token types from its tokenizer");
        if (roberta)
        {
            batch.Encodings[0].TypeIds.Should().OnlyContain(t => t == 0, "RobertaProcessing gives both texts type 0");
        }
        else
        {
            batch.Encodings[0].TypeIds.Should().Contain(1, "the WordPiece post-processor gives the second text type 1, which DistilBERT has no place for");
        }

        var actual = classifier.Logits(batch.Input).data<float>().ToArray();
        TransformerTestKit.MaxAbsDiff(actual, expected.Select(v => (double)v).ToArray()).Should().BeLessThan(1e-6);

        if (roberta)
        {
            // Types of zeros are RoBERTa's one type: the same logits; a 1 is refused naming the argument and the fix.
            var zeros = module.call(new ModelInput(tensor(expectedIds, [1, expectedIds.Length]), null, torch.zeros([1, expectedIds.Length], ScalarType.Int64)))
                .data<float>().ToArray();
            TransformerTestKit.MaxAbsDiff(zeros, expected.Select(v => (double)v).ToArray()).Should().BeLessThan(1e-6);
            var types = batch.Encodings[0].TypeIds.ToArray();
            types[^1] = 1;
            var error = FluentActions.Invoking(() => module.call(new ModelInput(tensor(expectedIds, [1, expectedIds.Length]), null, tensor(types, [1, types.Length]))))
                .Should().Throw<ArgumentOutOfRangeException>().Which;
            error.ParamName.Should().Be("input");
            error.Message.Should().Contain("TokenTypeIds: token type id 1 is outside [0, 1) (type_vocab_size = 1)")
                .And.Contain("has one token type (type 0").And.Contain("leave TokenTypeIds null");
        }
        else
        {
            var types = tensor(batch.Encodings[0].TypeIds, [1, expectedIds.Length]);
            FluentActions.Invoking(() => module.call(new ModelInput(tensor(expectedIds, [1, expectedIds.Length]), null, types)))
                .Should().Throw<ArgumentException>().WithMessage("*has no token types (a pair's texts are told apart by the separator alone); leave TokenTypeIds null*")
                .Which.ParamName.Should().Be("input");
        }
    }
}
