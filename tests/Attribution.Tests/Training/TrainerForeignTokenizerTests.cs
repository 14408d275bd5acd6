using Attribution.Data;
using Attribution.Engine;
using Attribution.Models;
using Attribution.Tests.Models.Small;
using Attribution.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Training;

/// <summary>
/// A user's own module trained with a tokenizer whose ids go past its token embedding (another model's tokenizer, say).
/// Before, the first batch holding such an id failed inside libtorch's embedding lookup ("index out of range in
/// self", an untyped native error naming neither the tokenizer nor the module); now Fit and Evaluate refuse before any
/// step, naming both sizes and the fix.
/// </summary>
public sealed class TrainerForeignTokenizerTests : IDisposable
{
    private readonly string root = SmallModelKit.TempRoot("attribution-trainer-foreign-");

    public void Dispose() => Directory.Delete(root, recursive: true);

    private static readonly IReadOnlyList<SentimentExample> Data = SentimentCorpus.Generate(40, seed: 3);

    /// <summary>Embedding of ids (rows given), 4 positions, the mean over tokens, a linear layer to 2 classes.</summary>
    private sealed class MeanOfEmbeddings : nn.Module<ModelInput, Tensor>
    {
        internal readonly TorchSharp.Modules.Embedding tokens;
        private readonly TorchSharp.Modules.Embedding positions = nn.Embedding(512, 4);
        private readonly TorchSharp.Modules.Linear head = nn.Linear(4, 2);

        public MeanOfEmbeddings(long rows)
            : base(nameof(MeanOfEmbeddings))
        {
            tokens = nn.Embedding(rows, 4);
            RegisterComponents();
        }

        public override Tensor forward(ModelInput input)
        {
            var ids = input.InputIds;
            var at = KeptScalars.Range(ids.size(1)).unsqueeze(0).expand(ids.size(0), -1);
            return head.call(tokens.call(ids).Plus(positions.call(at)).mean([1]));
        }
    }

    private static float[] Weights(nn.Module module) =>
        module.state_dict().OrderBy(kv => kv.Key, StringComparer.Ordinal).SelectMany(kv => kv.Value.data<float>().ToArray()).ToArray();

    [Fact]
    public void Ids_past_the_module_s_token_embedding_are_refused_before_any_step()
    {
        var tokenizer = SmallModelKit.Tokenizer(root);
        tokenizer.VocabularySize.Should().BeGreaterThan(100, "premise: the corpus vocabulary has more ids than the module's 50 rows");
        using var model = new MeanOfEmbeddings(50);
        model.train();
        var before = Weights(model);
        var trainer = new Trainer(model, tokenizer, 2, new TrainingOptions { MaxEpochs = 1, BatchSize = 8 });
        var train = Data.Select(d => new LabeledText(d.Text, d.Label)).ToArray();

        var refusal = ((Action)(() => trainer.Fit(train))).Should().Throw<ArgumentException>().Which;
        refusal.ParamName.Should().Be("tokenizer");
        refusal.Message.Should().Contain($"the tokenizer has {tokenizer.VocabularySize} ids").And.Contain("the module's token embedding 'tokens' (the Embedding the input ids reach) has 50 rows")
            .And.Contain("use the tokenizer the module was made for");
        Weights(model).Should().Equal(before, "no training step was taken");
        model.training.Should().BeTrue("a refusal before training leaves the mode as it was");
        Attribution.Engine.ModuleHooks.Count(model.tokens).Should().Be(0, "the probe's hooks are removed, refused or not");

        ((Action)(() => trainer.Evaluate(train))).Should().Throw<ArgumentException>().Which.ParamName.Should().Be("tokenizer");

        // The position embedding (512 rows, fewer than the ids too) is not the one the ids go to: a module whose token
        // embedding is large enough trains.
        using var fits = new MeanOfEmbeddings(tokenizer.VocabularySize);
        new Trainer(fits, tokenizer, 2, new TrainingOptions { MaxEpochs = 1, BatchSize = 8 }).Fit(train).Epochs.Should().HaveCount(1);
        Attribution.Engine.ModuleHooks.Count(fits.tokens).Should().Be(0, "the probe's hooks do not stay on for training");
    }
}
