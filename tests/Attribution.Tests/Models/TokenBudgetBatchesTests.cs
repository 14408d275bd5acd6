using Attribution.Models;

namespace Attribution.Tests.Models;

/// <summary>
/// Calls sized by padded tokens: rows sorted by length, each call's rows × its longest row within the budget, at most
/// the row cap, every row in exactly one call, a row longer than the budget alone. Expected calls written by hand.
/// </summary>
public class TokenBudgetBatchesTests
{
    [Fact]
    public void Short_rows_fill_a_call_up_to_the_budget_and_long_ones_go_fewer_to_a_call()
    {
        // Lengths by index; sorted: 2(i1), 3(i3), 3(i5), 5(i0), 8(i2), 9(i4).
        int[] lengths = [5, 2, 8, 3, 9, 3];
        var calls = TokenBudgetBatches.Chunk(lengths, tokenBudget: 12, maxRows: 10).ToList();

        // [1,3,5]: 3 × 3 = 9 ≤ 12, adding i0 gives 4 × 5 = 20; [0]: 5, adding i2 gives 2 × 8 = 16; [2] then [4] (2 × 9 = 18).
        calls.Should().HaveCount(4);
        calls[0].Should().Equal(1, 3, 5);
        calls[1].Should().Equal(0);
        calls[2].Should().Equal(2);
        calls[3].Should().Equal(4);
    }

    [Fact]
    public void The_row_cap_binds_when_the_budget_would_allow_more()
    {
        var calls = TokenBudgetBatches.Chunk(Enumerable.Repeat(4, 7).ToArray(), tokenBudget: 1000, maxRows: 3).ToList();
        calls.Select(c => c.Length).Should().Equal(3, 3, 1);
        calls.SelectMany(c => c).Should().Equal(0, 1, 2, 3, 4, 5, 6);
    }

    [Fact]
    public void A_row_longer_than_the_budget_goes_alone_and_none_is_dropped()
    {
        int[] lengths = [3, 50, 3, 3];
        var calls = TokenBudgetBatches.Chunk(lengths, tokenBudget: 9, maxRows: 64).ToList();
        calls.Should().HaveCount(2);
        calls[0].Should().Equal(0, 2, 3);
        calls[1].Should().Equal(1);
        TokenBudgetBatches.Chunk([], 9, 64).Should().BeEmpty();

        // Even the shortest row over the budget: every row alone, no empty call before the first.
        TokenBudgetBatches.Chunk([50, 60], tokenBudget: 9, maxRows: 64).Should().BeEquivalentTo(new[] { new[] { 0 }, new[] { 1 } }, o => o.WithStrictOrdering());
    }

    [Fact]
    public void A_budget_of_one_token_is_accepted_and_the_refusal_says_the_range()
    {
        FluentActions.Invoking(() => TokenBudgetBatches.Validate(1, "TokenBudget")).Should().NotThrow();
        FluentActions.Invoking(() => TokenBudgetBatches.Validate(TokenBudgetBatches.MaxTokenBudget, "TokenBudget")).Should().NotThrow();
        FluentActions.Invoking(() => TokenBudgetBatches.Validate(0, "TokenBudget")).Should().Throw<ArgumentOutOfRangeException>()
            .Which.Message.Should().Contain("between 1 and 1048576");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(TokenBudgetBatches.MaxTokenBudget + 1)]
    public void A_budget_out_of_range_is_refused_naming_the_argument(int budget)
    {
        var act = () => TokenBudgetBatches.Validate(budget, "TokenBudget");
        act.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("TokenBudget");
    }
}
