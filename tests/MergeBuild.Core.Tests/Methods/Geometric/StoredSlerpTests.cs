using System.Runtime.Intrinsics;
using MergeBuild.Methods.Geometric;
using MergeBuild.Methods.Kernels;
using MergeBuild.Tensors;
using static MergeBuild.Core.Tests.Methods.StoredBits;

namespace MergeBuild.Core.Tests.Methods.Geometric;

/// <summary>
/// Slerp's passes over stored bf16 values against its arithmetic written out element by element: the sums add
/// <c>(double)a·b</c> to lane <c>k mod 16</c> in ascending k and then the 16 lanes in order (whatever the chunking),
/// the unit vectors divide in float32, the output is <c>bf16(s0·v0 + s1·v1)</c> from float32 products and sum. Inputs
/// are random bit patterns (NaNs, infinities, −0, subnormals) or a fine-tune a small step from a base; chunk starts
/// are off the 16-element grid, and each vector width this CPU accelerates is checked on its own.
/// </summary>
public unsafe class StoredSlerpTests
{
    [Theory]
    [InlineData(1000, 0, 1000, false)]
    [InlineData(1000, 0, 37, false)]
    [InlineData(4099, 5, 256, false)]
    [InlineData(777, 3, 100, true)]
    [InlineData(15, 1, 4, false)]
    public void The_squares_and_unit_products_from_stored_bits_equal_the_lane_ordered_double_sums(int length,
        long start, int chunk, bool randomBits)
    {
        var random = new Random(length + chunk);
        var (v0, v1) = Pair(random, length, randomBits, finite: true);
        var (norm0, norm1) = (0.75f, 1.3f);

        var (squares0, squares1, dot) = (new LaneSum(), new LaneSum(), new LaneSum());
        fixed (ushort* first = v0, second = v1)
        {
            for (var at = 0; at < length; at += chunk)
            {
                var count = Math.Min(chunk, length - at);
                StoredSlerp.AddSquares(squares0, first + at, count, start + at);
                StoredSlerp.AddSquares(squares1, second + at, count, start + at);
                StoredSlerp.AddUnitProducts(dot, first + at, second + at, norm0, norm1, count, start + at);
            }
        }

        AssertSameSum(LaneOrderedSum(start, v0.Select(x => (double)Decode(x) * Decode(x))), squares0.Total);
        AssertSameSum(LaneOrderedSum(start, v1.Select(x => (double)Decode(x) * Decode(x))), squares1.Total);
        AssertSameSum(LaneOrderedSum(start, v0.Zip(v1, (a, b) => (double)(Decode(a) / norm0) * (Decode(b) / norm1))),
            dot.Total);
    }

    [Theory]
    [InlineData(1000, 0.5f, 0.5f, false)]
    [InlineData(1000, 0.61803f, 0.41421f, false)]
    [InlineData(333, -1.25f, 2.5f, true)]
    [InlineData(31, 0.7f, 0.3f, true)]
    [InlineData(5, 0.2f, 0.8f, false)]
    public void The_output_from_stored_bits_is_the_float32_mix_rounded_once_to_bf16(int length, float s0, float s1,
        bool randomBits)
    {
        var (v0, v1) = Pair(new Random(length), length, randomBits, finite: false);
        var expected = new ushort[length];
        for (var e = 0; e < length; e++)
        {
            var product0 = s0 * Decode(v0[e]);
            var product1 = s1 * Decode(v1[e]);
            expected[e] = BFloat16.FromSingle(product0 + product1);
        }

        var output = new ushort[length];
        fixed (ushort* first = v0, second = v1, destination = output)
        {
            StoredSlerp.Mix(first, second, s0, s1, length, destination);
            AssertSameValues(expected, output, length);

            if (Vector256.IsHardwareAccelerated)
            {
                Array.Clear(output);
                AssertSameValues(expected, output, StoredSlerp.Mix256(first, second, s0, s1, length, destination));
            }

            if (Vector512.IsHardwareAccelerated)
            {
                Array.Clear(output);
                AssertSameValues(expected, output, StoredSlerp.Mix512(first, second, s0, s1, length, destination));
            }
        }
    }

    /// <summary>
    /// v0 and v1 as stored bf16: random bits (only finite ones when <paramref name="finite"/>, so that the sums, which
    /// a single NaN or infinity would decide, depend on every term's order), or a base and a fine-tune a small step
    /// from it.
    /// </summary>
    private static (ushort[] V0, ushort[] V1) Pair(Random random, int length, bool randomBits, bool finite)
    {
        var (v0, v1) = (new ushort[length], new ushort[length]);
        for (var e = 0; e < length; e++)
        {
            v0[e] = randomBits ? StoredBits.Random(random, finite) : BFloat16.FromSingle((float)(random.NextDouble() * 0.08 - 0.04));
            v1[e] = randomBits
                ? StoredBits.Random(random, finite)
                : BFloat16.FromSingle(Decode(v0[e]) + (float)(random.NextDouble() * 0.004 - 0.002));
        }

        return (v0, v1);
    }
}
