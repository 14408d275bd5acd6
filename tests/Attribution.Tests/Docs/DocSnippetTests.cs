using System.Text.RegularExpressions;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Salience;
using Attribution.Tests.Cli;
using Attribution.Tests.Models;
using Attribution.Tests.Onnx;
using Attribution.Tests.Models.Small;

namespace Attribution.Tests.Docs;

/// <summary>
/// Keeps the C# blocks of README.md and docs/*.md true to the API. Each block has a compiled copy in
/// <c>Docs/Snippets/*.cs</c> (between <c>// doc-snippet: FILE#N</c> and <c>// end doc-snippet</c> markers; a block
/// split over several marked parts, e.g. its usings at the top of a namespace and its statements in a method, is their
/// concatenation), so an API change breaks the build; these tests check that each copy is the markdown's text, line
/// for line, and run the copies that need no files of the reader's on small random models.
/// </summary>
/// <remarks>
/// A block is named <c>FILE#N</c>, N counting the file's csharp blocks from 1, or <c>FILE#NAME</c> when the line
/// before its fence is <c>&lt;!-- snippet: NAME --&gt;</c>. Indentation common to a part and trailing whitespace are
/// ignored; every other character counts.
/// </remarks>
public sealed class DocSnippetTests
{
    private const string BeginMarker = "// doc-snippet: ";
    private const string EndMarker = "// end doc-snippet";

    private static readonly Regex CsharpFence = new(@"^\s*```\s*(csharp|cs|c#)\s*$", RegexOptions.IgnoreCase);
    private static readonly Regex SnippetName = new(@"^\s*<!--\s*snippet:\s*(?<name>[\w.-]+)\s*-->\s*$");

    [Fact]
    public void Every_csharp_block_of_the_docs_is_its_compiled_copy_line_for_line()
    {
        var copies = CompiledCopies();
        var problems = new List<string>();
        foreach (var block in MarkdownBlocks())
        {
            if (!copies.TryGetValue(block.Key, out var copy))
            {
                problems.Add($"{block.File} block {block.Number} ({block.Key}): no compiled copy; add it between '{BeginMarker}{block.Key}' and '{EndMarker}' in tests/Attribution.Tests/Docs/Snippets");
                continue;
            }

            var difference = FirstDifference(block.Lines, copy);
            if (difference is not null)
            {
                problems.Add($"{block.File} block {block.Number} ({block.Key}) differs from its compiled copy at {difference}");
            }
        }

        problems.Should().BeEmpty("each csharp block must be what the tests compile (fix the doc or the copy)");
    }

    [Fact]
    public void Every_compiled_copy_belongs_to_a_block_of_the_docs()
    {
        var keys = MarkdownBlocks().Select(b => b.Key).ToHashSet();
        CompiledCopies().Keys.Where(k => !keys.Contains(k)).Should().BeEmpty("a copy without its block checks nothing");
    }

    [Fact]
    public void The_block_check_names_the_first_differing_line()
    {
        FirstDifference(["a", "b", "c"], ["a", "b", "c"]).Should().BeNull();
        FirstDifference(["a", "b", "c"], ["a", "x", "c"]).Should().Be("line 2: the doc has 'b', the copy 'x'");
        FirstDifference(["a", "b"], ["a", "b", "c"]).Should().Be("line 3: the doc has (end of block), the copy 'c'");
        FirstDifference(["a", "b", "c"], ["a", "b"]).Should().Be("line 3: the doc has 'c', the copy (end of block)");
        Normalize(["    x", "", "      y  "]).Should().Equal("x", "", "  y");
    }

    /// <summary>
    /// The README and getting-started blocks printed scores with <c>+0.000;-0.000</c>, which .NET turns into
    /// <c>-+0.000</c> for a negative score that rounds to zero (LRP on a user model printed <c>tedious(-+0.000)</c>); a
    /// section format in a block must print such a score (and -0.0) without a doubled sign.
    /// </summary>
    [Fact]
    public void Score_formats_in_the_blocks_print_tiny_negative_scores_with_one_sign()
    {
        var formatItem = new Regex(@"\{[^{}:]+:(?<format>[^{}]*;[^{}]*)\}");
        var formats = MarkdownBlocks()
            .SelectMany(b => b.Lines.SelectMany(l => formatItem.Matches(l)).Select(m => (b.Key, Format: m.Groups["format"].Value)))
            .ToList();
        formats.Should().NotBeEmpty("the README and getting-started blocks format their scores");
        foreach (var (key, format) in formats)
        {
            foreach (var tiny in new[] { -1e-9, -0.0 })
            {
                tiny.ToString(format, System.Globalization.CultureInfo.InvariantCulture).Should()
                    .NotContain("-+", $"{key} formats scores with '{format}'").And.NotStartWith("-0", $"{key} formats scores with '{format}'");
            }
        }
    }

