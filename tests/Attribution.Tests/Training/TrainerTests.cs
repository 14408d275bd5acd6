using System.Text.Json;
using Attribution.Data;
using Attribution.Models;
using Attribution.Tests.Models.Small;
using Attribution.Engine;
using TorchSharp;
using static TorchSharp.torch;
using Attribution.Training;

namespace Attribution.Tests.Training;

/// <summary>The training loop on the small mean-MLP (fast): seeding, early stopping, evaluation, saving.</summary>
public sealed class TrainerTests : IDisposable
{
    private readonly string root = SmallModelKit.TempRoot("attribution-trainer-tests-");

    public void Dispose() => Directory.Delete(root, recursive: true);

    private static readonly IReadOnlyList<SentimentExample> Data = SentimentCorpus.Generate(400, seed: 99);

    private (SmallClassifier model, Attribution.Text.Tokenizers.ITokenizer tokenizer) NewModel(ulong seed)
    {
        var tokenizer = SmallModelKit.Tokenizer(root);
        using var generator = new Generator(seed);
        return (SmallClassifier.Create(SmallModelKit.Config(SmallClassifierConfig.MlpType, tokenizer.VocabularySize), generator), tokenizer);
    }

    private static float[] Weights(SmallClassifier model) =>
        model.state_dict().OrderBy(kv => kv.Key, StringComparer.Ordinal).SelectMany(kv => kv.Value.data<float>().ToArray()).ToArray();

    [Fact]
    public void The_same_seed_gives_the_same_history_and_weights()
    {
        var options = new TrainingOptions { MaxEpochs = 3, Seed = 5, WordDropout = 0.1, LearningRate = 5e-3 };
        var (a, tokenizer) = NewModel(1);
        var (b, _) = NewModel(1);
        using (a)
        using (b)
        {
            var historyA = new Trainer(a, tokenizer, options).Fit(Data.Take(300).ToArray(), Data.Skip(300).ToArray());
            var historyB = new Trainer(b, tokenizer, options).Fit(Data.Take(300).ToArray(), Data.Skip(300).ToArray());
            historyA.Epochs.Select(e => (e.TrainLoss, e.DevLoss)).Should().Equal(historyB.Epochs.Select(e => (e.TrainLoss, e.DevLoss)));
            Weights(a).Should().Equal(Weights(b));
            historyA.Epochs.Should().HaveCount(3);
            historyA.Epochs[^1].TrainLoss.Should().BeLessThan(historyA.Epochs[0].TrainLoss);
            a.training.Should().BeFalse();

            // Another seed shuffles differently.
            var (c, _) = NewModel(1);
            using (c)
            {
                new Trainer(c, tokenizer, options with { Seed = 6 }).Fit(Data.Take(300).ToArray(), Data.Skip(300).ToArray());
                Weights(c).Should().NotEqual(Weights(a));
            }
        }
    }

    /// <summary>
    /// Training 100 examples in batches of 32 (4 batches) for 2 epochs with 40 development examples (one evaluation
    /// batch) is 11 forward passes: the probe of the token embedding, then 4 + 1 per epoch. Cancelled during any but the
    /// last, no further pass runs and the model is left in evaluation mode. Before, Fit took no token: nothing could stop
    /// it but the time limit, checked between epochs.
    /// </summary>
    [Fact]
    public void Fit_cancelled_at_any_pass_runs_no_further_pass()
    {
        var train = Data.Take(100).ToArray();
        var dev = Data.Skip(100).Take(40).ToArray();
        var options = new TrainingOptions { MaxEpochs = 2, BatchSize = 32, Seed = 3 };
        var (model, tokenizer) = NewModel(4);
        using (model)
        {
            using (var count = new CancelAtPass(model, at: 0))
            {
                new Trainer(model, tokenizer, options).Fit(train, dev);
                count.Passes.Should().Be(11, "the probe, then 4 training batches and 1 evaluation batch per epoch");
            }

            CancelAtPass.AtEveryPassButTheLast(model, 11, token => new Trainer(model, tokenizer, options).Fit(train, dev, token));
            model.training.Should().BeFalse("a cancelled Fit leaves the model in evaluation mode");
        }
    }

    /// <summary>
    /// A token already cancelled stops Fit and Evaluate before their first pass, the tokenizer probe included (the
    /// test above cancels during a pass, so it cannot tell a check before the probe from the one before the first batch).
    /// </summary>
    [Fact]
    public void Fit_and_Evaluate_with_a_cancelled_token_run_no_pass()
    {
        var train = Data.Take(40).ToArray();
        var (model, tokenizer) = NewModel(4);
        using (model)
        {
            using var cancelled = new CancellationTokenSource();
            cancelled.Cancel();
            var trainer = new Trainer(model, tokenizer, new TrainingOptions { MaxEpochs = 1, Seed = 3 });
            using var count = new CancelAtPass(model, at: 0);
            FluentActions.Invoking(() => trainer.Fit(train, cancellation: cancelled.Token)).Should().Throw<OperationCanceledException>();
            FluentActions.Invoking(() => trainer.Evaluate(train, cancelled.Token)).Should().Throw<OperationCanceledException>();
            count.Passes.Should().Be(0, "neither call runs the probe pass or a batch");
        }
    }

