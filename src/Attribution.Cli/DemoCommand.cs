using Attribution.Training;
using Attribution.Pipeline;
using System.CommandLine;
using System.Globalization;
using System.Text;
using Attribution.Data;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Salience;

namespace Attribution.Cli;

/// <summary>
/// <c>attribution demo</c>: explains a handful of sentences with every method on the default model (trained on the
/// generated sentiment corpus on first use, no download), writes the HTML report, prints a compact console view and
/// says which words carry sentiment in the corpus.
/// </summary>
internal static class DemoCommand
{
    /// <summary>The report's default file name, in the current directory.</summary>
    public const string DefaultOutput = "attribution-demo.html";

    /// <summary>The demo's sentences (words of the generated corpus, so the default model knows them all).</summary>
    public static IReadOnlyList<string> Sentences { get; } =
    [
        "a sometimes tedious film",
        "the cast was truly superb",
        "the plot was dull but the acting was brilliant",
        "the ending was not bad",
        "i did not enjoy this movie",
        "overall , a delightful and clever comedy",
    ];

    /// <summary>The command, bound to <paramref name="context"/>.</summary>
    public static Command Create(CliContext context)
    {
        var options = new CliOptions();
        options.TorchSharpModelOnly("the demo runs every method, the gradient methods too");
        var output = new Option<string?>("--output")
        {
            Description = $"Where to write the HTML report (default ./{DefaultOutput}; a missing folder is created, saying so on standard error).",
            HelpName = "PATH",
        };
        var command = new Command("demo", "Explain a handful of sentences with every method on the default model and write an HTML report.")
        {
            output, options.Model, options.Verbose,
        };
        command.SetAction(parse => Execute(parse.GetValue(options.Model), parse.GetValue(output), context));
        return command;
    }

    private static int Execute(string? modelPath, string? output, CliContext context)
    {
        var path = Output.CheckOutputPath(output ?? DefaultOutput, context);
        if (modelPath is { } m && string.IsNullOrWhiteSpace(m))
        {
            throw new UsageException("--model", "the path is empty; give the model's folder");
        }

        using var model = ModelSource.Load(modelPath, context, out var report);
        var settings = new MethodSettings();
        var notes = new List<string>();
        var methods = MethodProbe.Supported(
            MethodFactory.DemoMethods.Select(n => MethodFactory.Create(n, settings, model)), model, context, notes);
        var options = new ExplainOptions();
        context.Error.WriteLine($"explaining {Sentences.Count} sentences with {methods.Count} methods ({string.Join(", ", methods.Select(m => m.Name))}) on {model.Name}");
        var results = ChunkedRun.Explain(model, Sentences, methods, options, context);
        var agreement = MethodAgreement.Pairs(results, Granularity.Words);
        var corpus = CorpusNotes.For(Sentences);

        // The report: every method side by side, the agreement, and what the corpus says about each sentence.
        var run = new RunSettings { Method = settings, Explain = options, Format = "html", Output = path };
        var html = Output.Comparison(model, results, agreement, run, context, $"Attribution demo: {model.Name}");
        html = Output.InsertBeforeBodyEnd(html, CorpusNotes.Html(corpus, results, model, report, notes));
        Output.Write(html, path, context, sayWhere: false);

        // The console: a compact coloured view, the corpus's sentiment words, and where the report is.
        var console = new StringBuilder();
        if (report is not null)
        {
            console.Append(CultureInfo.InvariantCulture, $"Model: {model.Name}, a small CNN trained on the generated sentiment corpus ({report.TestAccuracy:P1} accuracy on {report.TestExamples} held-out sentences).\n\n");
        }
        else
        {
            console.Append(CultureInfo.InvariantCulture, $"Model: {model.Name}\n\n");
        }

        console.Append(ConsoleRenderer.Render(ExplanationGroup.FromMethods(results), new ConsoleRenderOptions
        {
            Granularity = Granularity.Words,
            Color = context.OutputColor,
            TopK = 0,
            Labels = model.Labels,
        }));
        console.Append('\n').Append(CorpusNotes.Text(corpus, results));
        context.Out.Write(console.ToString());
        context.Out.WriteLine();
        context.Out.WriteLine($"HTML report: {path}");
        context.Out.Flush();
        return ExitCodes.Ok;
    }
}

/// <summary>What the generated corpus knows about a sentence: its sentiment words and, when the corpus holds it, its label and deciding words.</summary>
/// <param name="Text">The sentence.</param>
/// <param name="SentimentWords">Its words that carry sentiment in the corpus, with their polarity (+1 or −1).</param>
/// <param name="Example">The corpus's own example with this text, or null.</param>
internal sealed record CorpusNote(string Text, IReadOnlyList<(string Word, int Polarity)> SentimentWords, SentimentExample? Example)
{
    /// <summary>"tedious (−)", or "none".</summary>
    public string Describe() => SentimentWords.Count == 0
        ? "none"
        : string.Join(", ", SentimentWords.Select(w => $"{w.Word} ({(w.Polarity > 0 ? "+" : "−")})"));
}

