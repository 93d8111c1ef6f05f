using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MergeBuild.Methods.Kernels;

/// <summary>
/// A double-precision sum over the elements of one vector (a whole tensor, or one row) in an order fixed by the
/// elements' positions alone: element k goes to lane k mod 16, each lane adds its elements in ascending k, and
/// <see cref="Total"/> adds the lanes in order. The result is therefore the same however the vector is cut into
/// chunks, on any thread and any CPU, while the adds run 16 wide instead of one long dependency chain.
/// </summary>
/// <remarks>
/// Every term is formed in double from float32 values (a square or a product of two floats is exact in double), so
/// the only rounding is in the additions. For a vector of at most 16 elements the result is the plain ascending
/// sum, bit for bit (the other lanes add +0).
/// </remarks>
internal sealed class LaneSum
{
    /// <summary>Number of lanes (the period of the summation order).</summary>
    public const int Width = 16;

    private Lanes16 lanes;

    /// <summary>The sum of everything added since the last <see cref="Clear"/>.</summary>
    public double Total
    {
        get
        {
            var sum = 0.0;
            for (var i = 0; i < Width; i++)
            {
                sum += lanes[i];
            }

            return sum;
        }
    }

    public void Clear() => lanes = default;

    /// <summary>Adds <c>x[i]²</c> for the elements at positions <paramref name="position"/> + i.</summary>
    public void AddSquares(ReadOnlySpan<float> x, long position) => AddProducts(x, x, position);

    /// <summary>Adds <c>a[i]·b[i]</c> (the exact double product of two floats) at positions <paramref name="position"/> + i.</summary>
    public void AddProducts(ReadOnlySpan<float> a, ReadOnlySpan<float> b, long position)
    {
        if (b.Length < a.Length)
        {
            throw new ArgumentException("Each term needs both factors.", nameof(b));
        }

        Accumulate(new SpanFactors(a, b), a.Length, position);
    }

    /// <summary>Adds the float terms <c>t[i]</c> (each term times an exact 1) at positions <paramref name="position"/> + i.</summary>
    public void Add(ReadOnlySpan<float> terms, long position) =>
        Accumulate(new SpanTerms(terms), terms.Length, position);

    /// <summary>
    /// Adds the exact double product of each element's two float32 factors, for the elements at positions
    /// <paramref name="position"/> + i, i &lt; <paramref name="count"/>. The factors come from a source that may compute
    /// them (a stored bf16 value widened, a value divided by a norm) in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Accumulate<TFactors>(scoped in TFactors factors, int count, long position)
        where TFactors : ILaneFactors, allows ref struct
    {
        var i = 0;
        for (; i < count && ((position + i) & (Width - 1)) != 0; i++)
        {
            AddOne(factors, i, position);
        }

        if (Vector256.IsHardwareAccelerated && count - i >= Width)
        {
            ref var lane = ref Unsafe.As<Lanes16, double>(ref lanes);
            var a0 = Vector256.LoadUnsafe(ref lane, 0);
            var a1 = Vector256.LoadUnsafe(ref lane, 4);
            var a2 = Vector256.LoadUnsafe(ref lane, 8);
            var a3 = Vector256.LoadUnsafe(ref lane, 12);
            for (; i <= count - Width; i += Width)
            {
                var (xl, xh, yl, yh) = factors.Load16(i);
                a0 += Vector256.WidenLower(xl) * Vector256.WidenLower(yl);
                a1 += Vector256.WidenUpper(xl) * Vector256.WidenUpper(yl);
                a2 += Vector256.WidenLower(xh) * Vector256.WidenLower(yh);
                a3 += Vector256.WidenUpper(xh) * Vector256.WidenUpper(yh);
            }

            a0.StoreUnsafe(ref lane, 0);
            a1.StoreUnsafe(ref lane, 4);
            a2.StoreUnsafe(ref lane, 8);
            a3.StoreUnsafe(ref lane, 12);
        }

        for (; i < count; i++)
        {
            AddOne(factors, i, position);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void AddOne<TFactors>(scoped in TFactors factors, int i, long position)
        where TFactors : ILaneFactors, allows ref struct
    {
        var (a, b) = factors.Load(i);
        lanes[(int)((position + i) & (Width - 1))] += (double)a * b;
    }

    [InlineArray(Width)]
    private struct Lanes16
    {
        private double element;
    }

    /// <summary>Factors read from two float32 spans.</summary>
    private readonly ref struct SpanFactors(ReadOnlySpan<float> a, ReadOnlySpan<float> b) : ILaneFactors
    {
        private readonly ReadOnlySpan<float> a = a;
        private readonly ReadOnlySpan<float> b = b;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (Vector256<float> ALow, Vector256<float> AHigh, Vector256<float> BLow, Vector256<float> BHigh) Load16(int i)
        {
            ref var x = ref MemoryMarshal.GetReference(a);
            ref var y = ref MemoryMarshal.GetReference(b);
            return (Vector256.LoadUnsafe(ref x, (nuint)i), Vector256.LoadUnsafe(ref x, (nuint)i + 8),
                Vector256.LoadUnsafe(ref y, (nuint)i), Vector256.LoadUnsafe(ref y, (nuint)i + 8));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (float A, float B) Load(int i) => (a[i], b[i]);
    }

    /// <summary>Plain terms: each read from a float32 span and multiplied by an exact 1.</summary>
    private readonly ref struct SpanTerms(ReadOnlySpan<float> terms) : ILaneFactors
    {
        private readonly ReadOnlySpan<float> terms = terms;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (Vector256<float> ALow, Vector256<float> AHigh, Vector256<float> BLow, Vector256<float> BHigh) Load16(int i)
        {
            ref var x = ref MemoryMarshal.GetReference(terms);
            return (Vector256.LoadUnsafe(ref x, (nuint)i), Vector256.LoadUnsafe(ref x, (nuint)i + 8),
                Vector256<float>.One, Vector256<float>.One);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (float A, float B) Load(int i) => (terms[i], 1f);
    }
}

/// <summary>The two float32 factors of each term a <see cref="LaneSum"/> accumulates, 16 elements or one at a time.</summary>
internal interface ILaneFactors
{
    /// <summary>Elements i to i + 15: the first factors (i to i + 7, i + 8 to i + 15), then the second.</summary>
    (Vector256<float> ALow, Vector256<float> AHigh, Vector256<float> BLow, Vector256<float> BHigh) Load16(int i);

    /// <summary>Element i's two factors.</summary>
    (float A, float B) Load(int i);
}
