using Attribution.Methods;
using Attribution.Models;
using Attribution.Pipeline;
using Attribution.Tests.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Methods.Internal;

/// <summary>
/// The baseline's forward pass is run once per distinct padded baseline row in a call, not once per batch: a model
/// that counts the baseline rows it is given ([CLS] [PAD] … [SEP] patterns) sees one per distinct text length, and
/// the attributions equal those of separate calls (which cannot share anything).
/// </summary>
public sealed class BaselineCacheTests
{
    private const long Cls = 2, Sep = 3, Pad = 0;

    /// <summary>Counts rows whose ids between [CLS] and [SEP] are all padding, then runs the wrapped BERT.</summary>
    private sealed class BaselineCounter : nn.Module<ModelInput, Tensor>
    {
        private readonly nn.Module<ModelInput, Tensor> inner;

        public BaselineCounter(nn.Module<ModelInput, Tensor> inner)
            : base(nameof(BaselineCounter))
        {
            this.inner = inner;
            RegisterComponents();
        }

        public int BaselineRows { get; set; }

        public override Tensor forward(ModelInput input)
        {
            var ids = input.InputIds;
            var length = (int)ids.size(1);
            var values = ids.data<long>().ToArray();
            for (var b = 0; b < ids.size(0); b++)
            {
                var row = values.AsSpan(b * length, length).ToArray();
                if (row[0] == Cls && row.Skip(1).TakeWhile(id => id != Sep).All(id => id == Pad) && row.Contains(Sep))
                {
                    BaselineRows++;
                }
            }

            return inner.call(input);
        }
    }

    [Fact]
    public void Texts_of_the_same_length_share_one_baseline_pass_across_batches()
    {
        var bert = TransformerTestKit.RandomModel(TransformerTestKit.TinyBert, 5);
        var counter = new BaselineCounter(bert);
        using var model = new TextClassifier("counted", new IdsTokenizer(Cls, Sep, Pad, bert.Config.VocabSize), counter, ["a", "b", "c"],
            "inner." + bert.WordEmbeddingPath, bert.Config.MaxSequenceLength, usesTokenTypes: true);
        string[] texts = ["2 7 9 11 3", "2 40 3", "2 5 6 8 3", "2 31 3", "2 12 13 14 3"];
        var method = new IntegratedGradients { Steps = 4 };

        var shared = method.Explain(model, texts, new ExplainOptions { BatchSize = 1 });
        counter.BaselineRows.Should().Be(2, "two distinct lengths (5 and 3 tokens) in five batches");

        counter.BaselineRows = 0;
        var separate = texts.Select(t => method.Explain(model, [t])[0]).ToArray();
        counter.BaselineRows.Should().Be(5);
        for (var i = 0; i < texts.Length; i++)
        {
            shared[i].Scores.Should().Equal(separate[i].Scores, (a, b) => Math.Abs(a - b) <= 1e-6 * (1 + Math.Abs(b)));
            shared[i].ConvergenceDelta!.Value.Should().BeApproximately(separate[i].ConvergenceDelta!.Value, 1e-6);
        }
    }
}
