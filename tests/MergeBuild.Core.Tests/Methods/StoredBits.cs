using System.Runtime.CompilerServices;
using MergeBuild.Tensors;

namespace MergeBuild.Core.Tests.Methods;

/// <summary>
/// Stored bf16 values for the tests of the kernels that read them: decoding and rounding written out from the bit
/// layout, random bit patterns, the lane-ordered double sum the streaming reductions promise, and comparisons that
/// accept any NaN for a NaN (which NaN's payload survives an operation is unspecified).
/// </summary>
internal static class StoredBits
{
    public static float Decode(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>The value rounded to bf16 when the compute dtype is bf16, unchanged for float32.</summary>
    public static float Round(bool bf16, float value) => bf16 ? Decode(BFloat16.FromSingle(value)) : value;

    /// <summary>A random bit pattern; only finite values when <paramref name="finite"/>.</summary>
    public static ushort Random(Random random, bool finite)
    {
        while (true)
        {
            var bits = (ushort)random.Next(0, 1 << 16);
            if (!finite || float.IsFinite(Decode(bits)))
            {
                return bits;
            }
        }
    }

    /// <summary>The terms, the one at index e added to lane (start + e) mod 16, then the 16 lanes in order.</summary>
    public static double LaneOrderedSum(long start, IEnumerable<double> terms)
    {
        var lanes = new double[16];
        var e = 0;
        foreach (var term in terms)
        {
            lanes[(start + e++) % 16] += term;
        }

        var total = 0.0;
        foreach (var lane in lanes)
        {
            total += lane;
        }

        return total;
    }

    /// <summary>Stored bf16 inputs (pinned, so their addresses stay valid) and a base to go with them.</summary>
    public static (ushort[][] Inputs, ushort[] Base) Inputs(Random random, int models, int length, bool randomBits)
    {
        var baseValues = GC.AllocateArray<ushort>(length, pinned: true);
        var inputs = new ushort[models][];
        for (var e = 0; e < length; e++)
        {
            baseValues[e] = randomBits
                ? (ushort)random.Next(0, 1 << 16)
                : BFloat16.FromSingle((float)(random.NextDouble() * 0.08 - 0.04));
        }

        for (var m = 0; m < models; m++)
        {
            inputs[m] = GC.AllocateArray<ushort>(length, pinned: true);
            for (var e = 0; e < length; e++)
            {
                inputs[m][e] = randomBits
                    ? (ushort)random.Next(0, 1 << 16)
                    : BFloat16.FromSingle(Decode(baseValues[e]) + (float)(random.NextDouble() * 0.004 - 0.002));
            }
        }

        return (inputs, baseValues);
    }

    public static unsafe nint[] Addresses(ushort[][] pinned) =>
        [.. pinned.Select(values => (nint)Unsafe.AsPointer(ref values[0]))];

    public static void AssertSameSum(double expected, double actual) =>
        Assert.True(double.IsNaN(expected) ? double.IsNaN(actual) : BitConverter.DoubleToInt64Bits(expected) ==
            BitConverter.DoubleToInt64Bits(actual), $"expected {expected:R}, got {actual:R}");

    /// <summary>Equal bits for the first <paramref name="count"/> values, except that a NaN only has to be a NaN.</summary>
    public static void AssertSameValues(ushort[] expected, ushort[] actual, int count)
    {
        for (var e = 0; e < count; e++)
        {
            Assert.True(float.IsNaN(Decode(expected[e])) ? float.IsNaN(Decode(actual[e])) : expected[e] == actual[e],
                $"element {e}: expected 0x{expected[e]:X4}, got 0x{actual[e]:X4}");
        }
    }
}
