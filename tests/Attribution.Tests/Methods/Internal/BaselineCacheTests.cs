using Attribution.Engine;
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

        // One batch holding both lengths: each row's baseline is its own ([SEP] sits elsewhere).
        var batched = method.Explain(model, texts, new ExplainOptions { BatchSize = 8 });
        for (var i = 0; i < texts.Length; i++)
        {
            shared[i].Scores.Should().Equal(separate[i].Scores, (a, b) => Math.Abs(a - b) <= 1e-6 * (1 + Math.Abs(b)));
            shared[i].ConvergenceDelta!.Value.Should().BeApproximately(separate[i].ConvergenceDelta!.Value, 1e-6);
            batched[i].Scores.Should().Equal(separate[i].Scores, (a, b) => Math.Abs(a - b) <= 1e-5 * (1 + Math.Abs(b)));
            batched[i].ConvergenceDelta!.Value.Should().BeApproximately(separate[i].ConvergenceDelta!.Value, 1e-5);
        }
    }
}

/// <summary>
/// The cache's keys and bound, on <see cref="PowerOfSum"/> with the padding baseline and no special tokens: rows of
/// the same ids but different attention masks are different baselines (F(baseline) = (n · w·e_pad)^p depends on how
/// many positions count), and a full cache starts afresh without changing any result.
/// </summary>
public sealed class BaselineCacheKeyTests
{
    private static readonly ExplainOptions Options = new() { Target = Target.Class(0), BatchSize = 8, Salience = new Attribution.Salience.SalienceOptions { KeepSpecialTokens = true } };

    [Fact]
    public void Rows_that_differ_only_in_their_attention_mask_are_not_shared()
    {
        using var model = PowerOfSum.Classifier(3);
        string[] texts = ["1 2", "3 4 5"];
        var method = new IntegratedGradients { Steps = 8, Baseline = Baseline.Pad };
        var batch = method.Explain(model, texts, Options);
        for (var i = 0; i < texts.Length; i++)
        {
            var alone = method.Explain(model, [texts[i]], Options)[0];
            batch[i].ConvergenceDelta!.Value.Should().BeApproximately(alone.ConvergenceDelta!.Value, 1e-6);
            batch[i].Scores.Should().Equal(alone.Scores, (a, b) => Math.Abs(a - b) <= 1e-6 * (1 + Math.Abs(b)));
        }
    }

    [Fact]
    public void A_full_cache_starts_afresh_and_keeps_answering_correctly()
    {
        var (model, _) = PowerOfSum.Counted(3);
        using var __ = model;
        using var cache = new Attribution.Methods.Internal.BaselineCache(maxRows: 2);
        string[][] batches = [["1 2"], ["3 4 5"], ["1 2"], ["6 7 8 9"], ["1 2"]];
        using var scope = TorchSharp.torch.NewDisposeScope();
        foreach (var texts in batches)
        {
            var encoded = model.Encode(texts);
            var context = new AttributionContext(model, encoded, Options);
            var site = context.Site(null);
            var ids = Attribution.Methods.Internal.PathInputs.BaselineIds(context, Baseline.Pad);
            var activation = cache.Capture(context, site, ids, out var logits);

            // The padding baseline's logit 0 by hand: (n · w0·e_pad)^3 with e_pad = (0.1, 0, 0), w0·e_pad = 0.1.
            var n = texts[0].Split(' ').Length;
            logits[0, 0].ItemAsDouble().Should().BeApproximately(Math.Pow(0.1 * n, 3), 1e-6);
            activation.shape.Should().Equal(1, n, 3);
        }

        // "1 2" and "3 4 5" fill the cache (2 rows), "1 2" again is reused, "6 7 8 9" clears it, so "1 2" is computed anew.
        cache.Counts.Should().Be((4, 1));
    }

