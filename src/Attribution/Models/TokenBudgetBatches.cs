namespace Attribution.Models;

/// <summary>
/// Splits model inputs into calls by a budget of padded tokens (rows × the longest row in the call) instead of a
/// fixed row count: short inputs go many to a call, long ones fewer, so each call does about the same work and
/// memory stays bounded. Inputs are sorted by length first, so a call's rows pad little.
/// </summary>
internal static class TokenBudgetBatches
{
    /// <summary>The default budget of padded tokens per model call of the perturbation methods.</summary>
    public const int DefaultTokenBudget = 4096;

    /// <summary>The largest budget accepted (1,048,576 padded tokens per call).</summary>
    public const int MaxTokenBudget = 1 << 20;

    /// <summary>
    /// The indices of <paramref name="lengths"/> sorted by length (ties by index), in consecutive calls of at most
    /// <paramref name="maxRows"/> rows whose rows × longest length stays within <paramref name="tokenBudget"/>; a row
    /// longer than the budget goes alone.
    /// </summary>
    public static IEnumerable<int[]> Chunk(IReadOnlyList<int> lengths, int tokenBudget, int maxRows)
    {
        var order = Enumerable.Range(0, lengths.Count).OrderBy(i => lengths[i]).ThenBy(i => i).ToArray();
        var call = new List<int>();
        foreach (var i in order)
        {
            // Sorted ascending, so the row being added is the call's longest.
            if (call.Count > 0 && (call.Count == maxRows || (long)(call.Count + 1) * lengths[i] > tokenBudget))
            {
                yield return [.. call];
                call.Clear();
            }

            call.Add(i);
        }

        if (call.Count > 0)
        {
            yield return [.. call];
        }
    }

    /// <summary>Throws unless the budget is between 1 and <see cref="MaxTokenBudget"/>.</summary>
    public static void Validate(int tokenBudget, string argumentName)
    {
        if (tokenBudget < 1 || tokenBudget > MaxTokenBudget)
        {
            throw new ArgumentOutOfRangeException(argumentName, tokenBudget, $"the token budget (padded tokens per model call) must be between 1 and {MaxTokenBudget}");
        }
    }
}
