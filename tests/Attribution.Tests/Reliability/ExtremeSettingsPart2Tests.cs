using System.Globalization;
using Attribution.Data;
using Attribution.Engine;
using Attribution.Evaluation;
using Attribution.Methods;
using Attribution.Methods.Attention;
using Attribution.Methods.Lrp;
using Attribution.Models;
using Attribution.Pipeline;
using Attribution.Salience;
using Attribution.Tests.Cli;
using Attribution.Tests.Methods;
using Attribution.Tests.Models.Small;
using Attribution.Text.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Attribution.Tests.Reliability;

/// <summary>
/// <see cref="ExtremeSettingsTests"/>, continued for what it left out: attention rollout, LRP-ε (ε, the attention rule,
/// the rule set, and <see cref="LrpSettings"/> as <see cref="LrpPropagation"/> takes it), HotFlip, the scorecard's settings,
/// counterfactuals, shortcuts, plausibility, max-sensitivity, τ-LOO and the removal metrics, and the command line's
/// options for them. Each case either works with finite (and, where a value is known by hand, that) result, or is refused
/// before any model call with an ArgumentException whose ParamName is the setting the caller set and whose message gives
/// the value. Models: <see cref="PowerOfSum"/> (p = 1) and a two-layer BERT with random weights (seeded), each counted.
/// </summary>
public sealed class ExtremeSettingsPart2Tests
{
    private const string Text = "3 4 5";

    private const string BertText = "a dull film";