    [Fact]
    public void Early_stopping_restores_the_best_development_epoch()
    {
        // Development labels are the training labels flipped: the better the model fits, the worse it scores.
        var train = Data.Take(300).ToArray();
        var dev = train.Take(100).Select(e => new LabeledText(e.Text, 1 - e.Label)).ToArray();
        var (model, tokenizer) = NewModel(2);
        using (model)
        {
            var trainer = new Trainer(model, tokenizer, new TrainingOptions { MaxEpochs = 20, Patience = 2, LearningRate = 1e-2 });
            var history = trainer.Fit(train, dev);
            history.StoppedEarly.Should().BeTrue();
            history.Epochs.Count.Should().Be(history.BestEpoch + 2);
            var best = history.Epochs.Single(e => e.Epoch == history.BestEpoch);
            history.BestDevAccuracy.Should().Be(best.DevAccuracy);
            history.Epochs.Max(e => e.DevAccuracy).Should().Be(best.DevAccuracy);

            // The model holds the best epoch's weights again.
            var now = trainer.Evaluate(dev);
            now.Accuracy.Should().Be(best.DevAccuracy!.Value);
            now.Loss.Should().BeApproximately(best.DevLoss!.Value, 1e-9);
        }
    }

    [Fact]
    public void Without_restoring_the_best_weights_best_epoch_names_the_best_score_and_the_model_keeps_the_last_epoch()
    {
        // TrainingHistory's BestEpoch said "the epoch whose weights the model holds at the end", which is false with
        // RestoreBestWeights = false. Development labels flipped, as above: the best epoch is an early one.
        var train = Data.Take(300).ToArray();
        var dev = train.Take(100).Select(e => new LabeledText(e.Text, 1 - e.Label)).ToArray();
        var (model, tokenizer) = NewModel(2);
        using (model)
        {
            var trainer = new Trainer(model, tokenizer, new TrainingOptions { MaxEpochs = 20, Patience = 2, LearningRate = 1e-2, RestoreBestWeights = false });
            var history = trainer.Fit(train, dev);
            history.BestEpoch.Should().BeLessThan(history.Epochs[^1].Epoch);
            history.BestDevAccuracy.Should().Be(history.Epochs.Max(e => e.DevAccuracy));

            // The model holds the last epoch's weights: its development figures are the last epoch's (same data, same
            // evaluation order, so the same float sums; 1e-9 allows for nothing but the float64 accumulation).
            var now = trainer.Evaluate(dev);
            now.Accuracy.Should().Be(history.Epochs[^1].DevAccuracy!.Value);
            now.Loss.Should().BeApproximately(history.Epochs[^1].DevLoss!.Value, 1e-9);
        }
    }

