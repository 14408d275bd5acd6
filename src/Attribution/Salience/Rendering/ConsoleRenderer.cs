using System.Globalization;
using System.Text;
using Attribution.Methods;

namespace Attribution.Salience;

/// <summary>How <see cref="ConsoleRenderer"/> colours its output.</summary>
public enum ColorMode
{
    /// <summary>Decide from the terminal (<see cref="ConsoleRenderer.DetectColorMode()"/>) when writing to the console; plain otherwise.</summary>
    Auto,

    /// <summary>No escape codes: each unit followed by its score, <c>word(+0.12)</c>.</summary>
    Plain,

    /// <summary>ANSI 256-colour backgrounds (the xterm palette).</summary>
    Ansi256,

    /// <summary>ANSI 24-bit backgrounds.</summary>
    TrueColor,
}

/// <summary>Options of <see cref="ConsoleRenderer"/>.</summary>
public sealed record ConsoleRenderOptions
{
    /// <summary>Colour words (default) or tokens.</summary>
    public Granularity Granularity { get; init; } = Granularity.Words;

    /// <summary>Colours (default: decide from the terminal).</summary>
    public ColorMode Color { get; init; } = ColorMode.Auto;

    /// <summary>Rows of the table of the most important units under each method (default 5; 0: no table; negative is refused).</summary>
    public int TopK { get; init; } = 5;

    /// <summary>The model's class names, to name the predicted class when it is not the target.</summary>
    public IReadOnlyList<string>? Labels { get; init; }
}

/// <summary>
/// Explanations for a terminal: per text, the prediction and explained class, then per method its units coloured with
/// LIT's semantics (<see cref="SalienceColors"/>, each row scaled by its largest |score|) and a compact table of the
/// top-k units. When the output is not a colour terminal the units are written as <c>word(+0.12)</c> instead.
/// Control characters in the texts are neutralized so an input cannot send escape sequences to the terminal.
/// </summary>
public static class ConsoleRenderer
{
    private const string Reset = "\u001b[0m";
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>Writes to the console, in colour when <see cref="DetectColorMode()"/> says the console takes it.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="ConsoleRenderOptions.TopK"/> is negative.</exception>
    public static void Write(IReadOnlyList<ExplanationGroup> groups, ConsoleRenderOptions? options = null) =>
        Write(Console.Out, groups, options);

    /// <summary>
    /// Writes to <paramref name="writer"/>. With <see cref="ColorMode.Auto"/>, colours are used only when the writer is
    /// <see cref="Console.Out"/> and <see cref="DetectColorMode()"/> allows them.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="ConsoleRenderOptions.TopK"/> is negative.</exception>
    public static void Write(TextWriter writer, IReadOnlyList<ExplanationGroup> groups, ConsoleRenderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        options ??= new ConsoleRenderOptions();
        if (options.Color == ColorMode.Auto)
        {
            options = options with { Color = ReferenceEquals(writer, Console.Out) ? DetectColorMode() : ColorMode.Plain };
        }

        writer.Write(Render(groups, options));
    }

    /// <summary>The rendering as a string; <see cref="ColorMode.Auto"/> means plain here (the destination is unknown).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="ConsoleRenderOptions.TopK"/> is negative.</exception>
    public static string Render(IReadOnlyList<ExplanationGroup> groups, ConsoleRenderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(groups);
        options ??= new ConsoleRenderOptions();
        if (options.TopK < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.TopK, $"options.TopK is {options.TopK}: give 0 (no table of top units) or more");
        }

        // An undefined value was rendered as another one without a word (a granularity as tokens, a colour mode as 256 colours).
        Methods.Internal.EnumSettings.Check(options.Granularity, "options.Granularity", nameof(options));
        Methods.Internal.EnumSettings.Check(options.Color, "options.Color", nameof(options));

        var mode = options.Color == ColorMode.Auto ? ColorMode.Plain : options.Color;
        var output = new StringBuilder();
        for (var g = 0; g < groups.Count; g++)
        {
            Group(output, groups[g], g, groups.Count, options, mode);
        }

