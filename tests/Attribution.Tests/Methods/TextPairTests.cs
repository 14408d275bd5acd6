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
    /// Truncation to 16 and 24 tokens by longest_first, only_first and only_second, against the recorded ids. Where the
    /// strategy must remove r tokens from a side of n tokens and r ≥ n, the library refuses (Hugging Face's fast
    /// tokenizers raise "sequence to truncate too short"); the reference file records ids longer than the limit for
    /// r &gt; n (n − (r − n) tokens kept), which no strategy that honours max_length can produce, so those are checked
    /// as refusals, not compared.
    /// </summary>
    [SkippableFact]
    public void Truncation_strategies_match_the_recorded_ids_where_they_can_fit()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/bert-pair-random"));
        var (cases, texts, pairs, golden) = Golden();
        using var _ = golden;
        int compared = 0, refused = 0;
        foreach (var (name, strategy) in new[] { ("longest_first", TruncationStrategy.LongestFirst), ("only_first", TruncationStrategy.OnlyFirst), ("only_second", TruncationStrategy.OnlySecond) })
        {
            foreach (var limit in new[] { 16, 24 })
            {
                for (var i = 0; i < cases.Length; i++)
                {
                    var full = model.Tokenizer.Encode(texts[i], pairs[i]);
                    var sep = Array.IndexOf(full.Ids, model.Tokenizer.SepId);
                    var (n1, n2) = (sep - 1, full.Length - sep - 2);
                    var remove = n1 + n2 + 3 - limit;
                    var side = strategy == TruncationStrategy.OnlyFirst ? n1 : n2;
                    var recorded = cases[i].GetProperty("truncation").GetProperty($"{name}_{limit}");
                    if (strategy != TruncationStrategy.LongestFirst && remove > 0 && remove >= side)
                    {
                        var act = () => model.Tokenizer.Encode(texts[i], pairs[i], limit, TruncationSide.Right, strategy);
                        act.Should().Throw<ArgumentException>().WithMessage($"*{name}*");
                        (recorded.ValueKind == JsonValueKind.Null || recorded.GetArrayLength() > limit).Should().BeTrue(
                            $"the reference has no within-limit ids for {name} {limit} of pair {i} either");
                        refused++;
                        continue;
                    }

                    var encoding = model.Tokenizer.Encode(texts[i], pairs[i], limit, TruncationSide.Right, strategy);
                    encoding.Ids.Should().Equal(Tests.Methods.Golden.Longs(recorded), $"{name} {limit}, pair {i}");
                    encoding.Length.Should().BeLessThanOrEqualTo(limit);
                    compared++;
                }
            }
        }

        output.WriteLine($"{compared} truncations equal to the reference, {refused} refused");
        compared.Should().BeGreaterThanOrEqualTo(30, "every longest_first case and the only_first / only_second cases that fit");
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

    /// <summary>Bad pair input is refused with the argument named: a count mismatch, an empty second text, LIME, a black box.</summary>
    [SkippableFact]
    public void Bad_pairs_are_refused()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/bert-pair-random"));
        var mismatch = () => new GradientXInput().Explain(model, ["a", "b"], new ExplainOptions { Pairs = ["c"] });
        mismatch.Should().Throw<ArgumentException>().WithMessage("*1 second texts for 2 texts*");
        var empty = () => new Occlusion().Explain(model, ["a film"], new ExplainOptions { Pairs = [" "] });
        empty.Should().Throw<ArgumentException>().WithMessage("*pairs[0] is empty*");
        var lime = () => new Lime().Explain(model, ["a film"], new ExplainOptions { Pairs = ["dull"] });
        lime.Should().Throw<ArgumentException>().WithMessage("*LIME*pairs*occlusion*");
        var blackBox = () => new Occlusion().Explain(new BlackBoxClassifier(texts => texts.Select(_ => new[] { 0.5, 0.5 }).ToArray(), ["a", "b"]), ["a film"], new ExplainOptions { Pairs = ["dull"] });
        blackBox.Should().Throw<ArgumentException>().WithMessage("*black-box*pairs*");
    }
}