    [Fact]
    public void Gradient_clipping_bounds_the_first_adam_step()
    {
        // AdamW's first step moves each weight by lr * g / (|g| + eps) (bias corrections cancel): about lr for any
        // gradient well above eps, whatever its scale. Clipped to a global norm of 1e-12, every |g| <= 1e-12, so
        // no weight can move more than lr * 1e-12 / 1e-8 = 1e-4 * lr. Without weight decay nothing else moves them.
        var options = new TrainingOptions { MaxEpochs = 1, BatchSize = 64, LearningRate = 1e-3, WeightDecay = 0, MaxGradNorm = 1e-12, Seed = 1 };
        var batch = Data.Take(64).ToArray();
        double LargestMove(TrainingOptions settings)
        {
            var (model, tokenizer) = NewModel(7);
            using (model)
            {
                var before = Weights(model);
                new Trainer(model, tokenizer, settings).Fit(batch);
                return Weights(model).Zip(before, (a, b) => Math.Abs((double)a - b)).Max();
            }
        }

        // float32 weights near 0.1 resolve steps of about 1e-8, so 1e-7 (= 1e-4 * lr) is visible and 1e-6 is a safe bound.
        LargestMove(options).Should().BeLessThan(1e-6);
        LargestMove(options with { MaxGradNorm = null }).Should().BeGreaterThan(5e-4, "unclipped, the first step moves weights by about lr");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_exception_midway_leaves_every_module_in_evaluation_mode(bool startsInTraining)
    {
        // Fit switches the shared model to training mode for its epochs (dropout on); an exception thrown between two
        // epochs (here from the epoch callback, after the dev evaluation has put training mode back) must not leave it
        // there, or every later prediction and explanation would be refused (or, mid-call, random). The documented
        // state is evaluation mode on every exit, whatever the mode before (a fresh module starts in training mode).
        var (model, tokenizer) = NewModel(8);
        using (model)
        {
            model.train(startsInTraining);
            var options = new TrainingOptions { MaxEpochs = 3, OnEpochEnd = e => throw new InvalidOperationException($"stop after epoch {e.Epoch}") };
            ((Action)(() => new Trainer(model, tokenizer, options).Fit(Data.Take(64).ToArray(), Data.Skip(64).Take(32).ToArray())))
                .Should().Throw<InvalidOperationException>().WithMessage("stop after epoch 1");
            model.modules().Prepend(model).Where(m => m.training).Select(m => m.GetType().Name).Should().BeEmpty();

            // A refusal before training begins changes nothing, the mode included.
            model.train(startsInTraining);
            ((Action)(() => new Trainer(model, tokenizer).Fit([new LabeledText("good", 5)]))).Should().Throw<ArgumentException>();
            model.training.Should().Be(startsInTraining);
        }
    }

    [Fact]
    public void Without_development_data_every_epoch_runs()
    {
        var (model, tokenizer) = NewModel(3);
        using (model)
        {
            var history = new Trainer(model, tokenizer, new TrainingOptions { MaxEpochs = 2 }).Fit(Data.Take(100).ToArray());
            history.Epochs.Should().HaveCount(2);
            history.BestEpoch.Should().Be(2);
            history.StoppedEarly.Should().BeFalse();
            history.Epochs.Should().OnlyContain(e => e.DevAccuracy == null);
        }
    }

    [Fact]
    public void The_progress_line_writes_its_numbers_the_same_in_every_culture()
    {
        // The CLI's progress lines (the default model's training, shortcut's) wrote "0,123" and "85,1 %" under a
        // comma-decimal culture. Expected text by hand: F3, P1 (the invariant "n %"), F1.
        var epoch = new EpochResult(3, 0.12345, 0.9, 0.4, 0.8512, TimeSpan.FromSeconds(12.34));
        var before = System.Globalization.CultureInfo.CurrentCulture;
        try
        {
            System.Globalization.CultureInfo.CurrentCulture = TestCultures.DecimalComma;
            epoch.ProgressLine("shortcut").Should().Be("shortcut: epoch 3, train loss 0.123, dev accuracy 85.1 % (12.3 s)");
            (epoch with { DevAccuracy = null }).ProgressLine("default model").Should().Be("default model: epoch 3, train loss 0.123 (12.3 s)");
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = before;
        }
    }

    [Fact]
    public void A_tokenizer_with_more_ids_than_the_models_embedding_is_refused_when_the_trainer_is_made()
    {
        // Before: accepted, and Fit failed only at the first batch holding an id past the embedding's rows, in the
        // model's forward pass (naming its parameter `input`).
        var tokenizer = SmallModelKit.Tokenizer(root);
        using var generator = new Generator(3);
        using var model = SmallClassifier.Create(SmallModelKit.Config(SmallClassifierConfig.MlpType, tokenizer.VocabularySize - 1), generator);
        var refusal = ((Action)(() => _ = new Trainer(model, tokenizer))).Should().Throw<ArgumentException>()
            .WithMessage($"the tokenizer has {tokenizer.VocabularySize} ids but the model's embedding only {tokenizer.VocabularySize - 1} rows*").Which;
        refusal.ParamName.Should().Be("tokenizer");

        // As many rows as ids (or more: unused rows) is fine.
        using var fits = SmallClassifier.Create(SmallModelKit.Config(SmallClassifierConfig.MlpType, tokenizer.VocabularySize), generator);
        new Trainer(fits, tokenizer, new TrainingOptions { MaxEpochs = 1 }).Fit(Data.Take(16).ToArray()).Epochs.Should().HaveCount(1);
    }

    [Fact]
    public void Bad_training_data_is_refused_before_training()
    {
        var (model, tokenizer) = NewModel(4);
        using (model)
        {
            var trainer = new Trainer(model, tokenizer);
            ((Action)(() => trainer.Fit([]))).Should().Throw<ArgumentException>().WithMessage("*no training examples*");
            ((Action)(() => trainer.Fit([new LabeledText("good", 2)]))).Should().Throw<ArgumentException>().WithMessage("*label 2*[0, 2)*");
            ((Action)(() => trainer.Fit([new LabeledText("  ", 0)]))).Should().Throw<ArgumentException>().WithMessage("*empty text*");
            ((Action)(() => _ = new Trainer(model, tokenizer, new TrainingOptions { BatchSize = 0 }))).Should().Throw<ArgumentOutOfRangeException>();
            ((Action)(() => _ = new Trainer(model, tokenizer, new TrainingOptions { MaxEpochs = 0 }))).Should().Throw<ArgumentOutOfRangeException>();

            // Before: trained, and the model learned to answer "negative" for everything.
            ((Action)(() => trainer.Fit(Data.Where(e => e.Label == 0).Take(50).ToArray()))).Should().Throw<ArgumentException>()
                .WithMessage("every one of the 50 training examples has label 0; a classifier of 2 classes needs training examples of at least two*")
                .Which.ParamName.Should().Be("train");
        }
    }

    [Theory]
    [InlineData("\u200B", "U+200B")]
    [InlineData("\uFEFF\u200D", "U+FEFF U+200D")]
    public void A_text_of_which_the_tokenizer_keeps_no_token_is_refused_like_an_empty_one(string text, string shown)
    {
        // Before: not whitespace, so accepted, and encoded as [CLS] [SEP] alone: the model was fitted (and scored) on an
        // empty input under the row's label. (LabeledText.ReadTsv reads such a row as it is.) BERT's text cleaning drops
        // format characters (Unicode category Cf): U+200B, U+200D, U+FEFF are all Cf.
        var (model, tokenizer) = NewModel(4);
        using (model)
        {
            tokenizer.Encode(text).Ids.Should().Equal([tokenizer.ClsId, tokenizer.SepId], "the premise: nothing of the text is kept");
            var data = Data.Take(10).Select(e => (LabeledText)e).Append(new LabeledText(text, 1)).ToArray();
            var trainer = new Trainer(model, tokenizer, new TrainingOptions { MaxEpochs = 1 });
            ((Action)(() => trainer.Fit(data))).Should().Throw<ArgumentException>()
                .WithMessage($"train[10] has no token: its text ({shown}) is only characters the tokenizer drops*").Which.ParamName.Should().Be("train");
            ((Action)(() => trainer.Evaluate(data))).Should().Throw<ArgumentException>().WithMessage("data[10] has no token*");
        }
    }

    [Theory]
    [InlineData(nameof(TrainingOptions.LearningRate), double.NaN)]
    [InlineData(nameof(TrainingOptions.LearningRate), 0.0)]
    [InlineData(nameof(TrainingOptions.LearningRate), -1e-3)]
    [InlineData(nameof(TrainingOptions.LearningRate), double.PositiveInfinity)]
    [InlineData(nameof(TrainingOptions.WeightDecay), -0.1)]
    [InlineData(nameof(TrainingOptions.WeightDecay), 500.0)] // with the default LearningRate 2e-3: lr · λ = 1, every weight zeroed
    [InlineData(nameof(TrainingOptions.Beta1), 1.0)]
    [InlineData(nameof(TrainingOptions.Beta2), double.NaN)]
    [InlineData(nameof(TrainingOptions.Epsilon), -1e-8)]
    [InlineData(nameof(TrainingOptions.Epsilon), 0.0)]
    public void Optimizer_settings_out_of_range_are_refused_by_their_option_name_when_the_trainer_is_made(string option, double value)
    {
        // Before: accepted here and refused only inside Fit, under the optimizer's parameter name ("lr", "beta2", ...).
        var settings = option switch
        {
            nameof(TrainingOptions.LearningRate) => new TrainingOptions { LearningRate = value },
            nameof(TrainingOptions.WeightDecay) => new TrainingOptions { WeightDecay = value },
            nameof(TrainingOptions.Beta1) => new TrainingOptions { Beta1 = value },
            nameof(TrainingOptions.Beta2) => new TrainingOptions { Beta2 = value },
            _ => new TrainingOptions { Epsilon = value },
        };
        var (model, tokenizer) = NewModel(4);
        using (model)
        {
            ((Action)(() => _ = new Trainer(model, tokenizer, settings))).Should().Throw<ArgumentOutOfRangeException>()
                .Which.ParamName.Should().Be(option);
        }
    }

    [Fact]
    public void A_learning_rate_that_makes_training_diverge_is_refused_instead_of_yielding_nan_weights()
    {
        // Adam moves every weight by about lr per step, so lr = 1e20 makes weights of 1e20 at the first step and their
        // products in the next forward pass overflow float32 (3.4e38): the loss becomes infinite or NaN. Before: Fit
        // returned NaN losses and a model of NaN weights. No weight decay: with it, lr · λ ≥ 1 is refused when the
        // trainer is made (see AdamWTests). (This test used lr = 1e6 with λ = 0.01, and it was the decay factor
        // 1 − 1e4 that blew the weights up: without decay, 1e6 trains two epochs to finite figures.)
        var (model, tokenizer) = NewModel(5);
        using (model)
        {
            var trainer = new Trainer(model, tokenizer, new TrainingOptions { MaxEpochs = 2, LearningRate = 1e20, WeightDecay = 0, MaxGradNorm = null });
            ((Action)(() => trainer.Fit(Data.Take(300).ToArray()))).Should().Throw<ArgumentOutOfRangeException>()
                .WithMessage("*training diverged: the loss of epoch 1, batch *Lower LearningRate or set MaxGradNorm*")
                .Which.ParamName.Should().Be(nameof(TrainingOptions.LearningRate));
            Weights(model).Should().OnlyContain(w => float.IsFinite(w), "no step is taken on a non-finite loss");
            model.training.Should().BeFalse();
        }
    }

    /// <summary>
    /// logits = [√w, 0] for every row, with w = 0: the loss is finite (ln 2 at the start) but d√w/dw at 0 is +∞, so the
    /// gradient of w is infinite. A user's module can do this (a square root, a norm of a zero vector).
    /// </summary>
    private sealed class SquareRootAtZero : nn.Module<ModelInput, Tensor>
    {
        private readonly TorchSharp.Modules.Parameter w = new(zeros(1));

        public SquareRootAtZero()
            : base(nameof(SquareRootAtZero)) => RegisterComponents();

        public Tensor Weight => w;

        public override Tensor forward(ModelInput input)
        {
            var batch = input.InputIds.size(0);
            return stack([w.sqrt().expand(batch), zeros(batch)], 1);
        }
    }

    [Theory]
    [InlineData(5.0)]
    [InlineData(null)]
    public void An_infinite_gradient_under_a_finite_loss_is_refused_before_the_step(double? maxGradNorm)
    {
        // Before: with clipping, the coefficient 5/∞ = 0 turned the gradient into 0 · ∞ = NaN; without, Adam's m/√v
        // was ∞/∞ = NaN. Either way w became NaN silently, and the next batch's NaN loss was reported as a learning rate
        // too high for a model that "holds the weights of the step before", which it no longer did.
        var tokenizer = SmallModelKit.Tokenizer(root);
        using var model = new SquareRootAtZero();
        var trainer = new Trainer(model, tokenizer, 2, new TrainingOptions { MaxEpochs = 1, BatchSize = 4, MaxGradNorm = maxGradNorm });
        ((Action)(() => trainer.Fit(Data.Take(8).ToArray()))).Should().Throw<ArgumentOutOfRangeException>()
            .WithMessage("*training diverged: the gradient of epoch 1, batch 1, is * (norm over all parameters) although the loss is 0.69314*")
            .Which.ParamName.Should().Be(nameof(TrainingOptions.LearningRate));
        model.Weight.data<float>().ToArray().Should().Equal([0f], "no step is taken on a non-finite gradient");
    }

    [Fact]
    public void A_model_that_holds_nan_before_training_is_refused_by_name_not_blamed_on_the_learning_rate()
    {
        // Before: the first batch's loss was NaN and the error said to lower the learning rate.
        var (model, tokenizer) = NewModel(6);
        using (model)
        {
            using (no_grad())
            {
                using var nan = float.NaN.ToScalar();
                model.named_parameters().Single(p => p.name == "hidden.weight").parameter.narrow(0, 0, 1).narrow(1, 0, 1).fill_(nan);
            }

            var trainer = new Trainer(model, tokenizer, new TrainingOptions { MaxEpochs = 1 });
            ((Action)(() => trainer.Fit(Data.Take(50).ToArray()))).Should().Throw<ArgumentException>()
                .WithMessage("the model's parameter hidden.weight holds NaN or infinity before training*")
                .Which.ParamName.Should().Be("model");
        }
    }

    [Theory]
    [InlineData(3)]
    [InlineData(1)]
    public void A_model_whose_class_count_is_not_num_labels_is_refused_by_name(int numLabels)
    {
        // The model has 2 outputs. Before: with 3 classes libtorch's cross-entropy failed untyped ("Target 2 is out of
        // bounds"); with 1 it trained silently on a two-output model.
        var (model, tokenizer) = NewModel(7);
        using (model)
        {
            var data = Enumerable.Range(0, 12).Select(i => new LabeledText(Data[i].Text, i % numLabels)).ToArray();
            var trainer = new Trainer(model, tokenizer, numLabels, new TrainingOptions { MaxEpochs = 1 });
            var expectation = $"the model returned logits of shape [*, 2] for a batch of *, but the trainer was made for {numLabels} classes*";
            ((Action)(() => trainer.Fit(data))).Should().Throw<ArgumentException>().WithMessage(expectation).Which.ParamName.Should().Be("numLabels");
            ((Action)(() => trainer.Evaluate(data))).Should().Throw<ArgumentException>().WithMessage(expectation).Which.ParamName.Should().Be("numLabels");
        }
    }

    [Fact]
    public void A_text_longer_than_a_small_models_max_length_is_refused_unless_truncation_is_asked_for()
    {
        // The model takes 24 tokens (SmallModelKit); this text is 25 words, 27 tokens with [CLS] and [SEP]. Before, the
        // trainer took the model's max_length as TrainingOptions.MaxLength and cut such texts silently.
        var (model, tokenizer) = NewModel(8);
        using (model)
        {
            model.Config.MaxLength.Should().Be(24);
            var longText = string.Join(' ', Enumerable.Repeat("the plot was dull", 6).Append("indeed"));
            tokenizer.Encode(longText).Ids.Should().HaveCount(27);
            var data = Data.Take(20).Select(e => new LabeledText(e.Text, e.Label)).Append(new LabeledText(longText, 0)).ToArray();
            var trainer = new Trainer(model, tokenizer, new TrainingOptions { MaxEpochs = 1 });
            ((Action)(() => trainer.Fit(data))).Should().Throw<ArgumentException>()
                .WithMessage("train[20] is 27 tokens long (special tokens included), but the model takes at most 24 (its max_length)*TrainingOptions.MaxLength = 24*")
                .Which.ParamName.Should().Be("train");
            ((Action)(() => trainer.Fit(data.Take(20).ToArray(), data))).Should().Throw<ArgumentException>()
                .WithMessage("dev[20] is 27 tokens long*").Which.ParamName.Should().Be("dev");
            ((Action)(() => trainer.Evaluate(data))).Should().Throw<ArgumentException>()
                .WithMessage("data[20] is 27 tokens long*").Which.ParamName.Should().Be("data");

            // Asked for, truncation is allowed.
            new Trainer(model, tokenizer, new TrainingOptions { MaxEpochs = 1, MaxLength = 24 }).Fit(data).Epochs.Should().HaveCount(1);
        }
    }

    [Fact]
    public void A_time_limit_lets_the_first_epoch_run_and_must_be_positive()
    {
        // Before: a limit already spent when training began (1 tick here, or zero) returned a history of no epochs,
        // best epoch 0, and the model untrained.
        var (model, tokenizer) = NewModel(6);
        using (model)
        {
            var history = new Trainer(model, tokenizer, new TrainingOptions { MaxEpochs = 3, TimeLimit = TimeSpan.FromTicks(1) }).Fit(Data.Take(100).ToArray());
            history.Epochs.Should().ContainSingle();
            history.BestEpoch.Should().Be(1);
            history.StoppedEarly.Should().BeTrue();

            foreach (var limit in new[] { TimeSpan.Zero, TimeSpan.FromSeconds(-1) })
            {
                ((Action)(() => _ = new Trainer(model, tokenizer, new TrainingOptions { TimeLimit = limit }))).Should().Throw<ArgumentOutOfRangeException>()
                    .Which.ParamName.Should().Be(nameof(TrainingOptions.TimeLimit));
            }
        }
    }

    [Fact]
    public void SaveFolder_writes_the_hugging_face_layout_with_the_history()
    {
        var (model, tokenizer) = NewModel(5);
        using (model)
        {
            var history = new Trainer(model, tokenizer, new TrainingOptions { MaxEpochs = 1 }).Fit(Data.Take(100).ToArray(), Data.Skip(100).Take(50).ToArray());
            var dir = Path.Combine(root, "saved");
            Trainer.SaveFolder(dir, model, tokenizer, history, new Dictionary<string, object> { ["test_accuracy"] = 0.5, ["note"] = "x" });
            Directory.GetFiles(dir).Select(Path.GetFileName).Should().BeEquivalentTo(
                "config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json", "training.json");

            using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "config.json")));
            config.RootElement.GetProperty("model_type").GetString().Should().Be("attribution-mlp");
            config.RootElement.GetProperty("id2label").GetProperty("1").GetString().Should().Be("positive");
            config.RootElement.GetProperty("label2id").GetProperty("negative").GetInt32().Should().Be(0);
            config.RootElement.GetProperty("max_length").GetInt32().Should().Be(24);

