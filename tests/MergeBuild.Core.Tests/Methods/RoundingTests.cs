using System.Runtime.Intrinsics;
using MergeBuild.Methods.Kernels;
using MergeBuild.Tensors;

namespace MergeBuild.Core.Tests.Methods;

/// <summary>
/// The vector bf16 roundings against <see cref="BFloat16.FromSingle(float)"/> (round to nearest even, NaN quieted),
/// for every upper half of a float32 with lower halves at and around the rounding boundaries and at random.
/// </summary>
public class RoundingTests
{
    private static readonly ushort[] LowerHalves =
        [.. new ushort[] { 0, 1, 2, 0x7FFE, 0x7FFF, 0x8000, 0x8001, 0xFFFE, 0xFFFF },
         .. Enumerable.Range(0, 23).Select(i => (ushort)new Random(i).Next(0, 1 << 16))];

    [Fact]
    public void Rounding_a_vector_to_bf16_is_round_to_nearest_even_with_nans_quieted()
    {
        ForEachBatch(values =>
        {
            AssertEachEqualsScalar(values, Rounding.Bf16(Vector512.Create(values)).AsUInt32());
            AssertEachEqualsScalar(values, Rounding.Bf16(Vector256.Create(values[..8])).AsUInt32());
        });
    }

    /// <summary>
    /// Without the NaN select the rounding must still equal the full one on every value but the NaNs it is not for:
    /// all finite values and infinities, and the quiet NaNs with a zero lower half (any sign, any payload).
    /// </summary>
    [Fact]
    public void Rounding_results_of_bf16_math_without_the_nan_select_equals_the_full_rounding()
    {
        var compared = 0L;
        ForEachBatch(values =>
        {
            for (var i = 0; i < values.Length; i++)
            {
                if (!Qualifies(values[i]))
                {
                    values[i] = 0f;
                }
            }

            var full = Rounding.Bf16(Vector512.Create(values));
            Assert.Equal(full.AsUInt32(), Rounding.Bf16OfBf16Math(Vector512.Create(values)).AsUInt32());
            Assert.Equal(full.GetLower().AsUInt32(), Rounding.Bf16OfBf16Math(Vector256.Create(values[..8])).AsUInt32());
            compared += values.Length;
        });

        // Every upper half and lower half was seen (the batches cover the whole grid).
        Assert.Equal(65536L * LowerHalves.Length, compared);
    }

    private static bool Qualifies(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        return !float.IsNaN(value) || ((bits & 0x0040_0000u) != 0 && (bits & 0xFFFFu) == 0);
    }

    /// <summary>Calls <paramref name="check"/> with 16 floats at a time over every upper half × each lower half.</summary>
    private static void ForEachBatch(Action<float[]> check)
    {
        var batch = new float[16];
        var filled = 0;
        for (var upper = 0; upper < 1 << 16; upper++)
        {
            foreach (var lower in LowerHalves)
            {
                batch[filled++] = BitConverter.UInt32BitsToSingle((uint)upper << 16 | lower);
                if (filled == batch.Length)
                {
                    check(batch);
                    filled = 0;
                }
            }
        }

        Assert.Equal(0, filled);
    }

    private static void AssertEachEqualsScalar(float[] values, Vector512<uint> rounded) =>
        AssertEachEqualsScalar(values, Enumerable.Range(0, 16).Select(i => rounded[i]).ToArray());

    private static void AssertEachEqualsScalar(float[] values, Vector256<uint> rounded) =>
        AssertEachEqualsScalar(values, Enumerable.Range(0, 8).Select(i => rounded[i]).ToArray());

    private static void AssertEachEqualsScalar(float[] values, uint[] rounded)
    {
        for (var i = 0; i < rounded.Length; i++)
        {
            var expected = (uint)BFloat16.FromSingle(values[i]) << 16;
            Assert.True(expected == rounded[i],
                $"0x{BitConverter.SingleToUInt32Bits(values[i]):X8}: expected 0x{expected:X8}, got 0x{rounded[i]:X8}");
        }
    }
}
