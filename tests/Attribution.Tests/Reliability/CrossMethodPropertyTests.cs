using System.Diagnostics;
using Attribution.Methods;
using Attribution.Methods.Attention;
using Attribution.Models;
using Attribution.Salience;
using Attribution.Tests.Models.Small;
using Attribution.Tests.Salience;
using CsCheck;
using Xunit.Abstractions;

namespace Attribution.Tests.Reliability;

/// <summary>
/// Properties every method must keep on texts nobody wrote by hand: texts drawn (seeded, so every run draws the same
/// ones) from a grammar of awkward pieces (punctuation, emoji and surrogate pairs, combining marks, CJK, right-to-left
/// letters, zero-width characters, tabs, newlines, CRLF, runs of spaces, leading and trailing whitespace, very long
/// words, HTML and Markdown syntax, texts near and over the model's length). Each property is checked for every
/// method on sst2-bert-tiny (../shared) and on a small random CNN: words are the aggregation of their tokens, a batch
/// equals texts one at a time, seeds decide the draws, IG and conductance are complete, nothing stays alive (also
/// after a call that throws or is cancelled), and JSON and the renderers take whatever the methods return. The
/// expected values are computed here, from the definitions (whitespace words, the aggregation formulas, the model's
/// own logits for the input and the baseline), never by the code under test. Runs alone (live tensor counts).
/// </summary>
[Collection(LiveTensorCollection.Name)]
public sealed class CrossMethodPropertyTests(ITestOutputHelper output)
{
    private static readonly string[] PlainWords = ["good", "film", "dull", "not", "the", "movie", "great", "bad", "plot", "acting", "a", "boring"];

    /// <summary>A word longer than WordPiece's 100-character limit (it becomes one [UNK]).</summary>
    private static readonly string LongWord = string.Concat(Enumerable.Repeat("wonderful", 13));

    private static readonly string[] AwkwardPieces =
    [
        ",", "!", "...", "(", ")", "'s", "n't", "-", "😀", "👍🏽", "𝐀𝐁𝐂", "e\u0301", "cafe\u0301", "\u0301", "日本語", "中文电影", "שלום", "مرحبا",
        "a\u200Bb", "\u200B", "\u200D", "\uFEFF", "<script>alert(1)</script>", "a<zq", "&amp;", "\"q\"", "**b**", "|p|", "`c`", "[x](y)",
        "\u00AD", "Ｆｕｌｌ", "ÅNGSTRÖM", LongWord,
    ];

    private static readonly string[] Separators = [" ", "  ", "\t", "\n", "\r\n", "\u00A0", "\u3000", " \t ", "", ""];

    private static readonly Gen<string> Piece = Gen.Frequency((3, Gen.OneOf(PlainWords)), (2, Gen.OneOf(AwkwardPieces)));

    /// <summary>
    /// A text: optional leading whitespace, a plain word (so it has a token), then up to 10 pieces each after a
    /// separator (possibly none, gluing it to the one before), optional trailing whitespace.
    /// </summary>
    private static readonly Gen<string> AwkwardText = Gen.Select(
        Gen.OneOf("", " ", "\n", "\t ", "\r\n  "),
        Gen.OneOf(PlainWords),
        Gen.Select(Gen.OneOf(Separators), Piece).Array[0, 10],
        Gen.OneOf("", " ", "\r\n", "  ", "\t"),
        (lead, first, rest, trail) => lead + first + string.Concat(rest.Select(p => p.Item1 + p.Item2)) + trail);

    /// <summary>
    /// Texts for a model that takes <paramref name="maxLength"/> tokens: 14 awkward ones (by default) and, of plain words, one a few
    /// tokens under the limit, one exactly at it and one over it (explained with truncation).
    /// </summary>
    private static List<string> Texts(int maxLength, ulong seed, int count = 14)
    {
        var texts = PropertyDraws.Draw(AwkwardText, count, seed);
        foreach (var words in new[] { maxLength - 5, maxLength - 2, maxLength + 6 })
        {
            texts.Add(string.Join(" ", Enumerable.Range(0, words).Select(i => PlainWords[i % PlainWords.Length])));
        }

        return texts;
    }

