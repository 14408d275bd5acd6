using System.Text.RegularExpressions;
using Attribution.Tests.Cli;

namespace Attribution.Tests.Docs;

/// <summary>
/// Keeps the command line's options and the docs in step, both ways: every option an <c>attribution</c> command lists
/// in its <c>--help</c> is named somewhere in README.md or docs/*.md, and every option a documented
/// <c>attribution COMMAND …</c> invocation uses is one that command takes. (The doc-truth audit of 2026-12-06 found
/// <c>evaluate --metric-seed</c> in the help and nowhere in the docs.)
/// </summary>
public sealed class CliOptionDocsTests
{
    private static readonly Regex OptionLine = new(@"^\s+(?:-\S+, )*(?<option>--[a-z][a-z0-9-]*)\b", RegexOptions.Multiline);
    private static readonly Regex CommandLine = new(@"^\s+(?<command>[a-z][a-z-]*)\s{2,}\S", RegexOptions.Multiline);
    private static readonly Regex Invocation = new(@"attribution (?<command>[a-z][a-z-]*)\b(?<rest>[^`\n|]*)");
    private static readonly Regex UsedOption = new(@"(?<![\w-])--[a-z][a-z0-9-]*");

    [Fact]
    public void Every_option_in_a_commands_help_is_documented()
    {
        var docs = DocsText();
        var missing = new List<string>();
        foreach (var (command, options) in HelpOptions())
        {
            missing.AddRange(options
                .Where(o => !Regex.IsMatch(docs, $@"(?<![\w-]){Regex.Escape(o)}(?![\w-])"))
                .Select(o => $"attribution {command} {o}"));
        }

        missing.Should().BeEmpty("every option the help lists should be described in README.md or docs/*.md");
    }

    [Fact]
    public void Every_option_of_a_documented_invocation_is_one_its_command_takes()
    {
        var help = HelpOptions();
        help.Keys.Should().Contain(["explain", "compare", "evaluate", "scorecard", "sanity", "shortcut"], "the help lists the commands");
        var problems = new List<string>();
        var invocations = 0;
        foreach (var (file, text) in DocFiles())
        {
            // A command continued over lines with a trailing backslash is one invocation.
            foreach (Match m in Invocation.Matches(text.Replace("\\\n", " ", StringComparison.Ordinal)))
            {
                var command = m.Groups["command"].Value;
                if (!help.TryGetValue(command, out var options))
                {
                    continue; // "attribution method", prose: not a command
                }

                invocations++;
                problems.AddRange(UsedOption.Matches(m.Groups["rest"].Value)
                    .Select(u => u.Value)
                    .Where(u => u != "--help" && !options.Contains(u))
                    .Select(u => $"{file}: 'attribution {command}{m.Groups["rest"].Value.TrimEnd()}': {command} has no {u}"));
            }
        }

        invocations.Should().BeGreaterThan(10, "README.md and docs/ show many invocations");
        problems.Should().BeEmpty("a documented invocation must run as written");
    }

    [Fact]
    public void The_help_parser_reads_option_and_command_lines()
    {
        const string Help = "Options:\n  --model <DIR>   Model folder.\n  -?, -h, --help  Show help\n\nCommands:\n  explain         Explain texts.\n  engine          Show versions.\n";
        OptionLine.Matches(Help).Select(m => m.Groups["option"].Value).Should().Equal("--model", "--help");
        CommandLine.Matches(Help[Help.IndexOf("Commands:", StringComparison.Ordinal)..]).Select(m => m.Groups["command"].Value).Should().Equal("explain", "engine");
    }

    private static Dictionary<string, HashSet<string>> HelpOptions()
    {
        var root = CliHarness.Run("--help");
        root.Code.Should().Be(0, root.ToString());
        var commands = CommandLine.Matches(root.Out[root.Out.IndexOf("Commands:", StringComparison.Ordinal)..])
            .Select(m => m.Groups["command"].Value).ToList();
        commands.Should().NotBeEmpty(root.Out);
        var result = new Dictionary<string, HashSet<string>>();
        foreach (var command in commands)
        {
            var run = CliHarness.Run(command, "--help");
            run.Code.Should().Be(0, run.ToString());
            result[command] = OptionLine.Matches(run.Out).Select(m => m.Groups["option"].Value).ToHashSet();
        }

        return result;
    }

    private static string DocsText() => string.Join("\n", DocFiles().Select(f => f.Text));

    private static List<(string File, string Text)> DocFiles()
    {
        var root = Path.GetDirectoryName(CliHarness.RepositoryFile("Attribution.sln"))!;
        return new[] { Path.Combine(root, "README.md") }
            .Concat(Directory.GetFiles(Path.Combine(root, "docs"), "*.md").Order(StringComparer.Ordinal))
            .Select(p => (Path.GetRelativePath(root, p), File.ReadAllText(p)))
            .ToList();
    }
}