    /// <summary>
    /// A batch with one row already cached and one new row that overflows the cache: the cache starts afresh, and the
    /// cached row (freed with the rest) is computed again rather than looked up after it was dropped (it threw
    /// KeyNotFoundException). Each row's logit equals the baseline row run alone, without the cache; 1e-6 absolute
    /// covers float32 rounding of these logits (below 0.03).
    /// </summary>
    [Fact]
    public void A_batch_that_overflows_the_cache_with_a_cached_row_recomputes_that_row()
    {
        var (model, _) = PowerOfSum.Counted(3);
        using var __ = model;
        using var cache = new Attribution.Methods.Internal.BaselineCache(maxRows: 2);
        using var scope = TorchSharp.torch.NewDisposeScope();
        string[][] batches = [["1 2", "3 4 5"], ["6", "7 8 9"]];
        foreach (var texts in batches)
        {
            var context = new AttributionContext(model, model.Encode(texts), Options);
            var ids = Attribution.Methods.Internal.PathInputs.BaselineIds(context, Baseline.Pad);
            var activation = cache.Capture(context, context.Site(null), ids, out var logits);
            activation.shape.Should().Equal(2, 3, 3);
            for (var row = 0; row < texts.Length; row++)
            {
                var alone = new AttributionContext(model, model.Encode([texts[row]]), Options);
                var aloneIds = Attribution.Methods.Internal.PathInputs.BaselineIds(alone, Baseline.Pad);
                var reference = Attribution.Methods.Internal.PathInputs.Capture(alone, alone.Layer(null), LayerSide.Output, 0, alone.WithIds(aloneIds), out var aloneLogits);
                logits[row, 0].ItemAsDouble().Should().BeApproximately(aloneLogits[0, 0].ItemAsDouble(), 1e-6);
                reference.shape[1].Should().Be(texts[row].Split(' ').Length);
            }
        }

        // "1 2" and "3 4 5" fill the cache; "7 8 9" (padded alike) is cached but "6" is new: the cache is cleared and both are computed.
        cache.Counts.Should().Be((4, 0));
    }
}

/// <summary>
/// The cache's key holds each row's token types and reads every row at its own offset: three baseline rows in one
/// batch, the first two with the same ids and attention mask but different token types (a random BERT that uses token
/// types, so their logits differ), must each be computed, and each must equal the row computed alone.
/// </summary>
public sealed class BaselineCacheRowKeyTests
{
    private const long Cls = 2, Sep = 3, Pad = 0;

    [Fact]
    public void Rows_that_differ_only_in_their_token_types_are_not_shared_and_each_row_keeps_its_own_key()
    {
        var bert = TransformerTestKit.RandomModel(TransformerTestKit.TinyBert, 11);
        using var model = new TextClassifier("types", new IdsTokenizer(Cls, Sep, Pad, bert.Config.VocabSize), bert, ["a", "b", "c"],
            bert.WordEmbeddingPath, bert.Config.MaxSequenceLength, usesTokenTypes: true);
        var options = new ExplainOptions();
        using var scope = NewDisposeScope();
        var encoded = model.Encode(["2 5 3", "2 6 3", "2 7 3"]);
        long[] types = [0, 0, 0, /**/ 0, 1, 1, /**/ 0, 0, 0];
        var typed = encoded with { Input = encoded.Input with { TokenTypeIds = tensor(types, [3, 3]) } };
        var context = new AttributionContext(model, typed, options);
        var site = context.Site(null);

        // Rows 0 and 1: the same baseline ids ([CLS] [PAD] [SEP]) and mask; row 2: other ids (its [PAD] replaced).
        using var ids = tensor(new long[] { Cls, Pad, Sep, Cls, Pad, Sep, Cls, 9, Sep }, [3, 3]);
        using var cache = new Attribution.Methods.Internal.BaselineCache();
        var activation = cache.Capture(context, site, ids, out var logits);
        cache.Counts.Should().Be((3, 0), "no two rows share ids, mask and token types");

        for (var row = 0; row < 3; row++)
        {
            using var alone = new Attribution.Methods.Internal.BaselineCache();
            var single = typed with { Texts = [typed.Texts[row]], Encodings = [typed.Encodings[row]], Lengths = [typed.Lengths[row]],
                Input = new ModelInput(typed.Input.InputIds.narrow(0, row, 1), typed.Input.AttentionMask?.narrow(0, row, 1), typed.Input.TokenTypeIds!.narrow(0, row, 1)) };
            var own = alone.Capture(new AttributionContext(model, single, options), site, ids.narrow(0, row, 1), out var ownLogits);
            activation[row].allclose(own[0], rtol: 1e-5, atol: 1e-6).Should().BeTrue($"row {row}'s baseline activation is its own");
            logits[row].allclose(ownLogits[0], rtol: 1e-5, atol: 1e-6).Should().BeTrue($"row {row}'s baseline logits are its own");
        }

        logits[0].allclose(logits[1], rtol: 1e-3, atol: 1e-4).Should().BeFalse("the token types change the model's output (not the word embeddings), so sharing rows 0 and 1 would give row 1 row 0's logits");
    }
}

