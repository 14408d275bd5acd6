namespace Attribution.Tests.Methods;

/// <summary>SST-2 dev sentences (../shared/data/sst2/dev.tsv).</summary>
internal static class Sst2Dev
{
    public static IReadOnlyList<(string Sentence, int Label)> Load()
    {
        var lines = File.ReadAllLines(SharedData.Require("data/sst2/dev.tsv")).Skip(1);
        return lines.Where(l => l.Length > 0).Select(l =>
        {
            var tab = l.LastIndexOf('\t');
            return (l[..tab], int.Parse(l[(tab + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        }).ToList();
    }
}