        return output.ToString();
    }

    /// <summary>The colour mode for the current console: <see cref="DetectColorMode(bool, Func{string, string?})"/> of the process.</summary>
    public static ColorMode DetectColorMode() => DetectColorMode(Console.IsOutputRedirected, Environment.GetEnvironmentVariable);

    /// <summary>
    /// Plain when the output is redirected, <c>NO_COLOR</c> is set to a non-empty value (no-color.org), or <c>TERM</c>
    /// is <c>dumb</c>; 24-bit when <c>COLORTERM</c> is <c>truecolor</c> or <c>24bit</c>; 256 colours otherwise.
    /// </summary>
    /// <param name="outputRedirected">Whether standard output is a file or pipe.</param>
    /// <param name="environment">Reads an environment variable (null when unset).</param>
    public static ColorMode DetectColorMode(bool outputRedirected, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (outputRedirected || !string.IsNullOrEmpty(environment("NO_COLOR")))
        {
            return ColorMode.Plain;
        }

        var term = environment("TERM");
        if (string.Equals(term, "dumb", StringComparison.OrdinalIgnoreCase))
        {
            return ColorMode.Plain;
        }

        var colorTerm = environment("COLORTERM");
        return string.Equals(colorTerm, "truecolor", StringComparison.OrdinalIgnoreCase) || string.Equals(colorTerm, "24bit", StringComparison.OrdinalIgnoreCase)
            ? ColorMode.TrueColor
            : ColorMode.Ansi256;
    }

    /// <summary>The xterm 256-colour palette index closest to <paramref name="color"/> (6×6×6 cube or grey ramp).</summary>
    public static int ToAnsi256(Rgb color)
    {
        static int Level(byte c) => c < 48 ? 0 : c < 115 ? 1 : (c - 35) / 40;
        static int Value(int level) => level == 0 ? 0 : 55 + (level * 40);
        int r = Level(color.R), g = Level(color.G), b = Level(color.B);
        var cube = 16 + (36 * r) + (6 * g) + b;
        var cubeDistance = Distance(color, Value(r), Value(g), Value(b));
        var average = (color.R + color.G + color.B) / 3;
        var grey = Math.Clamp((average - 3) / 10, 0, 23);
        var greyValue = 8 + (10 * grey);
        return Distance(color, greyValue, greyValue, greyValue) < cubeDistance ? 232 + grey : cube;
    }

    private static int Distance(Rgb c, int r, int g, int b) =>
        ((c.R - r) * (c.R - r)) + ((c.G - g) * (c.G - g)) + ((c.B - b) * (c.B - b));

    private static void Group(StringBuilder output, ExplanationGroup group, int index, int count, ConsoleRenderOptions options, ColorMode mode)
    {
        var first = group.Explanations[0];
        output.Append(Bold($"Text {index + 1}/{count}:", mode)).Append(' ').Append(Clean(group.Text)).Append('\n');
        output.Append("prediction: ").Append(string.Join(", ", RenderSupport.Prediction(first, options.Labels).Select(p => $"{Clean(p.Name)} ({p.Likelihood})")));
        var sameTarget = group.Explanations.All(e => e.Target == first.Target);
        if (sameTarget)
        {
            output.Append(" · explained: ").Append(Clean(first.TargetLabel)).Append(" (class ")
                .Append(first.Target.ToString(Invariant)).Append(", ").Append(RenderSupport.Likelihood(first, first.Target)).Append(')');
        }

        output.Append('\n');
        foreach (var e in group.Explanations)
        {
            Row(output, e, options, mode, !sameTarget);
        }

        output.Append('\n');
    }

    private static void Row(StringBuilder output, Explanation e, ConsoleRenderOptions options, ColorMode mode, bool showTarget)
    {
        var units = RenderSupport.Units(e, options.Granularity, out var fellBack);
        var scale = SalienceColors.Scale(units.Select(u => u.Score));
        var decimals = RenderSupport.Decimals(scale);
        output.Append("  ").Append(Bold(Clean(e.Method), mode)).Append(" · ").Append(RenderSupport.Description(e, options.Granularity));
        if (showTarget)
        {
            output.Append(" · explains ").Append(Clean(e.TargetLabel)).Append(" (class ").Append(e.Target.ToString(Invariant)).Append(')');
        }

        if (e.ConvergenceDelta is { } delta)
        {
            output.Append(" · delta ").Append(RenderSupport.Delta(e, delta));
        }

        output.Append('\n').Append("    ");
        if (mode == ColorMode.Plain)
        {
            output.Append(string.Join(" ", units.Select(u => $"{Clean(u.Label)}({RenderSupport.Short(u.Score, e.Signed, decimals)})")));
        }
        else
        {
            Colored(output, e, units, scale, mode);
        }

        output.Append('\n');
        if (fellBack)
        {
            output.Append("    (no word scores in this result; tokens shown)\n");
        }

        foreach (var note in e.Notes.Append(RenderSupport.NonFiniteNote(units)).OfType<string>())
        {
            output.Append("    note: ").Append(Clean(note)).Append('\n');
        }

        if (options.TopK > 0 && units.Count > 0)
        {
            Table(output, e, units, scale, decimals, options.TopK, mode, options.Granularity == Granularity.Words && !fellBack ? "word" : "token");
        }
    }

    private static void Colored(StringBuilder output, Explanation e, IReadOnlyList<DisplayUnit> units, double scale, ColorMode mode)
    {
        var text = e.DisplayText;
        var cursor = 0;
        for (var i = 0; i < units.Count; i++)
        {
            var unit = units[i];
            string shown;
            if (unit.Start is { } start && unit.End is { } end && start >= cursor && end <= text.Length)
            {
                output.Append(Clean(text[cursor..start]));
                // An empty span (a lone Ġ with trimmed offsets) still has a score: a marker keeps its colour visible.
                shown = start == end ? "·" : text[start..end];
                cursor = end;
            }
            else
            {
                if (i > 0)
                {
                    output.Append(' ');
                }

                shown = unit.Start is null ? unit.Label : "·";
            }

            output.Append(Paint(Clean(shown), SalienceColors.Background(unit.Score, scale, e.Signed), mode));
            if (unit.Start is null && i + 1 < units.Count)
            {
                output.Append(' ');
            }
        }

        if (cursor < text.Length)
        {
            output.Append(Clean(text[cursor..]));
        }
    }

    private static void Table(StringBuilder output, Explanation e, IReadOnlyList<DisplayUnit> units, double scale, int decimals, int k, ColorMode mode, string unitHeader)
    {
        // Signed scores rank by magnitude (the strongest evidence either way), unsigned by value.
        var top = units.Select((u, i) => (Unit: u, Index: i))
            .OrderByDescending(x => e.Signed ? Math.Abs(x.Unit.Score) : x.Unit.Score)
            .ThenBy(x => x.Index)
            .Take(k)
            .ToList();
        var labels = top.Select(x => Clean(x.Unit.Label)).ToList();
        var scores = top.Select(x => RenderSupport.Short(x.Unit.Score, e.Signed, decimals)).ToList();
        // Columns, not UTF-16 units: a CJK character or an emoji takes two, a combining accent none.
        var labelWidth = Math.Max(unitHeader.Length, labels.Max(RenderSupport.DisplayWidth));
        var scoreWidth = Math.Max(5, scores.Max(s => s.Length));
        output.Append("    ").Append("#".PadLeft(2)).Append("  ").Append(unitHeader.PadRight(labelWidth)).Append("  ").Append("score".PadLeft(scoreWidth)).Append('\n');
        for (var i = 0; i < top.Count; i++)
        {
            var score = scores[i].PadLeft(scoreWidth);
            output.Append("    ").Append((i + 1).ToString(Invariant).PadLeft(2)).Append("  ").Append(RenderSupport.PadRightToWidth(labels[i], labelWidth)).Append("  ")
                .Append(mode == ColorMode.Plain ? score : Paint(score, SalienceColors.Background(top[i].Unit.Score, scale, e.Signed), mode))
                .Append('\n');
        }
    }

    private static string Paint(string text, Rgb background, ColorMode mode)
    {
        var foreground = SalienceColors.Foreground(background);
        var codes = mode == ColorMode.TrueColor
            ? $"\u001b[48;2;{background.R};{background.G};{background.B}m\u001b[38;2;{foreground.R};{foreground.G};{foreground.B}m"
            : $"\u001b[48;5;{ToAnsi256(background)}m\u001b[38;5;{ToAnsi256(foreground)}m";
        return codes + text + Reset;
    }

    private static string Bold(string text, ColorMode mode) => mode == ColorMode.Plain ? text : $"\u001b[1m{text}{Reset}";

    /// <summary>
    /// Line breaks (U+2028 and U+2029 too) and tabs become spaces; other control characters, bidirectional overrides and
    /// unpaired surrogates (a token or an offset that split an emoji's pair) become U+FFFD.
    /// </summary>
    private static string Clean(string text)
    {
        var builder = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                builder.Append(c).Append(text[++i]);
                continue;
            }

            builder.Append(c switch
            {
                '\n' or '\r' or '\t' or '\u2028' or '\u2029' => ' ',
                // A UTF-8 console or file writer that throws on invalid data would fail on a lone surrogate.
                _ when char.IsControl(c) || char.IsSurrogate(c) || RenderSupport.IsBidiOverride(c) => '\uFFFD',
                _ => c,
            });
        }

        return builder.ToString();
    }
}
