using Attribution.Cli;

namespace Attribution.Tests.Cli;

/// <summary>
/// Every whole-number and seed option refuses a value it cannot read with a message naming the option and what to give,
/// before any model is loaded (so no shared data is needed): never System.CommandLine's "Cannot parse argument ... as
/// expected type 'System.Nullable`1[System.Int32]'", and digits past the type's range are "out of range", not "not an integer".
/// </summary>
public sealed class CliIntegerOptionTests
{
    public static TheoryData<string[], string> Refused() => new()
    {
        { ["evaluate", "--text", "a film", "--method", "gradient", "--metric", "plausibility", "--highlight", "film", "--top-k", "x"], "--top-k: 'x' is not an integer" },
        { ["evaluate", "--text", "a film", "--method", "gradient", "--metric", "plausibility", "--highlight", "film", "--top-k", "99999999999"], "--top-k: must be at most 2147483647, got 99999999999" },
        { ["evaluate", "--text", "a film", "--method", "gradient", "--metric", "infidelity", "--metric-samples", "1.5"], "--metric-samples: '1.5' is not an integer" },
        { ["evaluate", "--text", "a film", "--method", "gradient", "--metric", "infidelity", "--metric-seed", "abc"], "--metric-seed: 'abc' is not a non-negative integer" },
        { ["evaluate", "--text", "a film", "--method", "gradient", "--metric", "infidelity", "--metric-seed", "-3"], "--metric-seed: '-3' is not a non-negative integer" },
        { ["evaluate", "--text", "a film", "--method", "gradient", "--metric", "infidelity", "--metric-seed", "18446744073709551616"], "--metric-seed: 18446744073709551616 is out of range: give 0 to 18446744073709551615" },
        { ["shortcut", "--demo", "--epochs", "x"], "--epochs: 'x' is not an integer" },
        { ["shortcut", "--demo", "--max-sentences", "99999999999"], "--max-sentences: must be at most 2147483647, got 99999999999" },
        { ["explain", "--text", "a film", "--method", "occlusion", "--window", "99999999999"], "--window: must be at most 2147483647, got 99999999999" },
        { ["explain", "--text", "a film", "--method", "occlusion", "--window", "-99999999999"], "--window: must be at least 1, got -99999999999" },
        // Bounded on both sides: both bounds named, whichever is crossed (written out here, not read from the library's caps).
        { ["evaluate", "--text", "a film", "--method", "gradient", "--metric", "infidelity", "--metric-samples", "-5"], "--metric-samples: must be between 1 and 1000, got -5" },
        { ["explain", "--text", "a film", "--method", "integrated-gradients", "--steps", "0"], "--steps: must be between 1 and 10000, got 0" },
        { ["explain", "--text", "a film", "--method", "integrated-gradients", "--max-steps", "4"], "--max-steps: must be between 8 and 10000, got 4" },
        { ["shortcut", "--demo", "--epochs", "99999999999"], "--epochs: must be between 1 and 1000, got 99999999999" },
        { ["explain", "--text", "a film", "--method", "lime", "--seed", "99999999999999999999999"], "--seed: 99999999999999999999999 is out of range: give 0 to 18446744073709551615" },
        { ["explain", "--text", "a film", "--method", "neuron-conductance", "--neuron", "99999999999,1"], "--neuron: '99999999999,1' is out of range: POS and UNIT are at most 2147483647" },
        { ["explain", "--text", "a film", "--method", "neuron-conductance", "--neuron", "1,-2"], "--neuron: '1,-2' is not POS,UNIT (two non-negative integers, e.g. 3,17)" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void An_unreadable_number_is_a_usage_error_naming_the_option_and_the_value(string[] args, string message)
    {
        var run = CliHarness.Run(args);

        run.Code.Should().Be(ExitCodes.Usage, run.ToString());
        run.Error.Should().StartWith("error: " + message, run.ToString());
        run.Error.Should().NotContain("System.", run.ToString());
    }
}
