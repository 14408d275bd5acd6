using Attribution.Models;
using Attribution.Tests.Methods;
using Attribution.Tests.Models.Small;

namespace Attribution.Tests.Models;

/// <summary>
/// A service classifying many texts with <see cref="TextClassifier.Predict"/> (one forward pass per batch of
/// <see cref="TextClassifier.BatchSize"/> texts) cancels it with a token: no batch starts after the one during which it
/// was cancelled. Counted in forward passes, never timed.
/// </summary>
public sealed class PredictCancellationTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("attribution-predict-cancel-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    /// <summary>
    /// 70 texts in batches of at most 32 make at least 3 passes. Before the token, a cancelled call classified every
    /// batch and returned (2 passes more when cancelled during the first).
    /// </summary>
    [Fact]
    public void Predict_cancelled_at_any_batch_runs_no_further_batch()
    {
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
        var texts = Enumerable.Range(0, 70).Select(i => i % 2 == 0 ? $"a dull film number {i}" : $"the cast of film {i} was superb and moving").ToArray();
        var expected = model.Predict(texts);
        var total = ForwardCounter.Count(model, () => model.Predict(texts));

        total.Should().BeGreaterThanOrEqualTo(3, "70 texts in batches of at most 32");
        CancelAtPass.AtEveryPassButTheLast(model.Module, total, token => model.Predict(texts, cancellation: token));
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        using (var counter = new ForwardCounter(model))
        {
            FluentActions.Invoking(() => model.Predict(texts, cancellation: cancelled.Token)).Should().Throw<OperationCanceledException>();
            counter.Calls.Should().Be(0, "a token cancelled before the call stops it before the first pass");
        }

        model.Predict(texts).Select(p => p.Logits).Should().BeEquivalentTo(expected.Select(p => p.Logits), options => options.WithStrictOrdering(), "the model answers as before");
    }
}
