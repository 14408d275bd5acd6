using Attribution.Methods;
using Attribution.Models;

namespace Attribution.Tests.Methods.Perturbation;

/// <summary>
/// The texts of one call of a perturbation method share their model calls: the calls counted with a hook on the model
/// are those worked out by hand from the texts' words, the scores equal each text's own call, failures surface as a
/// loop over the texts would raise them, and a cancellation ends every text's run.
/// </summary>
public sealed class SharedModelCallsTests
{
    // Short texts, each word one WordPiece token of bert-base-uncased: occlusion asks for one input per word.
    private static readonly string[] Texts =
    [
        "a good film", "bad", "the plot is dull", "great acting", "i loved it", "boring and long", "fine", "a very funny movie",
    ];

    [SkippableFact]
    public void Short_texts_go_to_the_model_together_and_score_as_each_alone()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/sst2-bert-tiny"));
        var method = new Occlusion();
        var alone = Texts.Select(t => method.Attribute(model, [t])[0]).ToArray();

        using var forwards = new ForwardCounter(model);
        var together = method.Attribute(model, Texts);

        // Round one: every text's own prediction, 8 rows in one call; round two: one input per word of every text
        // (21 words, at most 6 tokens each: far inside the 4,096-token budget), one call. Alone: 2 calls per text.
        var words = Texts.Sum(t => t.Split(' ').Length);
        words.Should().Be(21);
        forwards.Calls.Should().Be(2);
        forwards.Rows.Should().Be(Texts.Length + words);

        // Tolerance 1e-5 on logits of order 1: a row's float32 logits in another batch (other padding, masked) differ by rounding.
        for (var i = 0; i < Texts.Length; i++)
        {
            together[i].Tokens.Should().Equal(alone[i].Tokens);
            together[i].Scores.Should().Equal(alone[i].Scores, (a, b) => Math.Abs(a - b) <= 1e-5);
            together[i].Notes.Should().Contain(n => n.Contains(" shared with the other texts of the call", StringComparison.Ordinal));
        }

        // The batches do not depend on which thread sends them: a second call gives the same bits.
        method.Attribute(model, Texts).Select(e => e.Scores).Should().BeEquivalentTo(together.Select(e => e.Scores), o => o.WithStrictOrdering());
    }

    [SkippableFact]
    public void Lime_sends_the_texts_perturbed_inputs_together_and_fits_as_for_each_alone()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/sst2-bert-tiny"));
        var lime = new Lime { Samples = 32, Seed = 3 };
        var alone = Texts.Select(t => lime.Attribute(model, [t])[0]).ToArray();

        using var forwards = new ForwardCounter(model);
        var together = lime.Attribute(model, Texts);

        // Round one: the 8 texts; round two: each text's distinct masked texts, at most 2^words of them
        // (2 + 8 + 16 + 4 + 8 + 8 + 2 + 16 = 64: one forward pass of at most 64 rows). Alone: 2 calls per text.
        forwards.Calls.Should().Be(2);
        forwards.Rows.Should().BeLessThanOrEqualTo(Texts.Length + 64);

        // 1e-6 on coefficients of probabilities: the same masks, and model outputs differing by float32 rounding only.
        for (var i = 0; i < Texts.Length; i++)
        {
            together[i].Scores.Should().Equal(alone[i].Scores, (a, b) => Math.Abs(a - b) <= 1e-6);
        }
    }

    [SkippableFact]
    public void The_first_failing_text_is_the_one_reported_as_a_loop_over_the_texts_would()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/sst2-bert-tiny"));
        string[] texts = ["a good film", "bad", "the plot is dull", "great acting", "a very funny movie and more words", "fine"];

        // Exact Shapley values refuse a text of more features than MaxFeatures after its prediction, a round every
        // text joins: texts 2 (4 words) and 4 (7 words) both fail, and a loop would have stopped at text 2.
        var act = () => new ShapleyValues { MaxFeatures = 3 }.Attribute(model, texts);

        act.Should().Throw<ArgumentException>().Which.Message.Should().Contain("all 2^4 coalitions");
    }

    [SkippableFact]
    public void Every_model_call_is_made_on_the_calling_thread()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/sst2-bert-tiny"));
        var threads = new List<int>();
        using var hook = Attribution.Engine.ModuleHooks.AddForwardHook(model.Module, (_, _, _) =>
        {
            lock (threads)
            {
                threads.Add(Environment.CurrentManagedThreadId);
            }

            return null;
        });

        // Kernel SHAP asks for its inputs in several rounds per text: the ends, then the samples.
        new KernelShap { Samples = 40 }.Attribute(model, Texts);

        threads.Should().NotBeEmpty().And.OnlyContain(id => id == Environment.CurrentManagedThreadId,
            "libtorch's intra-op threads and a user model's thread-bound state belong to the caller's thread");
    }

    [SkippableFact]
    public void A_cancellation_during_the_calls_ends_every_text_s_run()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/sst2-bert-tiny"));
        using var cancel = new CancellationTokenSource();
        using var hook = Attribution.Engine.ModuleHooks.AddForwardHook(model.Module, (_, _, _) =>
        {
            cancel.Cancel();
            return null;
        });

        var act = () => new Occlusion().Attribute(model, Texts, new AttributionOptions { Cancellation = cancel.Token });

        act.Should().Throw<OperationCanceledException>();
    }
}