    [Fact]
    public void The_readme_block_explains_with_adaptive_integrated_gradients()
    {
        var root = SmallModelKit.TempRoot("doc-readme-");
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
        var explanation = Snippets.Readme.UsingTheLibrary.Explain(model);
        explanation.Words.Select(w => w.Text).Should().Equal("a", "sometimes", "tedious", "film");
        explanation.ConvergenceDelta.Should().NotBeNull("the block prints the delta");
        explanation.Setting("steps-used").Should().NotBeNull("the block prints the steps used");
    }

    [Fact]
    public void The_getting_started_blocks_run_as_their_prose_says()
    {
        var root = SmallModelKit.TempRoot("doc-getting-started-");
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);

        var e = Snippets.GettingStarted.ExplainASentence.Explain(model);
        // "words normalized so |scores| sum to 1": a sum of four doubles, exact to rounding.
        e.Words.Sum(w => Math.Abs(w.Score)).Should().BeApproximately(1.0, 1e-12);

        string[] texts = ["dull", "a sometimes tedious film"];
        var results = Snippets.GettingStarted.ExplainASentence.ExplainSeveral(model, texts);
        results.Select(r => r.Count).Should().Equal(2, 2, 2);
        results.Select(r => r[0].Method).Should().Equal(new Gradient().Name, new GradientXInput().Name, new IntegratedGradients().Name);

