using Attribution.Methods;
using Attribution.Methods.Perturbation;
using Attribution.Models;

namespace Attribution.Tests.Methods;

/// <summary>
/// Every class at once (<see cref="MethodRunner.AttributeClasses"/>) for LIME and the perturbation family: each
/// perturbed input of a text goes to the model once for all classes, and every class's scores equal its own call's
/// (1e-12: the same model outputs, batched alike, feed the same fits). Forward rows are counted with a hook on the model.
/// </summary>
public sealed class EveryClassPerturbationTests
{
    public static TheoryData<string> Methods => ["lime", "occlusion", "shapley", "shapley-sampling", "kernel-shap"];

    [SkippableTheory]
    [MemberData(nameof(Methods))]
    public void Each_perturbed_input_is_scored_once_for_every_label_and_equals_a_call_per_label(string name)
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/bert-multilabel-random"));
        string[] texts = ["a charming and funny film", "dull"];
        IAttributor method = name switch
        {
            "lime" => new Lime { Samples = 48 },
            "occlusion" => new Occlusion(),
            "shapley" => new ShapleyValues(),
            "shapley-sampling" => new ShapleyValueSampling { Samples = 4 },
            _ => new KernelShap { Samples = 40 },
        };
        using var forwards = new ForwardCounter(model);
        int[] labels = [3, 0, 2];
        var all = MethodRunner.AttributeClasses(model, texts, [method], labels);
        var shared = forwards.Rows;
        forwards.Reset();
        var perLabel = labels.Select(c => method.Attribute(model, texts, new AttributionOptions { Target = Target.Class(c) })).ToArray();

        for (var t = 0; t < texts.Length; t++)
        {
            for (var c = 0; c < labels.Length; c++)
            {
                all[0][t][c].Target.Should().Be(labels[c]);
                all[0][t][c].Scores.Should().Equal(perLabel[c][t].Scores, (a, b) => Math.Abs(a - b) <= 1e-12 * (1 + Math.Abs(b)));
                all[0][t][c].Logits.Should().Equal(perLabel[c][t].Logits);
                all[0][t][c].Notes.Should().ContainSingle(n => n.StartsWith("explained for 3 classes at once: the text's perturbed inputs went to the model once for all of them (", StringComparison.Ordinal));
            }
        }

        // A call per label sends every input (and the text itself) once per label; at once, once in all.
        forwards.Rows.Should().BeGreaterThan(0).And.Be(shared * labels.Length);
    }

    [SkippableFact]
    public void Later_labels_say_their_outputs_came_from_the_first_label_s_run()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/bert-multilabel-random"));
        var all = MethodRunner.AttributeClasses(model, ["a charming and funny film"], [new Occlusion()], [1, 2]);
        all[0][0][0].Notes.Should().Contain("5 perturbed input(s) scored in 1 model call(s) (6 coalition(s) asked for; repeats are scored once)");
        all[0][0][1].Notes.Should().Contain(n => n.StartsWith("0 perturbed input(s) scored in 0 model call(s)", StringComparison.Ordinal)
            && n.EndsWith("; 5 more taken from the model outputs of another class's run on this text", StringComparison.Ordinal));

        // The class that made the calls may not be the one shown (the CLI shows labels above 0.5): each says the total.
        const string Shared = "explained for 2 classes at once: the text's perturbed inputs went to the model once for all of them (5 input(s) in 1 model call(s))";
        all[0][0][0].Notes.Should().Contain(Shared);
        all[0][0][1].Notes.Should().Contain(Shared);
    }

    /// <summary>
    /// Every class at once checks what a call per class checks: a pair's empty second text, LIME's token features of a
    /// pair, and its settings.
    /// </summary>
    [SkippableFact]
    public void Lime_for_every_label_refuses_bad_pairs_and_bad_settings_as_a_call_does()
    {
        using var model = ClassifierLoader.Load(SharedData.Require("models/bert-multilabel-random"));
        var empty = () => MethodRunner.AttributeClasses(model, ["a film"], [new Lime { Samples = 8 }], [0, 1], new AttributionOptions { Pairs = [" "] });
        empty.Should().Throw<ArgumentException>().WithMessage("Pairs[0] is empty*").Which.ParamName.Should().Be("Pairs");
        var tokens = () => MethodRunner.AttributeClasses(model, ["a film"], [new Lime { Samples = 8, Features = LimeFeatures.Tokens }], [0, 1], new AttributionOptions { Pairs = ["a book"] });
        tokens.Should().Throw<ArgumentException>().WithMessage("token features are for single texts*").Which.ParamName.Should().Be("Features");
        var samples = () => MethodRunner.AttributeClasses(model, ["a film"], [new Lime { Samples = 0 }], [0, 1]);
        samples.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("Samples");
    }
}
