using System.Text.RegularExpressions;
using Attribution.Methods;
using Attribution.Salience;
using CsCheck;

namespace Attribution.Tests.Salience;

/// <summary>
/// The HTML report and the Markdown tables on explanations with hostile strings in every place a user controls (texts,
/// tokens, labels, target labels, method names, settings, notes, relevance share keys, titles): drawn by
/// <see cref="ExplanationJsonPropertyTests.Documents"/> (HTML and Markdown syntax, "&lt;/script&gt;", "&lt;!--",
/// "javascript:", pipes and backslashes, U+2028/2029, control and bidi characters, unpaired-free surrogate pairs).
/// The checks are written here from what the page must be, not from the renderers' code.
/// Fixed seeds: every run draws the same cases (<see cref="PropertyDraws.ForAll{T}"/>).
/// </summary>
public class RenderingPropertyTests
{
    /// <summary>The only elements the report may have (no script, link, img, a, iframe, object, form...).</summary>
    private static readonly HashSet<string> Elements =
        ["html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "b", "div", "span", "section", "ul", "li"];

    /// <summary>The only attributes (no event handlers, no href/src/action URLs).</summary>
    private static readonly HashSet<string> Attributes = ["lang", "charset", "http-equiv", "content", "name", "class", "style", "title", "dir"];

    /// <summary>A tag: name, then attributes each with a double-quoted value holding no quote or angle bracket.</summary>
    private static readonly Regex Tag = new("\\G<(/?)([a-z0-9]+)((?: [a-z-]+=\"[^\"<>]*\")*)>", RegexOptions.CultureInvariant);

    private static readonly Regex Attribute = new(" ([a-z-]+)=\"([^\"]*)\"", RegexOptions.CultureInvariant);

    /// <summary>
    /// A tiny checker: every '&lt;' opens a tag of <see cref="Elements"/> with attributes of <see cref="Attributes"/>
    /// (quoted, no URL scheme), tags nest, the style block holds no markup, and no '&gt;' is left outside a tag (user
    /// text would have made it).
    /// </summary>
    internal static void CheckHtml(string html)
    {
        const string Doctype = "<!DOCTYPE html>\n";
        Assert.StartsWith(Doctype, html, StringComparison.Ordinal);
        var open = new Stack<string>();
        var i = Doctype.Length;
        while (i < html.Length)
        {
            var lt = html.IndexOf('<', i);
            var text = lt < 0 ? html[i..] : html[i..lt];
            Assert.False(text.Contains('>'), $"a '>' outside a tag: ...{text[..Math.Min(80, text.Length)]}");
            if (lt < 0)
            {
                break;
            }

            var match = Tag.Match(html, lt);
            Assert.True(match.Success, $"a '<' that opens no tag: {html.Substring(lt, Math.Min(80, html.Length - lt))}");
            var (closing, name) = (match.Groups[1].Value == "/", match.Groups[2].Value);
            Assert.Contains(name, Elements);
            foreach (Match attribute in Attribute.Matches(match.Groups[3].Value))
            {
                Assert.Contains(attribute.Groups[1].Value, Attributes);
                // No attribute takes a URL (href and src are not allowed at all); a title is plain text, "javascript:" in it is words.
                if (attribute.Groups[1].Value != "title")
                {
                    Assert.DoesNotMatch("(?i)(javascript|data|vbscript):", attribute.Groups[2].Value);
                }
            }

            if (closing)
            {
                Assert.Equal(name, open.Pop());
            }
            else if (name != "meta")
            {
                open.Push(name);
            }

            i = match.Index + match.Length;
            if (name == "style" && !closing)
            {
                // CSS of the library only: no user text, so no "</style" or markup inside.
                var end = html.IndexOf("</style>", i, StringComparison.Ordinal);
                Assert.DoesNotContain("<", html[i..end], StringComparison.Ordinal);
                i = end;
            }
        }

        Assert.Empty(open);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void The_html_report_of_hostile_strings_is_markup_of_the_library_only()
    {
        PropertyDraws.ForAll(Gen.Select(ExplanationJsonPropertyTests.Documents, ExplanationJsonPropertyTests.Text, Gen.Bool, Gen.Bool), seed: 41, count: 300, (document, title, words, details) =>
        {
            var options = new HtmlReportOptions { Granularity = words ? Granularity.Words : Granularity.Tokens, ShowDetails = details };
            CheckHtml(HtmlReport.Render(document, title, options));
            CheckHtml(HtmlReport.Render(document, options: options));
        });
    }

    /// <summary>The cells of a table row: split on the pipes no odd run of backslashes escapes (GFM tables).</summary>
    internal static int Cells(string row)
    {
        var pipes = 0;
        for (var i = 0; i < row.Length; i++)
        {
            if (row[i] == '\\')
            {
                i++;
            }
            else if (row[i] == '|')
            {
                pipes++;
            }
        }

        return pipes - 1;
    }

    [Fact]
    public void Markdown_tables_keep_their_column_count_for_any_string()
    {
        PropertyDraws.ForAll(Gen.Select(ExplanationJsonPropertyTests.Documents, Gen.Bool, Gen.Bool), seed: 42, count: 300, (document, words, details) =>
        {
            var markdown = MarkdownRenderer.Render(document, new MarkdownOptions { Granularity = words ? Granularity.Words : Granularity.Tokens, ShowDetails = details });
            var lines = markdown.Split('\n');
            var tables = 0;
            for (var l = 0; l < lines.Length; l++)
            {
                if (!lines[l].StartsWith("| # |", StringComparison.Ordinal))
                {
                    continue;
                }

                // Header, delimiter row, then one row per unit until the blank line: every one with the header's cells.
                tables++;
                var columns = Cells(lines[l]);
                Assert.True(columns >= 3, lines[l]);
                var r = l + 1;
                for (; r < lines.Length && lines[r].Length > 0; r++)
                {
                    Assert.True(lines[r].StartsWith('|') && lines[r].EndsWith('|'), lines[r]);
                    Assert.True(Cells(lines[r]) == columns, $"{Cells(lines[r])} cells, the header has {columns}: {lines[r]}");
                }

                Assert.True(r - l >= 2, "a table has a delimiter row");
                l = r;
            }

            Assert.Equal(ExplanationGroup.ByText(document.Results).Count, tables);
        });
    }

    /// <summary>The library's own escape sequences: SGR colours and bold, and reset.</summary>
    private static readonly Regex Sgr = new("\u001b\\[[0-9;]*m", RegexOptions.CultureInvariant);

    [Fact]
    public void The_console_rendering_of_hostile_strings_has_no_control_characters_but_line_feeds_and_its_own_colours()
    {
        PropertyDraws.ForAll(
            Gen.Select(ExplanationJsonPropertyTests.Documents, Gen.Bool, Gen.OneOf(Gen.Const(ColorMode.Plain), Gen.Const(ColorMode.Ansi256), Gen.Const(ColorMode.TrueColor)), Gen.Int[0, 3]),
            seed: 43,
            count: 300,
            (document, words, color, top) =>
            {
                var groups = ExplanationGroup.ByText(document.Results);
                var options = new ConsoleRenderOptions { Granularity = words ? Granularity.Words : Granularity.Tokens, Color = color, TopK = top, Labels = document.Labels };
                var output = ConsoleRenderer.Render(groups, options);
                var plain = Sgr.Replace(output, string.Empty);
                if (color == ColorMode.Plain)
                {
                    Assert.Equal(output, plain);
                }

                // A user's ESC, CR, U+2028 or bidi override could move the cursor, clear the screen or reorder what follows.
                foreach (var c in plain)
                {
                    Assert.False(c != '\n' && (char.IsControl(c) || c is '\u2028' or '\u2029' || c is >= '\u202A' and <= '\u202E' or >= '\u2066' and <= '\u2069'),
                        $"U+{(int)c:X4} in the console output");
                }

                // One block per text: a header line each.
                Assert.Equal(groups.Count, plain.Split('\n').Count(l => l.StartsWith("Text ", StringComparison.Ordinal)));
            });
    }
}
