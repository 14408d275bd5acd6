using System.Text.RegularExpressions;
using Attribution.Tests.Cli;

namespace Attribution.Tests.Layering;

/// <summary>
/// The floors docs/architecture.md promises, checked on the source: each folder of src/Attribution may name only its
/// own namespace and those of the floors below it (by <c>using</c> or a qualified name; comments are ignored). Sibling
/// namespaces are not imported implicitly in C#, so this catches every dependency on a floor above.
/// </summary>
public sealed partial class LayeringTests
{
    /// <summary>Floor → the namespaces below it that it may use (its own always allowed).</summary>
    private static readonly Dictionary<string, string[]> Allowed = new(StringComparer.Ordinal)
    {
        ["Engine"] = [],
        ["Text"] = ["Engine"],
        ["Data"] = ["Engine", "Text"],
        ["Models"] = ["Engine", "Text"],
        ["Training"] = ["Engine", "Text", "Data", "Models"],
        ["Methods"] = ["Engine", "Text", "Models"],
        ["Salience"] = ["Engine", "Text", "Models", "Methods"],
        ["Pipeline"] = ["Engine", "Text", "Models", "Methods", "Salience"],
        ["Evaluation"] = ["Engine", "Text", "Data", "Models", "Training", "Methods", "Salience", "Pipeline"],
    };

    [GeneratedRegex(@"\bAttribution\.(Engine|Text|Data|Models|Training|Methods|Salience|Pipeline|Evaluation|Cli|Onnx)\b")]
    private static partial Regex NamespaceReference();

    [Fact]
    public void Every_floor_uses_only_the_floors_below_it()
    {
        var source = Path.Combine(Path.GetDirectoryName(CliHarness.RepositoryFile("Attribution.sln"))!, "src", "Attribution");
        var folders = Directory.GetDirectories(source).Select(Path.GetFileName).Where(f => f is not ("bin" or "obj" or "buildTransitive")).ToList();
        folders.Should().BeEquivalentTo(Allowed.Keys, "every folder of the library is a floor with its rule");

        var violations = new List<string>();
        foreach (var (floor, below) in Allowed)
        {
            foreach (var file in Directory.EnumerateFiles(Path.Combine(source, floor), "*.cs", SearchOption.AllDirectories))
            {
                var lines = File.ReadAllLines(file);
                for (var i = 0; i < lines.Length; i++)
                {
                    var code = StripComment(lines[i]);
                    foreach (Match match in NamespaceReference().Matches(code))
                    {
                        var used = match.Groups[1].Value;
                        if (used != floor && !below.Contains(used))
                        {
                            violations.Add($"{Path.GetRelativePath(source, file)}:{i + 1} ({floor} uses {used}): {lines[i].Trim()}");
                        }
                    }
                }
            }
        }

        violations.Should().BeEmpty();
    }

    /// <summary>The rule bites: a Methods file naming the salience layer is a violation the scan reports.</summary>
    [Fact]
    public void The_scan_sees_a_reference_in_code_and_not_in_comments()
    {
        NamespaceReference().Matches(StripComment("        return Attribution.Salience.SalienceLayer.Apply(e, o);")).Should().ContainSingle();
        NamespaceReference().Matches(StripComment("using Attribution.Pipeline;")).Should().ContainSingle();
        NamespaceReference().Matches(StripComment("    /// see <c>Attribution.Pipeline</c>")).Should().BeEmpty();
        NamespaceReference().Matches(StripComment("    var x = 1; // Attribution.Salience does this")).Should().BeEmpty();
    }

    /// <summary>TorchSharp users do not pull ONNX Runtime: only the ONNX package references it.</summary>
    [Fact]
    public void Onnx_runtime_is_only_in_its_own_package()
    {
        var root = Path.GetDirectoryName(CliHarness.RepositoryFile("Attribution.sln"))!;
        File.ReadAllText(Path.Combine(root, "src", "Attribution", "Attribution.csproj")).Should().NotContain("OnnxRuntime");
        File.ReadAllText(Path.Combine(root, "src", "Attribution.Onnx", "Attribution.Onnx.csproj")).Should().Contain("Microsoft.ML.OnnxRuntime");
        Directory.EnumerateFiles(Path.Combine(root, "src", "Attribution"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Should().NotContain(f => File.ReadAllText(f).Contains("Microsoft.ML.OnnxRuntime", StringComparison.Ordinal));
    }

    /// <summary>The line without a trailing or whole-line comment (string literals with // are not in this code base's namespace lines).</summary>
    private static string StripComment(string line)
    {
        var at = line.IndexOf("//", StringComparison.Ordinal);
        return at < 0 ? line : line[..at];
    }
}
