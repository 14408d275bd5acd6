using System.Text.RegularExpressions;
using Attribution.Benchmarks;
using Attribution.Tests.Cli;

namespace Attribution.Tests.Benchmarks;

/// <summary>
/// The benchmark program's argument handling (BenchmarkArguments, linked from benchmarks/Attribution.Benchmarks): a
/// mistyped command or a bad number gets a message naming the argument, its position, the value and what to give,
/// not BenchmarkDotNet's menu or int.Parse's stack trace; and the command list matches what Program.cs dispatches.
/// </summary>
public sealed partial class BenchmarkArgumentsTests
{
    [Fact]
    public void A_missing_argument_takes_its_default_and_a_given_one_is_parsed()
    {
        BenchmarkArguments.Int(["gradient"], 1, "texts", 872).Should().Be(872);
        BenchmarkArguments.Int(["gradient", "16"], 1, "texts", 872).Should().Be(16);
        BenchmarkArguments.Int(["-1"], 0, "bert-base texts", 4, min: int.MinValue).Should().Be(-1);
    }

    [Fact]
    public void Text_that_is_not_a_whole_number_is_refused_naming_argument_position_and_value()
    {
        FluentActions.Invoking(() => BenchmarkArguments.Int(["gradient", "1e3"], 1, "texts", 872)).Should().Throw<ArgumentException>()
            .Which.Message.Should().Contain("texts (argument 2) must be a whole number, got '1e3': e.g. 872");
        FluentActions.Invoking(() => BenchmarkArguments.Int(["out.md"], 0, "texts", 100)).Should().Throw<ArgumentException>()
            .Which.ParamName.Should().Be("texts");
    }

    [Fact]
    public void Zero_rounds_are_refused_rather_than_reporting_a_best_time_of_never()
    {
        // With 0 rounds the best time stayed double.MaxValue and method-throughput printed 0.0 texts/s.
        FluentActions.Invoking(() => BenchmarkArguments.Int(["gradient", "872", "0"], 2, "rounds", 3)).Should().Throw<ArgumentException>()
            .Which.Message.Should().Contain("rounds (argument 3) must be at least 1, got 0: e.g. 3");
    }

    [Fact]
    public void A_required_argument_that_is_missing_is_named()
    {
        FluentActions.Invoking(() => BenchmarkArguments.Int(["64"], 1, "budget", null)).Should().Throw<ArgumentException>()
            .Which.Message.Should().Contain("budget (argument 2) is missing");
    }

    [Fact]
    public void An_unknown_command_is_named_with_the_known_ones_while_options_go_to_benchmarkdotnet()
    {
        BenchmarkArguments.UnknownCommand(["speed-reprot", "10"]).Should().Contain("unknown command 'speed-reprot'").And.Contain("speed-report");
        BenchmarkArguments.UnknownCommand(["speed-report", "10"]).Should().BeNull();
        BenchmarkArguments.UnknownCommand(["--filter", "*MatMul*"]).Should().BeNull();
        BenchmarkArguments.UnknownCommand([]).Should().BeNull();
    }

    [Fact]
    public void The_command_list_is_what_Program_dispatches()
    {
        var program = File.ReadAllText(CliHarness.RepositoryFile(Path.Combine("benchmarks", "Attribution.Benchmarks", "Program.cs")));
        var dispatched = DispatchedCommand().Matches(program).Select(m => m.Groups[1].Value).ToArray();

        dispatched.Should().NotBeEmpty();
        BenchmarkArguments.Commands.Should().BeEquivalentTo(dispatched);
    }

    [GeneratedRegex("args\\[0\\] == \"([a-z-]+)\"")]
    private static partial Regex DispatchedCommand();
}
