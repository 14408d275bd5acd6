using Attribution.Methods;
using Attribution.Methods.Perturbation;
using Attribution.Models;
using Attribution.Pipeline;
using Attribution.Text.Tokenizers;

namespace Attribution.Tests.Methods.Perturbation;

/// <summary>
/// Perturbation methods and LIME on a model that reads token ids and records every call: each call's rows × its
/// longest row stays within the token budget (or is one row), no call has more rows than the batch size, and the
/// scores do not depend on how the inputs were split into calls (the model's outputs depend only on each row).
/// </summary>
public class TokenBudgetTests
{
    private const string Text = "1 2 3 4 5 6 7 8 9 10";

    /// <summary>Logits (Σ ids / 100, −Σ ids / 100 + a nonlinearity) per row; records (rows, longest row) per call.</summary>
    private sealed class RecordingModel : ITokenClassifier
    {
        public List<(int Rows, int Longest)> Calls { get; } = [];

        public string Name => "recording";

        public ITokenizer Tokenizer { get; } = new IdsTokenizer(-1, -2, 0, 100);

        public int? MaxLength => null;

        public bool UsesTokenTypes => false;

        public IReadOnlyList<string> Labels => ["a", "b"];

        public double[][] PredictLogits(IReadOnlyList<TokenSequence> sequences)
        {
            Calls.Add((sequences.Count, sequences.Max(s => s.Ids.Length)));
            return sequences.Select(s => Logits(s.Ids)).ToArray();
        }

        public double[][] PredictProbabilities(IReadOnlyList<string> texts)
        {
            var ids = texts.Select(t => Tokenizer.Encode(t).Ids).ToArray();
            Calls.Add((ids.Length, ids.Max(i => i.Length)));
            return ids.Select(i =>
            {
                var logits = Logits(i);
                var max = logits.Max();
                var e = logits.Select(l => Math.Exp(l - max)).ToArray();
                return e.Select(x => x / e.Sum()).ToArray();
            }).ToArray();
        }

        private static double[] Logits(long[] ids)
        {
            var sum = ids.Sum() / 100.0;
            return [sum, Math.Tanh(-sum) + (ids.Length * 0.01)];
        }
    }

    public static TheoryData<string> Methods() => new() { "occlusion", "kernel-shap", "lime" };

    private static IAttributor Method(string name, int budget, int batchSize) => name switch
    {
        "occlusion" => new Occlusion { Window = 2, Features = LimeFeatures.Tokens, Perturbation = AbsentFeature.Remove, TokenBudget = budget, BatchSize = batchSize },
        // KernelSHAP always scores the coalition of no tokens: removed, it would leave this model (whose tokenizer adds no
        // special tokens) an empty sequence, which ITokenClassifier rules out and the methods refuse; the padding id keeps the length.
        "kernel-shap" => new KernelShap { Samples = 200, Seed = 3, Features = LimeFeatures.Tokens, Perturbation = AbsentFeature.Baseline, TokenBudget = budget, BatchSize = batchSize },
        _ => new Lime { Samples = 200, Seed = 3, MaskToken = "99", TokenBudget = budget, BatchSize = batchSize },
    };

    [Theory]
    [MemberData(nameof(Methods))]
    public void Calls_stay_within_the_budget_and_the_scores_do_not_depend_on_it(string name)
    {
        var small = new RecordingModel();
        var large = new RecordingModel();
        var withSmallBudget = Method(name, budget: 24, batchSize: 256).Explain(small, [Text])[0];
        var withLargeBudget = Method(name, budget: 1 << 20, batchSize: 256).Explain(large, [Text])[0];

        var perturbedCalls = small.Calls.Skip(1).ToList(); // the first call is the unperturbed prediction
        perturbedCalls.Should().NotBeEmpty();
        perturbedCalls.Should().OnlyContain(c => c.Rows == 1 || c.Rows * c.Longest <= 24);
        perturbedCalls.Count.Should().BeGreaterThan(large.Calls.Count - 1, "a small budget must split the inputs into more calls");
        withSmallBudget.Scores.Should().Equal(withLargeBudget.Scores, (a, b) => Math.Abs(a - b) <= 1e-12);
        withSmallBudget.Setting("token-budget").Should().Be("24");
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void The_batch_size_caps_the_rows_of_a_call(string name)
    {
        var model = new RecordingModel();
        Method(name, budget: 1 << 20, batchSize: 5).Explain(model, [Text]);
        model.Calls.Should().OnlyContain(c => c.Rows <= 5);
    }

    [Fact]
    public void A_budget_out_of_range_is_refused_naming_the_setting()
    {
        var model = new RecordingModel();
        FluentActions.Invoking(() => new Occlusion { TokenBudget = 0 }.Explain(model, [Text]))
            .Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("TokenBudget");
        FluentActions.Invoking(() => new Lime { TokenBudget = -1 }.Explain(model, [Text]))
            .Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("TokenBudget");
    }
}
