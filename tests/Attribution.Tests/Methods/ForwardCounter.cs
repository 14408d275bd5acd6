using Attribution.Engine;
using Attribution.Models;

namespace Attribution.Tests.Methods;

/// <summary>
/// Counts a classifier's forward passes and the rows they carried, with a hook on its root module, until disposed:
/// how tests check that work was shared or refused early.
/// </summary>
internal sealed class ForwardCounter : IDisposable
{
    private readonly IDisposable hook;

    public ForwardCounter(ITextClassifier model) =>
        hook = ModuleHooks.AddForwardHook(model.Module, (_, input, _) =>
        {
            Calls++;
            Rows += ((ModelInput)input).InputIds.size(0);
            return null;
        });

    /// <summary>Forward passes of the whole model so far.</summary>
    public int Calls { get; private set; }

    /// <summary>Rows (texts, path points, perturbed inputs) those passes carried.</summary>
    public long Rows { get; private set; }

    /// <summary>Starts both counts again (to count a second run separately).</summary>
    public void Reset() => (Calls, Rows) = (0, 0L);

    public void Dispose() => hook.Dispose();
}
