using Attribution.Engine;
using Attribution.Methods.Lrp;
using Attribution.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Attribution.Tests.Methods.Lrp;

/// <summary>
/// <see cref="LrpPropagation.TokenRelevance"/> refuses what it cannot give per token: ids that are not [batch, sequence],
/// a target count other than the batch's, and a word-embedding module that ran other than once in the pass (called
/// with <c>.forward</c>, so no hook fired, or called twice, so its relevance would be split between two uses).
/// </summary>
public sealed class LrpTokenRelevanceChecksTests
{
    private static readonly LrpSettings Settings = new() { Rules = LrpRuleSet.Default.With<EmbeddingTwice>(LrpRules.Composite) };

    [Fact]
    public void Ids_without_a_batch_dimension_and_a_wrong_target_count_are_refused_by_name()
    {
        using var model = new EmbeddingTwice(uses: 1);
        using var scope = NewDisposeScope();
        using var ids = tensor(new long[] { 1, 2, 3 });
        var flat = () => LrpPropagation.TokenRelevance(model, new ModelInput(ids), [0], "embeddings", Settings);
        flat.Should().Throw<ArgumentException>().Where(e => e.ParamName == "input").WithMessage("InputIds must be [batch, sequence]*");

        using var batch = tensor(new long[] { 1, 2, 3, 4, 5, 6 }, [2, 3]);
        var tooFew = () => LrpPropagation.TokenRelevance(model, new ModelInput(batch), [0], "embeddings", Settings);
        tooFew.Should().Throw<ArgumentException>().Where(e => e.ParamName == "targets").WithMessage("1 target(s) for a batch of 2*");
        FluentActions.Invoking(() => LrpPropagation.TokenRelevance(null!, new ModelInput(batch), [0, 1], "embeddings", Settings))
            .Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("model");
        FluentActions.Invoking(() => LrpPropagation.TokenRelevance(model, null!, [0, 1], "embeddings", Settings))
            .Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("input");
        FluentActions.Invoking(() => LrpPropagation.TokenRelevance(model, new ModelInput(batch), null!, "embeddings", Settings))
            .Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("targets");
        FluentActions.Invoking(() => LrpPropagation.TokenRelevance(model, new ModelInput(batch), [0, 1], "", Settings))
            .Should().Throw<ArgumentException>().Which.ParamName.Should().Be("wordEmbeddingPath");
        model.Calls.Should().Be(0, "the checks come before any pass");
    }

    [Theory]
    [InlineData(0, "*'embeddings' (Embedding) did not run through .call*")]
    [InlineData(2, "*'embeddings' ran 2 times in one forward pass*")]
    public void A_word_embedding_module_that_ran_other_than_once_is_refused(int uses, string message)
    {
        using var model = new EmbeddingTwice(uses);
        using var scope = NewDisposeScope();
        using var ids = tensor(new long[] { 1, 2, 3, 4, 5, 6 }, [2, 3]);
        var run = () => LrpPropagation.TokenRelevance(model, new ModelInput(ids), [0, 1], "embeddings", Settings);
        run.Should().Throw<InvalidOperationException>().WithMessage(message);

        // Once, it works: relevance [batch, length, hidden].
        using var once = new EmbeddingTwice(uses: 1);
        LrpPropagation.TokenRelevance(once, new ModelInput(ids), [0, 1], "embeddings", Settings).Word.shape.Should().Equal(2L, 3L, 4L);
    }

    /// <summary>Embeddings (run <c>uses</c> times through .call, or once through .forward when 0), a mean over tokens, a linear map.</summary>
    private sealed class EmbeddingTwice : nn.Module<ModelInput, Tensor>
    {
        private readonly Embedding embeddings = nn.Embedding(10, 4);
        private readonly Linear classifier = nn.Linear(4, 2);
        private readonly int uses;

        public EmbeddingTwice(int uses)
            : base(nameof(EmbeddingTwice))
        {
            this.uses = uses;
            RegisterComponents();
        }

        public int Calls { get; private set; }

        public override Tensor forward(ModelInput input)
        {
            Calls++;
            var embedded = uses == 0 ? embeddings.forward(input.InputIds) : embeddings.call(input.InputIds);
            for (var i = 1; i < uses; i++)
            {
                embedded = embedded.Plus(embeddings.call(input.InputIds));
            }

            return classifier.call(embedded.mean([1]));
        }
    }
}