    private static readonly string[] Vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "dull", "film", "superb", "cast"];

    /// <summary>A case: what it runs, the setting that must be refused (null: it must work), and what a working result must satisfy.</summary>
    private sealed record Case(Func<Fixture, object?> Run, string? Refused, string? Value, Action<Fixture, object?>? Check = null);

    private sealed class Fixture : IDisposable
    {
        private readonly string root = Directory.CreateTempSubdirectory("attribution-extreme-2-").FullName;

        public Fixture()
        {
            Counter = new ForwardCounter(Model);
            Bert = TinyBert(root);
            BertCounter = new ForwardCounter(Bert);

            // Made before the counts start: the metrics below take them as given.
            Explained = new GradientXInput().Explain(Model, Text, new ExplainOptions { Target = Target.Class(0), KeepRawAttributions = true, Salience = new SalienceOptions { KeepSpecialTokens = true } });
        }

        public TextClassifier Model { get; } = PowerOfSum.Classifier(1);

        public ForwardCounter Counter { get; }

        public TextClassifier Bert { get; }

        public ForwardCounter BertCounter { get; }

        public Explanation Explained { get; }

        public int Calls => Counter.Calls + BertCounter.Calls;

        public void Reset()
        {
            Counter.Reset();
            BertCounter.Reset();
        }

        public void Dispose()
        {
            Counter.Dispose();
            BertCounter.Dispose();
            Model.Dispose();
            Bert.Dispose();
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>A two-layer, two-head BERT of hidden size 8 with seeded random weights (as AttentionRolloutTests builds them).</summary>
    private static TextClassifier TinyBert(string root)
    {
        var vocab = Path.Combine(root, "vocab.txt");
        File.WriteAllLines(vocab, Vocabulary);
        var tokenizer = TokenizerLoader.FromWordPieceVocab(vocab);
        var config = new TransformerConfig
        {
            ModelType = "bert", VocabSize = Vocabulary.Length, HiddenSize = 8, NumHiddenLayers = 2, NumAttentionHeads = 2,
            IntermediateSize = 16, MaxPositionEmbeddings = 16,
        };
        var module = new BertForSequenceClassification(config);
        using (var generator = new Generator(7))
        using (no_grad())
        {
            foreach (var (_, p) in module.named_parameters())
            {
                using var drawn = randn(p.shape, p.dtype, generator: generator);
                using var values = drawn.Times(0.8);
                p.copy_(values);
            }
        }

        module.eval();
        return new TextClassifier("tiny-bert", tokenizer, module, ["negative", "positive"], module.WordEmbeddingPath, 16, usesTokenTypes: true);
    }

    private static string Show(double value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Show(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static readonly double[] NonFinite = [double.NaN, double.PositiveInfinity, double.NegativeInfinity];

    private static readonly ExplainOptions BertOptions = new() { Target = Target.Class(0), Salience = new SalienceOptions { KeepSpecialTokens = true } };

    private static IEnumerable<(string, Case)> Bert(string name, Func<IAttributor> method, string? refused, string? value, Action<Fixture, object?>? check = null, ExplainOptions? options = null) =>
        [(name, new Case(f => method().Explain(f.Bert, [BertText], options ?? BertOptions), refused, value, check))];

    private static Explanation Single(object? result) => ((IReadOnlyList<Explanation>)result!).Single();

    private static IEnumerable<(string, Case)> MethodCases()
    {
        // LRP-ε. ε must be finite and non-negative; 0 and −0.0 are LRP-0, 1e-300 is LRP-0 in float32 (ε·sign(z) rounds to
        // 0), 1e300 absorbs everything: z / (z ± ∞) = 0 on every linear layer, so no relevance reaches a token and the
        // conservation gap is the whole target logit (by definition: Σ relevance − logit with Σ relevance = 0).
        foreach (var e in (double[])[.. NonFinite, -1, -1e-300, double.MinValue])
        {
            foreach (var c in Bert($"lrp.Epsilon={Show(e)}", () => new LrpEpsilon { Epsilon = e }, "Epsilon", Show(e)))
            {
                yield return c;
            }
        }

        foreach (var e in (double[])[0, -0.0, 1e-300, double.Epsilon])
        {
            foreach (var c in Bert($"lrp.Epsilon={Show(e)}", () => new LrpEpsilon { Epsilon = e }, null, null))
            {
                yield return c;
            }
        }

        foreach (var c in Bert("lrp.Epsilon=1e300", () => new LrpEpsilon { Epsilon = 1e300 }, null, null, (_, r) =>
                 {
                     var e = Single(r);
                     e.Scores.Should().OnlyContain(s => s == 0, "ε = 1e300 absorbs all relevance at the classifier's linear layer");
                     e.ConvergenceDelta.Should().Be(-e.Logits[0], "the gap is Σ relevance (0) − the target logit");
                 }))
        {
            yield return c;
        }

        foreach (var c in Bert("lrp.Attention=99", () => new LrpEpsilon { Attention = (AttentionRule)99 }, "Attention", "99")) { yield return c; }
        foreach (var c in Bert("lrp.Attention=-1", () => new LrpEpsilon { Attention = (AttentionRule)(-1) }, "Attention", "-1")) { yield return c; }
        foreach (var c in Bert("lrp.Rules=null", () => new LrpEpsilon { Rules = null! }, "Rules", null)) { yield return c; }
        foreach (var c in Bert("lrp.Rules=Empty", () => new LrpEpsilon { Rules = LrpRuleSet.Empty }, "LrpNotSupported", null)) { yield return c; }
        foreach (var c in Bert("lrp.Attention=CpLrp, Epsilon=0", () => new LrpEpsilon { Attention = AttentionRule.CpLrp, Epsilon = 0 }, null, null)) { yield return c; }
        yield return ("lrp on a model without rules (PowerOfSum)", new Case(f => new LrpEpsilon().Explain(f.Model, [Text]), "LrpNotSupported", null));

        // Attention rollout: plain rollout's R is a product of row-stochastic matrices, so row 0 sums to 1 over every
        // token (special tokens kept); the gradient-weighted one has no such sum, only finite, non-negative scores.
        foreach (var c in Bert("rollout", () => new AttentionRollout(), null, null, (_, r) =>
                 {
                     var e = Single(r);
                     e.Scores.Sum().Should().BeApproximately(1, 1e-5, "row 0 of a product of row-stochastic matrices sums to 1 (float32 maps)");
                     e.Scores.Should().OnlyContain(s => s >= 0);
                 }))
        {
            yield return c;
        }

        foreach (var c in Bert("rollout.GradientWeighted", () => new AttentionRollout { GradientWeighted = true }, null, null, (_, r) => Single(r).Scores.Should().OnlyContain(s => s >= 0))) { yield return c; }
        foreach (var c in Bert("rollout options.Target=-1", () => new AttentionRollout(), "Target", "-1", options: BertOptions with { Target = Target.Class(-1) })) { yield return c; }
        foreach (var c in Bert("rollout options.Target=2", () => new AttentionRollout { GradientWeighted = true }, "Target", "2", options: BertOptions with { Target = Target.Class(2) })) { yield return c; }
        foreach (var c in Bert("rollout options.BatchSize=0", () => new AttentionRollout(), "BatchSize", "0", options: BertOptions with { BatchSize = 0 })) { yield return c; }
        yield return ("rollout on a model without attention", new Case(f => new AttentionRollout().Explain(f.Model, [Text]), "model", "power-of-sum"));

        // Attention maps (rollout's input, LIT's attention view): refused before the forward pass, naming its own parameters.
        yield return ("attention maps pair=blank", new Case(f => AttentionMaps.Of(f.Bert, BertText, " "), "pair", null));
        yield return ("attention maps on a model without attention", new Case(f => AttentionMaps.Of(f.Model, Text), "model", "power-of-sum"));
        yield return ("attention maps text too long", new Case(f => AttentionMaps.Of(f.Bert, string.Join(' ', Enumerable.Repeat("film", 20))), "text", "16"));
        yield return ("attention maps pair too long", new Case(f => AttentionMaps.Of(f.Bert, "a", string.Join(' ', Enumerable.Repeat("film", 20))), "pair", "16"));
        yield return ("attention maps", new Case(f => AttentionMaps.Of(f.Bert, BertText, "cast"), null, null, (_, r) =>
            {
                // Every row of every head is a softmax over the pair's 7 tokens ([CLS] a dull film [SEP] cast [SEP]): sums to 1 (float32).
                var maps = (AttentionMaps)r!;
                maps.Tokens.Should().HaveCount(7);
                maps.Layers.Should().HaveCount(2);
                maps.Layers.SelectMany(l => l).SelectMany(h => h).Should().OnlyContain(row => row.Length == 7 && Math.Abs(row.Sum() - 1) < 1e-5);
            }));

        // HotFlip on the BERT: the settings are checked before the prediction's forward pass.
        foreach (var p in (int[])[0, -1, int.MinValue])
        {
            yield return ($"hotflip.Positions={Show(p)}", new Case(f => new HotFlip { Positions = p }.Generate(f.Bert, BertText), "Positions", Show(p)));
        }

        foreach (var n in (int[])[0, -1, int.MinValue, int.MaxValue, 1_001])
        {
            yield return ($"hotflip.CandidatesPerPosition={Show(n)}", new Case(f => new HotFlip { CandidatesPerPosition = n }.Generate(f.Bert, BertText), "CandidatesPerPosition", Show(n)));
        }

        foreach (var n in (int[])[0, -1, int.MinValue])
        {
            yield return ($"hotflip.maxEdits={Show(n)}", new Case(f => new HotFlip().Generate(f.Bert, BertText, n), "maxEdits", Show(n)));
        }

        yield return ("hotflip.ExcludedTokens=every word", new Case(f => new HotFlip { ExcludedTokens = ["a", "dull", "film", "superb", "cast"] }.Generate(f.Bert, BertText), null, null,
            (_, r) => ((IReadOnlyList<HotFlipEdit>)r!).Should().BeEmpty("no vocabulary word is left to propose")));
        yield return ("hotflip.ExcludedTokens=null", new Case(f => new HotFlip { ExcludedTokens = null! }.Generate(f.Bert, BertText), "ExcludedTokens", null));
        yield return ("hotflip on a text of special tokens only", new Case(f => new HotFlip().Generate(f.Bert, " \u200b "), "text", null));

        // Every setting at its largest: all 4 other words at each of the 3 positions (12 single flips) and the combined
        // flips of all positions (4 more), every one returned (maxEdits = int.MaxValue), distinct texts only.
        yield return ("hotflip at the limits", new Case(f => new HotFlip { Positions = int.MaxValue, CandidatesPerPosition = 1_000 }.Generate(f.Bert, BertText, int.MaxValue), null, null,
            (f, r) => CheckEdits(f, (IReadOnlyList<HotFlipEdit>)r!, atLeast: 12)));
        yield return ("hotflip 1 candidate, 1 edit", new Case(f => new HotFlip { CandidatesPerPosition = 1 }.Generate(f.Bert, BertText, 1), null, null,
            (f, r) => CheckEdits(f, (IReadOnlyList<HotFlipEdit>)r!, atLeast: 1)));
        yield return ("hotflip.ExcludedTokens=[null, duplicates]", new Case(f => new HotFlip { ExcludedTokens = [null!, "superb", "superb"] }.Generate(f.Bert, BertText, 100), null, null,
            (f, r) =>
            {
                var edits = (IReadOnlyList<HotFlipEdit>)r!;
                CheckEdits(f, edits, atLeast: 9);
                edits.SelectMany(e => e.Flips).Should().NotContain(flip => flip.To == "superb");
            }));
    }

    /// <summary>Each edit's text, prediction and flags agree with a forward pass of the edited text made here.</summary>
    private static void CheckEdits(Fixture f, IReadOnlyList<HotFlipEdit> edits, int atLeast)
    {
        edits.Count.Should().BeGreaterThanOrEqualTo(atLeast);
        edits.Select(e => e.Text).Should().OnlyHaveUniqueItems();
        var original = f.Bert.Predict([BertText])[0];
        foreach (var edit in edits)
        {
            var again = f.Bert.Predict([edit.Text])[0];
            // 1e-5: HotFlip runs the edits as one padded float32 batch, this one text at a time (another summation order).
            edit.Prediction.Logits.Zip(again.Logits).Should().OnlyContain(x => Math.Abs(x.First - x.Second) < 1e-5);
            edit.Flipped.Should().Be(again.Label != original.Label);
            edit.LogitChange.Should().BeApproximately(again.Logits[original.Label] - original.Logits[original.Label], 1e-5);
            double.IsFinite(edit.LogitChange).Should().BeTrue();
            edit.Flips.Should().OnlyContain(flip => double.IsFinite(flip.Estimate));
        }
    }

    private static IEnumerable<(string, Case)> EvaluationCases()
    {
        // Scorecard settings: refused before any method runs (they were read only after every method had explained every text).
        yield return ("scorecard.Infidelity=null", new Case(f => Scorecard.Run(f.Bert, [BertText], [new Gradient()], null, new ScorecardSettings { Infidelity = null! }), "Infidelity", null));
        yield return ("scorecard.Sensitivity=null", new Case(f => Scorecard.Run(f.Bert, [BertText], [new Gradient()], null, new ScorecardSettings { Sensitivity = null! }), "Sensitivity", null));
        foreach (var n in (int[])[0, -1, int.MinValue, int.MaxValue, InfidelitySettings.MaxSamples + 1])
        {
            yield return ($"scorecard.Infidelity.Samples={Show(n)}", new Case(f => Scorecard.Run(f.Bert, [BertText], [new Gradient()], null,
                new ScorecardSettings { Infidelity = new InfidelitySettings { Samples = n } }), "Samples", Show(n)));
        }

        // Beyond float32's largest value a perturbation is infinite in the model's word embeddings (PerturbationScaleTests).
        foreach (var s in (double[])[.. NonFinite, 0, -0.0, -1, 1e300, double.MaxValue])
        {
            yield return ($"scorecard.Infidelity.Stdev={Show(s)}", new Case(f => Scorecard.Run(f.Bert, [BertText], [new Gradient()], null,
                new ScorecardSettings { Infidelity = new InfidelitySettings { Stdev = s } }), "Stdev", Show(s)));
            yield return ($"scorecard.Sensitivity.Radius={Show(s)}", new Case(f => Scorecard.Run(f.Bert, [BertText], [new Gradient()], null,
                new ScorecardSettings { Sensitivity = new SensitivitySettings { Radius = s } }), "Radius", Show(s)));
        }

        foreach (var n in (int[])[0, -1, int.MinValue, int.MaxValue, SensitivitySettings.MaxSamples + 1])
        {
            yield return ($"scorecard.Sensitivity.Samples={Show(n)}", new Case(f => Scorecard.Run(f.Bert, [BertText], [new Gradient()], null,
                new ScorecardSettings { Sensitivity = new SensitivitySettings { Samples = n } }), "Samples", Show(n)));
        }

        yield return ("scorecard.Infidelity.Perturbations=[]", new Case(f => Scorecard.Run(f.Bert, [BertText], [new Gradient()], null,
            new ScorecardSettings { Infidelity = new InfidelitySettings { Perturbations = [] } }), "settings", null));
        yield return ("scorecard.Sensitivity.Perturbations=[NaN]", new Case(f => Scorecard.Run(f.Bert, [BertText], [new Gradient()], null,
            new ScorecardSettings { Sensitivity = new SensitivitySettings { Perturbations = [[[double.NaN, 0, 0]]] } }), "settings", "NaN"));

        // The smallest settings work, with a finite value in every column. (The BERT: the scorecard's removal metrics need
        // a tokenizer with special tokens or a mask token, which PowerOfSum's has not.)
        yield return ("scorecard at the smallest settings", new Case(f => Scorecard.Run(f.Bert, [BertText], [new Gradient()], null,
            new ScorecardSettings { Infidelity = new InfidelitySettings { Samples = 1, Stdev = 1e-300, Seed = ulong.MaxValue }, Sensitivity = new SensitivitySettings { Samples = 1, Radius = 1e-300, Seed = ulong.MaxValue } }),
            null, null, (_, r) =>
            {
                var row = ((ScorecardReport)r!).Rows.Single();
                row.Metrics.Values.Should().OnlyContain(v => double.IsFinite(v));
                row.Metrics.Keys.Should().Contain(["infidelity", "max-sensitivity", "comprehensiveness", "sufficiency"]);
            }));

        // Max-sensitivity of the gradient of a linear model: 0 at any radius the float32 embeddings hold (see above). 1e300
        // gave 0 too, from perturbations that were infinite in the model: refused now, before any forward pass.
        foreach (var r in (double[])[1e-300, double.Epsilon, float.MaxValue])
        {
            yield return ($"sensitivity.Radius={Show(r)} (gradient of a linear model)", new Case(f => MaxSensitivity.Compute(f.Model, new Gradient(), Text, null, new SensitivitySettings { Radius = r, Samples = 2 }), null, null,
                (_, result) => ((MetricResult)result!).Value.Should().Be(0)));
        }

        yield return ("sensitivity.Radius=1E+300", new Case(f => MaxSensitivity.Compute(f.Model, new Gradient(), Text, null, new SensitivitySettings { Radius = 1e300, Samples = 2 }), "Radius", "1E+300"));

        yield return ("sensitivity.Perturbations=[]", new Case(f => MaxSensitivity.Compute(f.Model, new Gradient(), Text, null, new SensitivitySettings { Perturbations = [] }), "settings", null));
        yield return ("sensitivity options.Pairs=[]", new Case(f => MaxSensitivity.Compute(f.Model, new Gradient(), Text, new ExplainOptions { Pairs = [] }), "Pairs", "0"));
        yield return ("lime options.Pairs=[cast]", new Case(f => new Lime { Samples = 16 }.Explain(f.Bert, [BertText], BertOptions with { Target = Target.Class(1), Pairs = ["cast"] }), null, null,
            (_, result) => ((IReadOnlyList<Explanation>)result!)[0].TextPair.Should().Be("cast")));
        yield return ("lime options.Pairs=[cast] (black box)", new Case(
            _ => new Lime().Explain(new BlackBoxClassifier(_ => throw new InvalidOperationException("the black box was called"), ["neg", "pos"]), ["a film"], new ExplainOptions { Pairs = ["cast"] }),
            "Pairs", null));
        yield return ("occlusion options.Pairs=[cast] (black box)", new Case(
            _ => new Occlusion().Explain(new BlackBoxClassifier(_ => throw new InvalidOperationException("the black box was called"), ["neg", "pos"]), ["a film"], new ExplainOptions { Pairs = ["cast"] }),
            "Pairs", null));
        yield return ("sensitivity on rollout", new Case(f => MaxSensitivity.Compute(f.Bert, new AttentionRollout(), BertText), "attributor", "attention-rollout"));

        // Counterfactuals.
        yield return ("counterfactual edits=[]", new Case(f => Counterfactuals.Compare(f.Model, Text, [], [new Gradient()]), "edits", null));
        yield return ("counterfactual original=\"\"", new Case(f => Counterfactuals.Compare(f.Model, "", ["3 4"], [new Gradient()]), "original", null));
        yield return ("counterfactual original=blank", new Case(f => Counterfactuals.Compare(f.Model, " \t", ["3 4"], [new Gradient()]), "original", null));
        yield return ("counterfactual edits=[blank]", new Case(f => Counterfactuals.Compare(f.Model, Text, ["3 4", " "], [new Gradient()]), "edits", null));
        yield return ("counterfactual edits=[null]", new Case(f => Counterfactuals.Compare(f.Model, Text, [null!], [new Gradient()]), "edits", null));
        yield return ("counterfactual methods=[]", new Case(f => Counterfactuals.Compare(f.Model, Text, ["3 4"], []), "methods", null));
        yield return ("counterfactual options.Pairs=[]", new Case(f => Counterfactuals.Compare(f.Model, Text, ["3 4"], [new Gradient()], new ExplainOptions { Pairs = [] }), "Pairs", "0"));
        yield return ("counterfactual options.Pairs=[\" \", \" \"]", new Case(f => Counterfactuals.Compare(f.Model, Text, ["3 4"], [new Gradient()], new ExplainOptions { Pairs = [" ", " "] }), "Pairs", null));
        yield return ("counterfactual ig.Steps=0", new Case(f => Counterfactuals.Compare(f.Model, Text, ["3 4"], [new IntegratedGradients { Steps = 0 }]), "Steps", "0"));
        // A perturbation method's own settings, before the predictions' forward passes (and before the gradient method
        // listed first runs), as Compare documents.
        yield return ("counterfactual lime.Samples=0", new Case(f => Counterfactuals.Compare(f.Model, Text, ["3 4"], [new Gradient(), new Lime { Samples = 0 }]), "Samples", "0"));
        yield return ("counterfactual occlusion.Window=-1", new Case(f => Counterfactuals.Compare(f.Model, Text, ["3 4"], [new Gradient(), new Occlusion { Window = -1 }]), "Window", "-1"));
        yield return ("counterfactual options.BatchSize=int.MaxValue", new Case(f => Counterfactuals.Compare(f.Model, Text, ["3 4"], [new Gradient()], new ExplainOptions { BatchSize = int.MaxValue }), "BatchSize", Show(int.MaxValue)));
        yield return ("counterfactual replacements=[]", new Case(_ => Counterfactuals.Replace(Text, []), "replacements", null));
        yield return ("counterfactual replacements=[null]", new Case(_ => Counterfactuals.Replace(Text, [null!]), "replacements", null));
        yield return ("counterfactual replacements=[\"=\"]", new Case(_ => Counterfactuals.Replace(Text, ["="]), "replacements", "="));

        // Shortcuts.
        yield return ("shortcuts.Follows sentences=[]", new Case(f => Shortcuts.Follows(f.Model, []), "sentences", null));
        yield return ("shortcuts.Follows label=int.MaxValue", new Case(f => Shortcuts.Follows(f.Model, [new ShortcutSentence("3 4", "zz", 0, 0, int.MaxValue)]), "sentences", Show(int.MaxValue)));
        yield return ("shortcuts.Follows label=int.MinValue", new Case(f => Shortcuts.Follows(f.Model, [new ShortcutSentence("3 4", "zz", 0, int.MinValue, 1)]), "sentences", Show(int.MinValue)));
        yield return ("shortcuts.Plant label=-1", new Case(_ => Shortcuts.Plant([new LabeledText("a b", 0)], [new ShortcutWord("zz", -1)], 0.5, 0), "words", "-1"));
        yield return ("shortcuts.Plant words=[]", new Case(_ => Shortcuts.Plant([new LabeledText("a b", 0)], [], 0.5, 0), "words", null));
        yield return ("shortcuts.Plant words=[zz, ZZ]", new Case(_ => Shortcuts.Plant([new LabeledText("a b", 0)], [new ShortcutWord("zz", 0), new ShortcutWord("zz", 1)], 0.5, 0), "words", "zz"));
        yield return ("shortcuts.Plant fraction=1, seed=max", new Case(_ => Shortcuts.Plant([new LabeledText("a b", 0), new LabeledText("c", 1)], [new ShortcutWord("zz", 1)], 1, ulong.MaxValue), null, null,
            (_, r) =>
            {
                // By hand: round(1 × 2) = 2 sentences, both get the word and its label.
                var planted = (PlantedData)r!;
                planted.Planted.Should().HaveCount(2);
                planted.Examples.Should().OnlyContain(x => x.Label == 1 && x.Text.Split(' ').Contains("zz"));
            }));
        yield return ("shortcuts.Contradicting sentences=[], seed=max", new Case(_ => Shortcuts.Contradicting([], [new ShortcutWord("zz", 1)], ulong.MaxValue), null, null,
            (_, r) => ((IReadOnlyList<ShortcutSentence>)r!).Should().BeEmpty()));

        // Plausibility (on the explanation made before counting).
        yield return ("plausibility.highlighted=[]", new Case(f => Plausibility.Compute(f.Explained, []), "highlighted", null));
        yield return ("plausibility.highlighted=[\"\"]", new Case(f => Plausibility.Compute(f.Explained, [""]), "highlighted", null));
        yield return ("plausibility.highlighted=[null]", new Case(f => Plausibility.Compute(f.Explained, [null!]), "highlighted", null));
        yield return ("plausibility.highlighted=[nope]", new Case(f => Plausibility.Compute(f.Explained, ["nope"]), "highlighted", "nope"));
        yield return ("plausibility.topK=4 (3 words)", new Case(f => Plausibility.Compute(f.Explained, ["3"], 4), "topK", "4"));
        yield return ("plausibility.topK=3, highlighted twice", new Case(f => Plausibility.Compute(f.Explained, ["3", "3", "4"], 3), null, null,
            (_, r) =>
            {
                var results = (IReadOnlyList<MetricResult>)r!;
                results.Should().OnlyContain(m => double.IsFinite(m.Value) && m.Value >= 0 && m.Value <= 1);

                // By hand: k = 3 words of 3, two of them highlighted: precision 2/3, recall 1, F1 0.8, IOU 2/3.
                results.Single(m => m.Metric == "token-f1").Value.Should().BeApproximately(0.8, 1e-12);
                results.Single(m => m.Metric == "iou").Value.Should().BeApproximately(2.0 / 3, 1e-12);
            }));

        // τ-LOO and the removal metrics (no settings but the removal).
        yield return ("loo-correlation", new Case(f => LeaveOneOutCorrelation.Compute(f.Model, f.Explained), null, null,
            (_, r) => ((MetricResult)r!).Value.Should().BeInRange(-1, 1)));
        yield return ("removal=99", new Case(f => RationaleRemoval.Comprehensiveness(f.Model, f.Explained, (TokenRemoval)99), "removal", "99"));
        yield return ("removal=-1 (sufficiency)", new Case(f => RationaleRemoval.Sufficiency(f.Model, f.Explained, (TokenRemoval)(-1)), "removal", "-1"));
        yield return ("removal=Mask without a mask token", new Case(f => RationaleRemoval.Comprehensiveness(f.Model, f.Explained, TokenRemoval.Mask), "removal", null));
        yield return ("removal=Remove", new Case(f => RationaleRemoval.Sufficiency(f.Model, f.Explained), null, null, (_, r) => double.IsFinite(((MetricResult)r!).Value).Should().BeTrue()));
    }

    private static readonly Dictionary<string, Case> Cases =
        MethodCases().Concat(EvaluationCases()).ToDictionary(c => c.Item1, c => c.Item2);

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Works_or_is_refused_up_front_naming_the_setting(string name)
    {
        var c = Cases[name];
        using var f = new Fixture();
        if (c.Refused is null)
        {
            var result = c.Run(f);
            ExtremeSettingsChecks.ScoresAreFinite(result);

            c.Check?.Invoke(f, result);
            return;
        }

        f.Reset();
        if (c.Refused == "LrpNotSupported")
        {
            // Not a setting's value but the model: a typed NotSupportedException naming the module, before any pass.
            FluentActions.Invoking(() => c.Run(f)).Should().Throw<LrpNotSupportedException>();
            f.Calls.Should().Be(0);
            return;
        }

        var error = FluentActions.Invoking(() => c.Run(f)).Should().Throw<ArgumentException>().Which;
        error.ParamName.Should().Be(c.Refused, error.Message);
        if (c.Value is not null)
        {
            ExtremeSettingsChecks.MessageNamesTheValue(error, c.Value);
        }

        f.Calls.Should().Be(0, "a bad setting is refused before any model call");
    }

    /// <summary>A bias-free linear map x ↦ (2x₀ − 3x₁, x₀ + x₁): LRP's only rule here is ε on its one Linear.</summary>
    private static nn.Module<Tensor, Tensor> Linear()
    {
        var linear = nn.Linear(2, 2, hasBias: false);
        using (no_grad())
        {
            linear.weight!.copy_(tensor(new float[] { 2, -3, 1, 1 }, [2, 2]));
        }

        return nn.Sequential(linear);
    }

    [Theory]
    [InlineData(1e-300)]
    [InlineData(1e-46)]
    [InlineData(double.Epsilon)]
    public void Lrp_epsilon_below_float32_is_lrp_0_also_where_the_output_is_exactly_zero(double epsilon)
    {
        // By hand, for one linear layer LRP-ε gives Rᵢ = xᵢ wᵢ z / (z + ε sign z), which is xᵢ wᵢ as ε → 0 (LRP-0) and 0
        // where x = 0 (then z = 0, and 0 / (0 + ε) = 0 for every ε > 0). In float32, ε·sign(z) rounds to 0 for these ε,
        // so z = 0 made 0 / 0: NaN relevance for the zero row, a NaN that no input caused. Tolerance: exact (the
        // products of these small integers are exact in float32).
        using var model = Linear();
        using var input = tensor(new float[] { 1, 1, 0, 0 }, [2, 2]);
        using var relevance = LrpPropagation.Relevance(model, input, 0, new LrpSettings { Epsilon = epsilon });
        relevance.data<float>().ToArray().Should().Equal(2f, -3f, 0f, 0f);
    }

    [Fact]
    public void Lrp_settings_refuse_an_undefined_attention_rule_and_a_null_rule_set_by_their_names()
    {
        // An undefined AttentionRule was taken for neither rule (no hook on the products, none on the probabilities): a
        // third, undocumented propagation, silently. Refused as ε is, when set.
        foreach (var rule in new[] { (AttentionRule)99, (AttentionRule)(-1) })
        {
            FluentActions.Invoking(() => new LrpSettings { Attention = rule }).Should().Throw<ArgumentOutOfRangeException>()
                .Where(e => e.ParamName == "Attention" && e.Message.Contains(((int)rule).ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal));
        }

        // The rule sets named "value", the setter's own parameter, which no caller wrote.
        FluentActions.Invoking(() => new LrpSettings { Rules = null! }).Should().Throw<ArgumentNullException>()
            .Where(e => e.ParamName == "Rules" && e.Message.Contains("LrpRuleSet.Default", StringComparison.Ordinal));
        FluentActions.Invoking(() => new LrpEpsilon { Rules = null! }).Should().Throw<ArgumentNullException>()
            .Where(e => e.ParamName == "Rules" && e.Message.Contains("LrpRuleSet.Default", StringComparison.Ordinal));
        new LrpSettings { Attention = AttentionRule.CpLrp }.Attention.Should().Be(AttentionRule.CpLrp);
    }

    [Fact]
    public void Command_line_options_of_these_settings_are_refused_naming_the_option()
    {
        var root = Directory.CreateTempSubdirectory("attribution-extreme-2-cli-").FullName;
        try
        {
            var model = SmallModelKit.SaveRandom(root, SmallClassifierConfig.CnnType, name: "cnn");
            var failures = new List<string>();
            void Expect(string[] args, int code, params string[] names)
            {
                var run = CliHarness.Run(args);
                if (run.Code != code || names.Any(n => !run.Error.Contains(n, StringComparison.Ordinal)) || run.Error.Contains("   at ", StringComparison.Ordinal))
                {
                    failures.Add($"{string.Join(' ', args)}: {run}");
                }
            }

            // shortcut: checked before any training (--demo trains only once they pass).
            foreach (var value in new[] { "NaN", "Infinity", "-Infinity", "0", "-0", "-1e-300", "1.0000001", "1e300" })
            {
                Expect(["shortcut", "--demo", "--fraction", value], 2, "--fraction");
            }

            foreach (var value in new[] { "0", "-1", "-2147483648", "99999999999" })
            {
                Expect(["shortcut", "--demo", "--max-sentences", value], 2, "--max-sentences");
            }

            foreach (var value in new[] { "0", "-1", "1001", "2147483647" })
            {
                Expect(["shortcut", "--demo", "--epochs", value], 2, "--epochs");
            }

            // counterfactual: a --replace group with no replacement in it (",") made no edit and failed with an
            // InvalidOperationException from inside the library.
            foreach (var value in new[] { ",", " , ", "=", "tedious=", "=exciting" })
            {
                Expect(["counterfactual", "--model", model, "--text", "a tedious film", "--replace", value], 2, "--replace");
            }

            Expect(["counterfactual", "--model", model, "--text", "a tedious film", "--edit", " "], 2, "--edit");

            // LRP's ε: 0, −0 and 1e300 work (checked above on the library); negative and non-finite values are refused.
            foreach (var value in new[] { "0", "-0", "1e300", "1e-300" })
            {
                Expect(["explain", "--model", model, "--text", "a tedious film", "--method", "lrp-epsilon", "--epsilon", value, "--format", "json"], 0);
            }

            foreach (var value in new[] { "-1e-300", "-Infinity", "nan" })
            {
                Expect(["explain", "--model", model, "--text", "a tedious film", "--method", "lrp-epsilon", "--epsilon", value], 2, "--epsilon");
            }

            // evaluate's options for plausibility, max-sensitivity and infidelity.
            string[] Evaluate(params string[] extra) => ["evaluate", "--model", model, "--text", "a tedious film", "--method", "gradient", .. extra];
            foreach (var value in new[] { "0", "-1", "-2147483648", "4" })
            {
                Expect(Evaluate("--metric", "plausibility", "--highlight", "tedious", "--top-k", value), 2, "--top-k");
            }

            foreach (var value in new[] { "NaN", "-0", "Infinity", "1e999", "-1e-300" })
            {
                Expect(Evaluate("--metric", "max-sensitivity", "--radius", value), 2, "--radius");
                Expect(Evaluate("--metric", "infidelity", "--perturbation-stdev", value), 2, "--perturbation-stdev");
            }

            foreach (var value in new[] { "0", "-1", "1001", "2147483647" })
            {
                Expect(Evaluate("--metric", "max-sensitivity", "--metric-samples", value), 2, "--metric-samples");
            }

            Expect(Evaluate("--metric", "max-sensitivity", "--radius", "1e-300", "--metric-samples", "1", "--metric-seed", "18446744073709551615", "--format", "json"), 0);
            Expect(Evaluate("--metric", "plausibility", "--highlight", "tedious", "--top-k", "3", "--format", "json"), 0);

            failures.Should().BeEmpty(string.Join("\n", failures));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
