using System.Diagnostics;
using System.Globalization;
using Attribution.Models;

namespace Attribution.Methods.Internal;

/// <summary>
/// A black box's model calls for many texts together. A remote predictor pays a round trip for every call, and one
/// text's perturbed inputs rarely fill a call: occlusion of a 20-word text sends 20 texts. LIME and the perturbation
/// methods choose their perturbed texts without looking at the answers (masks, coalitions and feature orders come
/// from the seed), so each text is first explained against a recorder that answers every text with uniform
/// probabilities and keeps what it was asked. Then the texts themselves and everything recorded, repeats sent once
/// across texts and shortest first, go to the predictor in calls of at most the batch size; then each text is
/// explained for real against those rows. Its figures are those of a run on its own: same texts, same answers.
/// </summary>
/// <remarks>
/// A run that asks for a text the recorder did not see still gets it, from a call of its own, so a method that did
/// look at the answers would cost calls, not correctness. At most <see cref="Limit"/> texts are held at once;
/// beyond it the texts are explained in groups, each with its own calls.
/// </remarks>
internal static class BlackBoxBatches
{
    /// <summary>The most distinct texts (texts and perturbed texts) fetched and held at once.</summary>
    internal const int Limit = 1 << 16;

    /// <summary>
    /// Explains every text with <paramref name="explain"/> (one text's run against a predictor, given the text's own
    /// probabilities), the predictor's calls shared by all texts as described above. Each explanation gets a note of
    /// the shared calls and an equal share of their time in <see cref="Explanation.Elapsed"/>. A method that can list a
    /// text's perturbed texts more cheaply than a run against the recorder (LIME: without its fit) gives
    /// <paramref name="plan"/>, used instead of that run. <paramref name="limit"/> (tests) replaces <see cref="Limit"/>.
    /// </summary>
    public static IReadOnlyList<Explanation> Explain(ITextPredictor predictor, IReadOnlyList<string> texts, int batchSize, CancellationToken cancellation,
        Func<ITextPredictor, string, double[], Explanation> explain, Func<string, IEnumerable<string>>? plan = null, int limit = Limit)
    {
        var results = new Explanation[texts.Count];
        var uniform = Enumerable.Repeat(1.0 / predictor.Labels.Count, predictor.Labels.Count).ToArray();
        // The texts of the group being gathered, each with the time its recorder run took.
        var group = new List<(int Index, TimeSpan Planning)>();
        var planned = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < texts.Count; i++)
        {
            cancellation.ThrowIfCancellationRequested();
            var clock = Stopwatch.StartNew();
            var recorder = new Recorder(predictor.Labels, uniform, limit);
            recorder.PredictProbabilities([texts[i]]);
            if (plan is null)
            {
                explain(recorder, texts[i], uniform);
            }
            else
            {
                recorder.PredictProbabilities(plan(texts[i]).ToArray());
            }

            if (group.Count > 0 && planned.Count + recorder.Asked.Count > limit)
            {
                Finish(predictor, texts, group, planned, batchSize, cancellation, explain, results);
            }

            group.Add((i, clock.Elapsed));
            planned.UnionWith(recorder.Asked);
        }

        Finish(predictor, texts, group, planned, batchSize, cancellation, explain, results);
        return results;
    }

    // Fetches the group's texts in shared calls, explains each of its texts against them, and empties the group.
    private static void Finish(ITextPredictor predictor, IReadOnlyList<string> texts, List<(int Index, TimeSpan Planning)> group, HashSet<string> planned,
        int batchSize, CancellationToken cancellation, Func<ITextPredictor, string, double[], Explanation> explain, Explanation[] results)
    {
        var clock = Stopwatch.StartNew();
        var rows = new Dictionary<string, double[]>(planned.Count, StringComparer.Ordinal);
        var ordered = planned.OrderBy(t => t.Length).ThenBy(t => t, StringComparer.Ordinal).ToList();
        var calls = 0;
        foreach (var chunk in ordered.Chunk(batchSize))
        {
            cancellation.ThrowIfCancellationRequested();
            var answers = Lime.Predict(predictor, chunk, cancellation);
            calls++;
            for (var j = 0; j < chunk.Length; j++)
            {
                rows[chunk[j]] = answers[j];
            }
        }

        var share = clock.Elapsed / group.Count;
        var note = group.Count == 1
            ? string.Create(CultureInfo.InvariantCulture,
                $"the predictor scored {rows.Count} distinct texts (the text itself and its perturbed texts, each once) in {calls} call(s) of at most {batchSize}")
            : string.Create(CultureInfo.InvariantCulture,
                $"explained together with the call's other {group.Count - 1} text(s): the predictor scored their {rows.Count} distinct texts (the texts themselves and their perturbed texts, each once) in {calls} call(s) of at most {batchSize}; the time shown includes an equal share of those calls");
        foreach (var (i, planning) in group)
        {
            var view = new Fetched(predictor, rows, cancellation);
            var own = Stopwatch.StartNew();
            var explanation = explain(view, texts[i], rows[texts[i]]);
            var notes = explanation.Notes.Append(note);
            if (view.Calls > 0)
            {
                notes = notes.Append(string.Create(CultureInfo.InvariantCulture,
                    $"{view.Texts} perturbed text(s) of this text were not foreseen and took {view.Calls} call(s) of their own"));
            }

            results[i] = explanation with { Notes = [.. notes], Elapsed = planning + own.Elapsed + share };
        }

        group.Clear();
        planned.Clear();
    }

    /// <summary>Answers every text with the same row and keeps the texts asked for (one more than <paramref name="limit"/> at most).</summary>
    private sealed class Recorder(IReadOnlyList<string> labels, double[] row, int limit) : ITextPredictor
    {
        public HashSet<string> Asked { get; } = new(StringComparer.Ordinal);

        public IReadOnlyList<string> Labels => labels;

        public double[][] PredictProbabilities(IReadOnlyList<string> texts)
        {
            foreach (var text in texts)
            {
                if (Asked.Count <= limit)
                {
                    Asked.Add(text);
                }
            }

            return texts.Select(_ => row).ToArray();
        }
    }

    /// <summary>The fetched rows as a predictor; a text not among them goes to the predictor itself, with the call's token.</summary>
    private sealed class Fetched(ITextPredictor predictor, Dictionary<string, double[]> rows, CancellationToken cancellation) : ITextPredictor
    {
        /// <summary>Calls made to the predictor for texts not fetched.</summary>
        public int Calls { get; private set; }

        /// <summary>Texts sent in those calls.</summary>
        public int Texts { get; private set; }

        public IReadOnlyList<string> Labels => predictor.Labels;

        public double[][] PredictProbabilities(IReadOnlyList<string> texts)
        {
            var missing = texts.Where(t => !rows.ContainsKey(t)).Distinct(StringComparer.Ordinal).ToArray();
            var answers = new Dictionary<string, double[]>(StringComparer.Ordinal);
            if (missing.Length > 0)
            {
                var fresh = Lime.Predict(predictor, missing, cancellation);
                Calls++;
                Texts += missing.Length;
                for (var j = 0; j < missing.Length; j++)
                {
                    answers[missing[j]] = fresh[j];
                }
            }

            return texts.Select(t => rows.TryGetValue(t, out var row) ? row : answers[t]).ToArray();
        }
    }
}
