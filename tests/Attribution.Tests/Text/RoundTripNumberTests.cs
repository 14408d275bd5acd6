using System.Globalization;
using Attribution.Evaluation;
using Attribution.Salience;
using Attribution.Text;

namespace Attribution.Tests.Text;

/// <summary>
/// Numbers written to be read back (JSON, the renderers' "exact" tooltip, metric values, settings) read back bit for
/// bit. .NET 10's "R" writes 2⁻²⁵ and 2⁻⁹⁵⁸ one digit short (they read back one ulp low); the expected values here are
/// the doubles themselves (Math.ScaleB), compared by their bits.
/// </summary>
public sealed class RoundTripNumberTests
{
    public static TheoryData<double> Values() =>
    [
        Math.ScaleB(1.0, -25), Math.ScaleB(1.0, -958), -Math.ScaleB(1.0, -25), 0.1, -0.0, 1e-7, double.MaxValue, double.Epsilon,
        BitConverter.Int64BitsToDouble(BitConverter.DoubleToInt64Bits(Math.ScaleB(1.0, -25)) - 1),
    ];

    [Theory]
    [MemberData(nameof(Values))]
    public void Every_writer_of_exact_numbers_reads_back_bit_for_bit(double value)
    {
        foreach (var text in new[] { RoundTripNumber.Format(value), RenderSupport.Exact(value), MetricResult.Format(value) })
        {
            var back = double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
            BitConverter.DoubleToInt64Bits(back).Should().Be(BitConverter.DoubleToInt64Bits(value), $"'{text}' must read back as {value:G17}");
        }
    }

    [Fact]
    public void The_shortest_form_is_kept_where_it_reads_back()
    {
        RoundTripNumber.Format(0.1).Should().Be("0.1");
        RoundTripNumber.Format(1e-7).Should().Be("1E-07");
        RoundTripNumber.Format(-0.0).Should().Be("-0");
        RoundTripNumber.Format(double.NaN).Should().Be("NaN");
    }
}
