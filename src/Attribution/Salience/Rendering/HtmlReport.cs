using System.Globalization;
using System.Text;
using Attribution.Methods;

namespace Attribution.Salience;

/// <summary>Options of <see cref="HtmlReport"/>.</summary>
public sealed record HtmlReportOptions
{
    /// <summary>Colour words (default) or tokens.</summary>
    public Granularity Granularity { get; init; } = Granularity.Words;

    /// <summary>The model's class names, to name the predicted class when it is not the target.</summary>
    public IReadOnlyList<string>? Labels { get; init; }

    /// <summary>
    /// Show each method's settings, elapsed time and notes under its row, and where present LIME's surrogate fit (R²,
    /// intercept) and LRP's relevance shares (default true).
    /// </summary>
    public bool ShowDetails { get; init; } = true;
}

/// <summary>
/// A self-contained HTML report: one block per text (the text, the predicted class and its probability, the class
/// explained) with one row per method, its tokens or words coloured with LIT's semantics (<see cref="SalienceColors"/>),
/// each row scaled by its own largest |score|. The page has inline CSS only: no scripts, fonts, images or links, and a
/// Content-Security-Policy that forbids loading anything, so it reads the same offline. Every text from the
/// explanations is HTML-escaped; the exact score of each unit is in its tooltip.
/// </summary>
public static class HtmlReport
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    private const string Style = """
        body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; margin: 24px; color: #111; background: #fff; max-width: 1100px; }
        h1 { font-size: 1.5em; margin: 0 0 4px 0; }
        h2 { font-size: 1.1em; margin: 0 0 6px 0; color: #444; }
        .summary { color: #555; margin: 0 0 16px 0; }
        .legend { border: 1px solid #ddd; border-radius: 6px; padding: 10px 14px; margin-bottom: 20px; background: #fafafa; font-size: 0.9em; }
        .legend .scale { display: flex; align-items: center; gap: 8px; margin: 4px 0; }
        .bar { display: inline-block; width: 220px; height: 14px; border: 1px solid #bbb; border-radius: 3px; }
        .bar.signed { background: linear-gradient(to right, #d73027, #ffffff, #1a9850); }
        .bar.unsigned { background: linear-gradient(to right, #ffffff, #54278f); }
        .legend p { margin: 6px 0 0 0; color: #444; }
        section.text { border: 1px solid #ddd; border-radius: 6px; padding: 12px 14px; margin-bottom: 18px; }
        .source { white-space: pre-wrap; margin: 0 0 6px 0; padding: 6px 8px; background: #f4f4f4; border-radius: 4px; }
        .prediction { margin: 0 0 10px 0; }
        .row { border-top: 1px solid #eee; padding: 8px 0; }
        .method { font-weight: 600; }
        .what { font-weight: normal; color: #666; font-size: 0.85em; margin-left: 8px; }
        .tokens { white-space: pre-wrap; line-height: 2.1; margin: 4px 0; font-size: 1.05em; }
        .u { padding: 2px 2px; border-radius: 3px; }
        .special { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 0.8em; outline: 1px dashed #999; }
        .uncovered { color: #999; text-decoration: line-through; }
        .meta { color: #555; font-size: 0.85em; }
        .notes { color: #8a5300; font-size: 0.85em; margin: 4px 0 0 0; padding-left: 18px; }
        .target { color: #555; font-size: 0.85em; }
        """;

    /// <summary>A report of a document's results, grouped by text; the document's labels name the classes.</summary>
    /// <param name="document">The document.</param>
    /// <param name="title">The page title (default: model and method).</param>
    /// <param name="options">Granularity and details; <see cref="HtmlReportOptions.Labels"/> defaults to the document's.</param>
    public static string Render(ExplanationDocument document, string? title = null, HtmlReportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(document);
        options ??= new HtmlReportOptions();
        return Render(
            ExplanationGroup.ByText(document.Results),
            title ?? $"{document.Model}: {document.Method}",
            options with { Labels = options.Labels ?? document.Labels });
    }

    /// <summary>A report of explanations grouped by text (see <see cref="ExplanationGroup.ByText"/>).</summary>
    /// <param name="explanations">The explanations.</param>
    /// <param name="title">The page title.</param>
    /// <param name="options">Granularity, labels, details.</param>
    public static string Render(IReadOnlyList<Explanation> explanations, string title, HtmlReportOptions? options = null) =>
        Render(ExplanationGroup.ByText(explanations), title, options);

    /// <summary>A report with one block per group and one row per explanation in it.</summary>
    /// <param name="groups">Texts with their explanations (methods stacked in order).</param>
    /// <param name="title">The page title.</param>
    /// <param name="options">Granularity, labels, details.</param>
    /// <returns>A complete HTML5 page.</returns>
    public static string Render(IReadOnlyList<ExplanationGroup> groups, string title, HtmlReportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(groups);
        ArgumentNullException.ThrowIfNull(title);
        options ??= new HtmlReportOptions();
        Methods.Internal.EnumSettings.Check(options.Granularity, "options.Granularity", nameof(options));
        var all = groups.SelectMany(g => g.Explanations).ToList();
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            .Append("<meta name=\"referrer\" content=\"no-referrer\">\n")
            .Append("<title>").Append(Escape(title)).Append("</title>\n<style>\n").Append(Style).Append("</style>\n</head>\n<body>\n")
            .Append("<h1>").Append(Escape(title)).Append("</h1>\n");

        var models = all.Select(e => e.Model).Distinct(StringComparer.Ordinal).ToList();
        var methods = all.Select(e => e.Method).Distinct(StringComparer.Ordinal).ToList();
        html.Append("<p class=\"summary\">")
            .Append(models.Count == 1 ? "Model " : "Models ").Append("<b>").Append(Escape(string.Join(", ", models))).Append("</b> · ")
            .Append(Count(groups.Count, "text")).Append(" · ")
            .Append(methods.Count == 1 ? "method " : "methods ").Append(Escape(string.Join(", ", methods))).Append(" · ")
            .Append(options.Granularity == Granularity.Words ? "word" : "token").Append(" scores</p>\n");

        Legend(html, all.Any(e => e.Signed), all.Any(e => !e.Signed), options.Granularity);
        for (var g = 0; g < groups.Count; g++)
        {
            Group(html, groups[g], g, groups.Count, options);
        }

        html.Append("</body>\n</html>\n");
        return html.ToString();
    }

    /// <summary>
    /// Escapes text for HTML content and quoted attribute values: <c>&amp; &lt; &gt; " '</c> and also <c>/ = @ ` (</c>
    /// (so untrusted text never reads as markup, and a scan of the page for <c>https://</c>, <c>src=</c>, <c>@import</c>
    /// or <c>url(</c> finds only real references, of which there are none); control characters, bidirectional
    /// embeddings, overrides and isolates, and unpaired surrogates become U+FFFD; line breaks (CRLF and a lone CR as LF), tabs and other whitespace are kept.
    /// </summary>
    public static string Escape(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var builder = new StringBuilder(text.Length + 16);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            switch (c)
            {
                case '&': builder.Append("&amp;"); break;
                case '<': builder.Append("&lt;"); break;
                case '>': builder.Append("&gt;"); break;
                case '"': builder.Append("&quot;"); break;
                case '\'': builder.Append("&#39;"); break;
                case '/': builder.Append("&#47;"); break;
                case '=': builder.Append("&#61;"); break;
                case '@': builder.Append("&#64;"); break;
                case '`': builder.Append("&#96;"); break;
                case '(': builder.Append("&#40;"); break;
                case '\n' or '\t': builder.Append(c); break;
                // CRLF is one line break (the LF follows); a lone CR (old Mac text) is one too: dropping it would run
                // the words on either side together ("good\rbad" showed as "goodbad").
                case '\r':
                    if (i + 1 >= text.Length || text[i + 1] != '\n')
                    {
                        builder.Append('\n');
                    }

                    break;
                default:
                    if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                    {
                        builder.Append(c).Append(text[++i]);
                    }
                    else if (char.IsSurrogate(c) || char.IsControl(c) || RenderSupport.IsBidiOverride(c))
                    {
                        builder.Append('\uFFFD');
                    }
                    else
                    {
                        builder.Append(c);
                    }

                    break;
            }
        }

        return builder.ToString();
    }


    private static void Legend(StringBuilder html, bool signed, bool unsigned, Granularity granularity)
    {
        var unit = granularity == Granularity.Words ? "word" : "token";
        html.Append("<div class=\"legend\">\n");
        if (signed || !unsigned)
        {
            html.Append("<div class=\"scale\"><span>−max</span><span class=\"bar signed\"></span><span>+max</span>")
                .Append("<span>Signed scores: <b style=\"color:#b2261e\">red</b> pushes against the explained class, ")
                .Append("<b style=\"color:#137a3f\">green</b> pushes towards it, white is 0.</span></div>\n");
        }

        if (unsigned)
        {
            html.Append("<div class=\"scale\"><span>0</span><span class=\"bar unsigned\"></span><span>max</span>")
                .Append("<span>Unsigned scores (magnitudes, no direction): white is 0, <b style=\"color:#54278f\">purple</b> is the largest.</span></div>\n");
        }

        html.Append("<p>Each row's colours are scaled by that row's largest |score| (shown as “scale”): its most important ")
            .Append(unit).Append(" is fully saturated, so intensities compare within a row, not across rows or methods. ")
            .Append("Hover over a ").Append(unit).Append(" for its exact score.</p>\n</div>\n");
    }

    private static void Group(StringBuilder html, ExplanationGroup group, int index, int count, HtmlReportOptions options)
    {
        var first = group.Explanations[0];
        html.Append("<section class=\"text\">\n<h2>Text ").Append(index + 1).Append(" of ").Append(count).Append("</h2>\n")
            // dir="auto": a right-to-left text (Arabic, Hebrew) runs from the right with its punctuation where it belongs;
            // the page itself stays left-to-right.
            .Append("<p class=\"source\" dir=\"auto\">").Append(Escape(group.Text)).Append("</p>\n");
        html.Append("<p class=\"prediction\">Prediction ")
            .Append(string.Join(", ", RenderSupport.Prediction(first, options.Labels).Select(p => $"<b>{Escape(p.Name)}</b> ({p.Likelihood})")));
        var sameTarget = group.Explanations.All(e => e.Target == first.Target);
        if (sameTarget)
        {
            html.Append(" · Explained class <b>").Append(Escape(first.TargetLabel)).Append("</b> (class ").Append(first.Target)
                .Append(", ").Append(RenderSupport.Likelihood(first, first.Target))
                .Append(", logit ").Append(RenderSupport.Brief(first.Logits[first.Target])).Append(')');
        }

        html.Append("</p>\n");
        foreach (var e in group.Explanations)
        {
            Row(html, e, options, !sameTarget);
        }

        html.Append("</section>\n");
    }

    private static void Row(StringBuilder html, Explanation e, HtmlReportOptions options, bool showTarget)
    {
        var units = RenderSupport.Units(e, options.Granularity, out var fellBack);
        var scale = SalienceColors.Scale(units.Select(u => u.Score));
        html.Append("<div class=\"row\">\n<div class=\"method\">").Append(Escape(e.Method))
            .Append("<span class=\"what\">").Append(Escape(RenderSupport.Description(e, options.Granularity))).Append("</span>");
        if (showTarget)
        {
            html.Append(" <span class=\"target\">explains <b>").Append(Escape(e.TargetLabel)).Append("</b> (class ").Append(e.Target)
                .Append(", ").Append(RenderSupport.Likelihood(e, e.Target)).Append(")</span>");
        }

        html.Append("</div>\n<div class=\"tokens\" dir=\"auto\">");
        Units(html, e, units, scale);
        html.Append("</div>\n<div class=\"meta\">scale ").Append(Escape(RenderSupport.Brief(scale)))
            .Append(" · Σ ").Append(Escape(RenderSupport.Brief(units.Sum(u => u.Score))));
        if (e.ConvergenceDelta is { } delta)
        {
            html.Append(" · convergence delta <b>").Append(Escape(RenderSupport.Brief(delta))).Append("</b> (")
                .Append(Escape(RenderSupport.DeltaUnit(e))).Append(')');
        }

        if (options.ShowDetails)
        {
            foreach (var extra in new[] { RenderSupport.Surrogate(e), RenderSupport.RelevanceShares(e) })
            {
                if (extra is not null)
                {
                    html.Append(" · ").Append(Escape(extra));
                }
            }

            if (e.Settings.Count > 0)
            {
                html.Append(" · settings ").Append(Escape(RenderSupport.Settings(e.Settings)));
            }

            html.Append(" · ").Append(Escape(e.Elapsed.TotalMilliseconds.ToString("0.#", Invariant))).Append(" ms");
        }

        html.Append("</div>\n");
        var notes = options.ShowDetails ? e.Notes.ToList() : [];
        if (fellBack)
        {
            notes.Insert(0, "this result has no word scores; tokens are shown");
        }

        // Said even without details: the colours alone would show such a score as a zero.
        if (RenderSupport.NonFiniteNote(units) is { } nonFinite)
        {
            notes.Insert(0, nonFinite);
        }

        if (notes.Count > 0)
        {
            html.Append("<ul class=\"notes\">");
            foreach (var note in notes)
            {
                html.Append("<li>").Append(Escape(note)).Append("</li>");
            }

            html.Append("</ul>\n");
        }

        html.Append("</div>\n");
    }

    /// <summary>The units in text order, with the text between them (whitespace, or uncovered characters greyed out).</summary>
    private static void Units(StringBuilder html, Explanation e, IReadOnlyList<DisplayUnit> units, double scale)
    {
        var text = e.DisplayText;
        var cursor = 0;
        var needSpace = false;
        var emitted = false;
        foreach (var unit in units)
        {
            string shown;
            var overlap = false;
            var empty = false;
            if (unit.Start is { } start && unit.End is { } end && start >= cursor && end <= text.Length)
            {
                Between(html, e, cursor, start, needSpace);
                // A token with an empty span (byte-level BPE's lone Ġ with trimmed offsets) has a score but no
                // characters: a marker keeps it visible and hoverable instead of an empty, invisible span.
                empty = start == end;
                shown = empty ? "·" : text[start..end];
                cursor = end;
                needSpace = false;
            }
            else if (unit.Start is not null)
            {
                overlap = true;
                shown = "·";
            }
            else
            {
                if (emitted)
                {
                    html.Append(' ');
                }

                shown = unit.Label;
                needSpace = true;
            }

            var background = SalienceColors.Background(unit.Score, scale, e.Signed);
            var foreground = SalienceColors.Foreground(background);
            var tooltip = $"{unit.Label}\nscore {RenderSupport.Exact(unit.Score)} ({SalienceColors.Intensity(unit.Score, scale).ToString("+0.00;-0.00;0.00", Invariant)} of the row's scale)\n{unit.Detail}"
                + (overlap ? "\ncovers the same characters as the previous token" : string.Empty)
                + (empty ? "\ncovers no characters (an empty span)" : string.Empty);
            html.Append("<span class=\"u").Append(unit.Special ? " special" : string.Empty)
                .Append("\" style=\"background:").Append(background.ToHex()).Append(";color:").Append(foreground.ToHex())
                .Append("\" title=\"").Append(Escape(tooltip)).Append("\">").Append(Escape(shown)).Append("</span>");
            emitted = true;
        }

        if (cursor < text.Length)
        {
            Between(html, e, cursor, text.Length, needSpace);
        }
    }

    /// <summary>
    /// The display text from <paramref name="from"/> to <paramref name="to"/> between units: the separator of a pair
    /// (not part of either input) as plain text, the rest as <see cref="Gap"/> (whitespace, or unscored characters).
    /// </summary>
    private static void Between(StringBuilder html, Explanation e, int from, int to, bool needSpace)
    {
        var text = e.DisplayText;
        var separator = e.Text.Length;
        if (e.TextPair is null || from > separator || to < separator + Explanation.PairSeparator.Length)
        {
            Gap(html, text[from..to], needSpace);
            return;
        }

        Gap(html, text[from..separator], needSpace && from < separator); // the separator begins with a space
        html.Append(Escape(Explanation.PairSeparator));
        Gap(html, text[(separator + Explanation.PairSeparator.Length)..to], needSpace: false);
    }

    private static void Gap(StringBuilder html, string gap, bool needSpace)
    {
        if (gap.Length == 0)
        {
            if (needSpace)
            {
                html.Append(' ');
            }

            return;
        }

        if (string.IsNullOrWhiteSpace(gap))
        {
            html.Append(Escape(gap));
            return;
        }

        // Characters no unit covers (dropped by the tokenizer, or cut by truncation): shown, but marked unscored.
        var trimmed = gap.Trim();
        var lead = gap[..gap.IndexOf(trimmed, StringComparison.Ordinal)];
        html.Append(needSpace && lead.Length == 0 ? " " : Escape(lead))
            .Append("<span class=\"uncovered\" title=\"not attributed\">").Append(Escape(trimmed)).Append("</span>")
            .Append(Escape(gap[(lead.Length + trimmed.Length)..]));
    }


    private static string Count(int n, string noun) => n.ToString(Invariant) + " " + noun + (n == 1 ? string.Empty : "s");
}
