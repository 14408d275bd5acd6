using Attribution.Evaluation;

namespace Attribution.Cli;

/// <summary>
/// The sanity check's plot, as the seed paper's Figures 3 and 9: median cosine similarity and Spearman's ρ (signed and
/// of absolute values) per randomized layer, one line per variant (global, local), written with ScottPlot as PNG and SVG.
/// </summary>
internal static class SanityPlot
{
    /// <summary>Writes <paramref name="path"/> with the extensions .png and .svg (an extension given is replaced), creating a missing folder (saying so).</summary>
    public static void Write(SanityResult result, string path, CliContext context)
    {
        var stem = Path.ChangeExtension(path, null);
        Output.CreateFolderOf(Path.GetFullPath(stem), "--plot", context);

        var (plot, width) = Build(result);
        // Each file whole or not at all (ScottPlot's SavePng and SaveSvg write in place).
        using var image = plot.GetImage(width, 560);
        var png = image.GetImageBytes(ScottPlot.ImageFormat.Png, 100);
        var svg = System.Text.Encoding.UTF8.GetBytes(plot.GetSvgXml(width, 560));
        Attribution.Engine.AtomicFile.Write(stem + ".png", stream => stream.Write(png));
        Attribution.Engine.AtomicFile.Write(stem + ".svg", stream => stream.Write(svg));
    }

    /// <summary>The plot as SVG markup, to inline in an HTML report.</summary>
    public static string Svg(SanityResult result)
    {
        var (plot, width) = Build(result);
        return plot.GetSvgXml(width, 560);
    }

    private static (ScottPlot.Plot Plot, int Width) Build(SanityResult result)
    {
        var plot = new ScottPlot.Plot();
        var xs = result.Steps.Select(s => (double)s.Index).ToArray();
        var variants = result.Steps[0].Variants.Select(v => v.Variant).ToList();
        for (var v = 0; v < variants.Count; v++)
        {
            var name = variants[v] == SanityVariant.Local ? "local" : "global";
            var cosine = plot.Add.Scatter(xs, result.Steps.Select(s => Finite(s.Variants[v].CosineMedian)).ToArray());
            cosine.LegendText = $"cosine ({name})";
            var spearman = plot.Add.Scatter(xs, result.Steps.Select(s => Finite(s.Variants[v].SpearmanMedian)).ToArray());
            spearman.LegendText = $"Spearman ({name})";
            // Marker shapes, not dash patterns: SkiaSharp's SVG canvas cannot write path effects (it prints a warning to stdout).
            spearman.MarkerShape = ScottPlot.MarkerShape.OpenSquare;
            var absolute = plot.Add.Scatter(xs, result.Steps.Select(s => Finite(s.Variants[v].SpearmanAbsoluteMedian)).ToArray());
            absolute.LegendText = $"Spearman of abs ({name})";
            absolute.MarkerShape = ScottPlot.MarkerShape.OpenTriangleUp;
        }

        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(xs, result.Steps.Select(s => s.Layer).ToArray());
        plot.Axes.Bottom.TickLabelStyle.Rotation = 30;
        plot.Axes.Bottom.TickLabelStyle.Alignment = ScottPlot.Alignment.MiddleLeft;

        // Room below the axis for the rotated layer paths (about 6 px per character) and at the right for the last one.
        var longest = result.Steps.Max(s => s.Layer.Length);
        plot.Axes.Bottom.MinimumSize = 40 + (float)(5.5 * longest * 0.5);
        plot.Axes.Right.MinimumSize = (float)(5.5 * longest * 0.85);
        plot.Axes.SetLimitsY(-1.05, 1.05);
        plot.Title($"{result.Method} on {result.Model}: {(result.Mode == RandomizationMode.Cascading ? "cascading" : "independent")} randomization");
        plot.XLabel("randomized layer");
        plot.YLabel("median similarity to the original");
        plot.ShowLegend();
        return (plot, Math.Max(640, 90 * xs.Length + 200));
    }

    private static double Finite(double value) => double.IsFinite(value) ? value : double.NaN;
}
