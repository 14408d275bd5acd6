using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Attribution.Cli;
using Attribution.Tests.Salience;

namespace Attribution.Tests.Cli;

/// <summary>What one in-process run of the command line gave.</summary>
/// <param name="Code">The exit code.</param>
/// <param name="Out">Standard output.</param>
/// <param name="Error">Standard error.</param>
public sealed record CliResult(int Code, string Out, string Error)
{
    public override string ToString() => $"exit {Code}\n--- stdout ---\n{Out}\n--- stderr ---\n{Error}";
}

/// <summary>Runs <see cref="CliApp"/> in process with string writers, and helpers shared by the CLI tests.</summary>
internal static class CliHarness
{
    private static readonly Lazy<JsonSchemaSubset> Schema = new(() =>
        new JsonSchemaSubset(JsonDocument.Parse(File.ReadAllText(RepositoryFile("docs/json-schema.json"))).RootElement.Clone()));

    /// <summary>The tiny BERT of shared/ (skips the test when shared/ is absent).</summary>
    public static string TinyBert => SharedData.Require("models/sst2-bert-tiny");

    public static CliResult Run(params string[] args) => Run((CliContext?)null, args);

    /// <summary>Runs with <paramref name="template"/>'s settings (cancellation, working folder) and fresh writers.</summary>
    public static CliResult Run(CliContext? template, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var context = (template ?? new CliContext { Out = output, Error = error }) with { Out = output, Error = error };
        var code = CliApp.Run(args, context);
        return new CliResult(code, output.ToString(), error.ToString());
    }

    /// <summary>The violations of the documented schema (docs/json-schema.json) by <paramref name="json"/>.</summary>
    public static List<string> SchemaErrors(string json)
    {
        using var document = JsonDocument.Parse(json);
        return Schema.Value.Validate(document.RootElement);
    }

    /// <summary>The JSON with every result's <c>elapsed_ms</c> removed (the only field that differs between two runs).</summary>
    public static JsonNode WithoutTimes(string json)
    {
        var node = JsonNode.Parse(json)!;
        foreach (var result in node["results"]!.AsArray())
        {
            result!.AsObject().Remove("elapsed_ms");
        }

        return node;
    }

    public static string RepositoryFile(string relative, [CallerFilePath] string source = "")
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(source) ?? string.Empty })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Attribution.sln")))
                {
                    return Path.Combine(dir.FullName, relative);
                }
            }
        }

        throw new InvalidOperationException("the repository root (Attribution.sln) was not found");
    }
}
