using System.Text;
using System.Text.Json.Nodes;
using Attribution.Cli;
using Attribution.Engine;
using Attribution.Models;
using Attribution.Tests.Cli;
using Attribution.Tests.Models.Small;
using Xunit.Abstractions;

namespace Attribution.Tests.Reliability;

/// <summary>
/// A corpus of bad (and odd but valid) inputs through the command line, in process: texts, option values, input
/// files, damaged model folders and weights, output paths. Each case states the exit code and what the message must
/// name (the option, the path, the config field); a run that throws, prints a stack trace without --verbose, or names
/// the wrong thing fails the case. All cases run in one test so the model folders are built once; failures are listed
/// together.
/// </summary>
public sealed class CliBadInputCorpusTests(ITestOutputHelper output) : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("attribution-bad-inputs-").FullName;

    public void Dispose()
    {
        Directory.Delete(root, recursive: true);
    }

    /// <summary>One run: arguments, the exit code expected, and fragments the message (stderr) must contain.</summary>
    private sealed record Case(string Name, string[] Args, int Code, params string[] Names);

    [Fact]
    public void Every_case_exits_with_its_code_and_names_its_problem()
    {
        var cases = Cases().ToList();
        cases.Count.Should().BeGreaterThanOrEqualTo(200, "the corpus is meant to be broad");
        var failures = new List<string>();
        foreach (var c in cases)
        {
            CliResult run;
            try
            {
                run = CliHarness.Run(c.Args);
            }
            catch (Exception e)
            {
                failures.Add($"{c.Name}: threw {e.GetType().Name}: {e.Message}");
                continue;
            }

            var problems = new List<string>();
            if (run.Code != c.Code)
            {
                problems.Add($"exit {run.Code}, expected {c.Code}");
            }

            foreach (var name in c.Names)
            {
                if (!run.Error.Contains(name, StringComparison.Ordinal))
                {
                    problems.Add($"message does not name '{name}'");
                }
            }

            if (c.Code != 0 && !run.Error.Contains("error:", StringComparison.Ordinal))
            {
                problems.Add("no 'error:' line");
            }

            if (run.Error.Contains("   at ", StringComparison.Ordinal))
            {
                problems.Add("stack trace without --verbose");
            }

            if (c.Code != 0 && run.Out.Length > 0)
            {
                problems.Add("wrote results although it failed");
            }

            if (problems.Count > 0)
            {
                failures.Add($"{c.Name}: {string.Join("; ", problems)}\n    args: {string.Join(' ', c.Args.Select(a => a.Length > 60 ? a[..60] + "…" : a))}\n    stderr: {run.Error.Trim().Split('\n')[0]}");
            }
        }

        output.WriteLine($"{cases.Count} cases, {failures.Count} failed");
        foreach (var failure in failures)
        {
            output.WriteLine(failure);
        }

        failures.Should().BeEmpty($"every case must exit as stated and name its problem ({failures.Count} of {cases.Count} did not):\n{string.Join("\n", failures)}");
    }

    private IEnumerable<Case> Cases()
    {
        var model = SmallModelKit.SaveRandom(root, Attribution.Models.SmallClassifierConfig.CnnType, name: "cnn");
        string[] Explain(params string[] extra) => ["explain", "--model", model, "--text", "a sometimes tedious film", .. extra];

        // ---- Texts: odd but valid texts are explained (exit 0); empty ones are refused naming --text.
        foreach (var (name, text) in new[]
                 {
                     ("emoji", "a 😀 film 🎬"), ("rtl", "فيلم ممل a film"), ("combining", "a cafe\u0301 film"), ("nul", "a\0film"),
                     ("control", "a\u0007\u001bfilm"), ("punctuation only", "?!..."), ("special tokens", "[CLS] [SEP] [MASK]"),
                     ("unknown words", "zxqv wxyz"), ("tabs", "a\tfilm\tis"), ("newlines", "a\nfilm"), ("zero width", "a\u200bfilm"),
                     ("surrogate pair", "𝔞𝔟𝔠 film"), ("long word", new string('a', 16000)),
                     ("many words", string.Join(' ', Enumerable.Repeat("film", 5000))), ("dashes", "- a - film -"),
                 })
        {
            yield return new Case($"text {name}", ["predict", "--model", model, "--text", text, "--truncate"], 0);
            yield return new Case($"text {name}, gradient", ["explain", "--model", model, "--text", text, "--truncate", "--method", "gradient-x-input", "--format", "json"], 0);
        }

        yield return new Case("empty text", ["explain", "--model", model, "--text", "", "--method", "gradient"], 2, "--text");
        yield return new Case("whitespace text", ["explain", "--model", model, "--text", "  \t ", "--method", "gradient"], 2, "--text");
        yield return new Case("too long without --truncate", ["explain", "--model", model, "--text", string.Join(' ', Enumerable.Repeat("film", 100)), "--method", "gradient"], 2, "--truncate");
        yield return new Case("occlusion window wider than the text", Explain("--method", "occlusion", "--window", "9"), 2, "--window", "4 feature");
        yield return new Case("shapley on a long text", ["explain", "--model", model, "--text", string.Join(' ', Enumerable.Repeat("film", 14)), "--method", "shapley"], 2, "shapley-sampling");
        yield return new Case("no text", ["explain", "--model", model, "--method", "gradient"], 2, "--text");
        yield return new Case("lone surrogate", ["explain", "--model", model, "--text", "a \ud800 film", "--method", "gradient"], 2, "--text", "surrogate");
        yield return new Case("lone surrogate, predict", ["predict", "--model", model, "--text", "a \udfff"], 2, "--text", "surrogate");
        yield return new Case("text that is an option name", ["predict", "--model", model, "--text", "--method"], 2, "--method");

        // ---- Numeric options: each bad value is refused naming the option.
        (string Option, string Method, string[] Bad)[] numeric =
        [
            ("--steps", "integrated-gradients", ["0", "-1", "abc", "1.5", "99999999999", "10001", "1000000000"]),
            ("--steps", "conductance", ["0", "1000000000"]),
            ("--steps", "neuron-conductance", ["-5", "1000000000"]),
            ("--internal-batch-size", "integrated-gradients", ["0", "-3", "4097", "x"]),
            ("--samples", "lime", ["0", "-1", "1000000000", "100001", "NaN"]),
            ("--samples", "kernel-shap", ["0", "1000000000"]),
            ("--samples", "shapley-sampling", ["0", "1000000000"]),
            ("--samples", "gradient-shap", ["0", "1000000000"]),
            ("--noise-samples", "smoothgrad", ["0", "-2", "10001", "1000000000"]),
            ("--noise-stdev", "smoothgrad", ["-1", "NaN", "Infinity", "abc"]),
            ("--noise-stdev", "gradient-shap", ["-0.5", "1e400"]),
            ("--kernel-width", "lime", ["0", "-1", "NaN", "inf"]),
            ("--epsilon", "lrp-epsilon", ["-1", "NaN", "1e999"]),
            ("--seed", "lime", ["-1", "1.5", "abc", "99999999999999999999999"]),
            ("--window", "occlusion", ["0", "-1", "two"]),
            ("--stride", "occlusion", ["0", "-4", "2"]), // 2: beyond the default window of 1, features between windows would get no score
            ("--max-features", "shapley", ["0", "21", "1000000"]),
            ("--batch-size", "gradient", ["0", "-1", "1025", "1000000000"]),
        ];
        foreach (var (option, method, bad) in numeric)
        {
            foreach (var value in bad)
            {
                var extra = method == "neuron-conductance" ? new[] { "--neuron", "0,1" } : [];
                yield return new Case($"{method} {option} {value}", Explain(["--method", method, option, value, .. extra]), 2, option);
            }
        }

        // ---- Enumerated options: unknown values.
        foreach (var (option, method, value) in new[]
                 {
                     ("--method", "gradient", "shap"), ("--integration", "integrated-gradients", "simpson"), ("--baseline", "integrated-gradients", "random"),
                     ("--score", "gradient", "softmax"), ("--reduce", "gradient", "max"), ("--aggregate", "gradient", "median"),
                     ("--normalize", "gradient", "zscore"), ("--granularity", "gradient", "chars"), ("--format", "gradient", "pdf"),
                     ("--lime-preset", "lime", "shap"), ("--attention", "lrp-epsilon", "full"), ("--inner", "smoothgrad", "lime"),
                     ("--features", "occlusion", "letters"), ("--perturbation", "occlusion", "blank"), ("--baseline", "gradient-shap", "noise"),
                 })
        {
            yield return new Case($"{option} {value}", option == "--method" ? Explain("--method", value) : Explain("--method", method, option, value), 2, option);
        }

        // ---- Options that do not apply to the method.
        foreach (var (method, option, value) in new[]
                 {
                     ("gradient", "--steps", "5"), ("gradient", "--samples", "5"), ("gradient", "--epsilon", "0.1"), ("gradient", "--window", "2"),
                     ("lime", "--steps", "4"), ("lime", "--layer", "embedding"), ("lime", "--window", "2"), ("lime", "--noise-stdev", "0.1"),
                     ("lrp-epsilon", "--samples", "3"), ("occlusion", "--samples", "3"), ("occlusion", "--seed", "1"), ("shapley", "--stride", "2"),
                     ("kernel-shap", "--layer", "embedding"), ("gradient-shap", "--features", "tokens"), ("integrated-gradients", "--noise-samples", "2"),
                 })
        {
            yield return new Case($"{method} with {option}", Explain("--method", method, option, value), 2, option);
        }

        // ---- Values that do not fit the model.
        yield return new Case("target out of range", Explain("--method", "gradient", "--target", "7"), 2, "--target", "out of range");
        yield return new Case("target negative", Explain("--method", "gradient", "--target", "-1"), 2, "--target");
        yield return new Case("unknown target label", Explain("--method", "gradient", "--target", "neutral"), 2, "--target", "neutral");
        yield return new Case("unknown layer", Explain("--method", "gradient", "--layer", "encoder.layer.99"), 2, "--layer", "encoder.layer.99");
        yield return new Case("empty layer", Explain("--method", "gradient", "--layer", ""), 2, "--layer");
        yield return new Case("neuron missing", Explain("--method", "neuron-conductance"), 2, "--neuron");
        yield return new Case("neuron malformed", Explain("--method", "neuron-conductance", "--neuron", "a,b"), 2, "--neuron");
        yield return new Case("neuron out of range", Explain("--method", "neuron-conductance", "--layer", "embeddings", "--neuron", "0,999"), 2, "--neuron");
        yield return new Case("lime --score logit", Explain("--method", "lime", "--score", "logit"), 2, "--score");
        yield return new Case("lrp --score probability", Explain("--method", "lrp-epsilon", "--score", "probability"), 2, "--score");
        yield return new Case("lime baseline perturbation", Explain("--method", "lime", "--perturbation", "baseline"), 2, "--perturbation");
        yield return new Case("min-max of signed scores", Explain("--method", "gradient-x-input", "--normalize", "min-max"), 2, "--normalize");
        yield return new Case("unknown option", Explain("--method", "gradient", "--stepz", "4"), 2, "--stepz");
        yield return new Case("compare duplicate methods", ["compare", "--model", model, "--text", "a film", "--methods", "gradient,gradient"], 2, "--methods");
        yield return new Case("compare unknown method", ["compare", "--model", model, "--text", "a film", "--methods", "gradient,shap"], 2, "--methods");
        yield return new Case("predict with a method", ["predict", "--model", model, "--text", "a film", "--method", "gradient"], 2, "--method");
        yield return new Case("unknown command", ["explian", "--text", "a film"], 2, "explian");
        yield return new Case("no command", [], 2);

        // ---- Input files.
        var inputs = Path.Combine(root, "inputs");
        Directory.CreateDirectory(inputs);
        string InputFile(string name, byte[] content)
        {
            var path = Path.Combine(inputs, name);
            File.WriteAllBytes(path, content);
            return path;
        }

        var emptyFile = InputFile("empty.txt", []);
        var blankFile = InputFile("blank.txt", Encoding.UTF8.GetBytes("\n  \n\t\n"));
        var binaryFile = InputFile("binary.bin", [0, 1, 2, 255, 254, 0, 10, 0, 0]);
        var badUtf8 = InputFile("bad-utf8.txt", [0x61, 0x20, 0xC3, 0x28, 0x20, 0x66, 0x69, 0x6C, 0x6D, 0x0A]);
        var noSentence = InputFile("no-sentence.tsv", Encoding.UTF8.GetBytes("text\tlabel\na film\t1\n"));
        var headerOnly = InputFile("header-only.tsv", Encoding.UTF8.GetBytes("sentence\tlabel\n"));
        var good = InputFile("good.txt", Encoding.UTF8.GetBytes("a sometimes tedious film\nthe cast was superb\n"));
        var goodTsv = InputFile("good.tsv", Encoding.UTF8.GetBytes("sentence\tlabel\na film\t1\ndull\t0\n"));
        var bom = InputFile("bom.txt", [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("a film\n")]);
        var crlf = InputFile("crlf.txt", Encoding.UTF8.GetBytes("a film\r\ndull\r\n"));
        var loop = Path.Combine(inputs, "loop.txt");
        File.CreateSymbolicLink(loop, loop);
        var dangling = Path.Combine(inputs, "dangling.txt");
        File.CreateSymbolicLink(dangling, Path.Combine(inputs, "nowhere.txt"));
        foreach (var (name, path, code, names) in new (string, string, int, string[])[]
                 {
                     ("missing input", Path.Combine(inputs, "missing.txt"), 2, ["--input", "missing.txt"]),
                     ("input is a folder", inputs, 2, ["--input", "folder"]),
                     ("empty input", emptyFile, 2, ["--input", "empty.txt"]),
                     ("blank input", blankFile, 2, ["--input", "blank.txt"]),
                     ("binary input", binaryFile, 2, ["--input", "binary.bin"]),
                     ("NUL in a line", InputFile("nul.txt", Encoding.UTF8.GetBytes("a film\nbad\0line\n")), 2, ["--input", "line 2", "NUL"]),
                     ("TSV without sentence", noSentence, 2, ["--input", "sentence"]),
                     ("TSV header only", headerOnly, 2, ["--input", "header-only.tsv"]),
                     ("symlink loop input", loop, 2, ["--input", "loop.txt"]),
                     ("dangling symlink input", dangling, 2, ["--input", "dangling.txt"]),
                     ("invalid UTF-8 input", badUtf8, 2, ["--input", "UTF-8"]),
                     ("good input", good, 0, []),
                     ("good TSV", goodTsv, 0, []),
                     ("BOM input", bom, 0, []),
                     ("CRLF input", crlf, 0, []),
                 })
        {
            yield return new Case(name, ["explain", "--model", model, "--input", path, "--method", "gradient"], code, names);
        }

        yield return new Case("empty --input", ["explain", "--model", model, "--input", "", "--method", "gradient"], 2, "--input");
        yield return new Case("--text and --input together", ["explain", "--model", model, "--input", good, "--text", "a film", "--method", "gradient"], 0);

        // ---- Model folders.
        yield return new Case("empty --model", ["explain", "--model", "", "--text", "a film", "--method", "gradient"], 2, "--model");
        yield return new Case("missing model folder", ["explain", "--model", Path.Combine(root, "nope"), "--text", "a film", "--method", "gradient"], 2, "--model", "nope");
        yield return new Case("model is a file", ["explain", "--model", good, "--text", "a film", "--method", "gradient"], 2, "--model", "is a file");
        var emptyFolder = Directory.CreateDirectory(Path.Combine(root, "empty-model")).FullName;
        yield return new Case("empty model folder", ["explain", "--model", emptyFolder, "--text", "a film", "--method", "gradient"], 2, "--model", "config.json");

        string Damaged(string name, Action<string> damage)
        {
            var dir = Path.Combine(root, "damaged-" + name);
            Directory.CreateDirectory(dir);
            foreach (var file in Directory.EnumerateFiles(model))
            {
                File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
            }

            damage(dir);
            return dir;
        }

        JsonObject Config(string dir) => JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
        void WriteConfig(string dir, JsonObject config) => File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
        Action<string> SetConfig(string field, JsonNode? value) => dir =>
        {
            var config = Config(dir);
            config[field] = value;
            WriteConfig(dir, config);
        };
        Action<string> RemoveConfig(string field) => dir =>
        {
            var config = Config(dir);
            config.Remove(field);
            WriteConfig(dir, config);
        };
        Action<string> WriteFile(string file, byte[] content) => dir => File.WriteAllBytes(Path.Combine(dir, file), content);
        Action<string> Delete(string file) => dir => File.Delete(Path.Combine(dir, file));
        Action<string> FolderInstead(string file) => dir =>
        {
            File.Delete(Path.Combine(dir, file));
            Directory.CreateDirectory(Path.Combine(dir, file));
        };
        Action<string> LoopInstead(string file) => dir =>
        {
            File.Delete(Path.Combine(dir, file));
            File.CreateSymbolicLink(Path.Combine(dir, file), Path.Combine(dir, file));
        };
        Action<string> Weights(Func<byte[], byte[]> change) => dir =>
        {
            var path = Path.Combine(dir, "model.safetensors");
            File.WriteAllBytes(path, change(File.ReadAllBytes(path)));
        };
        Action<string> Header(Func<string, string> change) => Weights(bytes =>
        {
            var n = (int)BitConverter.ToUInt64(bytes, 0);
            var header = Encoding.UTF8.GetBytes(change(Encoding.UTF8.GetString(bytes, 8, n)));
            return [.. BitConverter.GetBytes((ulong)header.Length), .. header, .. bytes.AsSpan(8 + n).ToArray()];
        });
        Action<string> FirstWeight(float value) => Weights(bytes =>
        {
            var header = SafeTensors.ReadHeader(bytes);
            var tensor = header.Tensors.First(t => t.Name == "classifier.weight");
            var copy = bytes.ToArray();
            BitConverter.GetBytes(value).CopyTo(copy, header.DataStart + tensor.Begin);
            return copy;
        });

        foreach (var (name, damage, code, names) in new (string, Action<string>, int, string[])[]
                 {
                     ("no config", Delete("config.json"), 2, ["config.json"]),
                     ("config is a folder", FolderInstead("config.json"), 2, ["config.json", "is a folder"]),
                     ("config is a symlink loop", LoopInstead("config.json"), 2, ["config.json", "symbolic link"]),
                     ("config not JSON", WriteFile("config.json", Encoding.UTF8.GetBytes("{ not json")), 2, ["config.json", "not valid JSON"]),
                     ("config an array", WriteFile("config.json", Encoding.UTF8.GetBytes("[1, 2]")), 2, ["config.json", "object"]),
                     ("config empty", WriteFile("config.json", []), 2, ["config.json"]),
                     ("config binary", WriteFile("config.json", [0, 159, 146, 150]), 2, ["config.json"]),
                     ("no model_type", RemoveConfig("model_type"), 2, ["model_type"]),
                     ("unknown model_type", SetConfig("model_type", "gpt9"), 2, ["model_type", "gpt9"]),
                     ("model_type a number", SetConfig("model_type", 3), 2, ["model_type"]),
                     ("embedding_dim a string", SetConfig("embedding_dim", "big"), 2, ["embedding_dim"]),
                     ("embedding_dim negative", SetConfig("embedding_dim", -4), 2, ["embedding_dim"]),
                     ("embedding_dim huge", SetConfig("embedding_dim", 1000000000), 2, ["embedding_dim"]),
                     ("embedding_dim mismatch", SetConfig("embedding_dim", 13), 2, ["embedding_dim"]),
                     ("vocab_size huge", SetConfig("vocab_size", 2000000000), 2, ["vocab_size"]),
                     ("vocab_size too small", SetConfig("vocab_size", 3), 2, ["vocab_size"]),
                     ("num_filters huge", SetConfig("num_filters", 1000000000), 2, ["num_filters"]),
                     ("kernel_sizes mismatch", SetConfig("kernel_sizes", new JsonArray(2, 3, 7)), 2, ["kernel_sizes"]),
                     ("one kernel too many", SetConfig("kernel_sizes", new JsonArray(2, 3, 5, 6)), 2, ["kernel_sizes"]),
                     ("max_length zero", SetConfig("max_length", 0), 2, ["max_length"]),
                     ("id2label empty", SetConfig("id2label", new JsonObject()), 2, ["id2label"]),
                     ("id2label not numbered", SetConfig("id2label", new JsonObject { ["a"] = "x", ["b"] = "y" }), 2, ["id2label"]),
                     ("id2label three labels", SetConfig("id2label", new JsonObject { ["0"] = "x", ["1"] = "y", ["2"] = "z" }), 2, ["id2label"]),
                     ("num_labels disagrees", SetConfig("num_labels", 5), 2, ["num_labels"]),
                     ("kernel sizes empty", SetConfig("kernel_sizes", new JsonArray()), 2, ["kernel_sizes"]),
                     ("pad id mismatch", SetConfig("pad_token_id", 5), 2, ["pad_token_id"]),
                     ("no weights", Delete("model.safetensors"), 2, ["model.safetensors"]),
                     ("weights a folder", FolderInstead("model.safetensors"), 2, ["model.safetensors", "is a folder"]),
                     ("weights a symlink loop", LoopInstead("model.safetensors"), 2, ["model.safetensors", "symbolic link"]),
                     ("weights empty", WriteFile("model.safetensors", []), 2, ["model.safetensors"]),
                     ("weights 7 bytes", WriteFile("model.safetensors", [1, 2, 3, 4, 5, 6, 7]), 2, ["model.safetensors"]),
                     ("weights truncated", Weights(b => b[..(b.Length / 2)]), 2, ["model.safetensors"]),
                     ("weights header length huge", Weights(b => [.. BitConverter.GetBytes(ulong.MaxValue), .. b.AsSpan(8).ToArray()]), 2, ["model.safetensors"]),
                     ("weights header not JSON", Header(h => "{" + h[2..]), 2, ["model.safetensors"]),
                     ("weights header lone surrogate", Header(h => "{\"\\ud800\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}," + h[1..]), 2, ["model.safetensors", "surrogate"]),
                     ("weights header bad dtype", Header(h => h.Replace("\"F32\"", "\"Q7\"")), 2, ["model.safetensors", "Q7"]),
                     ("weights header negative shape", Header(h => h.Replace("\"shape\":[", "\"shape\":[-1,")), 2, ["model.safetensors"]),
                     ("weights header offsets overlap", Header(h => h.Replace("\"data_offsets\":[0,", "\"data_offsets\":[4,")), 2, ["model.safetensors"]),
                     ("weights with NaN", FirstWeight(float.NaN), 1, ["non-finite"]),
                     ("weights with +Inf", FirstWeight(float.PositiveInfinity), 1, ["non-finite"]),
                     ("no tokenizer", dir => { Delete("vocab.txt")(dir); Delete("tokenizer.json")(dir); }, 2, ["vocab"]),
                     ("vocab empty", WriteFile("vocab.txt", []), 2, ["vocab.txt"]),
                     ("vocab binary", WriteFile("vocab.txt", [0, 255, 0, 10, 254]), 2, ["vocab.txt"]),
                     ("vocab a folder", FolderInstead("vocab.txt"), 2, ["vocab.txt"]),
                 })
        {
            var dir = Damaged(name.Replace(' ', '-'), damage);
            // A folder that does not load is the user's input (exit 2, naming --model); NaN weights load and fail at run time (exit 1).
            yield return new Case($"model: {name}", ["explain", "--model", dir, "--text", "a sometimes tedious film", "--method", "gradient"], code, code == 2 ? [.. names, "--model"] : names);
            if (code == 1 && names.Contains("non-finite"))
            {
                foreach (var format in new[] { "json", "html", "markdown" })
                {
                    yield return new Case($"model: {name} ({format})", ["explain", "--model", dir, "--text", "a film", "--method", "lime", "--samples", "8", "--format", format], 1, "non-finite");
                }

                yield return new Case($"model: {name} (predict)", ["predict", "--model", dir, "--text", "a film"], 1, "non-finite");
            }
        }

        // ---- Outputs.
        var outputs = Directory.CreateDirectory(Path.Combine(root, "outputs")).FullName;
        foreach (var (name, path, code, names) in new (string, string, int, string[])[]
                 {
                     ("output empty", "", 2, ["--output"]),
                     ("output ends in a separator", outputs + "/new/", 2, ["--output", "ends in"]),
                     ("output is a folder", outputs, 2, ["--output", "is a folder"]),
                     ("output under a file", Path.Combine(good, "x.json"), 2, ["--output", "good.txt is a file"]),
                     ("output deep under a file", Path.Combine(good, "a", "b", "x.json"), 2, ["--output", "good.txt is a file"]),
                     ("output on a full disk", "/dev/full", 1, ["/dev/full"]),
                     ("output in a read-only file system", "/proc/attribution-test.json", 1, ["/proc/attribution-test.json"]),
                     ("output in a new folder", Path.Combine(outputs, "a", "b", "c.json"), 0, []),
                 })
        {
            yield return new Case(name, Explain("--method", "gradient", "--format", "json", "--output", path), code, names);
        }

        yield return new Case("demo output is a folder", ["demo", "--model", model, "--output", outputs], 2, "--output");
        yield return new Case("demo output under a file", ["demo", "--model", model, "--output", Path.Combine(good, "r.html")], 2, "--output");
    }
}
