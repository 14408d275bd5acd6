using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using Attribution.Methods;
using Attribution.Models;
using Attribution.Tests.Cli;

namespace Attribution.Tests.Packaging;

/// <summary>
/// <c>dotnet pack</c> gives <c>Attribution.&lt;version&gt;.nupkg</c> with the assembly, its XML docs, the README, the licence
/// and the build files that add TorchSharp's loader initializer to a consuming project, and no native code of ours; a
/// throwaway console app restored from that package and TorchSharp-cpu (a local folder feed, its own empty packages
/// folder, no network), whose first statement touches TorchSharp before any Attribution type, builds and runs an
/// explanation.
/// </summary>
public sealed class PackTests
{
#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    private const string SmokeProgram = """
        using System.Globalization;
        using Attribution.Methods;
        using Attribution.Pipeline;
        using Attribution.Models;
        using Attribution.Text.Tokenizers;

        // TorchSharp first, before any Attribution type: the package's module initializer must have prepared it.
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"torch {TorchSharp.torch.ones(3).sum().item<float>()}"));

        // With a model folder as argument, explain with it; otherwise build a tiny BERT with random weights.
        TextClassifier model;
        if (args.Length > 0)
        {
            model = ClassifierLoader.Load(args[0]);
        }
        else
        {
            var folder = Directory.CreateTempSubdirectory("pack-smoke-").FullName;
            string[] vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "sometimes", "tedious", "film"];
            File.WriteAllLines(Path.Combine(folder, "vocab.txt"), vocab);
            var tokenizer = TokenizerLoader.FromWordPieceVocab(Path.Combine(folder, "vocab.txt"));
            Directory.Delete(folder, recursive: true);
            var config = new TransformerConfig
            {
                ModelType = "bert", VocabSize = vocab.Length, HiddenSize = 16, NumHiddenLayers = 1, NumAttentionHeads = 2,
                IntermediateSize = 32, MaxPositionEmbeddings = 32,
            };
            var module = new BertForSequenceClassification(config);
            model = new TextClassifier("random-tiny-bert", tokenizer, module, ["negative", "positive"], module.WordEmbeddingPath, 32, usesTokenTypes: true);
        }

        using (model)
        {
            var explanation = new IntegratedGradients { Steps = 8 }.Explain(model, "a sometimes tedious film");
            Console.WriteLine($"model {model.Name}");
            foreach (var word in explanation.Words)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"word {word.Text} {word.Score:R}"));
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"delta {explanation.ConvergenceDelta:R}"));

            // A method of this app's own (samples/CustomMethod/EmbeddingTaylor.cs, compiled here against the package
            // alone) beside built-in ones: shared passes, NoiseTunnel, the scorecard.
            string[] texts = ["a sometimes tedious film", "a film"];
            IAttributor[] methods = [new CustomMethod.EmbeddingTaylor { PadBaseline = false }, new NoiseTunnel(new CustomMethod.EmbeddingTaylor()) { Samples = 2 }, new GradientXInput()];
            var all = Explainer.ExplainAll(model, texts, methods);
            Console.WriteLine($"custom {all[0][0].Method} {all[0][0].Kind} {all[1][0].Method} {all[1][0].Setting("inner")}");
            Console.WriteLine($"same-as-gxi {all[0][0].Scores.SequenceEqual(all[2][0].Scores)}");
            var card = Attribution.Evaluation.Scorecard.Run(model, texts, methods);
            Console.WriteLine($"scorecard {string.Join(",", card.Rows.Select(r => r.Method))}");
            Console.WriteLine("ok");
        }
        """;

    [SkippableFact]
    [Trait("Category", "Slow")]
    public void Pack_gives_a_package_that_a_console_app_restores_and_explains_with()
    {
        var repository = Path.GetDirectoryName(CliHarness.RepositoryFile("Attribution.sln"))!;

        // The smoke app restores offline, TorchSharp-cpu and the rest from the global packages folder that restored this
        // repository. Before, the test assumed $HOME/.nuget/packages unless NUGET_PACKAGES was set (missing a nuget.config's
        // globalPackagesFolder) and failed inside the app's restore when that folder lacked them.
        var globalPackages = GlobalPackagesFolder(repository, new());
        Skip.IfNot(Directory.Exists(Path.Combine(globalPackages, "torchsharp-cpu", "0.107.0")),
            $"the global packages folder NuGet names for this repository ({globalPackages}) holds no torchsharp-cpu 0.107.0, which the offline smoke app restores from: restore the solution first (dotnet restore)");
        var work = Directory.CreateTempSubdirectory("attribution-pack-").FullName;
        try
        {
            // Pack what this test run built (the same configuration), into a folder feed.
            var feed = Path.Combine(work, "feed");
            Run(repository, "pack", Path.Combine(repository, "src", "Attribution", "Attribution.csproj"), "-c", Configuration, "--no-build", "-o", feed, "-nodeReuse:false");
            var package = Directory.GetFiles(feed, "*.nupkg").Should().ContainSingle().Subject;
            var name = Path.GetFileName(package);
            name.Should().MatchRegex(@"^Attribution\.\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?\.nupkg$");
            var version = name["Attribution.".Length..^".nupkg".Length];

            using (var zip = ZipFile.OpenRead(package))
            {
                var entries = zip.Entries.Select(e => e.FullName).ToList();
                entries.Should().Contain("lib/net10.0/Attribution.dll");
                entries.Should().Contain("lib/net10.0/Attribution.xml", "the XML docs ship with the assembly");
                entries.Should().Contain("README.md");
                entries.Should().Contain("LICENSE");
                entries.Should().Contain("buildTransitive/Attribution.targets");
                entries.Should().Contain("buildTransitive/AttributionTorchSharpInitializer.cs");
                entries.Should().NotContain(e => e.StartsWith("runtimes/", StringComparison.Ordinal), "the library ships no native code");
                using var nuspec = new StreamReader(zip.GetEntry("Attribution.nuspec")!.Open());
                var text = nuspec.ReadToEnd();
                text.Should().Contain("<readme>README.md</readme>").And.Contain("Apache-2.0");
                text.Should().Contain("id=\"TorchSharp\" version=\"0.107.0\"").And.NotContain("TorchSharp-cpu", "the library does not pick a backend");
                using var docs = new StreamReader(zip.GetEntry("lib/net10.0/Attribution.xml")!.Open());
                docs.ReadToEnd().Should().Contain("M:Attribution.Methods.IntegratedGradients");
            }

            // A console app outside the repository (no Directory.Build.props, no central versions) that knows only the feed.
            var app = Path.Combine(work, "app");
            Directory.CreateDirectory(app);
            File.WriteAllText(Path.Combine(app, "Directory.Build.props"), "<Project />\n");
            File.WriteAllText(Path.Combine(app, "Directory.Packages.props"), "<Project />\n");
            File.WriteAllText(Path.Combine(app, "PackSmoke.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <Nullable>enable</Nullable>
                    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="Attribution" Version="[{version}]" />
                    <PackageReference Include="TorchSharp-cpu" Version="0.107.0" />
                  </ItemGroup>
                </Project>
                """);
            File.WriteAllText(Path.Combine(app, "Program.cs"), SmokeProgram);
            File.Copy(Path.Combine(repository, "samples", "CustomMethod", "EmbeddingTaylor.cs"), Path.Combine(app, "EmbeddingTaylor.cs"));
            File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <clear />
                    <add key="packed" value="{feed}" />
                    <add key="global-packages" value="{globalPackages}" />
                  </packageSources>
                </configuration>
                """);

            // Its own packages folder, so the package restored is the one just packed, never a cached copy.
            var environment = new Dictionary<string, string?> { ["NUGET_PACKAGES"] = Path.Combine(work, "packages") };
            Run(app, environment, "build", "-c", "Release", "-nodeReuse:false", "-p:UseSharedCompilation=false");
            var dll = Path.Combine(app, "bin", "Release", "net10.0", "PackSmoke.dll");
            File.Exists(Path.Combine(app, "bin", "Release", "net10.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so"))
                .Should().BeTrue("TorchSharp's native library comes from the backend package");

            var random = Run(app, environment, dll);
            random.Should().StartWith("torch 3\n", "TorchSharp works when the app touches it before any Attribution type");
            random.Should().Contain("model random-tiny-bert").And.Contain("word tedious ").And.EndWith("ok\n");
            random.Should().Contain("custom embedding-taylor Custom smoothgrad embedding-taylor\n", "a method written against the package alone runs and is wrapped");
            random.Should().Contain("same-as-gxi True\n").And.Contain("scorecard embedding-taylor,smoothgrad,gradient-x-input\n");
            var delta = double.Parse(random.Split('\n').Single(l => l.StartsWith("delta ", StringComparison.Ordinal))["delta ".Length..], CultureInfo.InvariantCulture);
            Math.Abs(delta).Should().BeLessThan(0.05, "Integrated Gradients is complete up to the quadrature error");

            // With a real model: the packaged library gives exactly what this build gives.
            if (SharedData.Directory is { } shared && Directory.Exists(Path.Combine(shared, "models", "sst2-bert-tiny")))
            {
                var bert = Path.Combine(shared, "models", "sst2-bert-tiny");
                var output = Run(app, environment, dll, bert);
                using var model = ClassifierLoader.Load(bert);
                var expected = new IntegratedGradients { Steps = 8 }.Explain(model, "a sometimes tedious film");
                var lines = expected.Words.Select(w => string.Create(CultureInfo.InvariantCulture, $"word {w.Text} {w.Score:R}")).ToList();
                output.Split('\n').Where(l => l.StartsWith("word ", StringComparison.Ordinal)).Should().Equal(lines);
            }

        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>
    /// NuGet's global packages folder for <paramref name="directory"/>, as NuGet itself resolves it (NUGET_PACKAGES, else a
    /// nuget.config's globalPackagesFolder, else ~/.nuget/packages): <c>dotnet nuget locals global-packages --list</c>.
    /// </summary>
    internal static string GlobalPackagesFolder(string directory, Dictionary<string, string?> environment)
    {
        const string Prefix = "global-packages: ";
        var output = Run(directory, environment, "nuget", "locals", "global-packages", "--list");
        var line = output.Split('\n').Select(l => l.Trim()).SingleOrDefault(l => l.StartsWith(Prefix, StringComparison.Ordinal));
        line.Should().NotBeNull("dotnet nuget locals names the folder: {0}", output);
        return Path.TrimEndingDirectorySeparator(line![Prefix.Length..]);
    }

    private static string Run(string directory, params string[] args) => Run(directory, new Dictionary<string, string?>(), args);

    /// <summary>Runs <c>dotnet</c> with <paramref name="args"/> (a null value removes a variable); fails with its output when it exits non-zero.</summary>
    private static string Run(string directory, Dictionary<string, string?> environment, params string[] args)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        // The test host's MSBuild settings must not leak into a separate build.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || k == "VSTEST_HOST_DEBUG").ToList())
        {
            start.Environment.Remove(key);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        foreach (var (key, value) in environment)
        {
            if (value is null)
            {
                start.Environment.Remove(key);
            }
            else
            {
                start.Environment[key] = value;
            }
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet {string.Join(' ', args)} did not finish in 5 minutes");
        }

        var output = stdout.Result;
        process.ExitCode.Should().Be(0, "dotnet {0} failed:\n{1}\n{2}", string.Join(' ', args), output, stderr.Result);
        return output;
    }

    /// <summary>
    /// The folder comes from NuGet, so a nuget.config's globalPackagesFolder counts (the old guess, NUGET_PACKAGES else
    /// $HOME/.nuget/packages, gave the latter here), and NUGET_PACKAGES comes first. Expected folders by hand.
    /// </summary>
    [Fact]
    public void The_global_packages_folder_is_the_one_nuget_resolves()
    {
        var work = Directory.CreateTempSubdirectory("attribution-gpf-").FullName;
        try
        {
            var configured = Path.Combine(work, "configured-packages");
            File.WriteAllText(Path.Combine(work, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <config>
                    <add key="globalPackagesFolder" value="{configured}" />
                  </config>
                </configuration>
                """);
            GlobalPackagesFolder(work, new() { ["NUGET_PACKAGES"] = null }).Should().Be(configured);
            var variable = Path.Combine(work, "variable-packages");
            GlobalPackagesFolder(work, new() { ["NUGET_PACKAGES"] = variable }).Should().Be(variable);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
