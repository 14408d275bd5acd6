using System.Runtime.ExceptionServices;
using Attribution.Models;

namespace Attribution.Methods.Perturbation;

/// <summary>
/// Model calls shared by the texts of one call of a perturbation method. Each text's run goes on a worker thread and
/// asks here for the logits of its inputs; once every worker still running is waiting, all their inputs go to the
/// model together, sorted by length into calls of the token budget. A short text perturbed one feature at a time
/// needs a few dozen rows, far from filling a call; many texts together do, and the cost of a call (packing the
/// weights, launching the threads) is paid once for all of them.
/// </summary>
/// <remarks>
/// The calls are deterministic: a round's inputs are ordered by text index, then by each text's own order, before
/// they are sorted by length, so whichever thread sends them, the same texts give the same batches. A row's logits
/// differ from those of the text's run on its own only by the float rounding of another batch and padding. Only the
/// calling thread calls the model.
/// </remarks>
internal sealed class SharedModelCalls
{
    /// <summary>Texts in flight at once: enough for short texts' inputs to fill calls of the default token budget.</summary>
    public const int TextsInFlight = 16;

    private readonly ITokenClassifier model;
    private readonly int tokenBudget;
    private readonly int batchSize;
    private readonly CancellationToken cancellation;
    private readonly object gate = new();
    private readonly List<Request> waiting = [];
    private int running;

    private SharedModelCalls(ITokenClassifier model, int tokenBudget, int batchSize, CancellationToken cancellation, int running)
    {
        this.model = model;
        this.tokenBudget = tokenBudget;
        this.batchSize = batchSize;
        this.cancellation = cancellation;
        this.running = running;
    }

    /// <summary>
    /// Runs <paramref name="runText"/> for texts 0 … <paramref name="texts"/> − 1 on up to <see cref="TextsInFlight"/>
    /// worker threads sharing the model's calls (made on the calling thread), and returns the results in text order.
    /// When texts fail, the first one's exception is thrown, as a loop over the texts would have thrown it; no text is
    /// started after a failure. One text runs on the calling thread, with no sharing (null).
    /// </summary>
    public static T[] Run<T>(ITokenClassifier model, int texts, int tokenBudget, int batchSize, CancellationToken cancellation,
        Func<int, SharedModelCalls?, T> runText)
    {
        if (texts <= 1)
        {
            return Enumerable.Range(0, texts).Select(i => runText(i, null)).ToArray();
        }

        var workers = Math.Min(TextsInFlight, texts);
        var shared = new SharedModelCalls(model, tokenBudget, batchSize, cancellation, workers);
        var results = new T[texts];
        var failures = new ExceptionDispatchInfo?[texts];
        var next = -1;
        var failed = 0;

        void Work()
        {
            try
            {
                int i;
                // Texts are taken in order, so once one fails, every text before it has been taken and finishes:
                // the first failure by index is the one a loop would have met.
                while (Volatile.Read(ref failed) == 0 && (i = Interlocked.Increment(ref next)) < texts)
                {
                    try
                    {
                        results[i] = runText(i, shared);
                    }
                    catch (Exception e)
                    {
                        failures[i] = ExceptionDispatchInfo.Capture(e);
                        Volatile.Write(ref failed, 1);
                    }
                }
            }
            finally
            {
                shared.Leave();
            }
        }

        var threads = Enumerable.Range(0, workers).Select(_ => new Thread(Work) { IsBackground = true, Name = "attribution perturbation" }).ToArray();
        foreach (var thread in threads)
        {
            thread.Start();
        }

        // The calling thread makes every model call, as without sharing: libtorch's intra-op thread pool and a user
        // model's thread-bound state stay with one thread.
        while (shared.NextRound() is { } round)
        {
            shared.Send(round);
        }

        foreach (var thread in threads)
        {
            thread.Join();
        }

        failures.FirstOrDefault(f => f is not null)?.Throw();
        return results;
    }

    /// <summary>
    /// The logits of <paramref name="inputs"/> for text <paramref name="text"/>, once the other running texts have
    /// asked too; <paramref name="calls"/> counts the model calls that carried them.
    /// </summary>
    public double[][] Logits(int text, IReadOnlyList<TokenSequence> inputs, out int calls)
    {
        var request = new Request(text, inputs);
        lock (gate)
        {
            waiting.Add(request);
            Monitor.PulseAll(gate);
            while (!request.Done)
            {
                Monitor.Wait(gate);
            }
        }

        request.Failure?.Throw();
        calls = request.Calls;
        return request.Outputs;
    }

    // A worker with no text left: the others may all be waiting for it.
    private void Leave()
    {
        lock (gate)
        {
            running--;
            Monitor.PulseAll(gate);
        }
    }

    // Waits until every running worker is waiting (a round to send), or none is left (null).
    private List<Request>? NextRound()
    {
        lock (gate)
        {
            while (running > 0 && waiting.Count < running)
            {
                Monitor.Wait(gate);
            }

            if (waiting.Count == 0)
            {
                return null;
            }

            var round = waiting.OrderBy(r => r.Text).ToList();
            waiting.Clear();
            return round;
        }
    }

    private void Send(List<Request> round)
    {
        try
        {
            var rows = round.SelectMany((r, k) => Enumerable.Range(0, r.Inputs.Count).Select(j => (Request: k, Row: j))).ToArray();
            var lengths = rows.Select(x => round[x.Request].Inputs[x.Row].Ids.Length).ToArray();
            foreach (var call in TokenBudgetBatches.Chunk(lengths, tokenBudget, batchSize))
            {
                cancellation.ThrowIfCancellationRequested();
                var outputs = model.PredictLogits(call.Select(c => round[rows[c].Request].Inputs[rows[c].Row]).ToArray());
                foreach (var (c, output) in call.Zip(outputs))
                {
                    round[rows[c].Request].Outputs[rows[c].Row] = output;
                }

                foreach (var k in call.Select(c => rows[c].Request).Distinct())
                {
                    round[k].Calls++;
                }
            }
        }
        catch (Exception e)
        {
            // Every text of the round fails with the call's exception (a cancellation, a model error).
            var failure = ExceptionDispatchInfo.Capture(e);
            foreach (var request in round)
            {
                request.Failure = failure;
            }
        }

        lock (gate)
        {
            foreach (var request in round)
            {
                request.Done = true;
            }

            Monitor.PulseAll(gate);
        }
    }

    private sealed class Request(int text, IReadOnlyList<TokenSequence> inputs)
    {
        public int Text { get; } = text;

        public IReadOnlyList<TokenSequence> Inputs { get; } = inputs;

        public double[][] Outputs { get; } = new double[inputs.Count][];

        public int Calls { get; set; }

        public ExceptionDispatchInfo? Failure { get; set; }

        public bool Done { get; set; }
    }
}
