using CsCheck;

namespace Attribution.Tests;

/// <summary>
/// <see cref="PropertyDraws"/>: the same seed gives the same cases run after run (what CsCheck's <c>Sample(seed:)</c>
/// does not give past the first iteration), and a failing check is reported with its case's index, seed and value.
/// </summary>
public class PropertyDrawsTests
{
    private static readonly Gen<int> Ints = Gen.Int[0, int.MaxValue];

    private static List<int> Seen(ulong seed, int count)
    {
        var seen = new List<int>();
        PropertyDraws.ForAll(Ints, seed, count, seen.Add);
        return seen;
    }

    [Fact]
    public void Two_runs_with_the_same_seed_see_the_same_values_in_the_same_order()
    {
        var first = Seen(seed: 42, count: 50);
        var second = Seen(seed: 42, count: 50);

        Assert.Equal(50, first.Count);
        Assert.Equal(first, second);

        // Draw gives the values ForAll checks, so a reported case index can be drawn again to debug it.
        Assert.Equal(first, PropertyDraws.Draw(Ints, 50, seed: 42));

        // The draws vary within a run and with the seed: the sameness above is not a constant generator's.
        Assert.True(first.Distinct().Count() > 40, string.Join(", ", first));
        Assert.NotEqual(first, Seen(seed: 43, count: 50));
    }

    [Fact]
    public void Tuple_overloads_see_the_values_of_the_tuple_generator_from_the_same_seed()
    {
        var pairs = Gen.Select(Ints, Gen.Bool);
        var seen = new List<(int, bool)>();
        PropertyDraws.ForAll(pairs, seed: 7, count: 20, (number, flag) => seen.Add((number, flag)));

        Assert.Equal(PropertyDraws.Draw(pairs, 20, seed: 7), seen);
    }

    [Fact]
    public void A_check_that_throws_is_reported_with_the_cases_index_seed_and_value_and_stops_the_run()
    {
        var expected = PropertyDraws.Draw(Ints, 8, seed: 42)[7];
        var calls = 0;
        var thrown = new InvalidOperationException("too big");

        var failure = Assert.Throws<Xunit.Sdk.XunitException>(() => PropertyDraws.ForAll(Ints, seed: 42, count: 20, value =>
        {
            if (calls++ == 7)
            {
                throw thrown;
            }
        }));

        Assert.Equal($"case 7 of seed 42: {expected}\nInvalidOperationException: too big", failure.Message);
        Assert.Same(thrown, failure.InnerException);
        Assert.Equal(8, calls);
    }

    [Fact]
    public void A_failing_value_is_written_with_non_ascii_characters_escaped()
    {
        var failure = Assert.Throws<Xunit.Sdk.XunitException>(() =>
            PropertyDraws.ForAll(Gen.Const("é\n<"), seed: 1, count: 3, _ => throw new InvalidOperationException("no")));

        Assert.StartsWith("case 0 of seed 1: \\u00E9\\u000A<\n", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_property_over_no_cases_is_refused()
    {
        var refused = Assert.Throws<ArgumentOutOfRangeException>(() => PropertyDraws.ForAll(Ints, seed: 1, count: 0, _ => { }));

        Assert.Equal("count", refused.ParamName);
    }
}
