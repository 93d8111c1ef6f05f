using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using MergeBuild.Methods.Kernels;
using MergeBuild.Tensors;

namespace MergeBuild.Methods.Geometric;

/// <summary>
/// Slerp's three passes over bf16 checkpoints read straight from their stored bytes: the squares of v0 and v1, the
/// products of the unit vectors, and the output <c>bf16(s0·v0 + s1·v1)</c>. Each computes exactly what decoding the
/// chunk into float32 buffers and running <see cref="SlerpMethod"/>'s buffer kernels computes (a bf16 value widens to
/// float32 exactly); decoding both inputs in every pass was a fifth of a slerp merge's samples.
/// </summary>
internal static unsafe class StoredSlerp
{
    /// <summary>Adds the squares of <paramref name="count"/> stored values starting at element <paramref name="position"/>.</summary>
    public static void AddSquares(LaneSum sum, ushort* values, int count, long position) =>
        sum.Accumulate(new Squares(values), count, position);

    /// <summary>
    /// Adds <c>(v0/norm0)·(v1/norm1)</c>, each quotient a float32 division as numpy's <c>v / ‖v‖</c> is, for
    /// <paramref name="count"/> stored values starting at element <paramref name="position"/>.
    /// </summary>
    public static void AddUnitProducts(LaneSum sum, ushort* v0, ushort* v1, float norm0, float norm1, int count,
        long position) =>
        sum.Accumulate(new UnitProducts(v0, v1, norm0, norm1), count, position);

    /// <summary>
    /// <c>s0·v0 + s1·v1</c> in float32 (products and sum unrounded, nothing fused), rounded once to bf16: the output
    /// in a bf16 compute dtype, and in float32 the output's encoding.
    /// </summary>
    public static void Mix(ushort* v0, ushort* v1, float s0, float s1, int count, ushort* output)
    {
        var i = Vector512.IsHardwareAccelerated ? Mix512(v0, v1, s0, s1, count, output)
            : Vector256.IsHardwareAccelerated ? Mix256(v0, v1, s0, s1, count, output)
            : 0;
        for (; i < count; i++)
        {
            output[i] = BFloat16.FromSingle(s0 * BFloat16.ToSingle(v0[i]) + s1 * BFloat16.ToSingle(v1[i]));
        }
    }

    /// <summary>The 32-value steps of <see cref="Mix"/>; returns how many values it wrote.</summary>
    internal static int Mix512(ushort* v0, ushort* v1, float s0, float s1, int count, ushort* output)
    {
        var (f0, f1) = (Vector512.Create(s0), Vector512.Create(s1));
        var i = 0;
        for (; i <= count - 32; i += 32)
        {
            var (x0, y0) = StoredBf16.Load512(v0 + i);
            var (x1, y1) = StoredBf16.Load512(v1 + i);
            StoredBf16.Store512(output + i, Rounding.Bf16(f0 * x0 + f1 * x1), Rounding.Bf16(f0 * y0 + f1 * y1));
        }

        return i;
    }

    /// <summary>The 16-value steps of <see cref="Mix"/>; returns how many values it wrote.</summary>
    internal static int Mix256(ushort* v0, ushort* v1, float s0, float s1, int count, ushort* output)
    {
        var (f0, f1) = (Vector256.Create(s0), Vector256.Create(s1));
        var i = 0;
        for (; i <= count - 16; i += 16)
        {
            var (x0, y0) = StoredBf16.Load256(v0 + i);
            var (x1, y1) = StoredBf16.Load256(v1 + i);
            StoredBf16.Store256(output + i, Rounding.Bf16(f0 * x0 + f1 * x1), Rounding.Bf16(f0 * y0 + f1 * y1));
        }

        return i;
    }

    /// <summary>Each stored value times itself.</summary>
    private readonly struct Squares(ushort* values) : ILaneFactors
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (Vector256<float> ALow, Vector256<float> AHigh, Vector256<float> BLow, Vector256<float> BHigh) Load16(int i)
        {
            var (low, high) = StoredBf16.Load256(values + i);
            return (low, high, low, high);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (float A, float B) Load(int i)
        {
            var value = BFloat16.ToSingle(values[i]);
            return (value, value);
        }
    }

    /// <summary>Each pair of stored values, each divided by its vector's norm.</summary>
    private readonly struct UnitProducts(ushort* v0, ushort* v1, float norm0, float norm1) : ILaneFactors
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (Vector256<float> ALow, Vector256<float> AHigh, Vector256<float> BLow, Vector256<float> BHigh) Load16(int i)
        {
            var (n0, n1) = (Vector256.Create(norm0), Vector256.Create(norm1));
            var (x0, y0) = StoredBf16.Load256(v0 + i);
            var (x1, y1) = StoredBf16.Load256(v1 + i);
            return (x0 / n0, y0 / n0, x1 / n1, y1 / n1);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (float A, float B) Load(int i) =>
            (BFloat16.ToSingle(v0[i]) / norm0, BFloat16.ToSingle(v1[i]) / norm1);
    }
}
