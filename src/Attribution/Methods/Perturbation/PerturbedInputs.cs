using Attribution.Models;
using Attribution.Text.Tokenizers;

namespace Attribution.Methods.Perturbation;

/// <summary>Model inputs built from an encoding with some tokens absent: written once for the methods and the metrics.</summary>
internal static class PerturbedInputs
{
    /// <summary>
    /// The encoding's ids (and type ids) with every token for which <paramref name="absent"/> holds replaced by
    /// <paramref name="replacement"/>, or left out when it is null.
    /// </summary>
    public static TokenSequence Build(Encoding encoding, Func<int, bool> absent, long? replacement)
    {
        var ids = new List<long>(encoding.Length);
        var types = new List<long>(encoding.Length);
        for (var t = 0; t < encoding.Length; t++)
        {
            if (absent(t))
            {
                if (replacement is not { } id)
                {
                    continue;
                }

                ids.Add(id);
            }
            else
            {
                ids.Add(encoding.Ids[t]);
            }

            types.Add(encoding.TypeIds[t]);
        }

        return new TokenSequence([.. ids], [.. types]);
    }
}
