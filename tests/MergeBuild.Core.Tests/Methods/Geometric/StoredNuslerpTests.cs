using System.Runtime.Intrinsics;
using MergeBuild.Methods.Geometric;
using MergeBuild.Methods.Kernels;
using MergeBuild.Tensors;
using static MergeBuild.Core.Tests.Methods.StoredBits;

namespace MergeBuild.Core.Tests.Methods.Geometric;

/// <summary>
/// Nuslerp's passes over stored bf16 values against torch's arithmetic in the compute dtype D written out element by
/// element: <c>v = x</c> or <c>D(x − b)</c>; the squares <c>(double)v·v</c> and the cosine terms
/// <c>D(D(v₀/n₀)·D(v₁/n₁))</c> added to lane <c>k mod 16</c> in ascending k, the lanes then in order; the output
/// <c>D(D(s₀v₀) + D(s₁v₁))</c>, divided by sin θ and rounded unless lerped, plus the base and rounded with one, stored as
/// bf16. Inputs are random bit patterns or fine-tunes a small step from a base; pieces start off the 16-element grid,
/// and each vector width this CPU accelerates is checked on its own.
/// </summary>
public unsafe class StoredNuslerpTests
{
    [Theory]
    [InlineData(true, true, 1000, 0L, false)]
    [InlineData(true, false, 1000, 3L, false)]
    [InlineData(false, true, 777, 5L, false)]
    [InlineData(false, false, 333, 0L, true)]
    [InlineData(true, true, 333, 9L, true)]
    [InlineData(true, false, 13, 2L, false)]
    public void The_squares_and_cosine_terms_from_stored_bits_equal_the_lane_ordered_sums_of_torchs_terms(bool bf16,
        bool withBase, int length, long k, bool randomBits)
    {
        var (x0, x1, b) = Inputs(new Random(length + (int)k), length, randomBits, finite: true);
        var (norm0, norm1) = (Round(bf16, 0.37f), Round(bf16, 1.9f));
        var v0 = Values(bf16, x0, withBase ? b : null);
        var v1 = Values(bf16, x1, withBase ? b : null);

        var (squares0, squares1, products) = (new LaneSum(), new LaneSum(), new LaneSum());
        fixed (ushort* first = x0, second = x1, baseValues = b)
        {
            var pair = new StoredNuslerp.Pair(first, second, withBase ? baseValues : null, bf16);
            for (var at = 0; at < length; at += 100)
            {
                var count = Math.Min(100, length - at);
                StoredNuslerp.AddSquares(squares0, squares1, pair.Skip(at), count, k + at);
                StoredNuslerp.AddCosines(products, pair.Skip(at), norm0, norm1, count, k + at);
            }
        }

        AssertSameSum(LaneOrderedSum(k, v0.Select(v => (double)v * v)), squares0.Total);
        AssertSameSum(LaneOrderedSum(k, v1.Select(v => (double)v * v)), squares1.Total);
        var cosines = v0.Zip(v1, (a, c) => (double)Round(bf16, Round(bf16, a / norm0) * Round(bf16, c / norm1)));
        AssertSameSum(LaneOrderedSum(k, cosines), products.Total);
    }

    [Theory]
    [InlineData(true, true, false, 1000, false)]
    [InlineData(true, true, true, 1000, false)]
    [InlineData(true, false, false, 333, true)]
    [InlineData(false, true, false, 1000, false)]
    [InlineData(false, false, true, 777, true)]
    [InlineData(false, true, false, 31, true)]
    [InlineData(true, false, false, 7, false)]
    public void The_output_from_stored_bits_equals_torchs_arithmetic_in_the_compute_dtype(bool bf16, bool withBase,
        bool lerp, int length, bool randomBits)
    {
        var (x0, x1, b) = Inputs(new Random(length * 7), length, randomBits, finite: false);
        var (s0, s1, sinTheta) = (Round(bf16, 0.8125f), Round(bf16, 0.34375f), Round(bf16, 0.9140625f));
        var v0 = Values(bf16, x0, withBase ? b : null);
        var v1 = Values(bf16, x1, withBase ? b : null);
        var expected = new ushort[length];
        for (var e = 0; e < length; e++)
        {
            var sum = Round(bf16, Round(bf16, s0 * v0[e]) + Round(bf16, s1 * v1[e]));
            var value = lerp ? sum : Round(bf16, sum / sinTheta);
            expected[e] = BFloat16.FromSingle(withBase ? Round(bf16, Decode(b[e]) + value) : value);
        }

        var output = new ushort[length];
        fixed (ushort* first = x0, second = x1, baseValues = b, destination = output)
        {
            var pair = new StoredNuslerp.Pair(first, second, withBase ? baseValues : null, bf16);
            StoredNuslerp.Mix(pair, s0, s1, lerp, sinTheta, length, destination);
            AssertSameValues(expected, output, length);

            if (Vector256.IsHardwareAccelerated)
            {
                Array.Clear(output);
                AssertSameValues(expected, output, StoredNuslerp.Mix256(pair, s0, s1, lerp, sinTheta, length, destination));
            }

            if (Vector512.IsHardwareAccelerated)
            {
                Array.Clear(output);
                AssertSameValues(expected, output, StoredNuslerp.Mix512(pair, s0, s1, lerp, sinTheta, length, destination));
            }
        }
    }

    /// <summary>
    /// Two models and a base as stored bf16: random bits (only finite ones when <paramref name="finite"/>, so that one
    /// NaN or infinity does not decide a whole sum), or a base and two fine-tunes a small step from it.
    /// </summary>
    private static (ushort[] X0, ushort[] X1, ushort[] Base) Inputs(Random random, int length, bool randomBits, bool finite)
    {
        var (x0, x1, b) = (new ushort[length], new ushort[length], new ushort[length]);
        for (var e = 0; e < length; e++)
        {
            b[e] = randomBits ? StoredBits.Random(random, finite) : BFloat16.FromSingle((float)(random.NextDouble() * 0.08 - 0.04));
            x0[e] = randomBits ? StoredBits.Random(random, finite) : Step(random, b[e]);
            x1[e] = randomBits ? StoredBits.Random(random, finite) : Step(random, b[e]);
        }

        return (x0, x1, b);
    }

    private static ushort Step(Random random, ushort from) =>
        BFloat16.FromSingle(Decode(from) + (float)(random.NextDouble() * 0.004 - 0.002));

    /// <summary>Each element's vector value: the model's, or its task vector D(x − b).</summary>
    private static float[] Values(bool bf16, ushort[] x, ushort[]? b) =>
        [.. x.Select((bits, e) => b is null ? Decode(bits) : Round(bf16, Decode(bits) - Decode(b[e])))];
}