    private static List<IAttributor> Methods(string conductanceLayer, bool attention)
    {
        var methods = new List<IAttributor>
        {
            new Gradient(),
            new GradientXInput(),
            new IntegratedGradients { Steps = 8 },
            new NoiseTunnel(new GradientXInput()) { Samples = 2, Seed = 11 },
            new GradientShap { Samples = 2, Stdev = 0.01, Seed = 2 },
            new LayerConductance { Layer = conductanceLayer, Steps = 6 },
            new NeuronConductance { Layer = conductanceLayer, Steps = 6, Position = 0, Unit = 1 },
            new LrpEpsilon(),
            new Lime { Samples = 24, Seed = 5 },
            new Occlusion(),
            new ShapleyValueSampling { Samples = 1, Seed = 3 },
            new KernelShap { Samples = 16, Seed = 4 },
        };
        if (attention)
        {
            methods.Add(new AttentionRollout());
            methods.Add(new AttentionRollout { GradientWeighted = true });
        }

        return methods;
    }

    /// <summary>The five word aggregations, one per method in turn, so every one is checked on every model.</summary>
    private static readonly WordAggregation[] Aggregations =
        [WordAggregation.Sum, WordAggregation.Mean, WordAggregation.AbsMax, WordAggregation.L2, WordAggregation.First];

    private static TextClassifier? LoadBertTiny() => ClassifierLoader.Load(SharedData.Require("models/sst2-bert-tiny"));

    [SkippableFact]
    public void Bert_tiny_words_batches_json_and_renderers_hold_on_awkward_texts()
    {
        using var model = LoadBertTiny()!;
        CheckWordsBatchesAndDocuments(model, Methods("bert.encoder.layer.0", attention: true), Texts(model.MaxLength!.Value, seed: 20261205));
    }