        var blackBox = Snippets.GettingStarted.ExplainASentence.WrapBlackBox(new LengthService());
        var lime = new Lime { Samples = 64 }.Explain(blackBox, "a sometimes tedious film");
        lime.Tokens.Should().HaveCount(4);
    }

    [Fact]
    public void The_own_method_blocks_run_with_the_method_they_define()
    {
        var root = SmallModelKit.TempRoot("doc-own-method-");
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
        var (results, card) = Snippets.OwnMethod.Use.UseIt.Run(model, ["dull", "a sometimes tedious film"]);
        results.Select(r => r[0].Method).Should().Equal("gradient-x-input", "embedding-taylor", "smoothgrad");
        card.Should().NotBeNull();
    }

    [Fact]
    public void The_own_model_blocks_run_on_the_model_they_define()
    {
        var root = SmallModelKit.TempRoot("doc-own-model-");
        var (ig, lime, lrp) = Snippets.OwnModel.WrapYourModel.Explain(SmallModelKit.Tokenizer(root));
        foreach (var e in new[] { ig, lime, lrp })
        {
            e.Words.Select(w => w.Text).Should().Equal("a", "sometimes", "tedious", "film");
        }

        using var small = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
        var (scriptIg, scriptLime) = Snippets.OwnModel.TorchScript.LoadTorchScript.Explain(small);
        scriptIg.Words.Should().HaveCount(4);
        scriptLime.Words.Should().HaveCount(4);
    }

    [Fact]
    public void The_own_model_onnx_block_runs_on_an_onnx_classifier()
    {
        // A hand-written graph (no exporter, no shared data): logits = [argmax position, argmin position] of the ids.
        var folder = SmallModelKit.TempRoot("doc-onnx-");
        File.WriteAllLines(Path.Combine(folder, "vocab.txt"), ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "sometimes", "tedious", "film"]);
        File.WriteAllText(Path.Combine(folder, "config.json"),
            """{"model_type": "bert", "vocab_size": 9, "max_position_embeddings": 16, "id2label": {"0": "negative", "1": "positive"}}""");
        File.WriteAllBytes(Path.Combine(folder, "model.onnx"), OnnxGraphWriter.Model(
            [new("input_ids", OnnxGraphWriter.Int64Type, "batch", "sequence"), new("attention_mask", OnnxGraphWriter.Int64Type, "batch", "sequence")],
            [new("logits", OnnxGraphWriter.FloatType, "batch", "2")],
            [
                new("ArgMax", ["input_ids"], ["max"], ("axis", 1), ("keepdims", 1)), new("ArgMin", ["input_ids"], ["min"], ("axis", 1), ("keepdims", 1)),
                new("Cast", ["max"], ["max_float"], ("to", OnnxGraphWriter.FloatType)), new("Cast", ["min"], ["min_float"], ("to", OnnxGraphWriter.FloatType)),
                new("Concat", ["max_float", "min_float"], ["logits"], ("axis", 1)),
            ]));
        using var model = Attribution.Onnx.OnnxTextClassifier.Load(folder);

        var (lime, predictions) = Snippets.OwnModel.Onnx.LoadOnnx.Explain(model);

        // [CLS] a sometimes tedious film [SEP] = 2 5 6 7 8 3: the largest id at position 4, the smallest at 0.
        predictions.Single().Logits.Should().Equal(4.0, 0.0);
        lime.Words.Select(w => w.Text).Should().Equal("a", "sometimes", "tedious", "film");
    }

    [Fact]
    public void The_json_block_writes_documents_that_read_back()
    {
        var root = SmallModelKit.TempRoot("doc-json-");
        using var model = SmallModelKit.Random(root, SmallClassifierConfig.MlpType);
        string[] texts = ["dull", "a sometimes tedious film"];
        var attributor = new GradientXInput();
        var results = attributor.Explain(model, texts);
        using var stream = new MemoryStream();

        var json = Snippets.JsonFormat.Writing.Write(stream, model, attributor, results, texts, [new Gradient(), attributor], new ExplainOptions());

        ExplanationJson.Parse(json).Method.Should().Be(attributor.Name);
        stream.Length.Should().BePositive();

        // The block's first document ("the document names it once"): its settings are the results' (the method's and
        // the call's score), so no result repeats them. With attributor.Settings, which lack the call's score, every
        // result carried its own settings.
        var reader = new System.Text.Json.Utf8JsonReader(stream.ToArray(), new System.Text.Json.JsonReaderOptions { AllowMultipleValues = true });
        using var first = System.Text.Json.JsonDocument.ParseValue(ref reader);
        first.RootElement.GetProperty("settings").EnumerateObject().Select(p => p.Name).Should().Contain("score");
        first.RootElement.GetProperty("results").EnumerateArray().Select(r => r.TryGetProperty("settings", out var own)).Should().OnlyContain(has => !has);
    }

    /// <summary>
    /// own-model.md quotes, wrapped, the error of a parent whose forward calls <c>embedding.forward(x)</c>; the library's
    /// message for its MeanModel written that way is the quote with its line breaks read as spaces.
    /// </summary>
    [Fact]
    public void The_error_own_model_md_quotes_for_forward_instead_of_call_is_the_librarys()
    {
        var lines = File.ReadAllLines(CliHarness.RepositoryFile("docs/own-model.md"));
        var intro = Array.FindIndex(lines, l => l.Contains("attributions at that layer fail with:", StringComparison.Ordinal));
        intro.Should().BePositive("own-model.md introduces the quoted error with 'attributions at that layer fail with:'");
        var start = Array.IndexOf(lines, "```", intro + 1);
        lines[(intro + 1)..start].Should().OnlyContain(l => l.Length == 0, "the quote is the block right after that line");
        var end = Array.IndexOf(lines, "```", start + 1);
        var quoted = string.Join(" ", lines[(start + 1)..end]);

        var root = SmallModelKit.TempRoot("doc-forward-");
        var tokenizer = SmallModelKit.Tokenizer(root);
        using var module = new MaskedMeanModel(tokenizer.VocabularySize, dim: 8, hidden: 4, labels: 2, callsForward: true);
        using var model = TextClassifier.FromTorchSharp(module, tokenizer, "embedding", ["negative", "positive"], name: "MeanModel");
        var act = () => new IntegratedGradients().Explain(model, "a sometimes tedious film");
        act.Should().Throw<InvalidOperationException>().Which.Message.Should().Be(quoted);
    }

    private sealed class LengthService : Snippets.GettingStarted.IScoringService
    {
        public double[][] Score(IReadOnlyList<string> texts) =>
            texts.Select(t => { var p = 1.0 / (1 + t.Length); return new[] { 1 - p, p }; }).ToArray();
    }

    private sealed record Block(string File, int Number, string Key, IReadOnlyList<string> Lines);

    /// <summary>The csharp blocks of README.md and docs/*.md, in order.</summary>
    private static List<Block> MarkdownBlocks()
    {
        var root = Path.GetDirectoryName(CliHarness.RepositoryFile("Attribution.sln"))!;
        var files = new[] { Path.Combine(root, "README.md") }
            .Concat(Directory.GetFiles(Path.Combine(root, "docs"), "*.md").Order(StringComparer.Ordinal));
        var blocks = new List<Block>();
        foreach (var path in files)
        {
            var relative = Path.GetRelativePath(root, path).Replace('\\', '/');
            var lines = File.ReadAllText(path).ReplaceLineEndings("\n").Split('\n');
            var number = 0;
            for (var i = 0; i < lines.Length; i++)
            {
                if (!CsharpFence.IsMatch(lines[i]))
                {
                    continue;
                }

                number++;
                var name = i > 0 && SnippetName.Match(lines[i - 1]) is { Success: true } m ? m.Groups["name"].Value : number.ToString(System.Globalization.CultureInfo.InvariantCulture);
                var end = Array.FindIndex(lines, i + 1, l => l.Trim() == "```");
                end.Should().BePositive($"{relative} block {number} (line {i + 1}) needs its closing fence");
                blocks.Add(new Block(relative, number, $"{relative}#{name}", Normalize(lines[(i + 1)..end])));
                i = end;
            }
        }

        return blocks;
    }

    /// <summary>The compiled copies by key: the concatenation of their marked parts, each part dedented.</summary>
    private static Dictionary<string, List<string>> CompiledCopies()
    {
        var folder = Path.Combine(Path.GetDirectoryName(CliHarness.RepositoryFile("Attribution.sln"))!, "tests", "Attribution.Tests", "Docs", "Snippets");
        var copies = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var path in Directory.GetFiles(folder, "*.cs").Order(StringComparer.Ordinal))
        {
            var lines = File.ReadAllText(path).ReplaceLineEndings("\n").Split('\n');
            for (var i = 0; i < lines.Length; i++)
            {
                var line = lines[i].Trim();
                if (!line.StartsWith(BeginMarker, StringComparison.Ordinal))
                {
                    line.Should().NotBe(EndMarker, $"{Path.GetFileName(path)} line {i + 1} ends a part it never began");
                    continue;
                }

                var key = line[BeginMarker.Length..].Trim();
                var end = Array.FindIndex(lines, i + 1, l => l.Trim() == EndMarker || l.Trim().StartsWith(BeginMarker, StringComparison.Ordinal));
                (end > 0 && lines[end].Trim() == EndMarker).Should().BeTrue($"{Path.GetFileName(path)} line {i + 1} ('{key}') needs '{EndMarker}' before any other part");
                if (!copies.TryGetValue(key, out var copy))
                {
                    copies[key] = copy = [];
                }

                copy.AddRange(Normalize(lines[(i + 1)..end]));
                i = end;
            }
        }

        return copies;
    }

    /// <summary>Lines without the indentation they all share (blank lines aside) and without trailing whitespace.</summary>
    private static List<string> Normalize(IReadOnlyList<string> lines)
    {
        var trimmed = lines.Select(l => l.TrimEnd()).ToList();
        var indent = trimmed.Where(l => l.Length > 0).Select(l => l.Length - l.TrimStart().Length).DefaultIfEmpty(0).Min();
        return trimmed.Select(l => l.Length == 0 ? l : l[indent..]).ToList();
    }

    /// <summary>Where two blocks first differ (1-based line, both lines), or null when they are equal.</summary>
    private static string? FirstDifference(IReadOnlyList<string> doc, IReadOnlyList<string> copy)
    {
        for (var i = 0; i < Math.Max(doc.Count, copy.Count); i++)
        {
            var expected = i < doc.Count ? $"'{doc[i]}'" : "(end of block)";
            var actual = i < copy.Count ? $"'{copy[i]}'" : "(end of block)";
            if (expected != actual)
            {
                return $"line {i + 1}: the doc has {expected}, the copy {actual}";
            }
        }

        return null;
    }
}
