using System.Text.Json;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Salience;
using Attribution.Text.Tokenizers;
using Xunit.Abstractions;

namespace Attribution.Tests.Methods;

/// <summary>
/// Sentence pairs on the random 3-label pair BERT of ../shared (10 pairs of SST-2 sentences, Captum 0.8 figures):
/// encoding as Hugging Face does (<c>[CLS] a [SEP] b [SEP]</c>, token types 0/1, truncation strategies), every method
/// explaining both texts, words per text, perturbation of both texts' words and never of the separators, JSON.
/// </summary>
public sealed class TextPairTests(ITestOutputHelper output)
{
    private static (JsonElement[] Cases, string[] Texts, string[] Pairs, JsonDocument Golden) Golden()
    {
        var golden = JsonDocument.Parse(File.ReadAllText(SharedData.Require("golden/bert-pair-random.captum.json")));
        var cases = golden.RootElement.GetProperty("cases").EnumerateArray().ToArray();
        return (cases, cases.Select(c => c.GetProperty("text").GetString()!).ToArray(), cases.Select(c => c.GetProperty("text_pair").GetString()!).ToArray(), golden);
    }

    /// <summary>Ids and token types of every pair, and per token which text it came from (offsets index into that text).</summary>
    [SkippableFact]
    public void Pairs_encode_as_hugging_face_does()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/bert-pair-random"));
        var (cases, texts, pairs, golden) = Golden();
        using var _ = golden;
        for (var i = 0; i < cases.Length; i++)
        {
            var encoding = model.Tokenizer.Encode(texts[i], pairs[i]);
            encoding.Ids.Should().Equal(Tests.Methods.Golden.Longs(cases[i].GetProperty("input_ids")));
            encoding.TypeIds.Should().Equal(Tests.Methods.Golden.Longs(cases[i].GetProperty("token_type_ids")));
            var sep = Array.IndexOf(encoding.Ids, model.Tokenizer.SepId);
            for (var t = 0; t < encoding.Length; t++)
            {
                int? expected = t == 0 || t == sep || t == encoding.Length - 1 ? null : t < sep ? 0 : 1;
                encoding.SequenceOf(t).Should().Be(expected, $"token {t} of pair {i}");
                if (encoding.Offsets[t] is { } o)
                {
                    var source = expected == 1 ? pairs[i] : texts[i];
                    source[o.Start..o.End].ToLowerInvariant().Should().Contain(encoding.Tokens[t].TrimStart('#').ToLowerInvariant()[..1], "the offset points into the token's own text");
                }
            }
        }
    }

    /// <summary>
    /// The reference's only_first / only_second truncations that Hugging Face cannot make: the strategy must remove
    /// r = n1 + n2 + 3 − limit tokens from a side of n ≤ r tokens (n1, n2 counted on the recorded <c>[CLS] a [SEP] b
    /// [SEP]</c> ids). Hugging Face's fast tokenizers (tokenizers' truncate_encodings) fail these with
    /// "sequence to truncate too short to respect the provided max_length". The reference recorded Python's
    /// <c>side[:n - r]</c> instead, a negative index when r &gt; n: 2n − r tokens kept, so ids longer than the limit
    /// (21 cases), or null where that slice is empty (3 cases: pair 3 only_first 16 and pair 4 only_first 24 with r = n,
    /// pair 5 only_second 16 with 2n − r &lt; 0). Worked out by hand from the recorded ids; the test checks the list.
    /// </summary>
    private static readonly (int Pair, string Strategy, int Limit)[] RefusedByHuggingFace =
    [
        (1, "only_first", 16), (1, "only_first", 24), (1, "only_second", 16), (1, "only_second", 24),
        (2, "only_first", 16), (2, "only_first", 24),
        (3, "only_first", 16),
        (4, "only_first", 16), (4, "only_first", 24), (4, "only_second", 16), (4, "only_second", 24),
        (5, "only_first", 16), (5, "only_first", 24), (5, "only_second", 16), (5, "only_second", 24),
        (6, "only_first", 16), (6, "only_first", 24), (6, "only_second", 16), (6, "only_second", 24),
        (7, "only_first", 16), (7, "only_second", 16), (7, "only_second", 24),
        (8, "only_first", 16),
        (9, "only_second", 16),
    ];

    /// <summary>
    /// Truncation to 16 and 24 tokens by longest_first, only_first and only_second (60 cases): the 36 that Hugging Face
    /// can make equal the recorded ids, and the 24 of <see cref="RefusedByHuggingFace"/> are refused naming the strategy
    /// (the recorded ids there are the generator's slicing artefact, checked to be exactly that, so a corrected reference
    /// file fails this test and asks for them to be compared). The longest_first cases include 8 (pairs 1, 2, 6 and 8 at
    /// both limits) that cut both texts with an odd budget (13 or 21 tokens), where the fast tokenizers give the extra token
    /// to the longer text and the slow ones to the first: the recorded ids, and the library, follow the fast ones.
    /// </summary>
    [SkippableFact]
    public void Truncation_strategies_match_the_recorded_ids_where_they_can_fit()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/bert-pair-random"));
        var (cases, texts, pairs, golden) = Golden();
        using var _ = golden;
        var refused = new List<(int Pair, string Strategy, int Limit)>();
        var compared = 0;
        foreach (var (name, strategy) in new[] { ("longest_first", TruncationStrategy.LongestFirst), ("only_first", TruncationStrategy.OnlyFirst), ("only_second", TruncationStrategy.OnlySecond) })
        {
            foreach (var limit in new[] { 16, 24 })
            {
                for (var i = 0; i < cases.Length; i++)
                {
                    var full = Tests.Methods.Golden.Longs(cases[i].GetProperty("input_ids"));
                    var sep = Array.IndexOf(full, model.Tokenizer.SepId);
                    var (first, second) = (full[1..sep], full[(sep + 1)..^1]);
                    var remove = first.Length + second.Length + 3 - limit;
                    var side = strategy == TruncationStrategy.OnlyFirst ? first.Length : second.Length;
                    var recorded = cases[i].GetProperty("truncation").GetProperty($"{name}_{limit}");
                    if (strategy != TruncationStrategy.LongestFirst && remove > 0 && remove >= side)
                    {
                        var act = () => model.Tokenizer.Encode(texts[i], pairs[i], limit, TruncationSide.Right, strategy);
                        act.Should().Throw<ArgumentException>().WithMessage(remove == side ? $"truncation {name}*and leave it empty*" : $"truncation {name}*and still not fit*");

                        // Python's side[:side - remove]: empty when remove = side, else a negative index that keeps
                        // 2·side − remove tokens (none when that is not positive).
                        var kept = remove == side ? 0 : Math.Max(0, (2 * side) - remove);
                        if (kept == 0)
                        {
                            recorded.ValueKind.Should().Be(JsonValueKind.Null, $"{name} {limit}, pair {i}: the slice is empty");
                        }
                        else
                        {
                            long[] artefact = strategy == TruncationStrategy.OnlyFirst
                                ? [full[0], .. first[..kept], .. full[sep..]]
                                : [.. full[..(sep + 1)], .. second[..kept], full[^1]];
                            Tests.Methods.Golden.Longs(recorded).Should().Equal(artefact, $"{name} {limit}, pair {i}: the reference's slice");
                            artefact.Length.Should().BeGreaterThan(limit);
                        }

                        refused.Add((i, name, limit));
                        continue;
                    }

                    var encoding = model.Tokenizer.Encode(texts[i], pairs[i], limit, TruncationSide.Right, strategy);
                    encoding.Ids.Should().Equal(Tests.Methods.Golden.Longs(recorded), $"{name} {limit}, pair {i}");
                    encoding.Length.Should().BeLessThanOrEqualTo(limit);
                    compared++;
                }
            }
        }

        output.WriteLine($"{compared} truncations equal to the reference, {refused.Count} refused as Hugging Face refuses them");
        refused.Should().BeEquivalentTo(RefusedByHuggingFace, "the cases worked out by hand");
        compared.Should().Be(36, "every longest_first case and the only_first / only_second cases that fit");
    }

    /// <summary>
    /// Gradient × Input and layer IG (Gauss–Legendre 50) of the softmax probability of the predicted class, at the word
    /// embeddings, with token types as the input: within 1e-4 relative L2 of Captum per pair (float32 on both sides).
    /// The recorded baseline ids are equal, and the recorded softmax (<c>scored</c>) within 1e-5 absolute: the logits
    /// agree to 1e-5 (TransformerGoldenTests) and a softmax moves by at most half the largest logit error. The IG delta
    /// within 2e-6 absolute (float32 rounding of order-1 sums is about 1e-7; measured 1.2e-7); the recorded deltas are
    /// below 8.6e-8, rounding noise on both sides, so the comparison bounds the delta's error, not its sign.
    /// </summary>
    [SkippableFact]
    public void Gradient_methods_explain_both_texts_as_captum_does()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/bert-pair-random"));
        var (cases, texts, pairs, golden) = Golden();
        using var _ = golden;
        golden.RootElement.GetProperty("problem_type").GetString().Should().Be("single_label_classification");
        model.Head.Should().Be(OutputHead.SingleLabel);
        model.Labels.Should().Equal(golden.RootElement.GetProperty("labels").EnumerateArray().Select(l => l.GetString()), "the recorded label names, in order");
        var options = new ExplainOptions { Pairs = pairs, Score = ScoreOutput.Probability, Salience = new SalienceOptions { KeepSpecialTokens = true } };
        var gxi = new GradientXInput().Explain(model, texts, options);
        var ig = new IntegratedGradients().Explain(model, texts, options);
        var baselines = Tests.Methods.Golden.PadBaselineIds(model, texts, pairs);
        double worstGxi = 0, worstIg = 0, worstDelta = 0, worstScored = 0;
        for (var i = 0; i < cases.Length; i++)
        {
            var target = cases[i].GetProperty("targets")[0].GetInt32();
            var recorded = cases[i].GetProperty("per_target").GetProperty(target.ToString(System.Globalization.CultureInfo.InvariantCulture));
            ig[i].Target.Should().Be(target);
            ig[i].TokenIds.Should().Equal(Tests.Methods.Golden.Longs(cases[i].GetProperty("input_ids")));
            ig[i].TokenTypeIds.Should().Equal(Tests.Methods.Golden.Longs(cases[i].GetProperty("token_type_ids")));
            ig[i].TextPair.Should().Be(pairs[i]);
            baselines[i].Should().Equal(Tests.Methods.Golden.Longs(cases[i].GetProperty("baseline_ids")), $"baseline ids of pair {i}: both [SEP]s kept");
            worstScored = Math.Max(worstScored, Tests.Methods.Golden.Doubles(cases[i].GetProperty("scored")).Zip(ig[i].Probabilities, (e, a) => Math.Abs(a - e)).Max());
            worstGxi = Math.Max(worstGxi, Tests.Methods.Golden.RelativeL2(gxi[i].Scores, Tests.Methods.Golden.Doubles(recorded.GetProperty("gradient_x_input"))));
            worstIg = Math.Max(worstIg, Tests.Methods.Golden.RelativeL2(ig[i].Scores, Tests.Methods.Golden.Doubles(recorded.GetProperty("ig_gausslegendre_50"))));
            worstDelta = Math.Max(worstDelta, Math.Abs(ig[i].ConvergenceDelta!.Value - recorded.GetProperty("ig_delta").GetDouble()));

            // Words per text: the first text's words, then the second's, each with offsets into its own text.
            ig[i].Words.Where(w => w.Segment == 0).Select(w => w.Text).Should().Equal(texts[i].Split(' ', StringSplitOptions.RemoveEmptyEntries));
            ig[i].Words.Where(w => w.Segment == 1).Select(w => w.Text).Should().Equal(pairs[i].Split(' ', StringSplitOptions.RemoveEmptyEntries));
            ig[i].Words.Where(w => w.Segment == 1).Select(w => pairs[i].Substring(w.Start, w.End - w.Start)).Should().Equal(pairs[i].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        }

        output.WriteLine($"pairs: worst relative L2 GxI {worstGxi:E2}, IG {worstIg:E2}; worst delta error {worstDelta:E2}; worst softmax error {worstScored:E2}");
        worstScored.Should().BeLessThanOrEqualTo(1e-5);
        worstGxi.Should().BeLessThanOrEqualTo(1e-4);
        worstIg.Should().BeLessThanOrEqualTo(1e-4);
        worstDelta.Should().BeLessThanOrEqualTo(2e-6);
    }

    /// <summary>
    /// Occlusion on a pair perturbs the words of both texts and never a separator: each word's score equals, by
    /// definition, f(pair) − f(pair with that word's tokens replaced by [MASK]), computed here with the model's own
    /// logits on id sequences built in the test.
    /// </summary>
    [SkippableFact]
    public void Occlusion_perturbs_the_words_of_both_texts_and_never_the_separators()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/bert-pair-random"));
        const string text = "a gripping film";
        const string pair = "the cast was dull";
        var e = new Occlusion().Explain(model, text, new ExplainOptions { Pairs = [pair], Score = ScoreOutput.Logit, Salience = new SalienceOptions { KeepSpecialTokens = true } });
        var encoding = model.Tokenizer.Encode(text, pair);
        double Logit(long[] ids) => ((ITokenClassifier)model).PredictLogits([new TokenSequence(ids, encoding.TypeIds)])[0][e.Target];
        var full = Logit(encoding.Ids);
        e.Words.Should().HaveCount(7, "3 words of the text and 4 of the pair");
        foreach (var word in e.Words)
        {
            var masked = encoding.Ids.Select((id, t) => word.TokenIndices.Contains(t) ? model.Tokenizer.MaskId!.Value : id).ToArray();
            word.Score.Should().BeApproximately(full - Logit(masked), 1e-5, $"{word.Text} (text {word.Segment})");
        }

        for (var t = 0; t < e.Tokens.Length; t++)
        {
            if (e.IsSpecial[t])
            {
                e.Scores[t].Should().Be(0, "separators are never perturbed");
            }
        }
    }

    /// <summary>A pair keeps both texts, token types, segments and word segments through JSON; the report shows both texts.</summary>
    [SkippableFact]
    public void Json_and_the_report_carry_both_texts()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/bert-pair-random"));
        var e = new GradientXInput().Explain(model, "a gripping film", new ExplainOptions { Pairs = ["the cast was dull"] });
        var json = ExplanationJson.Serialize(ExplanationDocument.For([e], model.Labels));
        json.Should().Contain("\"text_pair\": \"the cast was dull\"").And.Contain("\"token_type_ids\"").And.Contain("\"segment\": 1");
        var back = ExplanationJson.Parse(json).Results[0];
        back.TextPair.Should().Be("the cast was dull");
        back.Segments.Should().Equal(e.Segments);
        back.TokenTypeIds.Should().Equal(e.TokenTypeIds);
        back.Words.Select(w => (w.Text, w.Segment, w.Start)).Should().Equal(e.Words.Select(w => (w.Text, w.Segment, w.Start)));
        HtmlReport.Render([e], "pair").Should().Contain("a gripping film ‖ the cast was dull");
        ConsoleRenderer.Render([new ExplanationGroup(e.DisplayText, [e])], new ConsoleRenderOptions { Color = ColorMode.Plain }).Should().Contain("dull");
    }

    /// <summary>Bad pair input is refused with the argument named: a count mismatch, an empty second text, a black box (LIME's too).</summary>
    [SkippableFact]
    public void Bad_pairs_are_refused()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/bert-pair-random"));
        var mismatch = () => new GradientXInput().Explain(model, ["a", "b"], new ExplainOptions { Pairs = ["c"] });
        mismatch.Should().Throw<ArgumentException>().WithMessage("*1 second texts for 2 texts*");
        var empty = () => new Occlusion().Explain(model, ["a film"], new ExplainOptions { Pairs = [" "] });
        empty.Should().Throw<ArgumentException>().WithMessage("*Pairs[0] is empty*").Which.ParamName.Should().Be("Pairs");
        var lime = () => new Lime().Explain(new BlackBoxClassifier(texts => texts.Select(_ => new[] { 0.5, 0.5 }).ToArray(), ["a", "b"]), ["a film"], new ExplainOptions { Pairs = ["dull"] });
        lime.Should().Throw<ArgumentException>().WithMessage("*black-box*pairs*").Which.ParamName.Should().Be("Pairs");
        var blackBox = () => new Occlusion().Explain(new BlackBoxClassifier(texts => texts.Select(_ => new[] { 0.5, 0.5 }).ToArray(), ["a", "b"]), ["a film"], new ExplainOptions { Pairs = ["dull"] });
        blackBox.Should().Throw<ArgumentException>().WithMessage("*black-box*pairs*");
    }
}