            using var tokenizerConfig = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "tokenizer_config.json")));
            tokenizerConfig.RootElement.GetProperty("do_lower_case").GetBoolean().Should().BeTrue();
            tokenizerConfig.RootElement.GetProperty("model_max_length").GetInt32().Should().Be(24);
            File.ReadLines(Path.Combine(dir, "vocab.txt")).Take(5).Should().Equal(WordVocabulary.SpecialTokens);

            using var training = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "training.json")));
            training.RootElement.GetProperty("dev_accuracy").GetDouble().Should().Be(history.BestDevAccuracy!.Value);
            training.RootElement.GetProperty("history").GetArrayLength().Should().Be(1);
            training.RootElement.GetProperty("test_accuracy").GetDouble().Should().Be(0.5);

            using var loaded = ClassifierLoader.Load(dir);
            loaded.Predict(["Dull"])[0].LabelName.Should().BeOneOf("negative", "positive");
        }
    }

    /// <summary>A value for training.json whose text cannot be produced.</summary>
    private sealed class Unwritable
    {
        public override string ToString() => throw new InvalidOperationException("cannot be written");
    }

    private static Dictionary<string, byte[]> Snapshot(string dir) =>
        Directory.GetFiles(dir).ToDictionary(f => Path.GetFileName(f)!, File.ReadAllBytes);

    /// <summary>
    /// A save that fails (here on a value of <c>extra</c> training.json cannot hold) leaves the target as it was
    /// (absent, or byte for byte the older save) and no staging folder beside it; a save that succeeds replaces the
    /// model's files and keeps the user's. (A failure midway through the writes: StagedFolderTests.)
    /// </summary>
    [Fact]
    public void SaveFolder_that_fails_leaves_the_target_as_it_was_and_no_staging_folder()
    {
        var (first, tokenizer) = NewModel(5);
        var (second, _) = NewModel(6);
        using (first)
        using (second)
        {
            var parent = Path.Combine(root, "models");
            var fresh = Path.Combine(parent, "fresh");
            var failing = new Dictionary<string, object> { ["note"] = new Unwritable() };

            var act = () => Trainer.SaveFolder(fresh, second, tokenizer, extra: failing);
            act.Should().Throw<ArgumentException>();
            Directory.Exists(fresh).Should().BeFalse("nothing of a failed save may appear at the target");
            Directory.Exists(parent).Should().BeFalse("a save refused before writing creates no folder");

            var saved = Path.Combine(parent, "saved");
            Trainer.SaveFolder(saved, first, tokenizer, extra: new Dictionary<string, object> { ["note"] = "first" });
            File.WriteAllText(Path.Combine(saved, "README.md"), "the user's own file");
            var before = Snapshot(saved);

            act = () => Trainer.SaveFolder(saved, second, tokenizer, extra: failing);
            act.Should().Throw<ArgumentException>();
            Snapshot(saved).Should().BeEquivalentTo(before, "a failed save over a model leaves every file of the older save as it was");
            Directory.GetFileSystemEntries(parent).Select(Path.GetFileName).Should().Equal(["saved"]);

            // A save that succeeds replaces the model's files and keeps the others.
            Trainer.SaveFolder(saved, second, tokenizer);
            File.ReadAllText(Path.Combine(saved, "README.md")).Should().Be("the user's own file");
            using var loaded = ClassifierLoader.Load(saved);
            Weights((SmallClassifier)loaded.Module).Should().Equal(Weights(second));
            Directory.GetFileSystemEntries(parent).Select(Path.GetFileName).Should().Equal(["saved"]);
        }
    }

    /// <summary>
    /// A save without a history or extra figures over an older save used to leave that save's training.json, which
    /// then described another model (its accuracy, its epochs). Now the folder holds exactly the files this save
    /// writes plus those the library never writes (the user's README here), which are kept.
    /// </summary>
    [Fact]
    public void SaveFolder_without_figures_over_an_older_save_removes_its_training_json_and_keeps_the_users_files()
    {
        var (first, tokenizer) = NewModel(5);
        var (second, _) = NewModel(6);
        using (first)
        using (second)
        {
            var saved = Path.Combine(root, "resaved");
            Trainer.SaveFolder(saved, first, tokenizer, extra: new Dictionary<string, object> { ["test_accuracy"] = 0.9 });
            File.WriteAllText(Path.Combine(saved, "README.md"), "the user's own file");

            Trainer.SaveFolder(saved, second, tokenizer);

            Directory.GetFiles(saved).Select(Path.GetFileName).Should().BeEquivalentTo(
                ["config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json", "README.md"],
                "the first model's training.json does not describe the second");
            File.ReadAllText(Path.Combine(saved, "README.md")).Should().Be("the user's own file");
            using var loaded = ClassifierLoader.Load(saved);
            Weights((SmallClassifier)loaded.Module).Should().Equal(Weights(second));
        }
    }

    /// <summary>
    /// A folder holding a tokenizer.json (a Hugging Face model's, say) would keep it after the save, and loading reads
    /// tokenizer.json before vocab.txt: the saved model would come back with another tokenizer, without a word. The save
    /// is refused, naming the folder and the file, and leaves the folder as it was.
    /// </summary>
    [Fact]
    public void SaveFolder_refuses_a_folder_whose_tokenizer_json_would_replace_the_saved_vocabulary()
    {
        var (model, tokenizer) = NewModel(7);
        using (model)
        {
            var folder = Path.Combine(root, "hf-folder");
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, "tokenizer.json"), "{}");

            var save = () => Trainer.SaveFolder(folder, model, tokenizer);

            var error = save.Should().Throw<ArgumentException>().Which;
            error.ParamName.Should().Be("directory");
            error.Message.Should().Contain(folder).And.Contain("tokenizer.json");
            Directory.GetFiles(folder).Select(Path.GetFileName).Should().Equal("tokenizer.json");
        }
    }

    /// <summary>
    /// A value of <c>extra</c> that training.json cannot hold used to fail with the serializer's exception (an
    /// ArgumentException without a parameter name or the key for NaN and infinity, the ToString's own exception for a
    /// value whose text cannot be made), naming neither the argument nor the entry. Now it is an ArgumentException
    /// for <c>extra</c> naming the key and the value (or its type), thrown before any file is written.
    /// </summary>
    [Fact]
    public void SaveFolder_refuses_an_extra_value_json_cannot_hold_by_name_before_writing()
    {
        var (model, tokenizer) = NewModel(5);
        using (model)
        {
            var cases = new (object Value, string Shown)[]
            {
                (double.NaN, "NaN"), (double.NegativeInfinity, "-Infinity"), (float.PositiveInfinity, "Infinity"), (new Unwritable(), "Unwritable"),
            };
            foreach (var (value, shown) in cases)
            {
                var dir = Path.Combine(root, "refused", "model");
                var act = () => Trainer.SaveFolder(dir, model, tokenizer, extra: new Dictionary<string, object> { ["fine"] = 1.5, ["odd_figure"] = value });
                var thrown = act.Should().Throw<ArgumentException>().Which;
                thrown.ParamName.Should().Be("extra", shown);
                thrown.Message.Should().Contain("extra[\"odd_figure\"]", shown).And.Contain(shown, shown);
                Directory.Exists(Path.Combine(root, "refused")).Should().BeFalse("nothing is written before the check ({0})", shown);
            }
        }
    }

    /// <summary>A staging folder as a killed save leaves it, last written <paramref name="age"/> ago (its files too).</summary>
    internal static string PlantStaging(string parent, string name, TimeSpan age)
    {
        var folder = Path.Combine(parent, $".{name}.tmp-4242-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        var file = Path.Combine(folder, "config.json");
        File.WriteAllText(file, "{}");
        var then = DateTime.UtcNow - age;
        File.SetLastWriteTimeUtc(file, then);
        Directory.SetLastWriteTimeUtc(folder, then);
        return folder;
    }

    /// <summary>
    /// A save killed midway (no finally runs) leaves its staging folder; nothing removed those, so they piled up
    /// beside the target. The next save of that target removes the ones older than a day (no write or training takes
    /// that long) and leaves a recent one (another process may be filling it now), other targets' ones and anything else.
    /// </summary>
    [Fact]
    public void SaveFolder_removes_staging_folders_of_its_target_that_a_killed_save_left_a_day_ago()
    {
        var (model, tokenizer) = NewModel(5);
        using (model)
        {
            var parent = Path.Combine(root, "leftovers");
            Directory.CreateDirectory(parent);
            var old = PlantStaging(parent, "saved", TimeSpan.FromDays(2));
            var recent = PlantStaging(parent, "saved", TimeSpan.FromHours(1));
            var otherTarget = PlantStaging(parent, "other", TimeSpan.FromDays(2));
            var usersOwn = Path.Combine(parent, ".saved.tmp-notes");
            Directory.CreateDirectory(usersOwn);
            Directory.SetLastWriteTimeUtc(usersOwn, DateTime.UtcNow - TimeSpan.FromDays(2));

            Trainer.SaveFolder(Path.Combine(parent, "saved"), model, tokenizer);

            Directory.Exists(old).Should().BeFalse("a staging folder untouched for two days is a killed save's");
            Directory.Exists(recent).Should().BeTrue("an hour-old staging folder may belong to a save still running");
            Directory.Exists(otherTarget).Should().BeTrue("a save cleans up after its own target only");
            Directory.Exists(usersOwn).Should().BeTrue("a name that is not a staging name is not ours");
        }
    }

    /// <summary>
    /// An extra figure whose key is one of the history's (here <c>epochs</c>) used to replace that figure in
    /// training.json without a word, so the file misreported the training. Now it is refused, naming extra and the key.
    /// </summary>
    [Fact]
    public void SaveFolder_refuses_an_extra_key_that_would_replace_a_history_figure()
    {
        var (model, tokenizer) = NewModel(5);
        using (model)
        {
            var history = new TrainingHistory([new EpochResult(1, 0.7, 0.5, null, null, TimeSpan.FromSeconds(1))], 1, false, TimeSpan.FromSeconds(1));
            var dir = Path.Combine(root, "clash");
            var act = () => Trainer.SaveFolder(dir, model, tokenizer, history, new Dictionary<string, object> { ["epochs"] = 99 });
            var thrown = act.Should().Throw<ArgumentException>().Which;
            thrown.ParamName.Should().Be("extra");
            thrown.Message.Should().Contain("extra[\"epochs\"]");
            Directory.Exists(dir).Should().BeFalse();

            // Without a history the key is free.
            Trainer.SaveFolder(dir, model, tokenizer, extra: new Dictionary<string, object> { ["epochs"] = 99 });
            using var training = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "training.json")));
            training.RootElement.GetProperty("epochs").GetInt32().Should().Be(99);
        }
    }

    /// <summary>
    /// A vocabulary refused because a word would be split (found by loading the written files back) used to leave
    /// its vocab.txt and tokenizer_config.json behind: a new folder with a refused vocabulary, or an older
    /// vocabulary overwritten. Now they are checked in a staging folder and moved in only when the check passes.
    /// </summary>
    [Fact]
    public void WordVocabulary_refused_for_a_split_word_leaves_the_folder_as_it_was()
    {
        var parent = Path.Combine(root, "vocabularies");
        var fresh = Path.Combine(parent, "fresh");
        var act = () => WordVocabulary.Write(fresh, ["good", "don't"], 16);
        act.Should().Throw<ArgumentException>().WithMessage("*\"don't\"*");
        Directory.Exists(fresh).Should().BeFalse("a refused vocabulary writes nothing");

        var existing = Path.Combine(parent, "existing");
        WordVocabulary.Write(existing, ["good", "film"], 16);
        var before = Snapshot(existing);
        act = () => WordVocabulary.Write(existing, ["bad", "isn't"], 32);
        act.Should().Throw<ArgumentException>().WithMessage("*\"isn't\"*");
        Snapshot(existing).Should().BeEquivalentTo(before, "the older vocabulary stays as it was");
        Directory.GetFileSystemEntries(parent).Select(Path.GetFileName).Should().Equal(["existing"], "no staging folder is left");
    }

    [Fact]
    public void WordVocabulary_shows_what_a_refused_word_reads_as_an_accent_stripped_by_lower_casing_included()
    {
        // Before: "café" was refused as split by "BERT's pre-tokenizer (punctuation)", which it is not: lower-casing
        // strips its accent, so the tokenizer looks up "cafe", absent, and reads [UNK]. "don't" is split into
        // "don", "'", "t", none of them listed: three [UNK].
        var act = () => WordVocabulary.Write(Path.Combine(root, "v5"), ["good", "café", "don't"], 16);
        var error = act.Should().Throw<ArgumentException>().Which;
        error.ParamName.Should().Be("words");
        error.Message.Should().Contain("\"café\" reads as [UNK], \"don't\" reads as [UNK] [UNK] [UNK]").And.Contain("strips accents");

        // Without lower-casing the accent is kept, and "café" is a token of its own: [CLS] = 2, café = 5, [SEP] = 3.
        using var scope = NewDisposeScope();
        WordVocabulary.Write(Path.Combine(root, "v6"), ["café"], 16, doLowerCase: false).Encode("café").Ids.Should().Equal(2, 5, 3);
    }

    [Fact]
    public void WordVocabulary_refuses_words_that_would_not_be_single_tokens()
    {
        var act = () => WordVocabulary.Write(Path.Combine(root, "v1"), ["good", "don't"], 16);
        act.Should().Throw<ArgumentException>().WithMessage("*\"don't\"*");
        act = () => WordVocabulary.Write(Path.Combine(root, "v2"), ["Good"], 16);
        act.Should().Throw<ArgumentException>().WithMessage("*capitals*");
        act = () => WordVocabulary.Write(Path.Combine(root, "v3"), ["two words"], 16);
        act.Should().Throw<ArgumentException>().WithMessage("*whitespace*");

        var tokenizer = WordVocabulary.Write(Path.Combine(root, "v4"), ["good", "film", "good"], 16);
        tokenizer.VocabularySize.Should().Be(7);
        using var scope = NewDisposeScope();
        tokenizer.Encode("Good FILM unknownword").Ids.Should().Equal(2, 5, 6, 1, 3);
    }
}
