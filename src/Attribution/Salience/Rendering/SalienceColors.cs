using System.Globalization;

namespace Attribution.Salience;

/// <summary>An sRGB colour.</summary>
/// <param name="R">Red, 0–255.</param>
/// <param name="G">Green, 0–255.</param>
/// <param name="B">Blue, 0–255.</param>
public readonly record struct Rgb(byte R, byte G, byte B)
{
    /// <summary>The colour as <c>#rrggbb</c>.</summary>
    public string ToHex() => string.Create(CultureInfo.InvariantCulture, $"#{R:x2}{G:x2}{B:x2}");

    /// <summary>Relative luminance (WCAG), 0 for black to 1 for white.</summary>
    public double Luminance()
    {
        static double Linear(byte c)
        {
            var s = c / 255.0;
            return s <= 0.04045 ? s / 12.92 : Math.Pow((s + 0.055) / 1.055, 2.4);
        }

        return (0.2126 * Linear(R)) + (0.7152 * Linear(G)) + (0.0722 * Linear(B));
    }

    /// <inheritdoc />
    public override string ToString() => ToHex();
}

/// <summary>
/// LIT's salience colour semantics, shared by the HTML and console renderers: signed scores on a diverging scale from
/// red (negative, evidence against the class) through white (zero) to green (positive, evidence for it); unsigned
/// scores (magnitudes) from white (zero) to purple. Intensity is linear in |score| / scale, where the renderers take
/// the scale as the largest |score| of a row, so each row's most important unit is fully saturated.
/// </summary>
public static class SalienceColors
{
    /// <summary>The colour of zero.</summary>
    public static readonly Rgb White = new(255, 255, 255);

    /// <summary>The colour of the largest positive signed score.</summary>
    public static readonly Rgb Green = new(26, 152, 80);

    /// <summary>The colour of the largest negative signed score.</summary>
    public static readonly Rgb Red = new(215, 48, 39);

    /// <summary>The colour of the largest unsigned score.</summary>
    public static readonly Rgb Purple = new(84, 39, 143);

    /// <summary>The colour of <paramref name="score"/> on a scale where <paramref name="scale"/> is full intensity.</summary>
    /// <param name="score">The score (non-finite scores are drawn as zero).</param>
    /// <param name="scale">The |score| drawn at full intensity, usually the row's largest |score|; zero draws everything white.</param>
    /// <param name="signed">Diverging red–white–green when true, white–purple when false (the sign is then ignored).</param>
    public static Rgb Background(double score, double scale, bool signed)
    {
        var t = Intensity(score, scale);
        if (!signed)
        {
            return Mix(White, Purple, Math.Abs(t));
        }

        return t >= 0 ? Mix(White, Green, t) : Mix(White, Red, -t);
    }

    /// <summary>Near-black or white, whichever contrasts more with <paramref name="background"/> (WCAG contrast ratio).</summary>
    public static Rgb Foreground(Rgb background) =>
        background.Luminance() < 0.179 ? White : new Rgb(17, 17, 17);

    /// <summary>score / scale clamped to [−1, 1]; 0 when either is not finite or the scale is not positive.</summary>
    public static double Intensity(double score, double scale)
    {
        if (!double.IsFinite(score) || !double.IsFinite(scale) || scale <= 0)
        {
            return 0;
        }

        return Math.Clamp(score / scale, -1, 1);
    }

    /// <summary>The largest finite |score| (0 when there is none): the scale of a row.</summary>
    public static double Scale(IEnumerable<double> scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        var max = 0.0;
        foreach (var s in scores)
        {
            if (double.IsFinite(s))
            {
                max = Math.Max(max, Math.Abs(s));
            }
        }

        return max;
    }

    /// <summary>
    /// Linear interpolation from <paramref name="from"/> (t = 0) to <paramref name="to"/> (t = 1), each channel rounded
    /// half away from zero; a <paramref name="t"/> outside [0, 1] is taken as the nearer end (as <see cref="Intensity"/>
    /// clamps a score beyond the scale).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="t"/> is NaN.</exception>
    public static Rgb Mix(Rgb from, Rgb to, double t)
    {
        if (double.IsNaN(t))
        {
            // Clamped, NaN stayed NaN and every channel became (byte)NaN = 0: black, a colour no score has.
            throw new ArgumentOutOfRangeException(nameof(t), t, "t is NaN: give a number, 0 for the first colour to 1 for the second (SalienceColors.Intensity turns a non-finite score into 0)");
        }

        t = Math.Clamp(t, 0, 1);
        static byte Channel(byte a, byte b, double t) => (byte)Math.Round(a + ((b - a) * t), MidpointRounding.AwayFromZero);
        return new Rgb(Channel(from.R, to.R, t), Channel(from.G, to.G, t), Channel(from.B, to.B, t));
    }
}
