using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using MergeBuild.Methods.Kernels;
using MergeBuild.Tensors;

namespace MergeBuild.Methods.Geometric;

/// <summary>
/// Nuslerp's three passes over bf16 checkpoints read straight from their stored bytes, in the compute dtype D (bf16 or
/// float32) with every op rounded to D: the squares of each vector <c>v = x</c>, or <c>v = D(x − b)</c> with a base;
/// the cosine terms <c>D(D(v₀/n₀)·D(v₁/n₁))</c>; and the output <c>D(D(s₀·v₀) + D(s₁·v₁))</c>, divided by sin θ and
/// rounded again unless the vector is lerped, plus the base and rounded again with one, stored as bf16.
/// </summary>
/// <remarks>
/// Each computes exactly what decoding the chunk into float32 buffers and running <see cref="NuslerpMethod"/>'s buffer
/// kernels computes (a bf16 value widens to float32 exactly). Decoding the inputs and forming the task vectors in
/// buffers was a third of a nuslerp merge's samples.
/// </remarks>
internal static unsafe class StoredNuslerp
{
    /// <summary>One piece's stored inputs: the two models and the base (null without one), and whether D is bf16.</summary>
    internal readonly struct Pair(ushort* x0, ushort* x1, ushort* b, bool bf16)
    {
        public ushort* X0 { get; } = x0;

        public ushort* X1 { get; } = x1;

        public ushort* Base { get; } = b;

        public bool Bf16 { get; } = bf16;

        /// <summary>The same inputs <paramref name="elements"/> further on.</summary>
        public Pair Skip(int elements) => new(X0 + elements, X1 + elements, Base == null ? null : Base + elements, Bf16);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (Vector256<float> Low, Vector256<float> High) Vector256Of(ushort* x, int i)
        {
            var (low, high) = StoredBf16.Load256(x + i);
            if (Base == null)
            {
                return (low, high);
            }

            var (baseLow, baseHigh) = StoredBf16.Load256(Base + i);
            return (Rounding.Bf16OfBf16MathIf(Bf16, low - baseLow), Rounding.Bf16OfBf16MathIf(Bf16, high - baseHigh));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (Vector512<float> Low, Vector512<float> High) Vector512Of(ushort* x, int i)
        {
            var (low, high) = StoredBf16.Load512(x + i);
            if (Base == null)
            {
                return (low, high);
            }

            var (baseLow, baseHigh) = StoredBf16.Load512(Base + i);
            return (Rounding.Bf16OfBf16MathIf(Bf16, low - baseLow), Rounding.Bf16OfBf16MathIf(Bf16, high - baseHigh));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float ValueOf(ushort* x, int i) =>
            Base == null ? BFloat16.ToSingle(x[i]) : Rounding.Bf16If(Bf16, BFloat16.ToSingle(x[i]) - BFloat16.ToSingle(Base[i]));
    }

    /// <summary>Adds the squares of both vectors' <paramref name="count"/> elements from position <paramref name="k"/>.</summary>
    public static void AddSquares(LaneSum squares0, LaneSum squares1, Pair pair, int count, long k)
    {
        squares0.Accumulate(new Squares(pair, pair.X0), count, k);
        squares1.Accumulate(new Squares(pair, pair.X1), count, k);
    }

    /// <summary>Adds the cosine terms of <paramref name="count"/> elements from position <paramref name="k"/>.</summary>
    public static void AddCosines(LaneSum products, Pair pair, float norm0, float norm1, int count, long k) =>
        products.Accumulate(new Cosines(pair, norm0, norm1), count, k);

    /// <summary>One vector's output for <paramref name="count"/> elements, stored as bf16.</summary>
    /// <param name="lerp">True when the vector is lerped (the sum is not divided by sin θ).</param>
    public static void Mix(Pair pair, float s0, float s1, bool lerp, float sinTheta, int count, ushort* output)
    {
        var i = Vector512.IsHardwareAccelerated ? Mix512(pair, s0, s1, lerp, sinTheta, count, output)
            : Vector256.IsHardwareAccelerated ? Mix256(pair, s0, s1, lerp, sinTheta, count, output)
            : 0;
        for (; i < count; i++)
        {
            var bf16 = pair.Bf16;
            var sum = Rounding.Bf16If(bf16, Rounding.Bf16If(bf16, s0 * pair.ValueOf(pair.X0, i)) +
                                            Rounding.Bf16If(bf16, s1 * pair.ValueOf(pair.X1, i)));
            var value = lerp ? sum : Rounding.Bf16If(bf16, sum / sinTheta);
            if (pair.Base != null)
            {
                value = Rounding.Bf16If(bf16, BFloat16.ToSingle(pair.Base[i]) + value);
            }

            output[i] = BFloat16.FromSingle(value);
        }
    }

    /// <summary>The 32-value steps of <see cref="Mix"/>; returns how many values it wrote.</summary>
    internal static int Mix512(Pair pair, float s0, float s1, bool lerp, float sinTheta, int count, ushort* output)
    {
        var (f0, f1, divisor) = (Vector512.Create(s0), Vector512.Create(s1), Vector512.Create(sinTheta));
        var bf16 = pair.Bf16;
        var i = 0;
        for (; i <= count - 32; i += 32)
        {
            var (x0, y0) = pair.Vector512Of(pair.X0, i);
            var (x1, y1) = pair.Vector512Of(pair.X1, i);
            var low = Rounding.Bf16OfBf16MathIf(bf16, Rounding.Bf16OfBf16MathIf(bf16, f0 * x0) + Rounding.Bf16OfBf16MathIf(bf16, f1 * x1));
            var high = Rounding.Bf16OfBf16MathIf(bf16, Rounding.Bf16OfBf16MathIf(bf16, f0 * y0) + Rounding.Bf16OfBf16MathIf(bf16, f1 * y1));
            if (!lerp)
            {
                (low, high) = (Rounding.Bf16OfBf16MathIf(bf16, low / divisor), Rounding.Bf16OfBf16MathIf(bf16, high / divisor));
            }

            if (pair.Base != null)
            {
                var (baseLow, baseHigh) = StoredBf16.Load512(pair.Base + i);
                (low, high) = (Rounding.Bf16OfBf16MathIf(bf16, baseLow + low), Rounding.Bf16OfBf16MathIf(bf16, baseHigh + high));
            }

            StoredBf16.Store512(output + i, bf16 ? low : Rounding.Bf16(low), bf16 ? high : Rounding.Bf16(high));
        }

        return i;
    }

    /// <summary>The 16-value steps of <see cref="Mix"/>; returns how many values it wrote.</summary>
    internal static int Mix256(Pair pair, float s0, float s1, bool lerp, float sinTheta, int count, ushort* output)
    {
        var (f0, f1, divisor) = (Vector256.Create(s0), Vector256.Create(s1), Vector256.Create(sinTheta));
        var bf16 = pair.Bf16;
        var i = 0;
        for (; i <= count - 16; i += 16)
        {
            var (x0, y0) = pair.Vector256Of(pair.X0, i);
            var (x1, y1) = pair.Vector256Of(pair.X1, i);
            var low = Rounding.Bf16OfBf16MathIf(bf16, Rounding.Bf16OfBf16MathIf(bf16, f0 * x0) + Rounding.Bf16OfBf16MathIf(bf16, f1 * x1));
            var high = Rounding.Bf16OfBf16MathIf(bf16, Rounding.Bf16OfBf16MathIf(bf16, f0 * y0) + Rounding.Bf16OfBf16MathIf(bf16, f1 * y1));
            if (!lerp)
            {
                (low, high) = (Rounding.Bf16OfBf16MathIf(bf16, low / divisor), Rounding.Bf16OfBf16MathIf(bf16, high / divisor));
            }

            if (pair.Base != null)
            {
                var (baseLow, baseHigh) = StoredBf16.Load256(pair.Base + i);
                (low, high) = (Rounding.Bf16OfBf16MathIf(bf16, baseLow + low), Rounding.Bf16OfBf16MathIf(bf16, baseHigh + high));
            }

            StoredBf16.Store256(output + i, bf16 ? low : Rounding.Bf16(low), bf16 ? high : Rounding.Bf16(high));
        }

        return i;
    }

    /// <summary>Each element of one vector (<c>x</c> or <c>D(x − b)</c>) times itself.</summary>
    private readonly struct Squares(Pair pair, ushort* x) : ILaneFactors
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (Vector256<float> ALow, Vector256<float> AHigh, Vector256<float> BLow, Vector256<float> BHigh) Load16(int i)
        {
            var (low, high) = pair.Vector256Of(x, i);
            return (low, high, low, high);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (float A, float B) Load(int i)
        {
            var value = pair.ValueOf(x, i);
            return (value, value);
        }
    }

    /// <summary>The cosine terms <c>D(D(v₀/n₀)·D(v₁/n₁))</c>, each times an exact 1.</summary>
    private readonly struct Cosines(Pair pair, float norm0, float norm1) : ILaneFactors
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (Vector256<float> ALow, Vector256<float> AHigh, Vector256<float> BLow, Vector256<float> BHigh) Load16(int i)
        {
            var bf16 = pair.Bf16;
            var (n0, n1) = (Vector256.Create(norm0), Vector256.Create(norm1));
            var (x0, y0) = pair.Vector256Of(pair.X0, i);
            var (x1, y1) = pair.Vector256Of(pair.X1, i);
            var low = Rounding.Bf16OfBf16MathIf(bf16, Rounding.Bf16OfBf16MathIf(bf16, x0 / n0) * Rounding.Bf16OfBf16MathIf(bf16, x1 / n1));
            var high = Rounding.Bf16OfBf16MathIf(bf16, Rounding.Bf16OfBf16MathIf(bf16, y0 / n0) * Rounding.Bf16OfBf16MathIf(bf16, y1 / n1));
            return (low, high, Vector256<float>.One, Vector256<float>.One);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (float A, float B) Load(int i)
        {
            var bf16 = pair.Bf16;
            var u0 = Rounding.Bf16If(bf16, pair.ValueOf(pair.X0, i) / norm0);
            var u1 = Rounding.Bf16If(bf16, pair.ValueOf(pair.X1, i) / norm1);
            return (Rounding.Bf16If(bf16, u0 * u1), 1f);
        }
    }
}
