using Attribution.Models;
using Attribution.Onnx;
using static Attribution.Tests.Onnx.OnnxGraphWriter;

namespace Attribution.Tests.Onnx;

/// <summary>
/// Loading and running hand-written ONNX graphs (no exporter, no shared data): what the classifier feeds the graph,
/// and every bad input a typed error whose message names the problem.
/// </summary>
public sealed class OnnxLoadingTests : IDisposable
{
    // Ids 0..8: "the good bad movie" is [CLS] the good bad movie [SEP] = 2 5 6 7 8 3. OnnxCancellationTests uses it too.
    internal static readonly string[] Vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "good", "bad", "movie"];

    private readonly string folder = Directory.CreateTempSubdirectory("attribution-onnx-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    /// <summary>vocab.txt and a config with two labels and room for <paramref name="maxPositions"/> tokens.</summary>
    private void WriteFolder(int maxPositions = 6)
    {
        File.WriteAllLines(Path.Combine(folder, "vocab.txt"), Vocabulary);
        File.WriteAllText(Path.Combine(folder, "config.json"),
            $$$"""{"model_type": "bert", "vocab_size": 9, "max_position_embeddings": {{{maxPositions}}}, "id2label": {"0": "neg", "1": "pos"}}""");
    }

    /// <summary>logits = float(input_ids): the logits show exactly which ids (padding included) the graph was given.</summary>
    private void WriteCastGraph(bool withMask = true, string idsName = "input_ids", string batch = "batch", string sequence = "sequence")
    {
        var inputs = new List<Value> { new(idsName, Int64Type, batch, sequence) };
        if (withMask)
        {
            inputs.Add(new Value("attention_mask", Int64Type, batch, sequence));
        }

        File.WriteAllBytes(Path.Combine(folder, "model.onnx"), Model(
            inputs,
            [new Value("logits", FloatType, "batch", "sequence")],
            [new Node("Cast", [idsName], ["logits"], ("to", FloatType))]));
    }

    [Fact]
    public void The_graph_gets_the_ids_of_each_sequence_in_input_order_and_the_config_labels_name_the_columns()
    {
        WriteFolder();
        WriteCastGraph();
        using var model = OnnxTextClassifier.Load(folder);

        model.Labels.Should().Equal("neg", "pos");
        model.MaxLength.Should().Be(6);
        model.UsesTokenTypes.Should().BeFalse();
        // One batch of two: each row of the graph's output goes back to its own sequence.
        var logits = model.PredictLogits([new TokenSequence([8, 7]), new TokenSequence([5, 6])]);
        logits.Should().HaveCount(2);
        logits[0].Should().Equal(8.0, 7.0);
        logits[1].Should().Equal(5.0, 6.0);
    }

    /// <summary>A softmax over one logit is 1 for every text; the safetensors loader refuses it and so does this one.</summary>
    [Theory]
    [InlineData("\"num_labels\": 1")]
    [InlineData("\"id2label\": {\"0\": \"score\"}")]
    public void Single_label_classification_with_one_output_is_refused_naming_problem_type(string labels)
    {
        WriteFolder();
        WriteCastGraph();
        var config = Path.Combine(folder, "config.json");
        File.WriteAllText(config, $$"""{"model_type": "bert", "vocab_size": 9, {{labels}}, "problem_type": "single_label_classification"}""");
        FluentActions.Invoking(() => OnnxTextClassifier.Load(folder)).Should().Throw<ModelLoadException>()
            .Where(e => e.Field == "problem_type" && e.FilePath == config)
            .WithMessage("*\"problem_type\" is \"single_label_classification\" but \"num_labels\" is 1*\"regression\"*at least two labels*");

        File.WriteAllText(config, $$"""{"model_type": "bert", "vocab_size": 9, {{labels}}, "problem_type": "regression"}""");
        using var regression = OnnxTextClassifier.Load(folder);
        regression.Head.Should().Be(OutputHead.Regression, "one output is fine as a regression");
    }

    [Fact]
    public void A_logits_width_other_than_the_labels_is_an_error_naming_both()
    {
        WriteFolder();
        WriteCastGraph();
        using var model = OnnxTextClassifier.Load(folder);

        // Three ids give three "logits" for a config with two labels.
        var act = () => model.PredictLogits([new TokenSequence([2, 5, 3])]);

        act.Should().Throw<ModelLoadException>().Where(e => e.Message.Contains("returns 3 logits per text", StringComparison.Ordinal)
            && e.Message.Contains("names 2 labels (neg, pos)", StringComparison.Ordinal) && e.Field == "id2label");
    }

    [Fact]
    public void A_text_longer_than_the_position_table_is_refused_not_truncated()
    {
        WriteFolder(maxPositions: 4);
        WriteCastGraph();
        using var model = OnnxTextClassifier.Load(folder);

        // [CLS] the good bad movie [SEP] is 6 tokens.
        var act = () => model.Predict(["the good bad movie"]);

        act.Should().Throw<ArgumentException>().WithMessage("*has 6 tokens*accepts at most 4*");
        var ids = () => model.PredictLogits([new TokenSequence([2, 5, 6, 7, 3])]);
        ids.Should().Throw<ArgumentException>().WithMessage("*5 ids*at most 4*");
    }

    [Fact]
    public void An_id_outside_the_vocabulary_is_refused_before_the_graph_runs()
    {
        WriteFolder();
        WriteCastGraph();
        using var model = OnnxTextClassifier.Load(folder);

        var act = () => model.PredictLogits([new TokenSequence([2, 9])]);

        act.Should().Throw<ArgumentException>().WithMessage("*id 9, outside*[0, 9)*");
    }

    [Fact]
    public void A_label2id_index_outside_the_labels_is_a_load_error_but_other_names_are_not()
    {
        WriteCastGraph();
        File.WriteAllLines(Path.Combine(folder, "vocab.txt"), Vocabulary);
        var config = Path.Combine(folder, "config.json");
        File.WriteAllText(config, """{"model_type": "bert", "id2label": {"0": "neg", "1": "pos"}, "label2id": {"LABEL_0": 0, "LABEL_1": 1}}""");
        using (var model = OnnxTextClassifier.Load(folder))
        {
            model.Labels.Should().Equal("neg", "pos");
        }

        File.WriteAllText(config, """{"model_type": "bert", "id2label": {"0": "neg", "1": "pos"}, "label2id": {"neg": 0, "pos": 2}}""");
        var act = () => OnnxTextClassifier.Load(folder);

        act.Should().Throw<ModelLoadException>().Where(e => e.Field == "label2id" && e.FilePath == config
            && e.Message.Contains("\"label2id\" maps \"pos\" to 2, outside the classes 0..1", StringComparison.Ordinal));
    }

    /// <summary>
    /// A graph ending in a softmax returns probabilities; the classifier would apply the softmax again, so
    /// softmax([5, 6]) = [0.2689, 0.7311] would be reported as [0.3837, 0.6163]. A run whose every row is a probability
    /// distribution is refused, naming the output and the fix; a multi-label head (a sigmoid per label) is not judged.
    /// </summary>
    [Fact]
    public void A_graph_returning_probabilities_is_refused_naming_the_output()
    {
        WriteFolder();
        File.WriteAllBytes(Path.Combine(folder, "model.onnx"), Model(
            [new Value("input_ids", Int64Type, "batch", "sequence")],
            [new Value("logits", FloatType, "batch", "sequence")],
            [new Node("Cast", ["input_ids"], ["scores"], ("to", FloatType)), new Node("Softmax", ["scores"], ["logits"], ("axis", 1))]));
        using (var model = OnnxTextClassifier.Load(folder))
        {
            var act = () => model.PredictLogits([new TokenSequence([5, 6]), new TokenSequence([8, 7])]);

            act.Should().Throw<ModelLoadException>().Where(e => e.Field == "logits"
                && e.Message.Contains("output 'logits' holds probabilities, not logits", StringComparison.Ordinal)
                && e.Message.Contains("[0.2689, 0.7311]", StringComparison.Ordinal)
                && e.Message.Contains("Export the logits, before the softmax", StringComparison.Ordinal));
        }

        File.WriteAllText(Path.Combine(folder, "config.json"),
            """{"model_type": "bert", "vocab_size": 9, "id2label": {"0": "a", "1": "b"}, "problem_type": "multi_label_classification"}""");
        using var multiLabel = OnnxTextClassifier.Load(folder);
        multiLabel.PredictLogits([new TokenSequence([5, 6])])[0].Should().Equal([0.2689414, 0.7310586], (a, b) => Math.Abs(a - b) <= 1e-6);
    }

    /// <summary>
    /// A half-precision graph ending in a softmax: its probabilities, rounded to float16, sum to 1 only within float16's
    /// rounding. softmax([5, 7]) = [0.1192029, 0.8807971] becomes [0.1192017, 0.8808594] (steps of 2^-14 and 2^-11),
    /// which sum to 1.0000610; softmax([8, 5]) = [0.9525741, 0.0474259] becomes [0.9526367, 0.0474243], sum 1.0000610:
    /// 6.1e-5 from 1, outside float32's 1e-5, so the probabilities passed for logits and were put through a softmax
    /// again. Within float16's tolerance (1e-3, its rounding of a sum of 1 being at most 2^-11) they are refused.
    /// </summary>
    [Fact]
    public void A_float16_graph_returning_probabilities_is_refused()
    {
        const int Float16Type = 10;
        WriteFolder();
        File.WriteAllBytes(Path.Combine(folder, "model.onnx"), Model(
            [new Value("input_ids", Int64Type, "batch", "sequence")],
            [new Value("logits", Float16Type, "batch", "sequence")],
            [
                new Node("Cast", ["input_ids"], ["scores"], ("to", FloatType)), new Node("Softmax", ["scores"], ["probabilities"], ("axis", 1)),
                new Node("Cast", ["probabilities"], ["logits"], ("to", Float16Type)),
            ]));
        using var model = OnnxTextClassifier.Load(folder);
        var act = () => model.PredictLogits([new TokenSequence([5, 7]), new TokenSequence([8, 5])]);

        act.Should().Throw<ModelLoadException>().Where(e => e.Field == "logits"
            && e.Message.Contains("output 'logits' holds probabilities, not logits", StringComparison.Ordinal)
            && e.Message.Contains("[0.1192, 0.8809]", StringComparison.Ordinal));
    }

    /// <summary>
    /// Logits that happen to form a distribution are not refused once the graph has shown logits: a graph computing
    /// 1/id gives [1, 0.3333] for ids [1, 3] (logits: the sum is 4/3), then [0.5, 0.5] for ids [2, 2], which a check on
    /// every run would take for probabilities, though it is the same graph. Before any logits, [0.5, 0.5] is refused.
    /// </summary>
    [Fact]
    public void Logits_that_look_like_probabilities_after_logits_were_seen_are_not_refused()
    {
        WriteFolder();
        File.WriteAllBytes(Path.Combine(folder, "model.onnx"), Model(
            [new Value("input_ids", Int64Type, "batch", "sequence")],
            [new Value("logits", FloatType, "batch", "sequence")],
            [new Node("Cast", ["input_ids"], ["ids"], ("to", FloatType)), new Node("Reciprocal", ["ids"], ["logits"])]));
        using (var fresh = OnnxTextClassifier.Load(folder))
        {
            FluentActions.Invoking(() => fresh.PredictLogits([new TokenSequence([2, 2])])).Should().Throw<ModelLoadException>();
        }

        using var model = OnnxTextClassifier.Load(folder);
        model.PredictLogits([new TokenSequence([1, 3])])[0].Should().Equal([1, 1 / 3.0], (a, b) => Math.Abs(a - b) <= 1e-6);
        model.PredictLogits([new TokenSequence([2, 2])])[0].Should().Equal([0.5, 0.5]);
    }

    /// <summary>
    /// Graphs a reviewer would try: extra outputs are ignored (only 'logits' is read, by name); int32 inputs are fed as
    /// int32; an input the classifier cannot feed, or a regression output of shape [batch] instead of [batch, 1] is a load error naming
    /// it (the last with the missing axis as the fix); NaN logits are a <see cref="NonFiniteValueException"/> at the call.
    /// </summary>
    [Fact]
    public void Odd_graphs_work_or_are_refused_naming_the_input_or_output()
    {
        const int Int32Type = 6;
        WriteFolder();
        void Write(IReadOnlyList<Value> inputs, IReadOnlyList<Value> outputs, IReadOnlyList<Node> nodes) =>
            File.WriteAllBytes(Path.Combine(folder, "model.onnx"), Model(inputs, outputs, nodes));
        var ids = new Value("input_ids", Int64Type, "batch", "sequence");

        // 'logits' second of two outputs: the first ('hidden' = -ids) is never read.
        Write([ids], [new Value("hidden", FloatType, "batch", "sequence"), new Value("logits", FloatType, "batch", "sequence")],
            [new Node("Cast", ["input_ids"], ["logits"], ("to", FloatType)), new Node("Neg", ["logits"], ["hidden"])]);
        using (var twoOutputs = OnnxTextClassifier.Load(folder))
        {
            twoOutputs.PredictLogits([new TokenSequence([5, 6])])[0].Should().Equal(5.0, 6.0);
        }

        // int32 ids and mask (some exports narrow them) are fed as int32: logits = ids + mask.
        Write([new Value("input_ids", Int32Type, "batch", "sequence"), new Value("attention_mask", Int32Type, "batch", "sequence")],
            [new Value("logits", FloatType, "batch", "sequence")],
            [new Node("Cast", ["input_ids"], ["idsf"], ("to", FloatType)), new Node("Cast", ["attention_mask"], ["maskf"], ("to", FloatType)),
                new Node("Add", ["idsf", "maskf"], ["logits"])]);
        using (var narrow = OnnxTextClassifier.Load(folder))
        {
            narrow.PredictLogits([new TokenSequence([5, 6])])[0].Should().Equal(6.0, 7.0);
        }


        Write([ids, new Value("position_ids", Int64Type, "batch", "sequence")], [new Value("logits", FloatType, "batch", "sequence")],
            [new Node("Add", ["input_ids", "position_ids"], ["sum"]), new Node("Cast", ["sum"], ["logits"], ("to", FloatType))]);
        FluentActions.Invoking(() => OnnxTextClassifier.Load(folder)).Should().Throw<ModelLoadException>()
            .Where(e => e.Field == "position_ids" && e.Message.Contains("input(s) position_ids that a text classifier is not given", StringComparison.Ordinal));

        Write([ids], [new Value("logits", FloatType, "batch")],
            [new Node("ArgMax", ["input_ids"], ["position"], ("axis", 1), ("keepdims", 0)), new Node("Cast", ["position"], ["logits"], ("to", FloatType))]);
        FluentActions.Invoking(() => OnnxTextClassifier.Load(folder)).Should().Throw<ModelLoadException>()
            .Where(e => e.Field == "logits" && e.Message.Contains("output 'logits' is float [batch]; it must be a floating-point tensor (float32, float64, float16 or bfloat16) [batch, labels]", StringComparison.Ordinal)
                && e.Message.Contains("must keep its labels axis: [batch, 1]", StringComparison.Ordinal));

        // [batch, sequence, labels]: a token-classification export (one row per token) is refused, naming the task to export
        // (ONNX Runtime's shape inference makes the declared 'labels' axis 1, the size Unsqueeze gives it).
        Write([ids], [new Value("logits", FloatType, "batch", "sequence", "labels")],
            [new Node("Cast", ["input_ids"], ["float"], ("to", FloatType)), new Node("Shape", ["float"], ["shape"]), new Node("Shape", ["shape"], ["axes"]),
                new Node("Unsqueeze", ["float", "axes"], ["logits"])]);
        FluentActions.Invoking(() => OnnxTextClassifier.Load(folder)).Should().Throw<ModelLoadException>()
            .Where(e => e.Field == "logits" && e.Message.Contains("output 'logits' is float [batch, sequence, 1]; it must be", StringComparison.Ordinal)
                && e.Message.Contains("scores every token, as a token-classification export (NER, tagging) does: export the model with --task text-classification", StringComparison.Ordinal));

        // 0 / 0 = NaN in every logit.
        Write([ids], [new Value("logits", FloatType, "batch", "sequence")],
            [new Node("Cast", ["input_ids"], ["float"], ("to", FloatType)), new Node("Sub", ["float", "float"], ["zero"]), new Node("Div", ["zero", "zero"], ["logits"])]);
        using var nan = OnnxTextClassifier.Load(folder);
        FluentActions.Invoking(() => nan.PredictLogits([new TokenSequence([5, 6])])).Should().Throw<NonFiniteValueException>()
            .Where(e => e.Source == NonFiniteSource.ModelOutput && e.Message.Contains("non-finite logits", StringComparison.Ordinal));
    }

    /// <summary>
    /// A half-precision export (optimum-cli export onnx --dtype fp16) returns float16 logits, and some exports bfloat16;
    /// they were refused at load as "not float32 or float64". They are read as they are: logits = the ids cast to the
    /// type, and 5, 6, 7, 8 are exact in both (8 significant bits suffice), so the comparison is exact.
    /// </summary>
    [Theory]
    [InlineData(10)]
    [InlineData(16)]
    public void Float16_and_bfloat16_logits_are_read_exactly(int halfType)
    {
        WriteFolder();
        File.WriteAllBytes(Path.Combine(folder, "model.onnx"), Model(
            [new Value("input_ids", Int64Type, "batch", "sequence"), new Value("attention_mask", Int64Type, "batch", "sequence")],
            [new Value("logits", halfType, "batch", "sequence")],
            [new Node("Cast", ["input_ids"], ["logits"], ("to", halfType))]));
        using var model = OnnxTextClassifier.Load(folder);

        var logits = model.PredictLogits([new TokenSequence([8, 7]), new TokenSequence([5, 6])]);
        logits[0].Should().Equal(8.0, 7.0);
        logits[1].Should().Equal(5.0, 6.0);
    }

    [Fact]
    public void A_file_that_is_not_an_onnx_model_is_a_load_error_naming_the_file()
    {
        WriteFolder();
        var path = Path.Combine(folder, "model.onnx");
        File.WriteAllText(path, "this is not a protobuf model");

        var act = () => OnnxTextClassifier.Load(folder);

        act.Should().Throw<ModelLoadException>().Where(e => e.FilePath == path
            && e.Message.Contains($"'{path}' is not an ONNX model", StringComparison.Ordinal));
    }

    [Fact]
    public void A_folder_without_model_onnx_is_a_load_error_naming_both_places_looked_at()
    {
        WriteFolder();

        var act = () => OnnxTextClassifier.Load(folder);

        act.Should().Throw<ModelLoadException>().Where(e => e.FilePath == folder
            && e.Message.Contains("no model.onnx and no onnx/model.onnx", StringComparison.Ordinal));

        // A folder of PyTorch weights is pointed at the loader that reads them.
        File.WriteAllBytes(Path.Combine(folder, "model.safetensors"), [0]);
        act.Should().Throw<ModelLoadException>().WithMessage("*no model.onnx and no onnx/model.onnx; it holds PyTorch weights (model.safetensors), which ClassifierLoader.Load reads*");
    }

    [Fact]
    public void The_optimum_subfolder_onnx_model_onnx_is_found()
    {
        WriteFolder();
        WriteCastGraph();
        Directory.CreateDirectory(Path.Combine(folder, "onnx"));
        File.Move(Path.Combine(folder, "model.onnx"), Path.Combine(folder, "onnx", "model.onnx"));

        using var model = OnnxTextClassifier.Load(folder);

        model.ModelPath.Should().Be(Path.Combine(folder, "onnx", "model.onnx"));
    }

    [Fact]
    public void A_graph_without_input_ids_is_a_load_error_naming_the_graphs_inputs_and_outputs()
    {
        WriteFolder();
        WriteCastGraph(idsName: "x");

        var act = () => OnnxTextClassifier.Load(folder);

        act.Should().Throw<ModelLoadException>().Where(e => e.Field == "input_ids"
            && e.Message.Contains("has no input 'input_ids'", StringComparison.Ordinal)
            && e.Message.Contains("x int64 [batch, sequence]", StringComparison.Ordinal)
            && e.Message.Contains("logits float [batch, sequence]", StringComparison.Ordinal)
            && e.Message.Contains("optimum-cli export onnx", StringComparison.Ordinal));
    }

    [Fact]
    public void A_graph_whose_logits_are_not_named_logits_is_a_load_error()
    {
        WriteFolder();
        File.WriteAllBytes(Path.Combine(folder, "model.onnx"), Model(
            [new Value("input_ids", Int64Type, "batch", "sequence")],
            [new Value("scores", FloatType, "batch", "sequence")],
            [new Node("Cast", ["input_ids"], ["scores"], ("to", FloatType))]));

        var act = () => OnnxTextClassifier.Load(folder);

        act.Should().Throw<ModelLoadException>().Where(e => e.Field == "logits"
            && e.Message.Contains("has no output 'logits'", StringComparison.Ordinal) && e.Message.Contains("scores float", StringComparison.Ordinal));
    }

    [Fact]
    public void A_float_input_ids_is_a_load_error_naming_its_type()
    {
        WriteFolder();
        File.WriteAllBytes(Path.Combine(folder, "model.onnx"), Model(
            [new Value("input_ids", FloatType, "batch", "sequence")],
            [new Value("logits", FloatType, "batch", "sequence")],
            [new Node("Identity", ["input_ids"], ["logits"])]));

        var act = () => OnnxTextClassifier.Load(folder);

        act.Should().Throw<ModelLoadException>().WithMessage("*input 'input_ids' is float [batch, sequence]; it must be an int64 (or int32) tensor*");
    }

    [Fact]
    public void A_graph_without_attention_mask_is_never_given_padding()
    {
        WriteFolder();
        WriteCastGraph(withMask: false);
        using var model = OnnxTextClassifier.Load(folder);

        // Different lengths would need padding; without a mask each length runs on its own, so the widths differ.
        var act = () => model.PredictLogits([new TokenSequence([5, 6]), new TokenSequence([7])]);

        act.Should().Throw<ModelLoadException>().WithMessage("*returns 1 logits per text*");
        model.PredictLogits([new TokenSequence([5, 6]), new TokenSequence([8, 7])]).Should().BeEquivalentTo(new[] { new[] { 5.0, 6.0 }, new[] { 8.0, 7.0 } }, o => o.WithStrictOrdering());
    }

    /// <summary>
    /// An export without dynamic axes fixes the sequence length (or the batch size) in the graph, and ONNX Runtime then
    /// refuses every other shape when it runs; that is a load error naming the input, its shape and the fix. A batch
    /// fixed at 1 works when every run holds one sequence.
    /// </summary>
    [Fact]
    public void A_graph_with_a_fixed_sequence_length_or_batch_size_is_a_load_error_naming_the_fix()
    {
        // Two ids give the config's two logits, so the length alone is what is wrong with this graph.
        WriteFolder();
        WriteCastGraph(sequence: "2");
        var fixedLength = () => OnnxTextClassifier.Load(folder);
        fixedLength.Should().Throw<ModelLoadException>().Where(e => e.Field == "input_ids"
            && e.Message.Contains("input 'input_ids' is int64 [batch, 2]", StringComparison.Ordinal)
            && e.Message.Contains("fixed sequence length of 2", StringComparison.Ordinal)
            && e.Message.Contains("dynamic_axes", StringComparison.Ordinal));

        WriteCastGraph(batch: "2");
        var fixedBatch = () => OnnxTextClassifier.Load(folder);
        fixedBatch.Should().Throw<ModelLoadException>().Where(e => e.Field == "input_ids"
            && e.Message.Contains("fixed batch size of 2", StringComparison.Ordinal) && e.Message.Contains("dynamic_axes", StringComparison.Ordinal));

        WriteCastGraph(batch: "1");
        var batchOfOne = () => OnnxTextClassifier.Load(folder);
        batchOfOne.Should().Throw<ModelLoadException>().WithMessage("*fixed batch size of 1*BatchSize = 1*");
        using var model = OnnxTextClassifier.Load(folder, new OnnxSessionSettings { BatchSize = 1 });
        model.PredictLogits([new TokenSequence([5, 6]), new TokenSequence([8, 7])]).Should().BeEquivalentTo(
            new[] { new[] { 5.0, 6.0 }, new[] { 8.0, 7.0 } }, o => o.WithStrictOrdering());
    }

    [Theory]
    [InlineData("IntraOpThreads")]
    [InlineData("InterOpThreads")]
    [InlineData("BatchSize")]
    [InlineData("GraphOptimization")]
    public void Impossible_session_settings_are_refused_naming_the_setting(string setting)
    {
        Action act = setting switch
        {
            "IntraOpThreads" => () => _ = new OnnxSessionSettings { IntraOpThreads = -1 },
            "InterOpThreads" => () => _ = new OnnxSessionSettings { InterOpThreads = -2 },
            "BatchSize" => () => _ = new OnnxSessionSettings { BatchSize = 0 },
            _ => () => _ = new OnnxSessionSettings { GraphOptimization = (OnnxGraphOptimization)7 },
        };

        act.Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == setting && e.Message.StartsWith(setting, StringComparison.Ordinal));
    }

    [Fact]
    public void Session_settings_reach_a_working_session()
    {
        WriteFolder();
        WriteCastGraph();
        var settings = new OnnxSessionSettings { IntraOpThreads = 1, InterOpThreads = 1, GraphOptimization = OnnxGraphOptimization.Disabled, BatchSize = 2 };

        using var model = OnnxTextClassifier.Load(folder, settings);

        model.Settings.Should().Be(settings);
        model.PredictLogits([new TokenSequence([6, 7])])[0].Should().Equal(6.0, 7.0);
    }

    /// <summary>
    /// One loaded model serves many threads, and one of them may dispose it while the others run it. ONNX Runtime frees
    /// the session at once, under the runs in flight; the classifier closes it only when the last running call returns.
    /// Three threads call continuously a graph that takes a while (logits = ids + 0 · (ids·idsᵀ)²·ids over a batch of
    /// 600, about 0.4 GFLOP a run), so runs are in flight when Dispose comes: each call either returns the exact logits
    /// (ids + 0: the products stay below 1e10, finite in float32, so the zero is exact) or, started after Dispose, throws
    /// <see cref="ObjectDisposedException"/>. A second Dispose does nothing.
    /// </summary>
    [Fact]
    public void Dispose_while_other_threads_run_the_model_lets_their_calls_finish()
    {
        WriteFolder();
        var ids = new Value("input_ids", Int64Type, "batch", "sequence");
        File.WriteAllBytes(Path.Combine(folder, "model.onnx"), Model(
            [ids, new Value("attention_mask", Int64Type, "batch", "sequence")],
            [new Value("logits", FloatType, "batch", "sequence")],
            [
                new Node("Cast", ["input_ids"], ["x"], ("to", FloatType)), new Node("Transpose", ["x"], ["xt"]),
                new Node("MatMul", ["x", "xt"], ["gram"]), new Node("MatMul", ["gram", "gram"], ["square"]),
                new Node("MatMul", ["square", "x"], ["heavy"]), new Node("Sub", ["heavy", "heavy"], ["zero"]),
                new Node("Add", ["x", "zero"], ["logits"]),
            ]));
        const int Rows = 600;
        var model = OnnxTextClassifier.Load(folder, new OnnxSessionSettings { BatchSize = Rows, IntraOpThreads = 1 });
        var sequences = Enumerable.Range(0, Rows).Select(i => new TokenSequence(i % 2 == 0 ? [5, 6] : [8, 7])).ToArray();

        var finished = 0;
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var started = new CountdownEvent(3);
        var threads = Enumerable.Range(0, 3).Select(_ => new Thread(() =>
        {
            var signalled = false;
            while (true)
            {
                try
                {
                    if (!signalled)
                    {
                        signalled = true;
                        started.Signal();
                    }

                    var logits = model.PredictLogits(sequences);
                    for (var i = 0; i < Rows; i++)
                    {
                        if (!logits[i].SequenceEqual(i % 2 == 0 ? [5.0, 6.0] : [8.0, 7.0]))
                        {
                            failures.Enqueue($"row {i}: [{string.Join(", ", logits[i])}]");
                            return;
                        }
                    }

                    Interlocked.Increment(ref finished);
                }
                catch (ObjectDisposedException)
                {
                    return;
                }
                catch (Exception e)
                {
                    failures.Enqueue(e.ToString());
                    return;
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        started.Wait();
        Thread.Sleep(300);
        model.Dispose();
        threads.ForEach(t => t.Join());

        failures.Should().BeEmpty();
        model.Dispose();
        FluentActions.Invoking(() => model.PredictLogits([new TokenSequence([6, 7])])).Should().Throw<ObjectDisposedException>();
    }

    /// <summary>
    /// Two classes may share a name in id2label (Hugging Face allows it); the ONNX loader keeps them, as every loader
    /// does (a target named by the shared label is refused when it is resolved).
    /// </summary>
    [Fact]
    public void Repeated_label_names_in_id2label_are_kept()
    {
        File.WriteAllLines(Path.Combine(folder, "vocab.txt"), Vocabulary);
        File.WriteAllText(Path.Combine(folder, "config.json"),
            """{"model_type": "bert", "vocab_size": 9, "max_position_embeddings": 6, "id2label": {"0": "same", "1": "same"}}""");
        WriteCastGraph();
        using var model = OnnxTextClassifier.Load(folder);
        model.Labels.Should().Equal("same", "same");
    }

    /// <summary>
    /// A class without a name (empty or blank in id2label) is refused, as every other loader refuses it, naming the
    /// file, the class and Hugging Face's default name.
    /// </summary>
    [Theory]
    [InlineData("\"\"", "empty")]
    [InlineData("\" \"", "blank (U+0020)")]
    public void An_unnamed_class_in_id2label_is_refused(string name, string described)
    {
        File.WriteAllLines(Path.Combine(folder, "vocab.txt"), Vocabulary);
        var config = Path.Combine(folder, "config.json");
        File.WriteAllText(config, $$$"""{"model_type": "bert", "vocab_size": 9, "max_position_embeddings": 6, "id2label": {"0": "neg", "1": {{{name}}}}}""");
        WriteCastGraph();
        FluentActions.Invoking(() => OnnxTextClassifier.Load(folder)).Should().Throw<ModelLoadException>()
            .Where(e => e.Field == "id2label" && e.FilePath == config)
            .WithMessage($"*\"id2label\" leaves class 1 without a name (its name is {described})*\"LABEL_1\"*");
    }

    [Fact]
    public void A_disposed_classifier_says_so()
    {
        WriteFolder();
        WriteCastGraph();
        var model = OnnxTextClassifier.Load(folder);
        model.Dispose();

        var act = () => model.PredictLogits([new TokenSequence([6, 7])]);

        act.Should().Throw<ObjectDisposedException>();
    }
}