/// <summary>The corpus's view of the demo sentences, and how often each method's top word is a sentiment word.</summary>
internal static class CorpusNotes
{
    /// <summary>Notes for each sentence.</summary>
    public static IReadOnlyList<CorpusNote> For(IReadOnlyList<string> sentences)
    {
        var corpus = DefaultModel.Corpus();
        var known = corpus.Train.Concat(corpus.Dev).Concat(corpus.Test).GroupBy(e => e.Text, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        return sentences.Select(s => new CorpusNote(
            s,
            Attribution.Text.WordSpans.Of(s).Select(span => s[span.Start..span.End]).Select(w => (w, SentimentCorpus.Polarity(w))).Where(x => x.Item2 != 0).ToList(),
            known.GetValueOrDefault(s))).ToList();
    }

    /// <summary>Per method: on how many sentences its highest-|score| word is a sentiment word of the corpus.</summary>
    public static IReadOnlyList<(string Method, int Hits, int Total)> TopWordHits(IReadOnlyList<CorpusNote> notes, IReadOnlyList<IReadOnlyList<Explanation>> results)
    {
        var hits = new List<(string, int, int)>();
        foreach (var method in results)
        {
            var count = 0;
            var total = 0;
            for (var t = 0; t < method.Count; t++)
            {
                if (notes[t].SentimentWords.Count == 0 || method[t].Words.Count == 0)
                {
                    continue;
                }

                total++;
                var top = method[t].Words.MaxBy(w => Math.Abs(w.Score))!;
                if (SentimentCorpus.Polarity(top.Text) != 0)
                {
                    count++;
                }
            }

            hits.Add((method[0].Method, count, total));
        }

        return hits;
    }

    /// <summary>The console section.</summary>
    public static string Text(IReadOnlyList<CorpusNote> notes, IReadOnlyList<IReadOnlyList<Explanation>> results)
    {
        var text = new StringBuilder();
        text.Append("Words that carry sentiment in the generated corpus (the corpus knows):\n");
        foreach (var note in notes)
        {
            text.Append("  ").Append(note.Text.PadRight(notes.Max(n => n.Text.Length))).Append("  ").Append(note.Describe());
            if (note.Example is { } example)
            {
                text.Append(CultureInfo.InvariantCulture, $"   [in the corpus: {example.LabelName}, decided by {string.Join(" ", example.RationaleWords)}]");
            }

            text.Append('\n');
        }

        text.Append("\nHow often each method's top word (largest |score|) is one of them:\n");
        foreach (var (method, hits, total) in TopWordHits(notes, results))
        {
            text.Append(CultureInfo.InvariantCulture, $"  {method,-22} {hits}/{total}\n");
        }

        return text.ToString();
    }

    /// <summary>The report section.</summary>
    public static string Html(
        IReadOnlyList<CorpusNote> notes, IReadOnlyList<IReadOnlyList<Explanation>> results, ITextClassifier model, DefaultModelReport? report, IReadOnlyList<string> runNotes)
    {
        var html = new StringBuilder();
        html.Append("<section class=\"text\">\n<h2>What the corpus knows</h2>\n");
        foreach (var runNote in runNotes)
        {
            html.Append("<p class=\"notes\">").Append(HtmlReport.Escape(runNote)).Append("</p>\n");
        }

        html.Append("<p class=\"meta\">");
        if (report is not null)
        {
            html.Append(HtmlReport.Escape(string.Create(CultureInfo.InvariantCulture,
                $"{model.Name} is a small CNN trained on the sentiment corpus the project generates ({report.TestAccuracy:P1} accuracy on {report.TestExamples} held-out sentences). ")));
        }

        html.Append(HtmlReport.Escape("Because the corpus is generated, it knows which words carry sentiment; a good explanation puts its weight on them.")).Append("</p>\n<ul>\n");
        foreach (var note in notes)
        {
            html.Append("<li><b>").Append(HtmlReport.Escape(note.Text)).Append("</b>: ").Append(HtmlReport.Escape(note.Describe()));
            if (note.Example is { } example)
            {
                html.Append(HtmlReport.Escape($" (in the corpus: {example.LabelName}, decided by {string.Join(" ", example.RationaleWords)})"));
            }

            html.Append("</li>\n");
        }

        html.Append("</ul>\n<p class=\"meta\">").Append(HtmlReport.Escape("How often each method's top word (largest |score|) is a sentiment word:")).Append("</p>\n<ul>\n");
        foreach (var (method, hits, total) in TopWordHits(notes, results))
        {
            html.Append("<li>").Append(HtmlReport.Escape($"{method}: {hits}/{total}")).Append("</li>\n");
        }

        html.Append("</ul>\n</section>\n");
        return html.ToString();
    }
}