    /// <summary>
    /// Byte-level BPE (roberta-base's tokenizer, random weights): offsets of Ġ tokens start in the space before a word.
    /// Lengths near the limit are left to the other models (they cost most and test nothing tokenizer-specific), but
    /// the check needs three plain texts at the end, so they are short ones here.
    /// </summary>
    [SkippableFact]
    public void Roberta_random_words_batches_json_and_renderers_hold_on_awkward_texts()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/roberta-random"));
        CheckWordsBatchesAndDocuments(model, Methods("roberta.encoder.layer.0", attention: true), Texts(maxLength: 12, seed: 77, count: 14));
    }

    /// <summary>The small CNN and LSTM (random weights, the corpus vocabulary: most awkward pieces are [UNK]).</summary>
    [Theory]
    [InlineData(SmallClassifierConfig.CnnType)]
    [InlineData(SmallClassifierConfig.LstmType)]
    public void Small_model_words_batches_json_and_renderers_hold_on_awkward_texts(string type)
    {
        var root = SmallModelKit.TempRoot("cross-method-");
        try
        {
            using var model = SmallModelKit.Random(root, type);
            var methods = Methods(model.WordEmbeddingPath, attention: false);

            // The LSTM is a native module that LRP cannot hook: LRP-ε refuses it (ArgumentException), as documented.
            methods.RemoveAll(m => type == SmallClassifierConfig.LstmType && m is LrpEpsilon);
            CheckWordsBatchesAndDocuments(model, methods, Texts(model.MaxLength!.Value, seed: 51));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>
    /// Text pairs: words per text (a word's offsets index into its own text), each token in at most one word, and a
    /// pair explained in a batch equals it explained alone (the same tolerance as for single texts).
    /// </summary>
    [SkippableFact]
    public void Bert_tiny_pairs_keep_words_per_text_and_batch_like_one_at_a_time()
    {
        using var model = LoadBertTiny()!;
        var firsts = PropertyDraws.Draw(AwkwardText, 8, seed: 404);
        var seconds = PropertyDraws.Draw(AwkwardText, 8, seed: 505);
        IAttributor[] methods =
        [
            new GradientXInput(), new IntegratedGradients { Steps = 4 }, new LrpEpsilon(), new Occlusion(), new ShapleyValueSampling { Samples = 1, Seed = 1 },
            new KernelShap { Samples = 16, Seed = 2 }, new Lime { Samples = 16, Seed = 3 },
        ];
        var before = LiveTensors.Settled();
        var failures = new List<string>();
        foreach (var method in methods)
        {
            var options = new ExplainOptions { Pairs = seconds, BatchSize = 3, Salience = new SalienceOptions { KeepSpecialTokens = true } };
            var batch = method.Explain(model, firsts, options);
            for (var t = 0; t < firsts.Count; t++)
            {
                if (batch[t].TextPair != seconds[t])
                {
                    failures.Add($"{method.Name} pair {t}: the result's second text is not the pair's");
                }

                failures.AddRange(WordFailures(batch[t]).Select(f => $"{method.Name} on {Show(firsts[t])} ‖ {Show(seconds[t])}: {f}"));
                if (t % 3 == 0 && BatchDifference(method.Explain(model, [firsts[t]], options with { Pairs = [seconds[t]] })[0], batch[t]) is { } difference)
                {
                    failures.Add($"{method.Name} pair {t}: alone differs from batched: {difference}");
                }
            }

            failures.AddRange(DocumentFailures(model, method, batch));
        }

        failures.Should().BeEmpty();
        LiveTensors.Settled().Should().Be(before);
    }

    private void CheckWordsBatchesAndDocuments(ITextClassifier model, List<IAttributor> methods, List<string> texts)
    {
        var clock = Stopwatch.StartNew();

        // Exact Shapley values refuse texts of more than 12 features: they get the short texts only.
        var shortTexts = texts.Where(t => Whitespace(t).Count <= 8).ToList();
        var before = LiveTensors.Settled();
        var failures = new List<string>();
        for (var m = 0; m < methods.Count + 1; m++)
        {
            var method = m < methods.Count ? methods[m] : new ShapleyValues();

            // LIME sends whole perturbed texts to the model, so it refuses a text it would have to truncate (an
            // ArgumentException saying so, documented): it gets the texts that fit, the last one does not.
            var inputs = m == methods.Count ? shortTexts : method is Lime ? texts[..^1] : texts;
            var started = clock.ElapsedMilliseconds;
            var options = new ExplainOptions
            {
                Truncate = true,
                BatchSize = 4,
                Salience = new SalienceOptions { KeepSpecialTokens = m % 2 == 0, WordAggregation = Aggregations[m % Aggregations.Length] },
            };
            var batch = method.Explain(model, inputs, options);
            for (var t = 0; t < inputs.Count; t++)
            {
                failures.AddRange(WordFailures(batch[t]).Select(f => $"{method.Name} on {Show(inputs[t])}: {f}"));
            }

            // One text at a time (every fifth text, to keep the test short) equals the batch: the same tokens and words,
            // scores within float32 rounding. The batch pads texts to a common length and runs the model on several
            // rows at once, so libtorch reduces in another order: differences of a few float32 ulps of the largest
            // activation, amplified at most by the few-step integrals (1e-4 of the largest score, 1e-5 absolute).
            for (var t = 0; t < inputs.Count; t += 5)
            {
                var single = method.Explain(model, inputs[t], options);
                if (BatchDifference(single, batch[t]) is { } difference)
                {
                    failures.Add($"{method.Name} on {Show(inputs[t])}: alone differs from batched: {difference}");
                }
            }

            failures.AddRange(DocumentFailures(model, method, batch));
            output.WriteLine($"{method.Name}: {clock.ElapsedMilliseconds - started} ms");
        }

        // Every method at once (MethodRunner shares the encoding, the first forward pass, path starts and baselines
        // between them) equals each method on its own, on the first 5 texts and the one just under the length limit.
        var together = texts.Take(5).Append(texts[^3]).ToList();
        var all = Explainer.ExplainAll(model, together, methods, new ExplainOptions { Truncate = true, BatchSize = 4, Salience = new SalienceOptions { KeepSpecialTokens = true } });
        for (var m = 0; m < methods.Count; m++)
        {
            var alone = methods[m].Explain(model, together, new ExplainOptions { Truncate = true, BatchSize = 4, Salience = new SalienceOptions { KeepSpecialTokens = true } });
            for (var t = 0; t < together.Count; t++)
            {
                if (BatchDifference(alone[t], all[m][t]) is { } difference)
                {
                    failures.Add($"{methods[m].Name} on {Show(together[t])}: with the other methods differs from alone: {difference}");
                }
            }
        }

        output.WriteLine($"{model.Name}: {methods.Count + 1} methods × {texts.Count} texts in {clock.ElapsedMilliseconds} ms");
        failures.Should().BeEmpty();
        LiveTensors.Settled().Should().Be(before, "every call frees every tensor it made");
    }

    /// <summary>
    /// Seeded methods give the same scores bit for bit for a seed, and other scores for another seed on texts long enough
    /// that the draws matter (8 to 12 words: more coalitions and orders than the samples can enumerate).
    /// </summary>
    [SkippableFact]
    public void Seeded_methods_repeat_for_a_seed_and_change_with_it()
    {
        using var model = LoadBertTiny()!;
        var texts = PropertyDraws.Draw(Gen.OneOf(PlainWords).Array[8, 12].Select(w => string.Join(" ", w)), 6, seed: 99);
        Func<ulong, IAttributor>[] seeded =
        [
            s => new NoiseTunnel(new Gradient()) { Samples = 2, Seed = s },
            s => new GradientShap { Samples = 2, Seed = s },
            s => new Lime { Samples = 24, Seed = s },
            s => new ShapleyValueSampling { Samples = 2, Seed = s },
            s => new KernelShap { Samples = 24, Seed = s },
        ];
        var before = LiveTensors.Settled();
        var failures = new List<string>();
        foreach (var make in seeded)
        {
            var first = make(1).Explain(model, texts);
            var again = make(1).Explain(model, texts);
            var other = make(2).Explain(model, texts);
            for (var t = 0; t < texts.Count; t++)
            {
                if (!first[t].Scores.Select(BitConverter.DoubleToInt64Bits).SequenceEqual(again[t].Scores.Select(BitConverter.DoubleToInt64Bits)))
                {
                    failures.Add($"{first[t].Method} seed 1 twice on \"{texts[t]}\": different scores");
                }

                if (first[t].Scores.SequenceEqual(other[t].Scores))
                {
                    failures.Add($"{first[t].Method} seeds 1 and 2 on \"{texts[t]}\": the same scores");
                }
            }
        }

        failures.Should().BeEmpty();
        LiveTensors.Settled().Should().Be(before);
    }

    /// <summary>
    /// Completeness of Integrated Gradients and layer conductance: the token scores (special tokens included, summed
    /// over hidden units) minus the reported delta equal F(input) − F(baseline), with F the target's logit (or
    /// probability) from the model's own predictions for the input ids and for the baseline ids ([CLS] [PAD] … [SEP])
    /// asked for separately. Both sides are float32 model outputs converted to double: 2e-4 absolute covers their
    /// rounding (logits of a few units, float32 epsilon 1.2e-7, a few hundred operations deep).
    /// </summary>
    [SkippableFact]
    public void Integrated_gradients_and_conductance_are_complete_with_their_delta()
    {
        using var model = LoadBertTiny()!;
        var texts = Texts(model.MaxLength!.Value, seed: 7, count: 6);
        IAttributor[] methods =
        [
            new IntegratedGradients { Steps = 6 },
            new IntegratedGradients { Steps = 4, Rule = IntegrationRule.RiemannTrapezoid },
            new LayerConductance { Layer = "bert.encoder.layer.1", Steps = 6 },
        ];
        var failures = new List<string>();
        foreach (var score in new[] { ScoreOutput.Logit, ScoreOutput.Probability })
        {
            var options = new ExplainOptions { Truncate = true, Score = score, Salience = new SalienceOptions { KeepSpecialTokens = true } };
            foreach (var method in methods)
            {
                foreach (var e in method.Explain(model, texts, options))
                {
                    var ids = e.TokenIds.ToArray();
                    var baseline = ids.Select((id, i) => e.IsSpecial[i] ? id : model.Tokenizer.PadId).ToArray();
                    var logits = ((ITokenClassifier)model).PredictLogits([new TokenSequence(ids), new TokenSequence(baseline)]);
                    var f = logits.Select(l => score == ScoreOutput.Logit ? l[e.Target] : Softmax(l)[e.Target]).ToArray();
                    var sum = e.Scores.Sum();
                    if (e.ConvergenceDelta is not { } delta)
                    {
                        failures.Add($"{method.Name} on {Show(e.Text)}: no convergence delta");
                        continue;
                    }

                    if (!(Math.Abs(e.Logits[e.Target] - logits[0][e.Target]) <= 1e-4))
                    {
                        failures.Add($"{method.Name} on {Show(e.Text)}: the explanation's logit {e.Logits[e.Target]:R} is not the model's {logits[0][e.Target]:R}");
                    }

                    if (!(Math.Abs(sum - delta - (f[0] - f[1])) <= 2e-4))
                    {
                        failures.Add($"{method.Name} ({score}) on {Show(e.Text)}: Σ scores {sum:R} − delta {delta:R} = {sum - delta:R}, F(x) − F(baseline) = {f[0] - f[1]:R}");
                    }
                }
            }
        }

        failures.Should().BeEmpty();
    }

    private static double[] Softmax(double[] logits)
    {
        var max = logits.Max();
        var e = logits.Select(l => Math.Exp(l - max)).ToArray();
        var z = e.Sum();
        return [.. e.Select(x => x / z)];
    }

    /// <summary>
    /// Calls that fail: a text of no visible character, a text over the model's length without truncation, a class the
    /// model lacks. Each is an ArgumentException (family) naming the argument, and the live tensor count returns to
    /// where it was; a cancelled token is an OperationCanceledException, also with nothing left alive.
    /// </summary>
    [SkippableFact]
    public void Failing_and_cancelled_calls_throw_typed_exceptions_and_leave_no_tensors()
    {
        using var model = LoadBertTiny()!;
        var methods = Methods("bert.encoder.layer.0", attention: true);
        methods.Add(new ShapleyValues());
        var tooLong = string.Join(" ", Enumerable.Repeat("good", model.MaxLength!.Value + 3));
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        (string Case, string[] Texts, ExplainOptions Options)[] bad =
        [
            ("invisible text", ["good film", "\u200B\u200D\uFEFF"], new ExplainOptions()),
            ("over the length", ["good film", tooLong], new ExplainOptions()),
            ("class 2 of 2", ["good film"], new ExplainOptions { Target = Target.Class(2) }),
        ];

        // Warm every path up before counting (first calls create TorchSharp's cached tensors).
        foreach (var method in methods)
        {
            _ = method.Explain(model, ["good film"]);
        }

        var before = LiveTensors.Settled();
        var failures = new List<string>();
        foreach (var method in methods)
        {
            foreach (var (name, texts, options) in bad)
            {
                try
                {
                    _ = method.Explain(model, texts, options);
                    failures.Add($"{method.Name}, {name}: no exception");
                }
                catch (ArgumentException e)
                {
                    if (string.IsNullOrEmpty(e.ParamName))
                    {
                        failures.Add($"{method.Name}, {name}: {e.GetType().Name} names no argument: {e.Message}");
                    }
                }
                catch (Exception e)
                {
                    failures.Add($"{method.Name}, {name}: {e.GetType().Name} (not an ArgumentException): {e.Message}");
                }
            }

            try
            {
                _ = method.Explain(model, ["good film", "a dull plot"], new ExplainOptions { Cancellation = cancelled.Token });
                failures.Add($"{method.Name}, cancelled: no exception");
            }
            catch (OperationCanceledException)
            {
            }
            catch (Exception e)
            {
                failures.Add($"{method.Name}, cancelled: {e.GetType().Name}: {e.Message}");
            }
        }

        failures.Should().BeEmpty();
        LiveTensors.Settled().Should().Be(before, "a call that throws frees every tensor it made");
    }

    /// <summary>What breaks the word properties, checked against the whitespace words of the text computed here.</summary>
    private static IEnumerable<string> WordFailures(Explanation e)
    {
        var texts = e.TextPair is null ? [e.Text] : new[] { e.Text, e.TextPair };
        var owner = new Dictionary<int, int>();
        var previous = (Segment: -1, End: 0);
        for (var w = 0; w < e.Words.Count; w++)
        {
            var word = e.Words[w];
            var text = texts[word.Segment];
            if (word.Start < 0 || word.End > text.Length || word.Start >= word.End || text[word.Start..word.End] != word.Text)
            {
                yield return $"word {w} '{word.Text}' [{word.Start}, {word.End}) is not that substring of its text";
                continue;
            }

            if (!Whitespace(text).Contains((word.Start, word.End)))
            {
                yield return $"word {w} '{word.Text}' is not a maximal run of non-whitespace characters";
            }

            if (word.Segment < previous.Segment || (word.Segment == previous.Segment && word.Start < previous.End))
            {
                yield return $"word {w} '{word.Text}' is out of text order or overlaps the word before";
            }

            previous = (word.Segment, word.End);
            if (word.TokenIndices.IsDefaultOrEmpty)
            {
                yield return $"word {w} '{word.Text}' has no token";
                continue;
            }

            foreach (var t in word.TokenIndices)
            {
                if (!owner.TryAdd(t, w))
                {
                    yield return $"token {t} is in word {owner[t]} and word {w}";
                }

                if (t < 0 || t >= e.Tokens.Length || e.IsSpecial[t] || e.Offsets[t] is not { } offset || e.SegmentOf(t) != word.Segment)
                {
                    yield return $"word {w} '{word.Text}' holds token {t}, which is special, has no offset or is from the other text";
                    continue;
                }

                // The token starts in the word, or starts in whitespace before it and reaches into it (byte-level BPE's Ġ).
                var startsInWord = offset.Start >= word.Start && offset.Start < word.End;
                var reachesIn = offset.Start < word.Start && offset.End > word.Start && string.IsNullOrWhiteSpace(text[offset.Start..word.Start]);
                if (!startsInWord && !reachesIn)
                {
                    yield return $"word {w} '{word.Text}' [{word.Start}, {word.End}) holds token {t} '{e.Tokens[t]}' at [{offset.Start}, {offset.End})";
                }
            }

            var scores = word.TokenIndices.Where(t => t >= 0 && t < e.Scores.Length).Select(t => e.Scores[t]).ToArray();
            var expected = Aggregate(scores, e.WordAggregation);

            // Sums of the same doubles in the same order are equal; the mean's division and L2's square root are
            // correctly rounded, so a relative 1e-12 allows only a different summation order.
            var tolerance = 1e-12 * Math.Max(scores.Sum(Math.Abs), 1e-300);
            if (!(Math.Abs(word.Score - expected) <= tolerance) && !(double.IsNaN(expected) && double.IsNaN(word.Score)))
            {
                yield return $"word {w} '{word.Text}' scores {word.Score:R}, its tokens' {e.WordAggregation} is {expected:R}";
            }
        }

        // Every token that starts inside a word belongs to that word (tokens in whitespace may belong to none).
        for (var t = 0; t < e.Tokens.Length; t++)
        {
            if (e.IsSpecial[t] || e.Offsets[t] is not { } offset || offset.End <= offset.Start || e.SegmentOf(t) is not { } segment)
            {
                continue;
            }

            var text = texts[segment];
            var span = Whitespace(text).FirstOrDefault(s => offset.Start >= s.Start && offset.Start < s.End);
            if (span != default && !owner.ContainsKey(t))
            {
                yield return $"token {t} '{e.Tokens[t]}' at [{offset.Start}, {offset.End}) lies in '{text[span.Start..span.End]}' but in no word";
            }
        }
    }

    /// <summary>Maximal runs of non-whitespace characters (char.IsWhiteSpace, as the docs define a word).</summary>
    private static List<(int Start, int End)> Whitespace(string text)
    {
        var spans = new List<(int, int)>();
        var start = -1;
        for (var i = 0; i <= text.Length; i++)
        {
            var white = i == text.Length || char.IsWhiteSpace(text[i]);
            if (!white && start < 0)
            {
                start = i;
            }
            else if (white && start >= 0)
            {
                spans.Add((start, i));
                start = -1;
            }
        }

        return spans;
    }

    /// <summary>The aggregations as docs/salience.md defines them.</summary>
    private static double Aggregate(double[] s, WordAggregation aggregation)
    {
        switch (aggregation)
        {
            case WordAggregation.Sum:
                var sum = 0.0;
                foreach (var x in s)
                {
                    sum += x;
                }

                return sum;
            case WordAggregation.Mean:
                return Aggregate(s, WordAggregation.Sum) / s.Length;
            case WordAggregation.AbsMax:
                var best = s[0];
                foreach (var x in s)
                {
                    if (double.IsNaN(x))
                    {
                        return double.NaN;
                    }

                    if (Math.Abs(x) > Math.Abs(best))
                    {
                        best = x;
                    }
                }

                return best;
            case WordAggregation.L2:
                var squares = 0.0;
                foreach (var x in s)
                {
                    squares += x * x;
                }

                return Math.Sqrt(squares);
            case WordAggregation.First:
                return s[0];
            default:
                throw new ArgumentOutOfRangeException(nameof(aggregation));
        }
    }

    private static string? BatchDifference(Explanation single, Explanation batched)
    {
        if (!single.Tokens.SequenceEqual(batched.Tokens) || !single.Offsets.SequenceEqual(batched.Offsets))
        {
            return "tokens or offsets";
        }

        if (single.Target != batched.Target)
        {
            return $"target {single.Target} vs {batched.Target}";
        }

        if (!single.Words.Select(w => (w.Text, w.Start, w.TokenIndices.Length)).SequenceEqual(batched.Words.Select(w => (w.Text, w.Start, w.TokenIndices.Length))))
        {
            return "words";
        }

        var scale = single.Scores.Concat(batched.Scores).Select(Math.Abs).DefaultIfEmpty(0).Max();
        for (var i = 0; i < single.Scores.Length; i++)
        {
            if (!(Math.Abs(single.Scores[i] - batched.Scores[i]) <= Math.Max(1e-5, 1e-4 * scale)))
            {
                return $"score of token {i} '{single.Tokens[i]}': {single.Scores[i]:R} vs {batched.Scores[i]:R} (largest |score| {scale:G4})";
            }
        }

        for (var i = 0; i < single.Logits.Length; i++)
        {
            if (!(Math.Abs(single.Logits[i] - batched.Logits[i]) <= 1e-5))
            {
                return $"logit {i}: {single.Logits[i]:R} vs {batched.Logits[i]:R}";
            }
        }

        return null;
    }

    /// <summary>JSON gives the results back bit for bit; the renderers take them and escape the text.</summary>
    private static IEnumerable<string> DocumentFailures(ITextClassifier model, IAttributor method, IReadOnlyList<Explanation> results)
    {
        var failures = new List<string>();
        try
        {
            var document = ExplanationDocument.For(results, model.Labels);
            var json = ExplanationJson.Serialize(document);
            var back = ExplanationJson.Parse(json);
            for (var i = 0; i < results.Count; i++)
            {
                ExplanationJsonTests.AssertIdentical(back.Results[i], results[i]);
            }

            if (ExplanationJson.Serialize(back) != json)
            {
                failures.Add($"{method.Name}: JSON written again differs");
            }

            var html = HtmlReport.Render(results, "awkward <texts>");
            foreach (var raw in new[] { "<script>", "<zq", "<texts>" })
            {
                if (html.Contains(raw, StringComparison.Ordinal))
                {
                    failures.Add($"{method.Name}: the HTML report holds the input's raw '{raw}'");
                }
            }

            var groups = ExplanationGroup.ByText(results);
            _ = MarkdownRenderer.Render(groups);
            _ = ConsoleRenderer.Render(groups, new ConsoleRenderOptions { Color = ColorMode.Ansi256 });
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            failures.Add($"{method.Name}: documents: {e.GetType().Name}: {e.Message}");
        }

        return failures;
    }

    private static string Show(string text) =>
        "\"" + string.Concat(text.Take(60).Select(c => c switch { '\n' => "\\n", '\r' => "\\r", '\t' => "\\t", _ when c > 0x7e || c < 0x20 => $"\\u{(int)c:X4}", _ => c.ToString() })) + (text.Length > 60 ? "…" : string.Empty) + "\"";
}
